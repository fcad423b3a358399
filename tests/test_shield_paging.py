"""The shield's lists are bounded (issue 25): decisions a page at a time, older pages by `before=` (the last row's
id) in the API and the console, flags and callbacks at most a page, flags that ran out never shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hotline.db import unit_of_work
from hotline.features.shield import shield
from hotline.features.shield.shield_report import SHIELD_PAGE, flagged_numbers, pending_callbacks
from tests.accounts import console_login, make_token, make_user

pytestmark = pytest.mark.usefixtures("backend")

T0 = datetime(2030, 5, 1, 2, 0, tzinfo=UTC)


def log_history(held: int, allowed_every: int = 4) -> list[tuple[int, str]]:
    """`held` silent-call decisions a minute apart (two of them at the very same moment, so a page boundary can
    fall between equal times), with an `allowed` one after every `allowed_every`; returns the held ones' (id,
    phone), newest first."""
    rows: list[tuple[datetime, int, str]] = []
    with unit_of_work() as session:
        for n in range(held):
            at = T0 + timedelta(minutes=min(n, 150) if n == 151 else n)  # 150 and 151 share a time
            phone = f"+62812000{n:05d}"
            rows.append((at, shield.log_decision(session, phone=phone, decision="silent", at=at).id, phone))
            if n % allowed_every == 0:
                shield.log_decision(session, phone=phone, decision="allowed", at=at)
    return [(row_id, phone) for _, row_id, phone in sorted(rows, reverse=True)]


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {make_token('api-sup', 'supervisor')}"}
    with httpx.Client(base_url=server, headers=headers, timeout=10) as client:
        yield client


def test_the_api_pages_decisions_by_before(api: httpx.Client) -> None:
    newest_first = log_history(230)
    seen: list[int] = []
    before: int | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"before": before} if before else {})
        page = api.get("/api/v1/shield/decisions", params=params).json()
        if not page:
            break
        assert all(d["decision"] == "silent" for d in page)  # allowed left out
        seen += [d["id"] for d in page]
        before, pages = page[-1]["id"], pages + 1
    assert (
        seen == [row_id for row_id, _ in newest_first] and pages == 3
    )  # 100, 100, 30: each once, in order, across the tied times
    everything = api.get("/api/v1/shield/decisions", params={"include_allowed": "true", "limit": 500}).json()
    assert len(everything) == 230 + 58
    assert api.get("/api/v1/shield/decisions", params={"before": 2_000_000_000}).json() == []  # no such decision
    assert api.get("/api/v1/shield/decisions", params={"before": 0}).status_code == 422
    assert api.get("/api/v1/shield/decisions", params={"before": "x"}).status_code == 422


def test_flags_and_callbacks_are_at_most_a_page_and_old_flags_are_not_read(api: httpx.Client) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as session:
        for n in range(SHIELD_PAGE + 5):
            shield.log_decision(session, phone=f"+6281300{n:05d}", decision="flagged", until=now + timedelta(days=1))
            shield.log_decision(session, phone=f"+6281400{n:05d}", decision="callback_queued")
        shield.log_decision(session, phone="+6281500000001", decision="flagged", until=now - timedelta(days=30))
    with unit_of_work() as session:
        flags = flagged_numbers(session)
        assert len(flags) == SHIELD_PAGE and "+6281500000001" not in {f.phone for f in flags}
        assert len(pending_callbacks(session)) == SHIELD_PAGE
        assert len(flagged_numbers(session, limit=500)) == SHIELD_PAGE + 5  # the run-out flag is never one of them
    assert len(api.get("/api/v1/shield/flagged").json()) == SHIELD_PAGE
    assert len(api.get("/api/v1/shield/callbacks", params={"limit": 3}).json()) == 3
    assert api.get("/api/v1/shield/callbacks", params={"limit": 501}).status_code == 422


def test_the_console_shows_a_page_and_links_the_older_one(server: str) -> None:
    newest_first = log_history(130)
    make_user("sari", "supervisor")
    console = console_login(server, "sari")
    first = console.get("/console/shield")
    assert first.status_code == 200
    assert first.text.count('data-decision="silent"') == SHIELD_PAGE
    assert "Keputusan lebih lama" in first.text and "Kembali ke yang terbaru" not in first.text
    last_shown = newest_first[SHIELD_PAGE - 1][0]
    assert f'href="/console/shield?before={last_shown}#decisions-h"' in first.text
    second = console.get(f"/console/shield?before={last_shown}")
    assert second.text.count('data-decision="silent"') == 30
    assert "Keputusan lebih lama" not in second.text and 'href="/console/shield?#decisions-h"' in second.text
    assert console.get("/console/shield?before=-1").status_code == 422


def test_flags_callbacks_and_the_reports_numbers_page_through_the_api(api: httpx.Client) -> None:
    now = datetime.now(UTC)
    with unit_of_work() as session:
        for n in range(7):
            shield.log_decision(session, phone=f"+6281300{n:05d}", decision="flagged", until=now + timedelta(days=1))
            shield.log_decision(session, phone=f"+6281400{n:05d}", decision="callback_queued")

    def walk(path: str, key: str, cursor: str) -> list[str]:
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 3}
        while (page := api.get(path, params=params).json()) and len(seen) < 20:  # 20: a page that never moves on
            seen += [row["phone"] for row in page]
            edge = (min if cursor == "before" else max)(page, key=lambda r: (r["at"], r["id"]))
            params = {"limit": 3, cursor: edge[key]}
        return seen

    assert walk("/api/v1/shield/flagged", "id", "before") == [f"+6281300{n:05d}" for n in reversed(range(7))]
    assert walk("/api/v1/shield/callbacks", "id", "after") == [f"+6281400{n:05d}" for n in range(7)]
    assert api.get("/api/v1/shield/flagged", params={"before": 10**9}).json() == []


def test_the_months_report_pages_its_numbers_and_binds_no_list_of_them(api: httpx.Client) -> None:
    from sqlalchemy import event

    from hotline.db import get_engine
    from hotline.features.scorecard import Month
    from hotline.features.shield.shield_report import false_block_report

    newest_first = log_history(12)
    phones = [phone for _, phone in reversed(newest_first)]  # first held back first
    with unit_of_work() as session:
        shield.log_decision(session, phone=phones[3], decision="confirmed", at=T0 + timedelta(hours=5))
    bound: list[Any] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        bound.extend(parameters.values() if isinstance(parameters, dict) else parameters)

    event.listen(get_engine(), "before_cursor_execute", note)
    try:
        with unit_of_work() as session:
            report = false_block_report(session, month=Month(2030, 5), tz=UTC)
    finally:
        event.remove(get_engine(), "before_cursor_execute", note)
    assert report.held_numbers == 12 and report.false_blocks == 1  # the proof was matched inside the database
    assert not set(phones) & {str(v) for v in bound}  # no held number was sent as a value

    first = api.get("/api/v1/shield/report", params={"month": "2030-05", "limit": 5}).json()
    assert (first["held_numbers"], first["false_blocks"]) == (12, 1)  # the figures are the whole month's
    assert [n["phone"] for n in first["numbers"]] == phones[:5]
    rest = api.get("/api/v1/shield/report", params={"month": "2030-05", "limit": 500, "after": phones[4]}).json()
    assert [n["phone"] for n in rest["numbers"]] == phones[5:] and rest["held_numbers"] == 12
    unknown = api.get("/api/v1/shield/report", params={"month": "2030-05", "after": "+6289999999999"}).json()
    assert unknown["numbers"] == []
