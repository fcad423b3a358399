"""What the wallboard shows, bounded at any size of history.

Per agency: open and late tickets and the few with the nearest deadlines (hotline/features/tickets/board.py:
partial indexes over open tickets, a LIMIT per agency); today's new and finished tickets (the routed_at and
resolved_at indexes: today's rows only); calls waiting (the calls.status index); and the agencies in the red
on this month's scorecard (the card the metrics refresher keeps in Redis). Agencies with late tickets first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.scorecard import Month
from hotline.features.scorecard.monthly import month_scorecard
from hotline.features.tickets.board import AgencyLoad, agency_loads
from hotline.features.tickets.ticket_queries import active_agencies
from hotline.models import Call, CallRecordStatus, Ticket, TicketEvent, TicketStatus

WALL_ROWS = 5  # tickets per agency on the big screen: readable from 5 metres


@dataclass(frozen=True)
class WallAgency:
    code: str
    name: str
    load: AgencyLoad
    red: bool  # graded red on this month's scorecard


@dataclass(frozen=True)
class Wallboard:
    agencies: list[WallAgency]  # late first, then the busiest
    new_today: int
    finished_today: int
    calls_waiting: int
    red: list[str]  # agency codes in the red this month
    month: str


def start_of_day(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def version(session: Session) -> str:
    """Changes whenever the board could: any ticket event (its id only grows) or the calls waiting. Two index
    reads, for the screen's cheap poll (hotline/web/console/wallboard.py)."""
    last_event = session.scalar(select(func.max(TicketEvent.id)))
    waiting = session.scalar(select(func.count(Call.id)).where(Call.status == CallRecordStatus.QUEUED))
    return f"{last_event or 0}.{waiting or 0}"


def wallboard(session: Session, *, config: CityConfig, now: datetime, tz: ZoneInfo, rows: int = WALL_ROWS) -> Wallboard:
    month = Month.containing(now, tz)
    card = month_scorecard(config=config, month=month, tz=tz, now=now)
    red = sorted(a.code for a in card.agencies if a.grade == "red")
    agencies = active_agencies(session)
    loads, _ = agency_loads(session, agency_ids=[a.id for a in agencies], now=now, rows=rows)
    wall = [WallAgency(a.code, a.name, loads[a.id], a.code in red) for a in agencies]
    wall.sort(key=lambda w: (-w.load.late, -w.load.open, w.code))
    today = start_of_day(now, tz)
    new_today = session.scalar(select(func.count(Ticket.id)).where(Ticket.routed_at >= today)) or 0
    finished = session.scalar(
        select(func.count(Ticket.id)).where(Ticket.resolved_at >= today, Ticket.status == TicketStatus.RESOLVED)
    )
    waiting = session.scalar(select(func.count(Call.id)).where(Call.status == CallRecordStatus.QUEUED)) or 0
    return Wallboard(wall, new_today, finished or 0, waiting, red, str(month))
