"""The console board: per agency, how many tickets are open, late and unreachable, and the most urgent few.

Bounded whatever the city's history holds: counts come from the partial indexes over open tickets only
(migration 0013; index-only scans on PostgreSQL), and each agency's most urgent tickets are two index scans
with a LIMIT (waiting to be accepted, by accept-by; being worked, by finish-by). Nothing reads closed tickets,
and no list of ids grows with the number of open tickets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hotline.features.alerts.failover import unreachable_tickets
from hotline.models import AlertDelivery, AlertDeliveryStatus, Ticket, TicketStatus

BOARD_ROWS = 10  # the most urgent tickets shown per agency; the rest are one link away
WORKING = (TicketStatus.ACCEPTED, TicketStatus.ON_SITE)


@dataclass
class AgencyLoad:
    open: int = 0
    late: int = 0
    unreachable: int = 0  # waiting to be accepted, and a member's alert failed on every channel
    urgent: list[tuple[Ticket, datetime | None]] = field(default_factory=list)  # most urgent first

    @property
    def more(self) -> int:
        return max(0, self.open - len(self.urgent))


def _late(column: InstrumentedAttribute[datetime | None], now: datetime) -> Any:
    return func.coalesce(func.sum(case((column < now, 1), else_=0)), 0)


def agency_loads(
    session: Session, *, agency_ids: list[int], now: datetime, rows: int = BOARD_ROWS
) -> tuple[dict[int, AgencyLoad], set[int]]:
    """Per agency id: its load; and which of the shown tickets are unreachable (for their badge)."""
    loads = {agency_id: AgencyLoad() for agency_id in agency_ids}
    if not agency_ids:
        return loads, set()
    counts = [
        select(Ticket.agency_id, func.count(), _late(Ticket.accept_due_at, now))
        .where(Ticket.status == TicketStatus.ROUTED, Ticket.agency_id.in_(agency_ids))
        .group_by(Ticket.agency_id),
        select(Ticket.agency_id, func.count(), _late(Ticket.resolve_due_at, now))
        .where(Ticket.status.in_(WORKING), Ticket.agency_id.in_(agency_ids))
        .group_by(Ticket.agency_id),
    ]
    for stmt in counts:
        for agency_id, n, late in session.execute(stmt):
            load = loads[cast(int, agency_id)]
            load.open += n
            load.late += int(late)
    exhausted = select(AlertDelivery.id).where(
        AlertDelivery.ticket_id == Ticket.id, AlertDelivery.status == AlertDeliveryStatus.EXHAUSTED
    )  # both sides from partial indexes (migration 0013): open tickets, exhausted deliveries
    unreachable = (
        select(Ticket.agency_id, func.count())
        .where(Ticket.status == TicketStatus.ROUTED, Ticket.agency_id.in_(agency_ids), exhausted.exists())
        .group_by(Ticket.agency_id)
    )
    for agency_id, n in session.execute(unreachable):
        loads[cast(int, agency_id)].unreachable = n
    for agency_id, load in loads.items():
        if not load.open:
            continue
        waiting = session.scalars(
            select(Ticket)
            .where(Ticket.status == TicketStatus.ROUTED, Ticket.agency_id == agency_id)
            .order_by(Ticket.accept_due_at.asc().nulls_last(), Ticket.id)
            .limit(rows)
        )
        working = session.scalars(
            select(Ticket)
            .where(Ticket.status.in_(WORKING), Ticket.agency_id == agency_id)
            .order_by(Ticket.resolve_due_at.asc().nulls_last(), Ticket.id)
            .limit(rows)
        )
        pairs = [(t, t.accept_due_at) for t in waiting] + [(t, t.resolve_due_at) for t in working]
        pairs.sort(key=lambda pair: (pair[1] is None, pair[1] or now, pair[0].id))
        load.urgent = pairs[:rows]
    shown = [t.id for load in loads.values() for t, _ in load.urgent]  # at most rows x agencies
    return loads, unreachable_tickets(session, ticket_ids=shown)
