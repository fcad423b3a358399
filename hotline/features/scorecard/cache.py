"""The open month's scorecard, computed at most once per HOTLINE_METRICS_INTERVAL and kept in Redis.

A month's scorecard reads that month's tickets only (query.py), but a busy month is tens of thousands of them:
too many to judge on every read. The metrics refresher (hotline/metrics.py) computes the current month in
the background each interval, so readers only read it; a month not closed yet that nobody refreshes (last month,
its first day) is computed on its first read and then served for an interval. `as_of` on the card says when it
was judged. Closed months are frozen instead (rollup.py); monthly.py chooses.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import ScorecardThresholds
from hotline.db import unit_of_work
from hotline.features.scorecard.compute import AgencyScore, Scorecard
from hotline.features.scorecard.month import Month
from hotline.features.scorecard.query import build_scorecard
from hotline.settings import get_settings


def _key(month: Month) -> str:
    return f"hotline:scorecard:{get_settings().queue_name}:{month}"


def _dump(card: Scorecard) -> str:
    data = asdict(card)
    data["as_of"] = card.as_of.isoformat()
    return json.dumps(data)


def _load(raw: str | bytes) -> Scorecard:
    data: dict[str, Any] = json.loads(raw)
    return Scorecard(
        month=data["month"],
        timezone=data["timezone"],
        as_of=datetime.fromisoformat(data["as_of"]),
        thresholds=ScorecardThresholds(**data["thresholds"]),
        agencies=tuple(AgencyScore(**row) for row in data["agencies"]),
        teams=tuple(AgencyScore(**row) for row in data.get("teams", [])),  # a card kept by older code has none
    )


def refresh(*, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime) -> Scorecard:
    """Compute the month now and keep it for the next interval (and a little more: the refresher's next turn)."""
    from hotline.core.queue import redis_connection

    with unit_of_work() as session:
        card = build_scorecard(session, config=config, month=month, tz=tz, now=now)
    ttl = max(1, int(get_settings().metrics_interval * 3))
    redis_connection().set(_key(month), _dump(card), ex=ttl)
    redis_connection().set(_key(month) + ":at", repr(time.time()), ex=ttl)
    return card


def cached_scorecard(*, config: CityConfig, month: Month, tz: ZoneInfo, now: datetime) -> Scorecard:
    """The month's card from Redis when judged less than two intervals ago (the refresher's turn comes every
    one to one and a half), else computed now (and kept)."""
    from hotline.core.queue import redis_connection

    raw, at = redis_connection().mget(_key(month), _key(month) + ":at")
    if raw is not None and at is not None and time.time() - float(at) < 2 * get_settings().metrics_interval:
        return _load(raw)
    return refresh(config=config, month=month, tz=tz, now=now)
