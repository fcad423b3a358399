"""Closed months' scorecards, frozen at close (hotline/features/scorecard/rollup.py): one row per (month, kind, code):
the agencies' rows and the farming agency's PPL teams'."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime


class ScorecardRollup(Base):
    """An agency's row of a month's scorecard as it was judged when the month was frozen.

    `figures` holds every field of the scorecard's AgencyScore (code, counts, share, times, grade); `position` is
    the row's place in the frozen card (worst first), `thresholds` the grade thresholds then in force. `kind` is
    `agency` (agency_code: the agency's) or `team` (a PPL team's row: agency_code holds the URC's code)."""

    __tablename__ = "scorecard_rollups"
    __table_args__ = (PrimaryKeyConstraint("month", "kind", "agency_code", name="pk_scorecard_rollups"),)

    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the city's timezone
    kind: Mapped[str] = mapped_column(String(8), server_default="agency")  # agency | team (migration 0024)
    agency_code: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)  # open tickets were judged against this moment
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
