"""Finding tickets as a person may see them: filters for lists, and the agency limit of agency staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from hotline.features.accounts.accounts import Principal
from hotline.features.tickets.tickets import CLOSED_STATUSES, OPEN_STATUSES
from hotline.models import Agency, Ticket, TicketStatus

STATUSES = (*OPEN_STATUSES, *CLOSED_STATUSES)
MAX_PAGE = 200


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None  # one of STATUSES, or "open" / "closed"
    agency: str | None = None  # agency code
    category: str | None = None
    kecamatan: str | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0
    before: int | None = None  # keyset paging: only tickets numbered below this (newest first, any depth)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Open tickets whose running deadline has passed: accept-by while routed, finish-by after."""
    return or_(
        and_(Ticket.status == TicketStatus.ROUTED, Ticket.accept_due_at < now),
        and_(Ticket.status.in_((TicketStatus.ACCEPTED, TicketStatus.ON_SITE)), Ticket.resolve_due_at < now),
    )


def visible_tickets(principal: Principal) -> Select[Ticket]:
    stmt = select(Ticket)
    if not principal.sees_all_agencies:
        stmt = stmt.join(Agency, Agency.id == Ticket.agency_id).where(Agency.code == principal.agency_code)
    return stmt


def filtered_ids(principal: Principal, filters: TicketFilter, now: datetime) -> Select[int]:
    """The numbers of the tickets `filters` picks that this person may see (no order, no page): what the list
    pages through and the CSV export streams, so both always pick the same tickets."""
    ids = select(Ticket.id)
    if not principal.sees_all_agencies:
        ids = ids.join(Agency, Agency.id == Ticket.agency_id).where(Agency.code == principal.agency_code)
    if filters.status == "open" or (filters.overdue and not filters.status):
        ids = ids.where(Ticket.status.in_(OPEN_STATUSES))  # said outright, the planner takes ix_tickets_open
    elif filters.status == "closed":
        ids = ids.where(Ticket.status.in_(CLOSED_STATUSES))
    elif filters.status and filters.status != "open":
        ids = ids.where(Ticket.status == filters.status)
    if filters.agency:
        agency_ids = select(Agency.id).where(Agency.code == filters.agency).scalar_subquery()
        ids = ids.where(Ticket.agency_id == agency_ids)
    if filters.category:
        ids = ids.where(Ticket.category == filters.category)
    if filters.kecamatan:
        ids = ids.where(Ticket.kecamatan == filters.kecamatan)
    if filters.overdue:
        ids = ids.where(overdue_clause(now))
    if filters.before is not None:
        ids = ids.where(Ticket.id < filters.before)
    return ids


def list_tickets(session: Session, *, principal: Principal, filters: TicketFilter, now: datetime) -> list[Ticket]:
    """A page of tickets, newest first. The page's numbers are chosen first, from the columns alone (for open
    tickets an index-only scan of ix_tickets_open, migration 0013), then those rows are read: the cost is the
    page, not every ticket the filter matches."""
    ids = filtered_ids(principal, filters, now)
    limit = max(1, min(filters.limit, MAX_PAGE))
    page = ids.order_by(Ticket.id.desc()).limit(limit).offset(max(0, filters.offset)).subquery()
    stmt = select(Ticket).where(Ticket.id.in_(select(page.c.id))).order_by(Ticket.id.desc())
    return list(session.scalars(stmt))


def find_visible_ticket(
    session: Session, *, principal: Principal, number: int, for_update: bool = False
) -> Ticket | None:
    """The ticket, or None when it does not exist or this person may not see it (the same answer: no leak)."""
    stmt = visible_tickets(principal).where(Ticket.id == number)
    return session.scalar(stmt.with_for_update(of=Ticket) if for_update else stmt)


def agency_codes(session: Session) -> dict[int, str]:
    return {a.id: a.code for a in session.scalars(select(Agency))}


def active_agencies(session: Session) -> list[Agency]:
    """The agencies routing/ names (active), by code: the API's list, the wallboard's and the console board's rows."""
    return list(session.scalars(select(Agency).where(Agency.active).order_by(Agency.code)))


def open_tickets_per_agency(session: Session) -> dict[int, int]:
    """Open tickets per agency id (an agency with none is absent)."""
    stmt = select(Ticket.agency_id, func.count()).where(Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.agency_id)
    return {agency_id: count for agency_id, count in session.execute(stmt).all() if agency_id is not None}


def visible_agencies(session: Session, *, principal: Principal) -> list[Agency]:
    """The active agencies this person may see (agency staff: their own), by code: the console's board and
    GET /api/v1/agencies."""
    return [a for a in active_agencies(session) if principal.may_see_agency(a.code)]
