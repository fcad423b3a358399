"""Open tickets for the map, bounded at any size of history.

At most `limit` markers, the most pressing first (priority, then late, then newest); what is left out is counted,
never listed. Counts per desa come from one GROUP BY over open tickets (its rows: the city's desa, twice at most).
Nothing reads closed tickets, and no list of ids grows with the number of open tickets: the only IN lists are the
open statuses and the city's own desa names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.accounts.accounts import Principal
from hotline.features.tickets.tickets import OPEN_STATUSES
from hotline.models import Agency, Ticket, TicketStatus

MAP_MARKERS = 500  # markers a map answer carries at most; the rest are counted
PRIORITIES = ("critical", "high", "normal", "low")


class MapFilterError(ValueError):
    """A filter the map cannot apply; `code` names its sentence (hotline/catalog, `map` section)."""

    def __init__(self, code: str, value: str):
        self.code, self.value = code, value
        super().__init__(f"{code}: {value!r}")


@dataclass(frozen=True)
class MapFilter:
    category: str | None = None
    priority: str | None = None
    agency: str | None = None  # agency code
    kecamatan: str | None = None
    late: bool = False

    def checked(self, config: CityConfig) -> MapFilter:
        """Itself, when every value is one the city knows; MapFilterError naming the first that is not."""
        if self.category and config.category(self.category) is None:
            raise MapFilterError("bad_category", self.category)
        if self.priority and self.priority not in PRIORITIES:
            raise MapFilterError("bad_priority", self.priority)
        if self.agency and config.agency(self.agency) is None:
            raise MapFilterError("bad_agency", self.agency)
        if self.kecamatan and all(k.name != self.kecamatan for k in config.areas):
            raise MapFilterError("bad_kecamatan", self.kecamatan)
        return self


@dataclass(frozen=True)
class MapTicket:
    id: int
    lat: float
    lon: float
    exact: bool  # the reporter's GPS; False: the desa's point
    category: str | None
    priority: str
    status: str
    desa: str | None
    due: datetime | None  # the running deadline: accept-by while waiting, finish-by after
    late: bool


@dataclass
class MapView:
    markers: list[MapTicket]
    total: int  # open tickets the filter matches
    no_place: int  # of those, with neither GPS nor a desa the city has a point for
    per_desa: dict[str, int] = field(default_factory=dict)  # open tickets the filter matches, per desa

    @property
    def left_out(self) -> int:
        """Tickets with a place that are not among the markers (over the limit)."""
        return max(0, self.total - self.no_place - len(self.markers))


def _filtered(stmt: Select[Any], *, principal: Principal, filters: MapFilter, now: datetime) -> Select[Any]:
    stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES))  # said outright: the planner takes ix_tickets_open
    agency = filters.agency if principal.sees_all_agencies else principal.agency_code
    if agency or not principal.sees_all_agencies:
        stmt = stmt.where(Ticket.agency_id == select(Agency.id).where(Agency.code == agency).scalar_subquery())
    if filters.category:
        stmt = stmt.where(Ticket.category == filters.category)
    if filters.priority:
        stmt = stmt.where(Ticket.priority == filters.priority)
    if filters.kecamatan:
        stmt = stmt.where(Ticket.kecamatan == filters.kecamatan)
    if filters.late:
        # the running deadline as one expression, not overdue_clause's OR: with the OR the planner reads every
        # open ticket's heap page through a BitmapOr (bench/map_wallboard.py: 560 ms at 1M tickets, not 60)
        stmt = stmt.where(_due() < now)
    return stmt


def _due() -> Any:
    """The running deadline: accept-by while waiting, finish-by while worked, none otherwise."""
    return case(
        (Ticket.status == TicketStatus.ROUTED, Ticket.accept_due_at),
        (Ticket.status.in_((TicketStatus.ACCEPTED, TicketStatus.ON_SITE)), Ticket.resolve_due_at),
        else_=None,
    )


def map_view(
    session: Session,
    *,
    config: CityConfig,
    principal: Principal,
    filters: MapFilter,
    now: datetime,
    limit: int = MAP_MARKERS,
) -> MapView:
    """Two queries: the per-desa counts, and the `limit` most pressing tickets that have a place."""
    has_gps = and_(Ticket.latitude.is_not(None), Ticket.longitude.is_not(None))
    gps_flag = case((has_gps, 1), else_=0)
    grouped = _filtered(
        select(Ticket.desa, gps_flag, func.count()), principal=principal, filters=filters, now=now
    ).group_by(Ticket.desa, gps_flag)
    total = no_place = 0
    per_desa: dict[str, int] = {}
    for desa, gps, n in session.execute(grouped):
        total += n
        if desa:
            per_desa[desa] = per_desa.get(desa, 0) + n
        if not gps and config.point_of(desa) is None:
            no_place += n
    if total == no_place:
        return MapView([], total, no_place, per_desa)
    placed = or_(has_gps, Ticket.desa.in_(sorted(config.desa_points)))  # the city's desa: a fixed, small list
    rank = case({p: i for i, p in enumerate(PRIORITIES)}, value=Ticket.priority, else_=len(PRIORITIES))
    late = case((_due() < now, 0), else_=1)
    stmt = (
        _filtered(_columns(), principal=principal, filters=filters, now=now)
        .where(placed)
        .order_by(rank, late, Ticket.id.desc())
        .limit(max(1, limit))
    )
    markers = [m for row in session.execute(stmt) if (m := _marker(row, config=config, now=now)) is not None]
    return MapView(markers, total, no_place, per_desa)


def _columns() -> Select[Any]:
    return select(
        Ticket.id,
        Ticket.latitude,
        Ticket.longitude,
        Ticket.category,
        Ticket.priority,
        Ticket.status,
        Ticket.desa,
        _due(),
    )


def _marker(row: Any, *, config: CityConfig, now: datetime) -> MapTicket | None:
    number, lat, lon, category, priority, status, desa, deadline = row
    exact = lat is not None and lon is not None
    point = (lat, lon) if exact else config.point_of(desa)
    if point is None:
        return None
    is_late = deadline is not None and deadline < now
    return MapTicket(number, point[0], point[1], exact, category, priority, status, desa, deadline, is_late)


def focus_marker(
    session: Session, *, config: CityConfig, principal: Principal, number: int, now: datetime
) -> MapTicket | None:
    """One open ticket's marker (a link from its page: "on the map"), whatever the filters and the limit; None
    when it is closed, has no place, or this person may not see it."""
    stmt = _filtered(_columns(), principal=principal, filters=MapFilter(), now=now).where(Ticket.id == number)
    row = session.execute(stmt).first()
    return _marker(row, config=config, now=now) if row is not None else None
