"""The console's live stream (issue 19): one database poll per server process whatever the number of open tabs,
a `call` event for a caller who joins the queue and a `critical` one for a report that becomes critical, only
for those who may see it and never for the operator's own report."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from hotline.db import get_engine, unit_of_work
from hotline.features.accounts.accounts import Principal
from hotline.features.calls.call_queue import WaitingCall
from hotline.features.calls.queue_urgency import urgency
from hotline.features.tickets.critical_watch import CriticalTicket, became_critical
from hotline.web.console.auth import ConsoleUser
from hotline.web.console.live_hub import MAX_BACKLOG, LiveHub, Poll, Seen, Subscriber
from hotline.web.session import SessionData
from tests.accounts import console_login, csrf_of, make_user
from tests.conftest import TEST_TABLES, Caller, Phone, drain_queue, empty_tables

POLLS = 3  # polls counted: the two between them are whole, however the window's edges cut the first and last
SESSIONS_CHECK = "FROM console_sessions"  # the statement each poll starts with, one for all the tabs


def sse_events(stream: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) pairs as they arrive; comments (keepalives) and the retry line are skipped."""
    name, data = "", []
    for line in stream.iter_lines():
        assert not line.startswith(":"), "a keepalive: the stream was quiet for 15 s"
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif not line and name:
            yield name, "\n".join(data)
            name, data = "", []


@contextlib.contextmanager
def counted_queries() -> Iterator[list[str]]:
    """Every statement the app sends to the database meanwhile (the server runs in this process)."""
    seen: list[str] = []
    lock = threading.Lock()

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        with lock:
            seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def polls_while_open(client: httpx.Client, tabs: int) -> list[list[str]]:
    """The statements of whole polls made while `tabs` tabs listen, poll by poll."""
    csrf = csrf_of(client.get("/console").text)
    with contextlib.ExitStack() as stack:
        readers = []  # kept: a reader dropped half-way closes its connection, and the server ends that stream
        for _ in range(tabs):
            stream = stack.enter_context(client.stream("GET", "/console/live", timeout=15))
            readers.append(stream.iter_lines())
            assert next(readers[-1]) == "retry: 2000"  # signed in and subscribed
        with counted_queries() as seen:
            deadline = time.monotonic() + 30
            while sum(SESSIONS_CHECK in q for q in seen) < POLLS + 1 and time.monotonic() < deadline:
                time.sleep(0.05)
        # Every tab is still open and hears a change: the count above was made with all of them listening.
        made = client.post("/console/tickets", data={"category": "roads", "text": "Jalan ambles", "csrf": csrf})
        assert made.status_code == 303
        for reader in readers:
            for line in reader:
                assert not line.startswith(":"), "a keepalive: this tab heard nothing for 15 s"
                if line == "event: tickets":
                    break
        starts = [i for i, q in enumerate(seen) if SESSIONS_CHECK in q]
        assert len(starts) > POLLS, f"the poller made {len(starts)} polls in 30 s"
        return [seen[a:b] for a, b in itertools.pairwise(starts[: POLLS + 1])]


def test_database_cost_does_not_grow_with_open_tabs(server: str) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    one = polls_while_open(client, 1)
    ten = polls_while_open(client, 10)
    # One poll, of the same statements, for all tabs: the quietest poll of each (a poll that finds a change, such
    # as the tables emptied since the last test, reads more) is the same with ten tabs as with one. Counted poll
    # by poll: how many polls fit in a fixed window follows the machine's load.
    assert min(ten, key=len) == min(one, key=len), (one, ten)


def test_a_waiting_caller_and_a_critical_report_are_announced(server: str, phone: Phone) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    with client.stream("GET", "/console/live", timeout=15) as stream:
        events = sse_events(stream)
        caller = Caller(phone)
        caller.dial()
        caller.press("1")  # the emergency key: a critical ticket #1, then the operator queue
        heard: dict[str, str] = {}
        for name, data in events:
            heard.setdefault(name, data)
            if {"call", "critical"} <= heard.keys():
                break
    call = json.loads(heard["call"])
    assert call["title"] == "Penelepon baru di antrean" and call["body"].startswith("+6281234567890")
    critical = json.loads(heard["critical"])
    assert critical["title"] == "Laporan kritis #1" and critical["url"] == "/console/tickets/1"
    drain_queue()


def _call_and_critical(events: Iterator[tuple[str, str]]) -> dict[str, str]:
    heard: dict[str, str] = {}
    for name, data in events:
        heard.setdefault(name, data)
        if {"call", "critical"} <= heard.keys():
            break
    return heard


def test_a_database_that_went_back_still_announces_what_is_new(server: str, phone: Phone) -> None:
    """Restored from a backup (here: emptied, as the suite does between tests), the database numbers calls,
    tickets and events from lower ids again: the stream, open all along, still hears the new caller and report."""
    make_user("ani", "operator")
    client = console_login(server, "ani")
    with client.stream("GET", "/console/live", timeout=15) as stream:
        events = sse_events(stream)
        first = Caller(phone)
        first.dial()
        first.press("1")
        assert json.loads(_call_and_critical(events)["critical"])["number"] == 1
        drain_queue()
        empty_tables(TEST_TABLES[: TEST_TABLES.index("tickets") + 1])  # calls and tickets; the accounts stay
        # A poll saw it empty (a poll from before the emptying may still be in the stream: a loaded machine
        # delivers it after; the stream's 15 s timeout fails the test if no poll ever sees it empty).
        assert next(data for name, data in events if name == "tickets" and data.startswith("0|"))
        again = Caller(phone)
        again.dial()
        again.press("1")  # call 1 and ticket 1 again, with event ids below the last poll's
        heard = _call_and_critical(events)
    assert json.loads(heard["critical"])["number"] == 1 and json.loads(heard["call"])["title"]
    drain_queue()


def test_the_report_an_operator_wrote_is_known_as_theirs(server: str) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    page = client.get("/console").text
    made = client.post(
        "/console/tickets",
        data={"category": "landslide", "text": "Tebing longsor", "location": "Jl. Bukit", "csrf": csrf_of(page)},
    )
    assert made.status_code == 303
    with unit_of_work() as session:
        (found,) = became_critical(session, after_event=0, upto_event=10**9)
        assert became_critical(session, after_event=0, upto_event=10**9, announced={found.number}) == []
    assert (found.opened_by, found.category, found.place) == ("ani", "landslide", "Jl. Bukit")


def _user(name: str, role: str, agency: str | None = None) -> ConsoleUser:
    return ConsoleUser(Principal(1, name, role, agency), SessionData(1, "csrf", "k"), "id", None, None)


@pytest.mark.unit
def test_critical_reaches_only_who_may_see_it_and_not_its_author() -> None:
    seen = Seen("q", frozenset(), "t1", 1)
    landslide = CriticalTicket(7, "landslide", "BPBD", "Desa Sisir", opened_by="ani")
    result = Poll(Seen("q", frozenset(), "t2", 2), {"k"}, {}, [], [landslide])

    def heard(user: ConsoleUser) -> list[str]:
        return [e.split("\n")[0] for e in LiveHub._events_for(user, seen, result, [])]

    assert heard(_user("budi", "operator")) == ["event: tickets", "event: critical"]
    assert heard(_user("ani", "operator")) == ["event: tickets"]  # her own report: no alarm
    assert heard(_user("bpbd1", "agency_staff", "BPBD")) == ["event: tickets", "event: critical"]
    assert heard(_user("pupr1", "agency_staff", "PUPR")) == ["event: tickets"]  # another agency's


@pytest.mark.unit
@pytest.mark.parametrize(
    ("queue", "ticket", "category", "level"),
    [
        ("emergency", None, None, "critical"),
        ("normal", "critical", "roads", "critical"),  # the ticket's priority wins over the category's
        ("normal", None, "landslide", "critical"),  # chosen in the menu, no ticket yet
        ("normal", "high", None, "high"),
        ("normal", None, "flood", "high"),
        ("normal", "normal", "roads", ""),
        ("silent", None, None, ""),
    ],
)
def test_queue_row_urgency(queue: str, ticket: str | None, category: str | None, level: str) -> None:
    call = WaitingCall(1, "twilio", "CA1", "+62", category, None, "id", datetime.now(UTC), False, queue, ticket)
    levels = {"landslide": "critical", "flood": "high", "roads": "normal"}
    assert urgency(call, levels) == level


@pytest.mark.unit
def test_a_tab_that_stopped_reading_is_ended_not_grown() -> None:
    tab = Subscriber(_user("ani", "operator"))
    for _ in range(MAX_BACKLOG):
        tab.send("event: tickets\ndata: x\n\n")
    assert tab.events.qsize() == MAX_BACKLOG
    tab.send("event: tickets\ndata: y\n\n")  # one too many: the stream ends, the browser reconnects
    assert tab.events.qsize() == 1 and tab.events.get_nowait() is None
