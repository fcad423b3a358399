"""The last months' scorecards, for the console's trend charts: closed months from their frozen rows (one query for
all of them), the open month as monthly.py serves it. A closed month never frozen is frozen on its first view, as
monthly.py does for any reader; months after the current one have nothing yet and are left out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotline.cityconfig import CityConfig
from hotline.db import unit_of_work
from hotline.features.scorecard.compute import AgencyScore, Grade, Scorecard
from hotline.features.scorecard.month import Month
from hotline.features.scorecard.monthly import month_scorecard
from hotline.features.scorecard.rollup import AGENCY, card_of
from hotline.models import ScorecardRollup

TREND_MONTHS = 12


@dataclass(frozen=True)
class TrendPoint:
    """One agency in one month."""

    month: str
    share: float | None  # within SLA (both deadlines), what the grade is judged on
    accept_share: float | None
    finish_share: float | None
    accept_median_min: float | None
    resolve_median_min: float | None
    measured: int
    grade: Grade


def kept_share(measured: int, breaches: int) -> float | None:
    """The share of decided tickets whose one deadline (accept or finish) was kept. A breach of either deadline
    makes a ticket decided (compute.py), so breaches never exceed `measured`."""
    return None if measured == 0 else max(0, measured - breaches) / measured


def accept_share(row: AgencyScore) -> float | None:
    return kept_share(row.measured, row.accept_breaches)


def finish_share(row: AgencyScore) -> float | None:
    return kept_share(row.measured, row.resolve_breaches)


def months_up_to(last: Month, count: int = TREND_MONTHS) -> list[Month]:
    months = [last]
    while len(months) < count:
        months.append(months[-1].previous())
    return months[::-1]


def recent_cards(
    *, config: CityConfig, last: Month, tz: ZoneInfo, now: datetime, count: int = TREND_MONTHS
) -> list[Scorecard]:
    """The cards of the `count` months ending with `last`, oldest first (months still ahead left out)."""
    current = Month.containing(now, tz)
    months = [m for m in months_up_to(last, count) if m <= current]
    names = [str(m) for m in months]
    with unit_of_work() as session:
        stored = session.scalars(
            select(ScorecardRollup)
            .where(ScorecardRollup.month.in_(names), ScorecardRollup.kind == AGENCY)
            .order_by(ScorecardRollup.month, ScorecardRollup.position)
        ).all()
    by_month: dict[str, list[ScorecardRollup]] = defaultdict(list)
    for row in stored:
        by_month[row.month].append(row)
    cards = []
    for month in months:
        rows = by_month.get(str(month))
        if rows and rows[0].timezone == tz.key:
            cards.append(card_of(rows))
        else:  # the open month, or a closed one nobody viewed yet (frozen now, once)
            cards.append(month_scorecard(config=config, month=month, tz=tz, now=now))
    return cards


def agency_trends(cards: list[Scorecard], codes: list[str]) -> dict[str, list[TrendPoint]]:
    """Per agency code, one point per card (a month without the agency reads as no tickets)."""
    trends: dict[str, list[TrendPoint]] = {code: [] for code in codes}
    for card in cards:
        rows = {row.code: row for row in card.agencies}
        for code in codes:
            row = rows.get(code)
            if row is None:
                trends[code].append(TrendPoint(card.month, None, None, None, None, None, 0, "none"))
                continue
            trends[code].append(
                TrendPoint(
                    month=card.month,
                    share=row.share_within_sla,
                    accept_share=accept_share(row),
                    finish_share=finish_share(row),
                    accept_median_min=row.accept_median_min,
                    resolve_median_min=row.resolve_median_min,
                    measured=row.measured,
                    grade=row.grade,
                )
            )
    return trends
