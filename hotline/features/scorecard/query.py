"""What the pure scorecard needs from outside: a month's ticket facts from the database, the city's timezone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.scorecard.compute import (
    AgencyInfo,
    Scorecard,
    TicketFacts,
    score_month,
    score_teams,
)
from hotline.features.scorecard.month import Month
from hotline.models import Agency, Escalation, EscalationStatus, FarmReport, Ticket, TicketEvent, Urc
from hotline.settings import SettingsError, get_settings


def city_timezone() -> ZoneInfo:
    name = get_settings().timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"HOTLINE_TIMEZONE={name!r} is not a known timezone (e.g. Asia/Jakarta)") from None


Team = AgencyInfo  # a PPL team (URC) of farm tickets: its code and name


def month_facts(session: Session, *, month: Month, tz: ZoneInfo) -> list[tuple[TicketFacts, Team | None]]:
    """Tickets routed within the local month, with how many escalation steps fired for each and whether the
    reporter reopened it; and for a farm ticket (one with a farm report) the URC team that held it. One read of
    the month serves the agencies' rows and the farming agency's PPL teams."""
    start, end = month.bounds(tz)
    in_month = (Ticket.routed_at >= start, Ticket.routed_at < end)
    # Per ticket, by index (escalations.ticket_id): a join to an aggregate of the fired steps was planned as a scan
    # of the whole escalations table, which grows with the history, not with the month.
    fired = (
        select(func.count())
        .select_from(Escalation)
        .where(Escalation.ticket_id == Ticket.id, Escalation.status == EscalationStatus.FIRED)
        .scalar_subquery()
    )
    reopened = select(TicketEvent.id).where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "reopened").exists()
    farm = select(FarmReport.ticket_id).where(FarmReport.ticket_id == Ticket.id).exists()
    rows = session.execute(
        select(
            Agency.code,
            Ticket.routed_at,
            Ticket.accept_due_at,
            Ticket.resolve_due_at,
            Ticket.accepted_at,
            Ticket.resolved_at,
            Ticket.cancelled_at,
            fired,
            reopened,
            Urc.code,
            Urc.name,
            farm,
        )
        .join(Agency, Ticket.agency_id == Agency.id)
        .outerjoin(Urc, Ticket.urc_id == Urc.id)
        .where(*in_month)
        .order_by(Ticket.id)
    ).all()
    facts: list[tuple[TicketFacts, Team | None]] = []
    for agency, routed, accept_due, resolve_due, accepted, resolved, cancelled, n, was_reopened, *team in rows:
        urc, urc_name, is_farm = team
        ticket = TicketFacts(
            agency, routed, accept_due, resolve_due, accepted, resolved, cancelled, n, bool(was_reopened)
        )
        facts.append((ticket, Team(urc, urc_name) if urc is not None and is_farm else None))
    return facts  # bool(): SQLite answers 0/1


def month_tickets(session: Session, *, month: Month, tz: ZoneInfo) -> list[TicketFacts]:
    """The month's tickets as the agencies' rows judge them (month_facts without the teams)."""
    return [facts for facts, _team in month_facts(session, month=month, tz=tz)]


def _agencies(session: Session, config: CityConfig, tickets: list[TicketFacts]) -> list[AgencyInfo]:
    """Every agency in routing/, plus any that has left it but still holds tickets this month."""
    agencies = [AgencyInfo(a.code, a.name, a.default) for a in config.agencies]
    retired = {t.agency for t in tickets} - {a.code for a in agencies}
    if retired:
        stmt = select(Agency).where(Agency.code.in_(retired)).order_by(Agency.code)
        agencies += [AgencyInfo(a.code, a.name, a.is_default) for a in session.scalars(stmt)]
    return agencies


def build_scorecard(session: Session, *, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime) -> Scorecard:
    """The month judged now: the agencies' rows and the PPL teams' (for their farm tickets, with the team's code in
    place of the agency's), from one read of the month."""
    facts = month_facts(session, month=month, tz=tz)
    tickets = [ticket for ticket, _team in facts]
    card = score_month(
        tickets,
        agencies=_agencies(session, config, tickets),
        month=month,
        tz=tz,
        now=now,
        thresholds=config.scorecard,
    )
    held = [(team, replace(ticket, agency=team.code)) for ticket, team in facts if team is not None]
    return replace(card, teams=score_teams(held, now=now, thresholds=config.scorecard))
