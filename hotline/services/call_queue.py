"""The operator queue as the console shows it: calls waiting for an operator, oldest first -- except that
calls the junk-call shield held back (a number over its limit, a repeat offender) wait behind every other
caller, oldest first among themselves (`last`). Nobody is dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hotline.models import Call, CallEvent, CallScreening, Ticket

LAST_IN_QUEUE = ("rate_limited", "queued_last")  # hotline/services/shield.py decisions


@dataclass(frozen=True)
class WaitingCall:
    call_id: int
    provider: str
    provider_call_id: str
    caller: str
    category: str | None
    ticket_number: int | None
    language: str
    waiting_since: datetime
    last: bool = False  # held back by the junk-call shield: served after everyone else


def waiting_calls(session: Session) -> list[WaitingCall]:
    # The queue node was the last node the call entered: its event's time is when the wait began.
    entered = (
        select(CallEvent.call_id, func.max(CallEvent.at).label("since"))
        .where(CallEvent.input.is_(None))
        .group_by(CallEvent.call_id)
        .subquery()
    )
    held_back = select(CallScreening.call_id).where(
        CallScreening.call_id.is_not(None), CallScreening.decision.in_(LAST_IN_QUEUE)
    )
    last = case((Call.id.in_(held_back), 1), else_=0)
    stmt = (
        select(Call, entered.c.since, Ticket.category, last)
        .outerjoin(entered, entered.c.call_id == Call.id)
        .outerjoin(Ticket, Ticket.id == Call.ticket_id)
        .where(Call.status == "queued")
        .order_by(last, func.coalesce(entered.c.since, Call.started_at), Call.id)
    )
    rows = []
    for call, since, ticket_category, is_last in session.execute(stmt):
        fields = (call.state or {}).get("fields") or {}
        rows.append(
            WaitingCall(
                call_id=call.id,
                provider=call.provider,
                provider_call_id=call.provider_call_id,
                caller=call.caller,
                category=ticket_category or fields.get("category") or None,
                ticket_number=call.ticket_id,
                language=(call.state or {}).get("language", "id"),
                waiting_since=since or call.started_at,
                last=bool(is_last),
            )
        )
    return rows
