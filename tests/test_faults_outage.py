"""Fault tests: PostgreSQL or Redis goes away under real `hotline serve` and `hotline worker` processes.

The processes reach PostgreSQL and Redis through a TCP proxy (tests/tcp_proxy.py) that the test cuts: a real
outage for them, and for nobody else on the same servers. The test itself checks the database directly.
Figures (how fast the 503 comes back, how long recovery takes) are printed as `FIGURE` lines (`pytest -s`)
for docs/reliability.md; nothing asserts on time."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.models import Call, InboundMessage, OutboundMessage, Ticket
from tests.conftest import Caller, Phone
from tests.fault_processes import serve, stacks, start, stop, wait_for
from tests.suite_city import members
from tests.tcp_proxy import TcpProxy, database_target, redis_target

# system: starts hotline processes; postgres: its point is PostgreSQL's behaviour (an outage, several processes
# on one database), so CI's PostgreSQL pass runs it too (tests/README.md)
pytestmark = [pytest.mark.system, pytest.mark.postgres]

PMK = members("PMK")
REPORTS = 5
# One desa per report: the same text from several numbers would be one incident (routing/merging.yaml).
DESA = ["Sisir", "Temas", "Ngaglik", "Songgokerto", "Pesanggrahan"]


def _figure(name: str, value: float, unit: str = "s") -> None:
    print(f"FIGURE {name}: {value:.3f} {unit}")


@pytest.fixture
def redis_proxy(backend: dict[str, str]) -> Iterator[tuple[TcpProxy, str]]:
    target, db = redis_target(backend["HOTLINE_REDIS_URL"])
    proxy = TcpProxy(target).start()
    yield proxy, f"redis://127.0.0.1:{proxy.port}/{db}"
    proxy.stop()


@pytest.fixture
def database_proxy(backend: dict[str, str]) -> Iterator[tuple[TcpProxy, str]]:
    url = backend["HOTLINE_DATABASE_URL"]
    if not url.startswith("postgresql"):
        pytest.skip("SQLite is a file in the app's own process: there is no database server to lose")
    from tests.tcp_proxy import proxied_database_url

    proxy = TcpProxy(database_target(url)).start()
    yield proxy, proxied_database_url(url, proxy.port)
    proxy.stop()


def _inbound_by_sid(sids: list[str]) -> dict[str, str]:
    with unit_of_work() as s:
        return dict(
            s.execute(
                select(InboundMessage.provider_sid, InboundMessage.status).where(InboundMessage.provider_sid.in_(sids))
            ).all()
        )


def _count(model: type) -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _all_processed() -> bool:
    with unit_of_work() as s:
        return not s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "received"))


def _wait_for_worker() -> None:
    wait_for(lambda: bool(redis_connection().smembers("rq:workers")), 30, "the worker did not register with RQ")


@contextmanager
def serve_and_work(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Phone, subprocess.Popen[bytes]]]:
    """`hotline serve` and `hotline worker` (sweeping every second) on `env`, logs in `tmp_path`; a phone that
    texts the server, and the worker once it has registered with RQ. Both stopped afterwards."""
    api, base = serve(env, tmp_path / "serve.log")
    worker = start(["worker", "--sweep-interval", "1"], env, tmp_path / "worker.log")
    phone = Phone(base)
    try:
        _wait_for_worker()
        yield phone, worker
    finally:
        phone.client.close()
        stop(worker)
        stop(api)


def test_database_down_signed_reports_are_spooled_answered_200_and_each_becomes_one_ticket(
    backend: dict[str, str], database_proxy: tuple[TcpProxy, str], tmp_path: Path, fake_twilio: Any
) -> None:
    """Twilio does not retry an SMS webhook that failed: with the database cut, every signed SMS is kept in the
    serve process's spool and answered 200, a call gets the fallback (apology, then a recorded message), and
    nothing is half written. When the database is back, the serve process replays the spool: one ticket per
    report, and Twilio's retries (or its Fallback URL) of the same SMS make nothing twice."""
    proxy, database_url = database_proxy
    env = dict(os.environ, HOTLINE_DATABASE_URL=database_url, HOTLINE_DATA_DIR=str(tmp_path / "var"))
    with serve_and_work(env, tmp_path) as (phone, _):
        assert phone.sms("+6281230000000", "KEBAKARAN di Jl. Diponegoro 1").status_code == 200
        wait_for(_all_processed, 30, "the first report was not processed")

        proxy.cut()
        payloads = [phone.payload(f"+62812300000{n:02d}", f"KEBAKARAN di {DESA[n]}") for n in range(REPORTS)]
        answers, seconds = [], []
        for payload in payloads:
            began = time.monotonic()
            answers.append(phone.post("/twilio/sms", payload).status_code)
            seconds.append(time.monotonic() - began)
        caller = Caller(phone)
        began = time.monotonic()
        call_answer = caller.dial()
        seconds.append(time.monotonic() - began)
        ready = phone.client.get(f"{phone.base_url}/readyz")
        assert answers == [200] * REPORTS
        assert call_answer.status_code == 200 and "<Record" in call_answer.text  # the fallback, not a 503
        assert ready.status_code == 503 and ready.json()["database"].startswith("error")
        assert ready.json()["spool"] == f"{REPORTS} pending"
        _figure("database down: slowest answer to a webhook (spooled)", max(seconds))
        _figure("database down: median answer to a webhook (spooled)", sorted(seconds)[len(seconds) // 2])

        sids = [p["MessageSid"] for p in payloads]
        assert _inbound_by_sid(sids) == {}  # nothing half written
        assert _count(Call) == 0

        proxy.restore()
        restored = time.monotonic()
        replayed = lambda: len(_inbound_by_sid(sids)) == REPORTS  # noqa: E731
        wait_for(replayed, 30, lambda: f"spool not replayed: {_log_tail(tmp_path)}")
        _figure("database back: until the spool was replayed", time.monotonic() - restored)
        # Twilio's retries (or its Fallback URL): the same webhooks again
        for payload in payloads:
            assert phone.post("/twilio/sms", payload).status_code == 200
        assert caller.dial().status_code == 200
        wait_for(_all_processed, 60, lambda: f"not processed after the database came back: {_inbound_by_sid(sids)}")
        _figure("database back: until every report was processed by the worker", time.monotonic() - restored)
        assert set(_inbound_by_sid(sids).values()) == {"processed"}
        with unit_of_work() as s:
            tickets = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.channel == "sms"))
        assert tickets == REPORTS + 1  # each report once, the retries made nothing twice
        assert phone.client.get(f"{phone.base_url}/readyz").json()["spool"] == "empty"


def test_a_database_that_takes_connections_but_never_answers_gets_the_report_spooled_not_a_hung_webhook(
    backend: dict[str, str], database_proxy: tuple[TcpProxy, str], tmp_path: Path
) -> None:
    """A partition or a hung server: TCP connects, nothing ever answers. libpq's connect_timeout
    (hotline/db.py POSTGRES_TIMEOUTS) ends the wait, and the report goes to the spool (200); without it the
    webhook hangs (the phone's client gives up after 10 s and this test fails)."""
    proxy, database_url = database_proxy
    env = dict(os.environ, HOTLINE_DATABASE_URL=database_url, HOTLINE_DATA_DIR=str(tmp_path / "var"))
    api, base = serve(env, tmp_path / "serve.log")
    phone = Phone(base)
    try:
        assert phone.sms("+6281230000100", "KEBAKARAN di Jl. Diponegoro 100").status_code == 200
        proxy.silence()
        payload = phone.payload("+6281230000101", "KEBAKARAN di Jl. Diponegoro 101")
        began = time.monotonic()
        answer = phone.post("/twilio/sms", payload)
        _figure("database silent: webhook answered after", time.monotonic() - began)
        assert answer.status_code == 200
        assert phone.client.get(f"{base}/readyz").status_code == 503
        proxy.unsilence()
        wait_for(lambda: payload["MessageSid"] in _inbound_by_sid([payload["MessageSid"]]), 30, "never replayed")
        assert phone.post("/twilio/sms", payload).status_code == 200  # Twilio's Fallback URL, or a retry
        assert set(_inbound_by_sid([payload["MessageSid"]])) == {payload["MessageSid"]}  # stored once
    finally:
        phone.client.close()
        stop(api)


def _outbox_settled() -> bool:
    """Every SMS owed has been handed to (the fake) Twilio."""
    with unit_of_work() as s:
        waiting = s.scalar(
            select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status.in_(("queued", "sending")))
        )
    return not waiting


def test_redis_down_reports_are_stored_and_alerts_go_out_once_it_is_back(
    backend: dict[str, str], redis_proxy: tuple[TcpProxy, str], tmp_path: Path, fake_twilio: Any
) -> None:
    proxy, redis_url = redis_proxy
    env = dict(os.environ, HOTLINE_REDIS_URL=redis_url)
    with serve_and_work(env, tmp_path) as (phone, worker):
        assert phone.sms("+6281240000099", "KEBAKARAN di Jl. Diponegoro 99").status_code == 200
        wait_for(lambda: _all_processed() and _outbox_settled(), 30, "the first report was not handled")
        fake_twilio.reset()  # the worker is fully up, and its SMS are out
        proxy.cut()
        citizens = [f"+62812400000{n:02d}" for n in range(REPORTS)]
        seconds = []
        for n, citizen in enumerate(citizens):
            began = time.monotonic()
            assert phone.sms(citizen, f"KEBAKARAN di {DESA[n]} {uuid.uuid4().hex[:4]}").status_code == 200
            seconds.append(time.monotonic() - began)
        _figure("redis down: slowest webhook answer (stored, not queued)", max(seconds))
        with unit_of_work() as s:
            stored = s.scalars(select(InboundMessage.status).order_by(InboundMessage.id)).all()
        assert stored == ["processed"] + ["received"] * REPORTS  # every report is safe in the database

        proxy.restore()
        restored = time.monotonic()
        wait_for(
            _all_processed,
            90,
            lambda: f"reports not processed after Redis came back: {_log_tail(tmp_path)}\n{stacks(worker)}",
        )
        _figure("redis back: until every stored report was processed", time.monotonic() - restored)
        wait_for(_outbox_settled, 60, lambda: f"SMS not sent: {_log_tail(tmp_path)}")
        _figure("redis back: until every reply and URC alert was sent", time.monotonic() - restored)
        alerts = [(m.to, m.body) for m in fake_twilio.messages if m.to in PMK]
        assert len(alerts) == REPORTS * len(PMK)
        assert max(Counter(alerts).values()) == 1  # each alert once
        assert sorted(m.to for m in fake_twilio.messages if m.to in citizens) == citizens  # each citizen's reply


def _log_tail(tmp_path: Path) -> str:
    """The processes' logs (the worker's first, the longest: it is the one that recovers) for a failure."""
    logs = sorted(tmp_path.glob("*.log"), key=lambda p: p.name != "worker.log")
    return "\n".join(f"--- {p.name}\n{p.read_text()[-(6000 if p.name == 'worker.log' else 1500) :]}" for p in logs)
