"""Costs that do not grow with the city's history (issue 25): the bounded board and lists, /metrics served from a
snapshot refreshed off the request path, and stale tickets that leave the escalation loop for a daily digest."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event, select

from hotline import clock
from hotline.core.city import current_config
from hotline.db import get_engine, unit_of_work
from hotline.features.tickets.board import BOARD_ROWS
from hotline.features.tickets.stale import send_digest_if_due
from hotline.metrics import refresh_database_metrics, refresh_if_due
from hotline.models import AlertDelivery, Escalation, OutboundMessage, Ticket
from tests.accounts import console_login, make_user
from tests.clocked import set_clock, tick
from tests.conftest import Phone, drain_queue
from tests.helpers import events, open_tickets, scrape
from tests.suite_city import members

TZ = ZoneInfo("Asia/Jakarta")
COMMAND = members("COMMAND")


@pytest.fixture
def operator(server: str) -> httpx.Client:
    make_user("ani", "operator")
    return console_login(server, "ani")


@pytest.fixture
def statements() -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the engine runs meanwhile (the server runs in this process), with its parameters."""
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if threading.current_thread().name != "metrics-refresher":  # the server's own background counting
            seen.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def refresher_lease(server: str) -> None:
    """Hold the refresher's lease, as another API process would: the server's background thread counts nothing
    until the test refreshes by hand."""
    from hotline.core.queue import redis_connection
    from hotline.settings import get_settings

    redis_connection().set(f"hotline:metrics:lease:{get_settings().queue_name}", "test", px=600_000)


def section(html: str, code: str) -> str:
    start = html.index(f'id="ag-{code}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def shown_numbers(block: str) -> list[int]:
    return [int(n) for n in re.findall(r'<th scope="row"><a href="/console/tickets/(\d+)">', block)]


# --- the board ------------------------------------------------------------------------------------------------


def test_the_board_counts_every_open_ticket_but_lists_the_most_urgent_few(operator: httpx.Client) -> None:
    late = open_tickets("PUPR", [timedelta(minutes=-m) for m in (30, 10, 50)])  # 50 min late is the most urgent
    waiting = open_tickets("PUPR", [timedelta(minutes=m) for m in range(5, 5 + 2 * BOARD_ROWS, 2)])
    working = open_tickets("PUPR", [timedelta(minutes=-20), timedelta(hours=3)], status="accepted")
    with unit_of_work() as session:  # every channel failed for a member on two tickets still waiting
        for number in (late[2], waiting[-1]):
            session.add(
                AlertDelivery(
                    ticket_id=number,
                    phone="+6281100000101",
                    purpose="alert",
                    body="x",
                    timeout_seconds=60,
                    status="exhausted",
                )
            )
    html = operator.get("/console/board").text
    pupr = section(html, "PUPR")
    total = len(late) + len(waiting) + len(working)
    assert f"{total} terbuka" in pupr and "4 terlambat" in pupr and "2 tak terjangkau" in pupr
    shown = shown_numbers(pupr)
    assert len(shown) == BOARD_ROWS
    # most urgent first, whatever the phase: 50, 30, 20 (being worked), 10 minutes late, then the soonest due
    assert shown[:5] == [late[2], late[0], working[0], late[1], waiting[0]]
    assert waiting[-1] not in shown  # unreachable but not urgent: counted above, listed on the next page
    assert f"Tampilkan semua ({total - BOARD_ROWS} laporan lagi)" in pupr
    assert 'href="/console/tickets?agency=PUPR&amp;status=open"' in pupr
    assert "peringatan tak sampai" in pupr  # the shown unreachable ticket has its badge
    assert "Tidak ada laporan." in section(html, "PMK")
    operator.cookies.set("hotline_lang", "en")
    english = section(operator.get("/console/board").text, "PUPR")
    assert f"{total} open" in english and "4 late" in english and "2 not reached" in english
    assert f"Show all ({total - BOARD_ROWS} more reports)" in english


def test_the_board_binds_no_list_that_grows_with_open_tickets(
    operator: httpx.Client, statements: list[tuple[str, Any]]
) -> None:
    open_tickets("DLH", [timedelta(minutes=-m) for m in range(60)])  # 60 open, all late
    statements.clear()
    assert operator.get("/console/board").status_code == 200
    biggest = max(len(params) if isinstance(params, dict | list | tuple) else 0 for _, params in statements)
    assert biggest <= BOARD_ROWS + 6  # the shown tickets (unreachable badges) and a few agency ids, never 60
    assert not any(
        "FROM tickets" in sql and "LIMIT" not in sql and "count" not in sql.lower() and "GROUP BY" not in sql
        for sql, _ in statements
        if "tickets.status IN" in sql
    )


def test_ticket_lists_page_by_number_at_any_depth(operator: httpx.Client, server: str) -> None:
    ids = open_tickets("BPBD", [timedelta(hours=1)] * 60)
    first = operator.get("/console/tickets?status=open").text
    assert shown_numbers(first) == sorted(ids, reverse=True)[:50]
    nxt = re.search(r'href="(/console/tickets\?[^"]*before=(\d+))" rel="next"', first)
    assert nxt is not None and int(nxt.group(2)) == sorted(ids)[10]
    second = operator.get(nxt.group(1).replace("&amp;", "&")).text
    assert shown_numbers(second) == sorted(ids, reverse=True)[50:]
    assert 'rel="next"' not in second and 'rel="first"' in second and "Terbaru" in second
    make_user("api", "supervisor")
    from hotline.features.accounts.accounts import issue_token

    with unit_of_work() as session:
        from hotline.models import User

        user = session.scalar(select(User).where(User.username == "api"))
        assert user is not None
        token = issue_token(session, user=user, name="test")
    page = httpx.get(
        f"{server}/api/v1/tickets",
        params={"before": sorted(ids)[5], "limit": 3},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert [t["number"] for t in page["tickets"]] == sorted(ids)[2:5][::-1]


# --- /metrics -------------------------------------------------------------------------------------------------


def test_a_scrape_serves_the_snapshot_and_runs_no_sql(
    server: str, statements: list[tuple[str, Any]], refresher_lease: None
) -> None:
    before = scrape(server)  # refreshed now
    assert "hotline_metrics_age_seconds" in before
    assert 'hotline_tickets{category="roads",channel="sms",status="routed"}' not in before
    open_tickets("PUPR", [timedelta(hours=1)] * 2)
    statements.clear()
    cached = httpx.get(f"{server}/metrics").text
    assert statements == []  # no count on the request path, however big the tables are
    assert 'hotline_tickets{category="roads",channel="sms",status="routed"}' not in cached
    assert 'hotline_queue_jobs{state="queued"}' in cached  # the queue depth stays live (Redis)
    refresh_database_metrics()
    assert 'hotline_tickets{category="roads",channel="sms",status="routed"} 2.0' in httpx.get(f"{server}/metrics").text


def test_one_process_counts_per_interval(server: str) -> None:
    from hotline.core.queue import redis_connection
    from hotline.settings import get_settings

    redis_connection().delete(f"hotline:metrics:lease:{get_settings().queue_name}")  # the server's refresher's
    assert refresh_if_due(60) is True
    assert refresh_if_due(60) is False  # another API process (or this one) counted less than 60 s ago


def test_webhook_latency_is_labelled_by_route_template(server: str) -> None:
    for _ in range(25):
        httpx.post(f"{server}/twilio/{secrets.token_hex(6)}", data={"x": "1"})
        httpx.get(f"{server}/kannel/{secrets.token_hex(6)}")
    text = httpx.get(f"{server}/metrics").text
    routes = set(re.findall(r'hotline_webhook_seconds_count\{route="([^"]*)"', text))
    assert "unmatched" in routes
    assert not any(re.search(r"[0-9a-f]{12}", r) for r in routes)  # no random path became a series
    assert re.search(r'hotline_webhook_seconds_count\{route="unmatched",status="404"\} (\d+)', text)


def test_alerts_count_the_channel_that_sent_and_members_not_reached(server: str) -> None:
    [number] = open_tickets("PMK", [timedelta(minutes=5)])
    with unit_of_work() as session:
        session.add(
            AlertDelivery(
                ticket_id=number,
                phone="+6281100000101",
                purpose="alert",
                body="x",
                timeout_seconds=60,
                status="exhausted",
                channels=["sms", "voice"],
                position=1,
            )
        )
        session.add(
            OutboundMessage(
                to_number="+6281100000102",
                body="x",
                purpose="alert",
                ticket_id=number,
                status="failed",
                provider="kannel",
                gateway="modem",
            )
        )
        session.add(
            OutboundMessage(
                to_number="+6281100000103",
                body="x",
                purpose="escalation",
                ticket_id=number,
                status="delivered",
                provider="kannel",
                gateway="modem",
            )
        )
    text = scrape(server)
    assert 'hotline_alerts{channel="none",outcome="not_reached",purpose="alert"} 1.0' in text
    assert 'hotline_alerts{channel="modem",outcome="failed",purpose="alert"} 1.0' in text
    assert 'hotline_alerts{channel="modem",outcome="sent",purpose="escalation"} 1.0' in text
    assert 'hotline_alerts_not_reached{purpose="alert"} 2.0' in text


# --- stale tickets --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("real_clock")
def test_a_ticket_left_open_for_days_leaves_the_repeat_loop(phone: Phone, fake_twilio: Any) -> None:
    assert current_config().stale.after_hours == 72  # tests/city/routing/escalation.yaml
    phone.sms("+6281234567890", "KEBAKARAN di Jl. Diponegoro 12 Sisir")  # PMK: accept in 5 min, steps 0 and 3, repeat 5
    drain_queue()
    tick(5.1)
    tick(3)
    tick(5)  # the last step repeats while the ticket is fresh
    with unit_of_work() as session:
        fired = select(Escalation.round).where(Escalation.status == "fired").order_by(Escalation.id)
        rounds = list(session.scalars(fired))
    assert rounds == [0, 0, 1]
    assert "stale" not in events(1)
    tick(73 * 60)  # three days later, still nobody accepted: the pending round fires once, and that is the last
    with unit_of_work() as session:
        rows = list(session.scalars(select(Escalation).order_by(Escalation.id)))
    assert [r.status for r in rows] == ["fired"] * 4
    assert events(1).count("stale") == 1 and events(1)[-1] == "stale"
    from hotline.features.tickets.timeline import describe

    assert describe("stale", {"phase": "accept", "after_hours": 72}).startswith("lewat batas lebih dari 72 jam")
    assert "escalation stopped" in describe("stale", {"phase": "accept", "after_hours": 72}, "en")
    tick(60)
    with unit_of_work() as session:
        assert session.scalar(select(Escalation.id).where(Escalation.status == "pending")) is None
    assert len([e for e in events(1) if e == "escalated"]) == 4
    with unit_of_work() as session:
        assert session.get(Ticket, 1).status == "routed"  # type: ignore[union-attr]  # still open, on the digest


@pytest.mark.usefixtures("real_clock")
def test_the_command_center_gets_one_digest_a_day(phone: Phone) -> None:
    stale = open_tickets("PUPR", [timedelta(hours=-100), timedelta(hours=-80)])
    open_tickets("DLH", [timedelta(hours=-90)], status="accepted")
    open_tickets("DLH", [timedelta(hours=-10)])  # late, not stale
    config = current_config()
    base = clock.now().astimezone(TZ)
    day = base.date() + timedelta(days=1)

    def digest_at(hour: int, minute: int, on: Any = day) -> Any:
        set_clock(datetime(on.year, on.month, on.day, hour, minute, tzinfo=TZ))
        with unit_of_work() as session:
            return send_digest_if_due(session, config=config, now=clock.now(), tz=TZ)

    # the tickets were made before the clock moved: their deadlines are as old as the deltas plus the move
    assert digest_at(6, 59) is None  # not yet
    sent = digest_at(7, 0)
    assert sent is not None and sent.per_agency == {"DLH": 1, "PUPR": 2} and sent.oldest[0] == stale[0]
    assert sorted(sent.sent_to) == sorted(COMMAND)
    with unit_of_work() as session:
        bodies = list(session.scalars(select(OutboundMessage.body).where(OutboundMessage.purpose == "digest")))
    assert len(bodies) == len(COMMAND)
    assert bodies[0].startswith(f"Hotline {day.strftime('%d-%m-%Y')}: 3 laporan terbuka lewat batas lebih dari 72 jam")
    assert "DLH 1, PUPR 2" in bodies[0] and f"#{stale[0]}" in bodies[0]
    assert digest_at(7, 30) is None and digest_at(23, 59) is None  # once a day
    assert digest_at(7, 0, on=day + timedelta(days=1)) is not None  # and again the next day
    # The sweeper's entry point, every sweep: the day's decision is marked, later sweeps that day do nothing
    from hotline.features.tickets.stale import send_daily_digest

    later = day + timedelta(days=2)
    set_clock(datetime(later.year, later.month, later.day, 6, 0, tzinfo=TZ))
    assert send_daily_digest() is None  # before digest_at
    set_clock(datetime(later.year, later.month, later.day, 8, 0, tzinfo=TZ))
    assert send_daily_digest() is not None
    assert send_daily_digest() is None
    with unit_of_work() as session:
        sent = session.scalars(select(OutboundMessage.id).where(OutboundMessage.purpose == "digest")).all()
    assert len(sent) == 3 * len(COMMAND)


def test_stale_rules_are_city_data_checked_on_load(tmp_path: Any) -> None:
    import shutil

    from hotline.cityconfig import load_city_config
    from hotline.cityconfig.errors import ConfigErrors
    from tests.suite_city import CITY_DIR

    shutil.copytree(CITY_DIR, tmp_path / "city")
    path = tmp_path / "city" / "routing" / "escalation.yaml"
    text = path.read_text()
    path.write_text(text.replace('digest_at: "07:00"', 'digest_at: "7 pagi"'))
    with pytest.raises(ConfigErrors) as caught:
        load_city_config(tmp_path / "city")
    assert "routing/escalation.yaml" in str(caught.value) and "digest_at" in str(caught.value)
    path.write_text(text.replace("after_hours: 72", "after_hours: 0"))
    assert load_city_config(tmp_path / "city").stale.enabled is False


def test_the_console_scorecard_is_judged_once_an_interval(operator: httpx.Client, refresher_lease: None) -> None:
    from hotline.features.scorecard import Month, city_timezone
    from hotline.features.scorecard.cache import refresh

    tz = city_timezone()

    def pupr_tickets(page: str) -> int:
        row = re.search(r'data-agency="PUPR">.*?</th>\s*<td>.*?</td>\s*<td>(\d+)</td>', page, re.S)  # grade, tickets
        assert row is not None
        return int(row.group(1))

    [number] = open_tickets("PUPR", [timedelta(minutes=30)])
    with unit_of_work() as session:
        routed = session.get(Ticket, number).routed_at  # type: ignore[union-attr]
    month = Month.containing(routed, tz)
    first = operator.get("/console/scorecard", params={"month": str(month)}).text
    assert pupr_tickets(first) == 1 and "Dinilai pada" in first
    open_tickets("PUPR", [timedelta(minutes=30)])
    assert pupr_tickets(operator.get("/console/scorecard", params={"month": str(month)}).text) == 1  # kept
    refresh(config=current_config(), month=month, tz=tz, now=clock.now())  # the refresher's turn
    assert pupr_tickets(operator.get("/console/scorecard", params={"month": str(month)}).text) == 2


@pytest.mark.usefixtures("real_clock")
def test_settled_failover_alerts_are_folded_once_and_counted_the_same(server: str) -> None:
    """/metrics' failover alerts (hotline/alert_counts.py): a delivery settled for a day is folded into the counts
    once, a batch at a time, and the scrape says the same before and after; a pending one is still joined live."""
    from hotline.alert_counts import GRACE, fold_settled, live_outcomes
    from hotline.models import AlertAttempt

    [number] = open_tickets("PMK", [timedelta(minutes=5)])
    with unit_of_work() as session:
        sent = OutboundMessage(
            to_number="+6281100000101", body="x", purpose="alert", ticket_id=number, status="delivered", gateway="modem"
        )
        session.add(sent)
        session.flush()
        ends = [("delivered", 0), ("exhausted", 1), ("stopped", 0), ("pending", 0), ("delivered", 0)]
        for i, (status, position) in enumerate(ends):
            delivery = AlertDelivery(
                ticket_id=number,
                phone=f"+628110000020{i}",
                purpose="escalation" if i == 4 else "alert",
                body="x",
                timeout_seconds=60,
                status=status,
                channels=["sms", "voice"],
                position=position,
            )
            session.add(delivery)
            session.flush()
            if i == 0:
                session.add(
                    AlertAttempt(
                        delivery_id=delivery.id, channel="sms", position=0, outbound_id=sent.id, status="delivered"
                    )
                )
            if i == 4:
                session.add(AlertAttempt(delivery_id=delivery.id, channel="voice", position=1, status="answered"))
    before = scrape(server)
    assert 'hotline_alerts{channel="modem",outcome="sent",purpose="alert"} 1.0' in before
    assert 'hotline_alerts{channel="voice",outcome="sent",purpose="escalation"} 1.0' in before
    assert 'hotline_alerts{channel="none",outcome="not_reached",purpose="alert"} 1.0' in before
    assert 'hotline_alerts{channel="sms",outcome="stopped",purpose="alert"} 1.0' in before
    assert 'hotline_alerts{channel="sms",outcome="pending",purpose="alert"} 1.0' in before
    with unit_of_work() as session:
        assert fold_settled(session, now=clock.now()) == 0  # settled just now: a late report may still come

    clock.advance(GRACE + timedelta(minutes=1))
    with unit_of_work() as session:
        assert fold_settled(session, now=clock.now(), batch=3) == 3  # the oldest three settled ones
    with unit_of_work() as session:
        assert sum(n for _, n in live_outcomes(session)) == 2  # the last settled one and the pending one
    after = scrape(server)  # the refresher folds the last one
    with unit_of_work() as session:
        counted = session.scalars(select(AlertDelivery.status).where(AlertDelivery.counted).order_by(AlertDelivery.id))
        assert list(counted) == ["delivered", "exhausted", "stopped", "delivered"]
        assert [labels for labels, _ in live_outcomes(session)] == [("alert", "pending", None, None, None)]
        assert fold_settled(session, now=clock.now()) == 0
    alerts = sorted(line for line in before.splitlines() if line.startswith("hotline_alerts"))
    assert sorted(line for line in after.splitlines() if line.startswith("hotline_alerts")) == alerts
