"""Dinas Pertanian's view: farm reports per week and kecamatan / desa / commodity / sub-category, the field
officers' (PPL) response times scored by the scorecard's own rules, per PPL team, and the outbreaks."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.scorecard.compute import AgencyInfo, AgencyScore, TicketFacts, score_agency
from hotline.features.scorecard.month import Month
from hotline.models import Escalation, FarmReport, Ticket, TicketEvent, Urc

WEEK_COLUMNS = ("week", "kecamatan", "desa", "commodity", "subcategory", "reports")


@dataclass(frozen=True)
class WeekRow:
    week: str  # the Monday the week starts on, city time (YYYY-MM-DD)
    kecamatan: str
    desa: str
    commodity: str
    subcategory: str
    reports: int


def weekly_reports(session: Session, *, tz: ZoneInfo, since: datetime) -> list[WeekRow]:
    """Farm reports since `since`, counted per week (city time) and place, commodity and sub-category."""
    rows = session.execute(
        select(
            FarmReport.created_at, FarmReport.kecamatan, FarmReport.desa, FarmReport.commodity, FarmReport.subcategory
        ).where(FarmReport.created_at >= since)
    ).all()
    counts: Counter[tuple[str, str, str, str, str]] = Counter()
    for created, kecamatan, desa, commodity, sub in rows:
        local = created.astimezone(tz).date()
        monday = local - timedelta(days=local.weekday())
        counts[(monday.isoformat(), kecamatan or "-", desa or "-", commodity or "-", sub or "-")] += 1
    return [WeekRow(*key, n) for key, n in sorted(counts.items())]


def weekly_csv(rows: list[WeekRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WEEK_COLUMNS)
    for r in rows:
        writer.writerow([r.week, r.kecamatan, r.desa, r.commodity, r.subcategory, r.reports])
    return out.getvalue()


def ppl_scores(session: Session, *, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime) -> list[AgencyScore]:
    """One scorecard row per PPL team (URC) of the farming agency that held farm tickets routed in the month:
    times to accept (TERIMA, or the advice SMS that counts as it) and to finish, share within SLA, breaches,
    escalation steps fired and reopened tickets, by the scorecard's own rules (features/scorecard/compute.py)."""
    start, end = month.bounds(tz)
    in_month = (Ticket.routed_at >= start, Ticket.routed_at < end)
    fired = (  # as the agencies' card counts them (features/scorecard/query.py), for this month's tickets only
        select(Escalation.ticket_id, func.count().label("n"))
        .join(Ticket, Ticket.id == Escalation.ticket_id)
        .where(Escalation.status == "fired", *in_month)
        .group_by(Escalation.ticket_id)
        .subquery()
    )
    reopened = select(TicketEvent.id).where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "reopened").exists()
    rows = session.execute(
        select(
            Urc.code,
            Urc.name,
            Ticket.routed_at,
            Ticket.accept_due_at,
            Ticket.resolve_due_at,
            Ticket.accepted_at,
            Ticket.resolved_at,
            Ticket.cancelled_at,
            func.coalesce(fired.c.n, 0),
            reopened,
        )
        .join(Urc, Ticket.urc_id == Urc.id)
        .join(FarmReport, FarmReport.ticket_id == Ticket.id)
        .outerjoin(fired, fired.c.ticket_id == Ticket.id)
        .where(*in_month)
        .order_by(Ticket.id)
    ).all()
    teams: dict[str, tuple[str, list[TicketFacts]]] = {}
    for code, name, routed, accept_due, resolve_due, accepted, resolved, cancelled, fired_n, was_reopened in rows:
        if routed is None:  # the WHERE above keeps only routed tickets; this tells the type checker
            continue
        facts = TicketFacts(
            code, routed, accept_due, resolve_due, accepted, resolved, cancelled, fired_n, bool(was_reopened)
        )  # bool(): SQLite answers 0/1
        teams.setdefault(code, (name, []))[1].append(facts)
    scores = [
        score_agency(AgencyInfo(code, name), tickets, now=now, thresholds=config.scorecard)
        for code, (name, tickets) in teams.items()
    ]
    return sorted(
        scores, key=lambda s: (("red", "yellow", "green", "none").index(s.grade), s.share_within_sla or 0, s.code)
    )


PPL_COLUMNS = (
    "urc",
    "name",
    "tickets",
    "within_sla",
    "measured",
    "share_within_sla",
    "accept_median_min",
    "accept_p90_min",
    "resolve_median_min",
    "grade",
)


def ppl_csv(scores: list[AgencyScore]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PPL_COLUMNS)
    for s in scores:
        share = "" if s.share_within_sla is None else f"{s.share_within_sla:.3f}"
        writer.writerow(
            [s.code, s.name, s.tickets, s.within_sla, s.measured, share]
            + ["" if v is None else v for v in (s.accept_median_min, s.accept_p90_min, s.resolve_median_min)]
            + [s.grade]
        )
    return out.getvalue()
