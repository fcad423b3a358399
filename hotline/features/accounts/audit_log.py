"""Reading the audit log (the admin's /console/admin/audit and its CSV): filtered by who, which ticket, which
action and a date range in the city's time zone; newest first, paged by id (keyset: a page reads its rows, not the
log, with the indexes of migration 0018), and an export bounded by `EXPORT_CAP`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hotline.db import unit_of_work
from hotline.models import AuditEntry

PAGE = 50
EXPORT_CAP = 100_000  # rows in one CSV; narrow the filter for more
EXPORT_BATCH = 1_000


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # a username exactly as logged ("cli", "open311:<app>" too)
    ticket: int | None = None
    action: str | None = None
    since: date | None = None  # local dates, both ends included
    until: date | None = None

    def is_empty(self) -> bool:
        return not (self.actor or self.ticket or self.action or self.since or self.until)


def _statement(f: AuditFilter, zone: ZoneInfo) -> Select[AuditEntry]:
    stmt = select(AuditEntry)
    if f.actor:
        stmt = stmt.where(AuditEntry.actor == f.actor)
    if f.ticket is not None:
        stmt = stmt.where(AuditEntry.target_type == "ticket", AuditEntry.target_id == str(f.ticket))
    if f.action:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.since is not None:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(f.since, time(), zone))
    if f.until is not None:
        stmt = stmt.where(AuditEntry.at < datetime.combine(f.until + timedelta(days=1), time(), zone))
    return stmt


def audit_page(
    session: Session, f: AuditFilter, *, zone: ZoneInfo, before: int | None = None, limit: int = PAGE
) -> tuple[list[AuditEntry], int | None]:
    """One page, newest first, and the id to pass as `before` for the next (None on the last page)."""
    stmt = _statement(f, zone)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    rows = list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def export_batches(f: AuditFilter, *, zone: ZoneInfo, cap: int = EXPORT_CAP) -> Iterator[list[AuditEntry]]:
    """The filtered rows for a CSV, newest first, in batches each read in a short transaction of its own (an
    export of the whole log holds no transaction open while the client downloads); at most `cap` rows."""
    before: int | None = None
    left = cap
    while left > 0:
        with unit_of_work() as session:
            rows, before = audit_page(session, f, zone=zone, before=before, limit=min(EXPORT_BATCH, left))
            session.expunge_all()
        if rows:
            yield rows
        left -= len(rows)
        if before is None:
            return
