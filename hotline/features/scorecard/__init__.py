"""The agencies' monthly scorecard ("rapor merah"). The rules live in `compute.py`'s docstring."""

from hotline.features.scorecard.compute import (
    AgencyInfo,
    AgencyScore,
    Grade,
    Scorecard,
    TicketFacts,
    judge,
    nearest_rank,
    score_month,
)
from hotline.features.scorecard.month import Month, MonthError
from hotline.features.scorecard.query import build_scorecard, city_timezone, month_tickets

__all__ = [
    "AgencyInfo",
    "AgencyScore",
    "Grade",
    "Month",
    "MonthError",
    "Scorecard",
    "TicketFacts",
    "build_scorecard",
    "city_timezone",
    "judge",
    "month_tickets",
    "nearest_rank",
    "score_month",
]
