"""Fault test: a worker killed while escalations fire; a new worker finishes them, each exactly once."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.models import Escalation, OutboundMessage, TicketEvent
from tests.conftest import Phone
from tests.suite_city import CITY_DIR

# system: starts hotline processes; postgres: its point is PostgreSQL's behaviour (an outage, several processes
# on one database), so CI's PostgreSQL pass runs it too (tests/README.md)
pytestmark = [pytest.mark.system, pytest.mark.postgres]

REPORTS = 40


def _tiny_deadlines(tmp: Path) -> Path:
    for folder in ("routing", "sms"):
        shutil.copytree(CITY_DIR / folder, tmp / folder)
    (tmp / "routing" / "merging.yaml").unlink()  # 40 fires with one text are 40 tickets here, not one merged
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
        start_new_session=True,  # its own process group: the worker and the RQ scheduler it forks
    )


def _crash(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker's whole process group, as a crashed host or an OOM-killed container would.
    Killing only the worker would leave its forked RQ scheduler running as an orphan, forever."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def _unfired() -> str:
    """What is left, and what Redis knows of it: the failure message when a step never fires."""
    with unit_of_work() as s:
        stmt = select(Escalation.id, Escalation.status, Escalation.due_at).where(Escalation.status != "fired")
        rows = s.execute(stmt)
        left = [(i, st, due.isoformat()) for i, st, due in rows]
    jobs = {i: redis_connection().hgetall(f"rq:job:esc-{i}").get(b"status") for i, _, _ in left}
    return f"not fired: {left}; job status: {jobs}"


def _not_sent(rows: list[OutboundMessage]) -> str:
    """The failure message when alerts did not go out: how many of each status, and what RQ knows."""
    r = redis_connection()
    q = f"rq:queue:{os.environ['HOTLINE_QUEUE']}"
    jobs = {
        m.id: {k.decode(): r.hget(k, "status") for k in r.scan_iter(f"rq:job:outbound-{m.id}-*")}
        for m in rows
        if m.status != "sent"
    }
    left = [(m.id, m.status, m.attempts, m.created_at.isoformat(), m.last_error) for m in rows if m.status != "sent"]
    return (
        f"statuses {dict(Counter(m.status for m in rows))}; unsent {left}; their jobs {jobs}; "
        f"{r.llen(q)} queued, {r.llen(q + ':intermediate')} intermediate; now {datetime.now(UTC).isoformat()}"
    )


def _alerts_settled() -> bool:
    """No escalation SMS waits to be sent; one may be stuck 'sending' (the kill landed mid-send)."""
    with unit_of_work() as s:
        counts = dict(
            s.execute(
                select(OutboundMessage.status, func.count())
                .where(OutboundMessage.purpose == "escalation")
                .group_by(OutboundMessage.status)
            ).all()
        )
    return counts.get("sent", 0) > 0 and counts.get("queued", 0) == 0 and counts.get("sending", 0) <= 1


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
        _crash(first)
        killed_at_fired = _fired()
    finally:
        _crash(first)
    second = _worker(env)
    phases: dict[str, float] = {}
    began = time.monotonic()
    try:
        deadline = time.monotonic() + 90
        while _fired() < REPORTS:
            assert time.monotonic() < deadline, f"only {_fired()} of {REPORTS} escalations fired; {_unfired()}"
            time.sleep(0.2)
        phases["all fired"] = time.monotonic() - began
        # Let the alerts go out: on a busy machine the new worker needs seconds for the ~120 SMS jobs, and
        # an SMS job the killed worker had taken comes back through the outbox sweeper only after 30 s.
        deadline = time.monotonic() + 60
        while not _alerts_settled():
            assert time.monotonic() < deadline, "escalation SMS still queued after 60 s"
            time.sleep(0.2)
        phases["alerts out"] = time.monotonic() - began
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(20)
        finally:
            _crash(second)
        phases["worker stopped"] = time.monotonic() - began
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
    assert statuses.count("sent") >= len(rows) - 1, _not_sent(rows)
    delivered = [(m.to, m.body) for m in fake_twilio.messages if "ESKALASI" in m.body]
    assert len(delivered) == len(set(delivered)), "an escalation SMS was sent twice"
    print(f"fired before the kill: {killed_at_fired}/{REPORTS}; seconds after the new worker started: {phases}")
