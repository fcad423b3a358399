"""What /open311/v2 reads, as queries of the feature (the web layer reads the query string into these and
renders what they find): the requests a filter picks, a request by number, the request a token was filed as,
and the window's timeline steps for servicerequestupdates (hotline/features/open311/updates.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hotline.features.open311.updates import updates_statement
from hotline.features.tickets.tickets import CLOSED_STATUSES
from hotline.models import Open311Submission, Ticket, TicketEvent

MAX_REQUESTS = 1000  # GeoReport v2's own limit per answer


@dataclass(frozen=True)
class RequestsQuery:
    """GET requests.{fmt}'s filters: `ids` (service_request_id) overrides everything else."""

    ids: list[int] | None
    codes: list[str]
    statuses: set[str]  # {"open"}, {"closed"}, or both / none: every status
    start: datetime | None
    end: datetime | None
    page_size: int
    page: int

    def statement(self) -> Select[Ticket]:
        stmt = select(Ticket)
        if self.ids is not None:
            return stmt.where(Ticket.id.in_(self.ids)).order_by(Ticket.id.desc()).limit(MAX_REQUESTS)
        if self.codes:
            stmt = stmt.where(Ticket.category.in_(self.codes))
        if self.statuses == {"open"}:
            stmt = stmt.where(Ticket.status.not_in(CLOSED_STATUSES))
        elif self.statuses == {"closed"}:
            stmt = stmt.where(Ticket.status.in_(CLOSED_STATUSES))
        if self.start is not None:
            stmt = stmt.where(Ticket.created_at >= self.start)
        if self.end is not None:
            stmt = stmt.where(Ticket.created_at <= self.end)
        offset = (self.page - 1) * self.page_size
        return stmt.order_by(Ticket.id.desc()).offset(offset).limit(self.page_size)


def find_requests(session: Session, query: RequestsQuery) -> list[Ticket]:
    """The tickets the filter picks, newest first."""
    return list(session.scalars(query.statement()))


def find_request(session: Session, number: int) -> Ticket | None:
    return session.get(Ticket, number)


def ticket_of_token(session: Session, token: str) -> int | None:
    """The ticket a filing's token (answered to the partner when it filed) became."""
    return session.scalar(select(Open311Submission.ticket_id).where(Open311Submission.token == token[:64]))


def update_events(session: Session, start: datetime, end: datetime, *, page_size: int, page: int) -> list[TicketEvent]:
    """The window's public steps, oldest first, one page."""
    return list(session.scalars(updates_statement(start, end, page_size=page_size, page=page)))
