"""JSON API under /api/v1 (OpenAPI at /openapi.json).

The scorecard stays readable without a token (it names agencies and counts, never citizens); the rest of
/api/v1 (tickets, agencies, messages, calls) needs a bearer token: hotline/web/api_tickets.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from hotline import clock
from hotline.core.city import current_config
from hotline.features.scorecard import Month, MonthError, Scorecard, city_timezone
from hotline.features.scorecard.monthly import month_scorecard

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


# The PPL teams the card carries are the farming console's (for those who see Dinas Pertanian), not this public
# document's: its fields stay what they were.
@router.get("/scorecard", response_model=Scorecard, response_model_exclude={"teams"})
def scorecard(
    month: Annotated[str | None, Query(description="YYYY-MM; default: this month in the city's timezone")] = None,
    fresh: Annotated[
        bool,
        Query(description="judge the month now instead of the frozen card (closed month) or the background one"),
    ] = False,
) -> Scorecard:
    """The agencies' scorecard for one month; the rules are in hotline/features/scorecard/compute.py. A closed
    month is the card frozen at its close; the open month the one judged in the background at `as_of`."""
    tz = city_timezone()
    now = clock.now()
    chosen = _month(month, Month.containing(now, tz))
    return month_scorecard(config=current_config(), month=chosen, tz=tz, now=now, fresh=fresh)
