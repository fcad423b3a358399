"""A ticket's SMS, in and out, as one conversation: the read the JSON API's /tickets/{n}/messages and the
console's ticket page both show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import InboundMessage, OutboundMessage


@dataclass(frozen=True)
class TicketMessage:
    direction: Literal["inbound", "outbound"]
    at: datetime  # received (inbound) or written (outbound)
    number: str  # the other side: the sender of an inbound SMS, the addressee of an outbound one
    body: str  # as this reader may see it
    status: str
    purpose: str | None  # an outbound SMS's (reply, notify, ...); None for inbound


def messages_of(session: Session, *, ticket_id: int, shown: Callable[[str], str]) -> list[TicketMessage]:
    """Every SMS in and out about the ticket, oldest first (inbound first at the same instant). `shown`: a body as
    this reader may see it (hotline/features/farming/ticket_facts.py `farmer_hider` masks the farmer's name)."""
    inbound = session.scalars(select(InboundMessage).where(InboundMessage.ticket_id == ticket_id))
    outbound = session.scalars(select(OutboundMessage).where(OutboundMessage.ticket_id == ticket_id))
    messages = [TicketMessage("inbound", m.received_at, m.from_e164, shown(m.body), m.status, None) for m in inbound]
    messages += [
        TicketMessage("outbound", m.created_at, m.to_number, shown(m.body), m.status, m.purpose) for m in outbound
    ]
    return sorted(messages, key=lambda m: m.at)
