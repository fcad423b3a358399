"""Who wrote an SMS and how we answer them: what the SMS intake hands to the command modules below it
(citizen_commands, urc_commands, confirmations, shield_sms), so none of them imports the intake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import Choices, queue_sms
from hotline.core.wording import say
from hotline.models import OutboundPurpose


@dataclass
class Sender:
    """Who wrote, and what we answer them with."""

    session: Session
    config: CityConfig
    phone: str
    inbound_id: int | None  # None: a voice alert's answer, which came by no SMS
    language: str

    def reply(
        self,
        key: str,
        ticket_id: int | None = None,
        purpose: str = OutboundPurpose.REPLY,
        choices: Choices | None = None,
        **fields: Any,
    ) -> None:
        body = say(self.config, key, self.language, **fields)
        queue_sms(
            self.session,
            to=self.phone,
            body=body,
            purpose=purpose,
            ticket_id=ticket_id,
            inbound_id=self.inbound_id,
            choices=choices,
        )
