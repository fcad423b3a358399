"""GET requests.{fmt}: the spec's filters read from the query string into the feature's `RequestsQuery`
(hotline/features/open311/queries.py), every mistake an Open311Error (400).

`service_request_id` (comma-separated) overrides everything else; otherwise `service_code` and `status` take
comma-separated lists, `start_date`/`end_date` are w3c datetimes with a timezone (an unencoded `+07:00` arrives
as ` 07:00` and is read as meant) spanning at most 90 days, the last 90 days when neither is given;
`page_size` (at most 1000, the spec's limit) and `page` are the widely used extension."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hotline.cityconfig import CityConfig
from hotline.features.open311.queries import MAX_REQUESTS, RequestsQuery
from hotline.models import utcnow
from hotline.web.api_schemas import MAX_ID
from hotline.web.open311.errors import Open311Error
from hotline.web.safe import plain_int

WINDOW = timedelta(days=90)
_SPACE_OFFSET = re.compile(r"^(.*T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def w3c_datetime(name: str, raw: str) -> datetime:
    text = raw.strip()
    spaced = _SPACE_OFFSET.match(text)
    if spaced:  # "+" decoded as a space: 2026-03-01T00:00:00 07:00
        text = f"{spaced.group(1)}+{spaced.group(2)}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name}: a w3c datetime such as 2026-03-01T00:00:00+07:00, not {raw[:40]!r}") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name}: needs a timezone, e.g. 2026-03-01T00:00:00+07:00 or ...Z")
    try:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        return value.astimezone(UTC)
    except OverflowError:
        raise Open311Error(400, f"{name}: outside the years 1-9999 once in UTC") from None


def _window(params: Mapping[str, str]) -> tuple[datetime, datetime]:
    start = w3c_datetime("start_date", params["start_date"]) if params.get("start_date") else None
    end = w3c_datetime("end_date", params["end_date"]) if params.get("end_date") else None
    if start is None and end is None:
        end = utcnow()
    if start is None:
        assert end is not None
        start = end - WINDOW if end > datetime.min.replace(tzinfo=UTC) + WINDOW else datetime.min.replace(tzinfo=UTC)
    if end is None:
        end = start + WINDOW if start < datetime.max.replace(tzinfo=UTC) - WINDOW else datetime.max.replace(tzinfo=UTC)
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > WINDOW:
        raise Open311Error(400, "start_date to end_date: at most 90 days")
    return start, end


def _number(params: Mapping[str, str], name: str, default: int, top: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = plain_int(raw.strip(), max_digits=6)
    if value is None or not 1 <= value <= top:
        raise Open311Error(400, f"{name}: a whole number from 1 to {top}")
    return value


def requests_query(params: Mapping[str, str], config: CityConfig) -> RequestsQuery:
    page_size = _number(params, "page_size", MAX_REQUESTS, MAX_REQUESTS)
    page = _number(params, "page", 1, 100_000)
    if params.get("service_request_id"):
        ids = []
        for part in _list(params["service_request_id"]):
            number = plain_int(part, max_digits=10)
            if number is None:
                raise Open311Error(400, f"service_request_id: comma-separated numbers, not {part[:20]!r}")
            if 1 <= number <= MAX_ID:  # others cannot exist
                ids.append(number)
        return RequestsQuery(ids[:MAX_REQUESTS], [], set(), None, None, page_size, 1)
    codes = _list(params.get("service_code"))
    unknown = [c for c in codes if config.category(c) is None]
    if unknown:
        raise Open311Error(400, f"service_code {unknown[0][:40]!r} is not a service; see services.json")
    statuses = {s.lower() for s in _list(params.get("status"))}
    if not statuses <= {"open", "closed"}:
        raise Open311Error(400, "status: open, closed, or open,closed")
    start, end = _window(params)
    return RequestsQuery(None, codes, statuses, start, end, page_size, page)


@dataclass(frozen=True)
class UpdatesQuery:
    """GET servicerequestupdates.{fmt}: the same window (90 days at most, the last 90 by default) and pages."""

    start: datetime
    end: datetime
    page_size: int
    page: int


def updates_query(params: Mapping[str, str]) -> UpdatesQuery:
    page_size = _number(params, "page_size", MAX_REQUESTS, MAX_REQUESTS)
    page = _number(params, "page", 1, 100_000)
    start, end = _window(params)
    return UpdatesQuery(start, end, page_size, page)
