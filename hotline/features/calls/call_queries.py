"""Reading calls for lists: the JSON API's /calls, a ticket's calls (the ticket page's recordings); the operator
queue is hotline/features/calls/call_queue.py."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import Call


def recent_calls(session: Session, *, active_only: bool, limit: int) -> list[Call]:
    """The newest `limit` calls, newest first; `active_only`: those not ended yet."""
    stmt = select(Call).order_by(Call.id.desc()).limit(limit)
    if active_only:
        stmt = stmt.where(Call.ended_at.is_(None))
    return list(session.scalars(stmt))


def ticket_calls(session: Session, *, number: int) -> list[Call]:
    """The calls about ticket `number`, oldest first."""
    return list(session.scalars(select(Call).where(Call.ticket_id == number).order_by(Call.id)))
