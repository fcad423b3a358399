"""The operator queue as the console shows it and as operators take calls from it, most urgent first:

    1. emergencies (the caller pressed the emergency key: a critical ticket is open and alerted),
    2. callers who talk, chose a report or asked for an operator,
    3. silent first-time callers (no key and no voice: a call record for the operator, no ticket),
    4. numbers the junk-call shield held back (over a limit, flagged as a repeat offender),

oldest first within each, by when the call first joined the queue (a caller who left it to give the
place of an emergency keeps their turn). The priority is the call's last `Enqueue.priority`
(hotline/ivr/engine.py), stored on the call; nobody is dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hotline.ivr.actions import QUEUE_PRIORITIES
from hotline.models import Call, CallEvent, CallRecordStatus, CallScreening, Ticket

LAST_IN_QUEUE = ("rate_limited", "queued_last")  # hotline/features/shield/shield.py decisions
SCREENED = QUEUE_PRIORITIES.index("screened")


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
    priority: str = "normal"  # one of QUEUE_PRIORITIES
    ticket_priority: str | None = None  # the ticket's (critical, high, ...), when the call has one


def waiting_calls(session: Session) -> list[WaitingCall]:
    return [waiting for _, waiting in queued_calls(session)]


def queued_calls(session: Session) -> list[tuple[Call, WaitingCall]]:
    """`waiting_calls` with each one's call row (the JSON API answers the row's own fields too)."""
    # Calls queued before priorities were stored: their queue node's event is when the wait began.
    entered = (
        select(CallEvent.call_id, func.max(CallEvent.at).label("since"))
        .where(CallEvent.input.is_(None))
        .group_by(CallEvent.call_id)
        .subquery()
    )
    held_back = select(CallScreening.call_id).where(
        CallScreening.call_id.is_not(None), CallScreening.decision.in_(LAST_IN_QUEUE)
    )
    rank = case(
        (Call.id.in_(held_back), SCREENED),  # whatever the flow said, the shield's decision stands
        *((Call.queue_priority == name, i) for i, name in enumerate(QUEUE_PRIORITIES)),
        else_=QUEUE_PRIORITIES.index("normal"),
    )
    since = func.coalesce(Call.queued_at, entered.c.since, Call.started_at)
    stmt = (
        select(Call, since, Ticket.category, Ticket.priority, rank)
        .outerjoin(entered, entered.c.call_id == Call.id)
        .outerjoin(Ticket, Ticket.id == Call.ticket_id)
        .where(Call.status == CallRecordStatus.QUEUED)
        .order_by(rank, since, Call.id)
    )
    rows = []
    for call, waiting_since, ticket_category, ticket_priority, position in session.execute(stmt):
        fields = (call.state or {}).get("fields") or {}
        waiting = WaitingCall(
            call_id=call.id,
            provider=call.provider,
            provider_call_id=call.provider_call_id,
            caller=call.caller,
            category=ticket_category or fields.get("category") or None,
            ticket_number=call.ticket_id,
            language=(call.state or {}).get("language", "id"),
            waiting_since=waiting_since or call.started_at,
            last=position == SCREENED,
            priority=QUEUE_PRIORITIES[position],
            ticket_priority=ticket_priority,
        )
        rows.append((call, waiting))
    return rows


def queue_stamps(session: Session) -> list[tuple[int, datetime]]:
    """(id, updated_at) of every call waiting in the queue, by id: any change to the queue changes it (what the
    console's live stream compares between its polls)."""
    rows = session.execute(
        select(Call.id, Call.updated_at).where(Call.status == CallRecordStatus.QUEUED).order_by(Call.id)
    )
    return [(call_id, updated_at) for call_id, updated_at in rows]
