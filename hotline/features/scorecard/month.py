"""A calendar month in the city's timezone: parsed from `YYYY-MM`, turned into UTC bounds for queries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

_PATTERN = re.compile(r"(\d{4})-(\d{2})")
# datetime cannot hold year 10000, which the month after 9999-12 would need.
_FIRST_YEAR, _LAST_YEAR = 1970, 9998


class MonthError(ValueError):
    """A month the user typed that is not a real YYYY-MM month. The message is meant for people."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _PATTERN.fullmatch(text.strip())
        if not match:
            raise MonthError(f"month must look like YYYY-MM, e.g. 2026-03 (got {text!r})")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise MonthError(f"month must be 01 to 12 (got {text!r})")
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            raise MonthError(f"year must be {_FIRST_YEAR} to {_LAST_YEAR} (got {text!r})")
        return cls(year, month)

    @classmethod
    def containing(cls, moment: datetime, tz: tzinfo) -> Month:
        local = moment.astimezone(tz)
        return cls(local.year, local.month)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def start(self, tz: tzinfo) -> datetime:
        """Local midnight on the 1st, as UTC (what the database stores)."""
        return datetime(self.year, self.month, 1, tzinfo=tz).astimezone(UTC)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        return self.start(tz), self.next().start(tz)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
