"""The ticket list as rows for an export: the same tickets the list page's filters pick (ticket_queries.filtered_ids),
newest first, read in batches so memory stays bounded whatever the history (yield_per: a server-side cursor on
PostgreSQL, SQLite steps its cursor), and only the columns an export writes, never whole ORM objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.features.accounts.accounts import Principal
from hotline.features.tickets.ticket_queries import TicketFilter, filtered_ids
from hotline.models import Agency, Ticket

EXPORT_BATCH = 1000  # rows held at once


@dataclass(frozen=True)
class ExportRow:
    number: int
    status: str
    category: str | None
    agency: str | None
    priority: str
    channel: str
    reporter: str
    kecamatan: str | None
    desa: str | None
    location: str | None
    text: str
    created_at: datetime
    routed_at: datetime | None
    accept_due_at: datetime | None
    accepted_at: datetime | None
    resolve_due_at: datetime | None
    resolved_at: datetime | None
    cancelled_at: datetime | None


def export_rows(session: Session, *, principal: Principal, filters: TicketFilter, now: datetime) -> Iterator[ExportRow]:
    """Every ticket the filters pick that `principal` may see (no page limit), newest first."""
    chosen = filtered_ids(principal, filters, now)
    stmt = (
        select(
            Ticket.id,
            Ticket.status,
            Ticket.category,
            Agency.code,
            Ticket.priority,
            Ticket.channel,
            Ticket.reporter_phone,
            Ticket.kecamatan,
            Ticket.desa,
            Ticket.location_text,
            Ticket.text,
            Ticket.created_at,
            Ticket.routed_at,
            Ticket.accept_due_at,
            Ticket.accepted_at,
            Ticket.resolve_due_at,
            Ticket.resolved_at,
            Ticket.cancelled_at,
        )
        .outerjoin(Agency, Agency.id == Ticket.agency_id)
        .where(Ticket.id.in_(chosen))
        .order_by(Ticket.id.desc())
        .execution_options(yield_per=EXPORT_BATCH)
    )
    for row in session.execute(stmt):
        yield ExportRow(*tuple(row))  # the columns above, in ExportRow's order
