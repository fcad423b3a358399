"""Closed months' scorecards, frozen at close: read from one row per agency, never judged again.

A month closes FREEZE_AFTER its last day ends in the city's timezone (time for the deadlines of its last tickets
to come due). The first time a closed month is asked for (or `hotline scorecard-rollup`), it is judged as today's
live computation judges it (query.py, compute.py) and the card is stored as it is: every figure, the order of the
rows, the thresholds and the moment it was judged (`as_of`). From then on it costs one read of a few rows,
whatever the size of the history.

Late corrections stay out, as on a paper scorecard: a ticket of a frozen month reopened, merged or cancelled later
does not change that month's figures. `hotline scorecard-rollup --month YYYY-MM --rebuild` judges it again (an
audit, a data fix) and replaces the stored card; `--fresh` on `hotline scorecard` and `fresh=true` on the API show
a live judgement without storing it.

The farming agency's PPL teams (hotline farmers ppl, the scorecard page) are frozen with the agencies, from the
same judgement (kind `team`). A card frozen before migration 0024 has no team rows: `--rebuild` adds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import ScorecardThresholds
from hotline.features.scorecard.compute import AgencyScore, Scorecard
from hotline.features.scorecard.month import Month
from hotline.features.scorecard.query import build_scorecard
from hotline.models import ScorecardRollup, Ticket

FREEZE_AFTER = timedelta(days=1)
AGENCY, TEAM = "agency", "team"  # ScorecardRollup.kind: an agency's row, a PPL team's


def is_closed(month: Month, *, tz: ZoneInfo, now: datetime) -> bool:
    return now >= month.next().start(tz) + FREEZE_AFTER


def frozen_scorecard(session: Session, *, month: Month, tz: ZoneInfo) -> Scorecard | None:
    """The month's stored card; None when it was never frozen (or frozen in another timezone than the city's now)."""
    rows = session.scalars(
        select(ScorecardRollup).where(ScorecardRollup.month == str(month)).order_by(ScorecardRollup.position)
    ).all()
    if not rows or rows[0].timezone != tz.key or not any(row.kind == AGENCY for row in rows):
        return None
    return card_of(rows)


def card_of(rows: Sequence[ScorecardRollup]) -> Scorecard:
    """One month's stored rows (in their position order) as its card: the agencies' rows, then the teams'."""
    first = rows[0]
    return Scorecard(
        month=first.month,
        timezone=first.timezone,
        as_of=first.as_of,
        thresholds=ScorecardThresholds(**first.thresholds),
        agencies=tuple(AgencyScore(**row.figures) for row in rows if row.kind == AGENCY),
        teams=tuple(AgencyScore(**row.figures) for row in rows if row.kind == TEAM),
    )


def freeze(session: Session, *, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime) -> Scorecard:
    """Judge the month now and store the card, replacing any stored before."""
    card = build_scorecard(session, config=config, month=month, tz=tz, now=now)
    session.execute(delete(ScorecardRollup).where(ScorecardRollup.month == str(month)))
    thresholds = {"green": card.thresholds.green, "yellow": card.thresholds.yellow}
    session.add_all(
        ScorecardRollup(
            month=str(month),
            kind=kind,
            agency_code=row.code,
            position=position,
            timezone=card.timezone,
            as_of=card.as_of,
            thresholds=thresholds,
            figures=asdict(row),
        )
        for kind, rows in ((AGENCY, card.agencies), (TEAM, card.teams))
        for position, row in enumerate(rows)
    )
    session.flush()
    return card


def first_month(session: Session, *, tz: ZoneInfo) -> Month | None:
    """The month of the first routed ticket (an index's first entry): months before it have nothing to freeze."""
    first = session.scalar(select(func.min(Ticket.routed_at)))
    return None if first is None else Month.containing(first, tz)


def closed_months(session: Session, *, tz: ZoneInfo, now: datetime) -> list[Month]:
    """Every closed month from the first routed ticket's on (what `hotline scorecard-rollup --all` freezes)."""
    month = first_month(session, tz=tz)
    if month is None:
        return []
    months: list[Month] = []
    while is_closed(month, tz=tz, now=now):
        months.append(month)
        month = month.next()
    return months
