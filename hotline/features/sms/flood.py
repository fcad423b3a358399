"""A flood of SMS from one number: every message is kept, but past `per_minute` in a minute its reports join
the sender's open ticket without a reply each, instead of each becoming a ticket that calls a team out.

Commands (STOP, BATAL, STATUS, and the URC's TERIMA/TIBA/SELESAI/TOLAK) are never merged: they must take effect. Other
citizens are not touched: the limit counts one number's messages, and a merged message costs one small
transaction, so their reports keep flowing through the same queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.features.tickets.tickets import record
from hotline.models import InboundMessage, Ticket

WINDOW = timedelta(minutes=1)
MERGEABLE = frozenset({"report", "empty", "courtesy", "contentless"})  # what the grammar calls these messages


def over_limit(session: Session, *, message: InboundMessage, per_minute: int) -> bool:
    """More than `per_minute` messages from this number in the minute up to this one (this one counted).
    Counted by arrival, so the answer is the same whenever and however often the job runs."""
    count = session.scalar(
        select(func.count())
        .select_from(InboundMessage)
        .where(
            InboundMessage.from_e164 == message.from_e164,
            InboundMessage.received_at > message.received_at - WINDOW,
            InboundMessage.received_at <= message.received_at,
            InboundMessage.id <= message.id,
        )
    )
    return (count or 0) > per_minute


def merge_into(session: Session, *, ticket: Ticket, message: InboundMessage) -> None:
    """Keep the message's words on the ticket (and on the timeline), with no reply and no new alert."""
    text = message.body.strip()
    if text:
        ticket.text = f"{ticket.text}\n{text}".strip() if ticket.text else text
    record(session, ticket, "flood_merged", actor=message.from_e164, note=text or None, inbound_id=message.id)
