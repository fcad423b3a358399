"""Fault test: a worker killed while escalations fire; a new worker finishes them, each exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hotline.db import unit_of_work
from hotline.jobs.queue import redis_connection
from hotline.models import Escalation, OutboundMessage, TicketEvent
from hotline.settings import PROJECT_ROOT
from tests.conftest import Phone

REPORTS = 40


def _tiny_deadlines(tmp: Path) -> Path:
    for folder in ("routing", "sms"):
        shutil.copytree(PROJECT_ROOT / folder, tmp / folder)
    agencies = tmp / "routing" / "agencies.yaml"
    agencies.write_text(
        agencies.read_text().replace("critical: {accept: 5, resolve: 120}", "critical: {accept: 0.05, resolve: 120}", 1)
    )
    escalation = tmp / "routing" / "escalation.yaml"
    text = escalation.read_text()
    start = text.index("agencies:\n  PMK:")
    end = text.index("# The monthly scorecard")
    escalation.write_text(
        text[:start] + "agencies:\n  PMK:\n    steps:\n      - {after_minutes: 0, notify: [urc]}\n\n" + text[end:]
    )
    return tmp


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hotline", "worker", "--sweep-interval", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _fired() -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(Escalation).where(Escalation.status == "fired")) or 0


def test_killed_worker_mid_escalation_every_step_still_fires_once(
    tmp_path: Path, phone: Phone, fake_twilio: Any
) -> None:
    env = dict(os.environ, HOTLINE_CONFIG_DIR=str(_tiny_deadlines(tmp_path)))
    first = _worker(env)
    try:
        deadline = time.monotonic() + 30
        while not redis_connection().smembers("rq:workers"):
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.1)
        for n in range(REPORTS):
            assert phone.sms(f"+628123456{n:04d}", "KEBAKARAN di Jl. Diponegoro").status_code == 200
        # deadlines are 3 s after routing: kill the worker while the first ones are firing
        deadline = time.monotonic() + 30
        while _fired() == 0:
            assert time.monotonic() < deadline, "no escalation fired"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at_fired = _fired()
    finally:
        if first.poll() is None:
            first.kill()
    second = _worker(env)
    try:
        deadline = time.monotonic() + 90
        while _fired() < REPORTS:
            assert time.monotonic() < deadline, f"only {_fired()} of {REPORTS} escalations fired"
            time.sleep(0.2)
        time.sleep(2)  # let the alerts go out
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    with unit_of_work() as s:
        per_ticket = s.execute(
            select(TicketEvent.ticket_id, func.count())
            .where(TicketEvent.kind == "escalated")
            .group_by(TicketEvent.ticket_id)
        ).all()
        rows = s.scalars(select(OutboundMessage).where(OutboundMessage.purpose == "escalation")).all()
    assert len(per_ticket) == REPORTS and {n for _, n in per_ticket} == {1}, per_ticket
    assert len(rows) == REPORTS * 3  # the PMK URC has three members
    statuses = [r.status for r in rows]
    # The kill may land between claiming an SMS and recording the send: at most one row is left 'sending'
    # (the sweeper sends it again after 10 minutes); everything else went out exactly once.
    assert statuses.count("sent") >= len(rows) - 1, statuses
    delivered = [(m.to, m.body) for m in fake_twilio.messages if "ESKALASI" in m.body]
    assert len(delivered) == len(set(delivered)), "an escalation SMS was sent twice"
    print(f"fired before the kill: {killed_at_fired}/{REPORTS}")
