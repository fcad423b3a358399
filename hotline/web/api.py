"""JSON API under /api/v1 (OpenAPI at /openapi.json).

The scorecard stays readable without a token (it names agencies and counts, never citizens); the rest of
/api/v1 (tickets, agencies, messages, calls) needs a bearer token: hotline/web/api_tickets.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from hotline import clock
from hotline.db import unit_of_work
from hotline.services.city import current_config
from hotline.services.scorecard import Month, MonthError, Scorecard, build_scorecard, city_timezone

router = APIRouter(prefix="/api/v1", tags=["api"])


def _month(value: str | None, default: Month) -> Month:
    if value is None:
        return default
    try:
        return Month.parse(value)
    except MonthError as exc:  # the same 422 shape FastAPI gives for its own validation errors
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "month"), "msg": str(exc), "input": value}]
        ) from None


@router.get("/scorecard", response_model=Scorecard)
def scorecard(
    month: Annotated[str | None, Query(description="YYYY-MM; default: this month in the city's timezone")] = None,
) -> Scorecard:
    """The agencies' scorecard for one month; the rules are in hotline/services/scorecard/compute.py."""
    tz = city_timezone()
    now = clock.now()
    chosen = _month(month, Month.containing(now, tz))
    with unit_of_work() as session:
        return build_scorecard(session, config=current_config(), month=chosen, tz=tz, now=now)
