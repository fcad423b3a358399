"""Dinas Pertanian's view: farm reports per week and kecamatan / desa / commodity / sub-category, the field
officers' (PPL) response times scored by the scorecard's own rules, per PPL team, and the outbreaks."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.scorecard.compute import AgencyScore
from hotline.features.scorecard.month import Month
from hotline.features.scorecard.monthly import month_scorecard
from hotline.models import FarmReport

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


def ppl_scores(*, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime) -> list[AgencyScore]:
    """One scorecard row per PPL team (URC) that held farm tickets routed in the month: times to accept (TERIMA,
    or the advice SMS that counts as it) and to finish, share within SLA, breaches, escalation steps fired and
    reopened tickets, by the scorecard's own rules. They come with the month's scorecard (the same read of the
    month, features/scorecard/query.py): frozen with it once the month has closed, the refresher's card for the
    open month."""
    return list(month_scorecard(config=config, month=month, tz=tz, now=now).teams)


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
