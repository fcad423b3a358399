"""Fault test: a worker killed and Redis emptied while alerts wait for their delivery reports; a new worker
finds the pending failovers in the database and sends each once, on time."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.fakes.kannel import FakeKannel
from hotline.jobs.timers import heartbeat_key
from hotline.models import AlertDelivery
from tests.conftest import Phone
from tests.fault_processes import crash, start, wait_for
from tests.suite_city import CITY_DIR
from tests.test_alert_failover import CITIZEN, PMK, kannel, kannel_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.system  # starts hotline processes (or builds the package): see tests/README.md

TIMEOUT_SECONDS = 10  # the shortest the config allows


def _short_timeout(tmp: Path) -> Path:
    for folder in ("routing", "sms"):
        shutil.copytree(CITY_DIR / folder, tmp / folder)
    agencies = tmp / "routing" / "agencies.yaml"
    text = agencies.read_text()
    agencies.write_text(text.replace("delivery_timeout_seconds: 60", f"delivery_timeout_seconds: {TIMEOUT_SECONDS}"))
    return tmp


def _worker(env: dict[str, str], log: Path) -> Any:
    return start(["worker", "--sweep-interval", "1"], env, log)  # its own process group: scheduler, releaser


def _ready(log: Path) -> bool:
    """The worker can fire timers: its releaser beats and its first sweep has rebuilt the timers from the rows."""
    return bool(redis_connection().exists(heartbeat_key())) and "timer reconcile:" in log.read_text()


def test_a_killed_worker_and_an_emptied_redis_lose_no_failover(
    tmp_path: Path, phone: Phone, fake_twilio: Any, request: pytest.FixtureRequest
) -> None:
    gateway: FakeKannel = request.getfixturevalue("kannel")  # the backup gateway, configured for the workers too
    env = dict(os.environ, HOTLINE_CONFIG_DIR=str(_short_timeout(tmp_path)))
    first_log, second_log = tmp_path / "first-worker.log", tmp_path / "second-worker.log"
    first = _worker(env, first_log)
    try:
        assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
        wait_for(
            lambda: len([m for m in fake_twilio.messages if m.to in PMK]) == 3,
            30,
            lambda: f"alerts not sent; worker log: {first_log.read_text()[-3000:]}",
        )
    finally:
        crash(first)
    redis_connection().flushdb()  # the timers, the queue, the releaser's heartbeat: all gone
    with unit_of_work() as s:
        due = max(d for d in s.scalars(select(AlertDelivery.due_at)) if d is not None).timestamp()
    second = _worker(env, second_log)
    ready: list[float] = []  # when the new worker could first fire a timer (wall clock, as `due`)

    def failed_over() -> bool:
        if not ready and _ready(second_log):
            ready.append(time.time())
        return len(gateway.messages) == 3

    try:
        wait_for(
            failed_over,
            TIMEOUT_SECONDS + 60,
            lambda: f"failover never fired after the restart; worker log: {second_log.read_text()[-3000:]}",
        )
        fired = time.time()
        if not ready and _ready(second_log):  # both came within one poll: the worker was ready when it fired
            ready.append(fired)
        time.sleep(2)  # anything doubled would show by now
    finally:
        crash(second)
    assert sorted(m.to for m in gateway.messages) == sorted(PMK)  # each member once
    # On time: from its moment, or from when the new worker could first fire (a loaded CI machine can take many
    # seconds to start a worker, its releaser and its first sweep: that is the machine, not a lost timer).
    # Found only by a later mechanism, or given a fresh timeout, it would come TIMEOUT_SECONDS later or more.
    assert ready, f"a failover fired, yet no sweep rebuilt the timers; worker log: {second_log.read_text()[-3000:]}"
    late = fired - max(due, ready[0])
    assert late < TIMEOUT_SECONDS, (
        f"failover fired {late:.1f} s late: {fired - due:.1f} s after its moment, ready {ready[0] - due:+.1f} s"
    )
    with unit_of_work() as s:
        assert set(s.scalars(select(AlertDelivery.position))) == {1}
