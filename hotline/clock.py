"""The one clock every deadline reads. Tests move it forward instead of sleeping."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def ceil_second(moment: datetime) -> datetime:
    """RQ keeps whole seconds and truncates: round up so a timer never fires before its moment."""
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)
