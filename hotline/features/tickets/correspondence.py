"""A ticket's correspondence as a reader sees it: the SMS in and out about it (the ticket page, and
GET /api/v1/tickets/{n}/messages; its calls are hotline/features/calls/call_queries.py). The caller has checked
that the reader may see the ticket (ticket_queries.find_visible_ticket)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.accounts.accounts import Principal
from hotline.features.farming.access import may_see_farmers
from hotline.features.farming.ticket_facts import farmer_hider
from hotline.models import InboundMessage, OutboundMessage


@dataclass(frozen=True)
class MessageLine:
    direction: Literal["inbound", "outbound"]
    at: datetime  # received (inbound) or written (outbound)
    number: str  # the sender (inbound) or the addressee (outbound)
    body: str  # as this reader may see it: the farmer's name hidden from one who may not see farmers
    status: str
    purpose: str | None  # an outbound message's OutboundPurpose; None inbound


def ticket_messages(
    session: Session, *, config: CityConfig, principal: Principal, number: int, mask: str
) -> list[MessageLine]:
    """Every SMS in and out about ticket `number`, oldest first (inbound before outbound at the same time);
    `mask` stands for the farmer's words a reader who may not see farmers is not shown."""
    shown = farmer_hider(  # the PPL's alert names the farmer
        session, may_see=may_see_farmers(principal, config.farming), ticket_id=number, mask=mask
    )
    inbound = session.scalars(select(InboundMessage).where(InboundMessage.ticket_id == number))
    outbound = session.scalars(select(OutboundMessage).where(OutboundMessage.ticket_id == number))
    lines = [MessageLine("inbound", m.received_at, m.from_e164, shown(m.body), m.status, None) for m in inbound]
    lines += [MessageLine("outbound", m.created_at, m.to_number, shown(m.body), m.status, m.purpose) for m in outbound]
    return sorted(lines, key=lambda line: line.at)
