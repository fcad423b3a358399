"""Closed months' scorecards frozen at close (issue 25): the stored card is exactly what judging the month live
gives at that moment, reading it does not touch the tickets, later corrections stay out until a rebuild, and the
open month is the card judged in the background (its age shown) unless asked fresh."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event, select
from typer.testing import CliRunner

from hotline import clock
from hotline.cli import app
from hotline.core.city import current_config
from hotline.db import get_engine, unit_of_work
from hotline.features.scorecard import Month, Scorecard, build_scorecard
from hotline.features.scorecard.monthly import month_scorecard
from hotline.features.scorecard.rollup import is_closed
from hotline.models import ScorecardRollup, Ticket
from tests.accounts import make_token
from tests.clocked import set_clock, sms, tick
from tests.conftest import Phone
from tests.helpers import events, sms_ticket, ticket
from tests.suite_city import members

pytestmark = pytest.mark.usefixtures("real_clock")

JAKARTA = ZoneInfo("Asia/Jakarta")
MARCH, APRIL = Month(2030, 3), Month(2030, 4)
T0 = datetime(2030, 3, 10, 2, 0, tzinfo=UTC)  # 09:00 in Kota Batu
CLOSED = datetime(2030, 4, 2, 3, 0, tzinfo=UTC)  # 10:00 on 2 April: March closed (a day after its end)
CITIZENS = [f"+628123450000{n}" for n in range(1, 9)]
PMK, PUPR = members("PMK"), members("PUPR")
runner = CliRunner()


def live(month: Month = MARCH, now: datetime | None = None) -> Scorecard:
    with unit_of_work() as session:
        return build_scorecard(session, config=current_config(), month=month, tz=JAKARTA, now=now or clock.now())


def shown(month: Month = MARCH, *, fresh: bool = False) -> Scorecard:
    return month_scorecard(config=current_config(), month=month, tz=JAKARTA, now=clock.now(), fresh=fresh)


def row(card: Scorecard, code: str) -> Any:
    return next(r for r in card.agencies if r.code == code)


def pmk_tickets_in_csv(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    [pmk] = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["code"] == "PMK"]
    return pmk["tickets"]


@pytest.fixture
def ticket_reads() -> Iterator[list[str]]:
    """SQL statements in this thread that read the tickets table."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "tickets" in statement and "scorecard_rollups" not in statement:
            seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def march(phone: Phone) -> None:
    """A month of PMK and PUPR tickets through the real SMS path: within SLA, accepted late (an escalation fired),
    cancelled, merged into another, reopened by the reporter, one left open past its deadlines, and one routed at
    23:50 on 31 March and finished on 1 April (March's), beside one routed on 1 April (not March's)."""
    set_clock(T0)
    sms(phone, CITIZENS[0], "KEBAKARAN di Sisir")  # 1: within SLA, then reopened
    sms(phone, CITIZENS[1], "KEBAKARAN di Temas")  # 2: accepted late
    sms(phone, CITIZENS[2], "KEBAKARAN di Ngaglik")  # 3: cancelled
    sms(phone, CITIZENS[3], "JALAN berlubang di Jl. Imam Bonjol 3 Temas")  # 4: PUPR, left open
    sms(phone, CITIZENS[4], "KEBAKARAN di Temas")  # the same fire as 2: merged, no ticket of its own
    assert "merged" in events(2)
    sms(phone, CITIZENS[2], "BATAL 3")
    confirmed = phone.client.post(
        f"{phone.base_url}/api/v1/tickets/3/cancel-request/confirm",
        headers={"Authorization": f"Bearer {make_token('desk', 'operator')}"},
    )
    assert confirmed.status_code == 200, confirmed.text
    tick(2)
    sms(phone, PMK[0], "TERIMA 1")
    tick(4)  # 2's accept deadline passed: an escalation step fired
    sms(phone, PMK[1], "TERIMA 2")
    sms(phone, PMK[0], "SELESAI 1")
    tick(1)
    sms(phone, PMK[1], "SELESAI 2")
    tick(5)
    sms(phone, CITIZENS[0], "2")  # not fixed: 1 is reopened
    assert events(1).count("reopened") == 1
    tick(30)
    sms(phone, PMK[2], "SELESAI 1")

    set_clock(datetime(2030, 3, 31, 16, 50, tzinfo=UTC))  # 23:50 on 31 March in Kota Batu
    sms(phone, CITIZENS[5], "KEBAKARAN di Pesanggrahan")  # 5: March's, finished in April, within SLA
    tick(2)
    sms(phone, PMK[0], "TERIMA 5")
    set_clock(datetime(2030, 3, 31, 17, 10, tzinfo=UTC))  # 00:10 on 1 April
    sms(phone, CITIZENS[6], "KEBAKARAN di Songgokerto")  # 6: April's
    sms(phone, PMK[0], "SELESAI 5")
    statuses = [ticket(n).status for n in range(1, 7)]
    assert statuses == ["resolved", "resolved", "cancelled", "routed", "resolved", "routed"]


def test_a_closed_month_is_frozen_exactly_as_judged_live(phone: Phone, ticket_reads: list[str]) -> None:
    march(phone)
    set_clock(CLOSED)
    assert is_closed(MARCH, tz=JAKARTA, now=clock.now()) and not is_closed(APRIL, tz=JAKARTA, now=clock.now())
    now = clock.now()
    expected = live(now=now)
    pmk, pupr = row(expected, "PMK"), row(expected, "PUPR")
    # the month's story, as the live computation tells it (so the comparison below is about real figures)
    assert (pmk.tickets, pmk.cancelled, pmk.reopened, pmk.escalations, pmk.within_sla, pmk.measured) == (
        4,
        1,
        1,
        1,
        1,
        3,
    )
    assert (pupr.tickets, pupr.pending, pupr.measured, pupr.accept_breaches, pupr.resolve_breaches) == (1, 0, 1, 1, 1)

    ticket_reads.clear()
    frozen = month_scorecard(config=current_config(), month=MARCH, tz=JAKARTA, now=now)  # the first view freezes
    assert frozen == expected  # every agency, every figure, the order of the rows, thresholds and as_of
    with unit_of_work() as session:
        stored = session.scalars(select(ScorecardRollup.agency_code).order_by(ScorecardRollup.position)).all()
    assert stored == [r.code for r in expected.agencies]

    clock.advance(timedelta(hours=1))
    ticket_reads.clear()
    assert shown() == expected  # read back: the same card, still as of the freeze
    assert ticket_reads == []  # ... and not one statement read the tickets
    assert asdict(shown()) == asdict(expected)


def test_a_late_correction_stays_out_until_the_month_is_rebuilt(phone: Phone, server: str) -> None:
    march(phone)
    set_clock(CLOSED)
    frozen = shown()
    sms(phone, PUPR[0], "SELESAI 4")  # March's open PUPR ticket finished in April
    sms(phone, CITIZENS[5], "2")  # and 5's reporter says it is not fixed: reopened in April
    assert events(5).count("reopened") == 1
    later = live()
    assert row(later, "PUPR").resolve_median_min is not None and row(frozen, "PUPR").resolve_median_min is None
    assert row(later, "PMK").reopened == 2 and row(frozen, "PMK").reopened == 1

    assert shown() == frozen  # a paper scorecard does not change after it was issued
    body = httpx.get(f"{server}/api/v1/scorecard", params={"month": "2030-03"}).json()
    assert datetime.fromisoformat(body["as_of"]) == frozen.as_of
    assert [r["reopened"] for r in body["agencies"] if r["code"] == "PMK"] == [1]
    fresh = httpx.get(f"{server}/api/v1/scorecard", params={"month": "2030-03", "fresh": "true"}).json()
    assert [r["reopened"] for r in fresh["agencies"] if r["code"] == "PMK"] == [2]

    result = runner.invoke(app, ["scorecard-rollup", "--month", "2030-03", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert "2030-03: frozen as of" in result.stdout
    rebuilt = shown()
    assert rebuilt.agencies == live(now=rebuilt.as_of).agencies and row(rebuilt, "PMK").reopened == 2


def test_rollup_cli_freezes_every_closed_month_and_refuses_an_open_one(phone: Phone) -> None:
    march(phone)
    set_clock(datetime(2030, 6, 15, 3, 0, tzinfo=UTC))
    result = runner.invoke(app, ["scorecard-rollup", "--all"])
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["2030-03", "2030-04", "2030-05"]
    with unit_of_work() as session:
        months = sorted(set(session.scalars(select(ScorecardRollup.month))))
    assert months == ["2030-03", "2030-04", "2030-05"]
    again = runner.invoke(app, ["scorecard-rollup", "--all"])
    assert again.exit_code == 0 and again.stdout == ""  # frozen already: nothing judged again

    refused = runner.invoke(app, ["scorecard-rollup", "--month", "2030-06"])
    assert refused.exit_code == 1 and "2030-06 is not closed yet" in refused.output
    neither = runner.invoke(app, ["scorecard-rollup"])
    assert neither.exit_code == 2 and "give --month YYYY-MM or --all" in neither.output
    bad = runner.invoke(app, ["scorecard-rollup", "--month", "2030-13"])
    assert bad.exit_code == 2 and "month must be 01 to 12" in bad.output


def test_the_open_month_is_the_background_card_unless_asked_fresh(phone: Phone, server: str) -> None:
    from hotline.core.queue import redis_connection
    from hotline.settings import get_settings

    # the refresher's lease held, as by another API process: the server's own thread judges nothing meanwhile
    redis_connection().set(f"hotline:metrics:lease:{get_settings().queue_name}", "test", px=600_000)
    set_clock(T0)
    sms(phone, CITIZENS[0], "KEBAKARAN di Sisir")
    # A refresher turn the server began before this test's lease (for the previous test's month and tickets) may
    # have kept a card meanwhile: CI saw one with 0 tickets. The turn is long over once the SMS is processed.
    kept_cards = redis_connection().keys(f"hotline:scorecard:{get_settings().queue_name}:*")
    if kept_cards:
        redis_connection().delete(*kept_cards)
    first = httpx.get(f"{server}/api/v1/scorecard").json()  # none kept yet: judged now and kept
    assert first["month"] == "2030-03" and [r["tickets"] for r in first["agencies"] if r["code"] == "PMK"] == [1]
    sms(phone, CITIZENS[1], "KEBAKARAN di Temas")
    kept = httpx.get(f"{server}/api/v1/scorecard").json()
    assert kept == first  # the same card, its as_of saying when it was judged
    fresh = httpx.get(f"{server}/api/v1/scorecard", params={"fresh": "true"}).json()
    assert [r["tickets"] for r in fresh["agencies"] if r["code"] == "PMK"] == [2]
    assert pmk_tickets_in_csv("scorecard", "-f", "csv") == "1"
    assert pmk_tickets_in_csv("scorecard", "-f", "csv", "--fresh") == "2"
    with unit_of_work() as session:
        assert session.scalars(select(ScorecardRollup)).all() == []  # an open month is never frozen


def test_the_refresher_freezes_last_month_once_it_has_closed(phone: Phone) -> None:
    from hotline.metrics import refresh_scorecards

    set_clock(T0)
    sms(phone, CITIZENS[0], "KEBAKARAN di Sisir")
    set_clock(datetime(2030, 4, 1, 12, 0, tzinfo=UTC))  # 19:00 on 1 April: March ended, not closed yet
    refresh_scorecards()
    with unit_of_work() as session:
        assert session.scalars(select(ScorecardRollup)).all() == []
    set_clock(CLOSED)
    expected = live()
    refresh_scorecards()
    with unit_of_work() as session:
        assert set(session.scalars(select(ScorecardRollup.month))) == {"2030-03"}
    assert shown().agencies == expected.agencies and row(expected, "PMK").accept_breaches == 1


def test_months_before_the_first_ticket_are_judged_and_never_stored(phone: Phone, server: str) -> None:
    """The scorecard needs no token: asking for every month since 1970 must not fill a table."""
    set_clock(T0)
    sms(phone, CITIZENS[0], "KEBAKARAN di Sisir")
    set_clock(CLOSED)
    for month in ("1970-01", "2029-12", "2030-02"):
        body = httpx.get(f"{server}/api/v1/scorecard", params={"month": month}).json()
        assert body["month"] == month and all(r["tickets"] == 0 for r in body["agencies"])
    with unit_of_work() as session:
        # None of the months asked for. March may be frozen already: the server's metrics refresher freezes last
        # month once it has closed, in its own thread (seen on CI's PostgreSQL pass, between the GETs and here).
        assert set(session.scalars(select(ScorecardRollup.month))) <= {"2030-03"}
    assert row(shown(), "PMK").tickets == 1  # March, the first ticket's month, is frozen
    with unit_of_work() as session:
        assert set(session.scalars(select(ScorecardRollup.month))) == {"2030-03"}


def farm_ticket(reporter: str, team: str, *, accept_after: int | None) -> int:
    """A ticket of the month handed to a PPL team with a farm report (as farming's routing leaves it), accepted
    `accept_after` minutes after it was routed (None: not yet)."""
    from hotline.models import FarmReport, Urc

    number = sms_ticket(reporter=reporter, text="KEBAKARAN di Sisir", category="fire")
    with unit_of_work() as session:
        held = session.get(Ticket, number)
        assert held is not None and held.routed_at is not None
        held.urc_id = session.scalar(select(Urc.id).where(Urc.code == team))
        if accept_after is not None:
            held.accepted_at, held.status = held.routed_at + timedelta(minutes=accept_after), "accepted"
        session.add(FarmReport(ticket_id=number, subcategory="hama", commodity="apel", desa="Sisir"))
    return number


def test_the_ppl_teams_come_with_the_card_and_are_frozen_with_it(phone: Phone, ticket_reads: list[str]) -> None:
    from hotline.features.farming.dinas_view import ppl_scores

    set_clock(T0)
    farm_ticket(CITIZENS[0], "PPL-BUMIAJI", accept_after=5)
    late = farm_ticket(CITIZENS[1], "PPL-BATU", accept_after=None)
    sms_ticket(reporter=CITIZENS[2], text="KEBAKARAN di Temas", category="fire")  # no farm report: no team
    set_clock(CLOSED)
    expected = live()
    teams = {t.code: t for t in expected.teams}
    assert set(teams) == {"PPL-BUMIAJI", "PPL-BATU"}  # PMK's own ticket counts for PMK only
    assert (teams["PPL-BUMIAJI"].tickets, teams["PPL-BUMIAJI"].accept_breaches) == (1, 0)
    assert (teams["PPL-BATU"].tickets, teams["PPL-BATU"].accept_breaches) == (1, 1)  # never accepted: late
    assert row(expected, "PMK").tickets == 3

    frozen = ppl_scores(config=current_config(), month=MARCH, tz=JAKARTA, now=clock.now())  # freezes the month
    assert frozen == list(expected.teams)
    with unit_of_work() as session:
        kinds = session.execute(select(ScorecardRollup.kind, ScorecardRollup.agency_code)).all()
    assert sorted(code for kind, code in kinds if kind == "team") == ["PPL-BATU", "PPL-BUMIAJI"]

    with unit_of_work() as session:  # a late correction: the team's ticket accepted in April
        held = session.get(Ticket, late)
        assert held is not None
        held.accepted_at, held.status = clock.now(), "accepted"
    assert {t.code: t.accept_breaches for t in live().teams}["PPL-BATU"] == 1  # still late, but now measured
    assert {t.code: t.accept_median_min for t in live().teams}["PPL-BATU"] is not None
    ticket_reads.clear()
    again = ppl_scores(config=current_config(), month=MARCH, tz=JAKARTA, now=clock.now())
    assert (again == frozen and again[0].accept_median_min is None) or again[1].accept_median_min is None
    assert ticket_reads == []  # read back from the frozen rows, not judged again
