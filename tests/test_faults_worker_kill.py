"""Fault test: a worker killed in the middle of sending an SMS. No SMS is lost and none goes out twice.

The dangerous moment is after Twilio took the message and before the worker wrote that down: the outbox row
stays 'sending', the sweeper later hands it out again, and a plain retry would text the member twice. The
fake Twilio holds its answer (`stall`) so the test can kill the worker exactly there."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.jobs.outbound import send_outbound_sms
from hotline.jobs.sweeper import SENDING_STUCK, sweep_once
from hotline.models import OutboundMessage, utcnow
from tests.conftest import Phone, drain_queue
from tests.fault_processes import crash, start, stop, wait_for
from tests.helpers import inbound

# system: starts hotline processes; postgres: its point is PostgreSQL's behaviour (an outage, several processes
# on one database), so CI's PostgreSQL pass runs it too (tests/README.md)
pytestmark = [pytest.mark.system, pytest.mark.postgres]

CITIZEN = "+6281234567890"


def _rows() -> list[OutboundMessage]:
    with unit_of_work() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def _what_happened(tmp_path: Path) -> str:
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))
    return (
        f"no SMS reached the fake Twilio; inbound {[(m.id, m.status) for m in inbound()]}, "
        f"outbound {[(m.id, m.status) for m in _rows()]}\n{logs}"
    )


def _as_if_stuck_for_a_while() -> None:
    """The sweeper hands out a 'sending' row again only after SENDING_STUCK (10 min): move its clock back."""
    with unit_of_work() as s:
        s.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "sending")
            .values(updated_at=utcnow() - SENDING_STUCK - timedelta(minutes=1))
        )


def test_worker_killed_after_twilio_took_the_sms_sends_no_second_copy(
    phone: Phone, fake_twilio: Any, tmp_path: Path
) -> None:
    env = dict(os.environ)
    fake_twilio.stall()
    first = start(["worker", "--sweep-interval", "1"], env, tmp_path / "worker-1.log")
    try:
        wait_for(lambda: bool(redis_connection().smembers("rq:workers")), 30, "worker did not start")
        assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
        wait_for(lambda: len(fake_twilio.messages) >= 1, 60, lambda: _what_happened(tmp_path))
        crash(first)  # Twilio has the SMS; the worker never heard back
    finally:
        crash(first)
        fake_twilio.release()
    rows = _rows()
    [stuck] = [m for m in rows if m.status == "sending"]
    assert stuck.provider_sid is None and len(rows) == 4  # the reply and three PMK alerts
    _as_if_stuck_for_a_while()

    second = start(["worker", "--sweep-interval", "1"], env, tmp_path / "worker-2.log")
    began = time.monotonic()
    try:
        wait_for(
            lambda: all(m.status == "sent" for m in _rows()),
            90,
            lambda: f"not all sent: {[(m.id, m.status, m.attempts) for m in _rows()]}",
        )
        print(f"FIGURE worker killed mid-send: every SMS sent {time.monotonic() - began:.1f} s after a new worker")
    finally:
        stop(second)
    sent = Counter((m.to, m.body) for m in fake_twilio.messages)
    assert len(sent) == 4 and max(sent.values()) == 1  # every SMS once: none lost, none twice
    [again] = [m for m in _rows() if m.id == stuck.id]
    assert again.attempts == 2 and again.provider_sid in {m.sid for m in fake_twilio.messages}


def test_worker_killed_before_twilio_got_the_sms_sends_it_once(phone: Phone, fake_twilio: Any) -> None:
    assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
    drain_queue()
    fake_twilio.reset()
    with unit_of_work() as s:  # a reply its worker had claimed ('sending', attempt 1) when it died: never sent
        stuck = OutboundMessage(to_number=CITIZEN, body="Laporan #1 diterima", purpose="reply", ticket_id=1)
        stuck.status, stuck.attempts = "sending", 1
        s.add(stuck)
    _as_if_stuck_for_a_while()
    swept = sweep_once()
    assert (swept.unstuck, swept.outbound) == (1, 1)  # queued again in the same sweep, not 30 s later
    assert send_outbound_sms(stuck.id) == "sent"  # the job the sweeper queues once the row is due
    assert [(m.to, m.body) for m in fake_twilio.messages] == [(CITIZEN, "Laporan #1 diterima")]
