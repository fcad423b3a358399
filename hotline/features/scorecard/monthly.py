"""Which scorecard a reader gets for a month: what `hotline scorecard`, `GET /api/v1/scorecard` and the console show.

- A closed month (rollup.py): its frozen card, frozen now if it never was. One read of a few rows.
- The open month (this one, or the last until it closes): the card the metrics refresher judged in the background
  at most an interval ago (cache.py), `as_of` saying when; judged now and kept when there is none.
- `fresh`: judged now, nothing read or stored (costs the month's own tickets).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError

from hotline.cityconfig import CityConfig
from hotline.db import unit_of_work
from hotline.features.scorecard.cache import cached_scorecard
from hotline.features.scorecard.compute import Scorecard
from hotline.features.scorecard.month import Month
from hotline.features.scorecard.query import build_scorecard
from hotline.features.scorecard.rollup import first_month, freeze, frozen_scorecard, is_closed


def judged_now(*, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime) -> Scorecard:
    with unit_of_work() as session:
        return build_scorecard(session, config=config, month=month, tz=tz, now=now)


def month_scorecard(*, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime, fresh: bool = False) -> Scorecard:
    if fresh:
        return judged_now(config=config, month=month, tz=tz, now=now)
    if not is_closed(month, tz=tz, now=now):
        try:
            return cached_scorecard(config=config, month=month, tz=tz, now=now)
        except RedisError:  # no Redis to keep it in (a CLI run beside a stopped stack): judge it now
            return judged_now(config=config, month=month, tz=tz, now=now)
    with unit_of_work() as session:
        card = frozen_scorecard(session, month=month, tz=tz)
        first = first_month(session, tz=tz) if card is None else None  # the first entry of the routed_at index
    if card is not None:
        return card
    if first is None or month < first:  # before the hotline's first ticket: nothing to judge, nothing stored
        return judged_now(config=config, month=month, tz=tz, now=now)
    try:
        with unit_of_work() as session:
            return freeze(session, config=config, month=month, tz=tz, now=now)
    except IntegrityError:  # another process froze it at the same moment: theirs stands
        with unit_of_work() as session:
            card = frozen_scorecard(session, month=month, tz=tz)
        return card if card is not None else judged_now(config=config, month=month, tz=tz, now=now)
