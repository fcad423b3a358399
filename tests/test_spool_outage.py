"""Issue 18's done-when: a signed SMS sent while PostgreSQL is stopped becomes a ticket after it restarts.

A PostgreSQL of the test's own (tests/throwaway_servers.py) under real `hotline serve` and `hotline worker`
processes; the test stops the server itself (pg_ctl stop: every connection closed, new ones refused), posts a
signed SMS and a call, starts it again, and waits for exactly one ticket per report and the citizen's reply.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.cli import _prepare_database
from hotline.core.queue import redis_connection
from hotline.db import dispose, unit_of_work, using_database
from hotline.models import Call, InboundMessage, Ticket
from tests.conftest import Caller, Phone
from tests.fault_processes import serve, start, stop, wait_for
from tests.throwaway_servers import ThrowawayPostgres, postgres_available

pytestmark = pytest.mark.system

CITIZEN = "+6281235000001"


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    why = postgres_available()
    if why:
        pytest.skip(why)
    server = ThrowawayPostgres().init()
    yield server
    dispose(server.url)
    server.destroy()


def _count(url: str, model: type, *where: Any) -> int:
    with unit_of_work(url) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _log(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))


def test_a_signed_sms_sent_while_postgresql_is_stopped_becomes_one_ticket_after_it_restarts(
    backend: dict[str, str], postgres: ThrowawayPostgres, tmp_path: Path, fake_twilio: Any
) -> None:
    env = dict(os.environ, HOTLINE_DATABASE_URL=postgres.url, HOTLINE_DATA_DIR=str(tmp_path / "var"))
    worker = start(["worker", "--sweep-interval", "1"], env, tmp_path / "worker.log")  # starts while we migrate
    with using_database(postgres.url):
        _prepare_database()  # `hotline db upgrade`, in this process: one interpreter start less
    api, base = serve(env, tmp_path / "serve.log")
    phone = Phone(base)
    try:
        wait_for(lambda: bool(redis_connection().smembers("rq:workers")), 60, lambda: _log(tmp_path))
        postgres.stop()
        dispose(postgres.url)  # this process's own pooled connections (the migration's) died with it
        payload = phone.payload(CITIZEN, "KEBAKARAN di Jl. Diponegoro 7 desa Sisir")
        answer = phone.post("/twilio/sms", payload)
        assert answer.status_code == 200, answer.text  # kept, not lost to a 503 Twilio never retries
        caller = Caller(phone, number="+6281235000002")
        assert "<Record" in caller.dial().text  # the apology, then a message (no desk number set here)
        recorded = phone.post("/twilio/voice/fallback/recorded", caller.payload("record"))
        assert recorded.status_code == 200
        assert phone.client.get(f"{base}/readyz").json()["spool"] == "2 pending"

        postgres.start()
        restarted = time.monotonic()
        wait_for(
            lambda: _count(postgres.url, InboundMessage, InboundMessage.status == "processed") == 1,
            60,
            lambda: f"the spooled SMS was not processed: {_log(tmp_path)}",
        )
        wait_for(lambda: fake_twilio.sent_to(CITIZEN), 30, lambda: f"no reply to the citizen: {_log(tmp_path)}")
        print(f"FIGURE postgres restarted -> spooled SMS replied: {time.monotonic() - restarted:.2f} s")
        assert _count(postgres.url, Ticket, Ticket.channel == "sms") == 1
        assert _count(postgres.url, InboundMessage) == 1
        with unit_of_work(postgres.url) as s:
            ticket = s.scalar(select(Ticket).where(Ticket.channel == "sms"))
            assert ticket is not None and (ticket.category, ticket.reporter_phone) == ("fire", CITIZEN)
            call = s.scalar(select(Call).where(Call.provider_call_id == caller.sid))
            assert call is not None and call.ticket_id is not None  # the message is a voice ticket
        assert len(fake_twilio.sent_to(CITIZEN)) == 1
        # Twilio's Fallback URL or a retry with the same SMS now: still one report
        assert phone.post("/twilio/sms", payload).status_code == 200
        assert _count(postgres.url, InboundMessage) == 1 and _count(postgres.url, Ticket, Ticket.channel == "sms") == 1
        assert phone.client.get(f"{base}/readyz").json()["spool"] == "empty"
    finally:
        phone.client.close()
        stop(worker)
        stop(api)
