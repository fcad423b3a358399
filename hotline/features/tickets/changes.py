"""The tickets' latest change, read cheaply: what the console's live stream compares between its polls
(hotline/web/console/live_hub.py) to tell open pages that a ticket changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.models import Ticket, TicketEvent


@dataclass(frozen=True)
class LatestChange:
    tickets: int  # how many tickets there are
    updated_at: datetime | None  # the latest ticket's update
    last_event: int  # the newest timeline event's id (0: none)
    last_event_at: datetime | None  # when it was written: the same id at another time is another row


def latest_change(session: Session) -> LatestChange:
    """The count of tickets, their latest update and the newest timeline event, in one query."""
    newest = select(TicketEvent.id, TicketEvent.at).order_by(TicketEvent.id.desc()).limit(1).subquery()
    row = session.execute(
        select(func.count(Ticket.id), func.max(Ticket.updated_at), select(newest.c.id).scalar_subquery()).add_columns(
            select(newest.c.at).scalar_subquery()
        )
    ).one()
    return LatestChange(row[0], row[1], row[2] or 0, row[3])


def event_written_at(session: Session, event_id: int) -> datetime | None:
    """When timeline event `event_id` was written (None: there is no such event)."""
    return session.scalar(select(TicketEvent.at).where(TicketEvent.id == event_id))
