"""Fault test: a worker killed and Redis emptied while alerts wait for their delivery reports; a new worker
finds the pending failovers in the database and sends each once, on time."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.fakes.kannel import FakeKannel
from hotline.models import AlertDelivery
from tests.conftest import Phone
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


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hotline", "worker", "--sweep-interval", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the worker, its RQ scheduler and releaser
    )


def _crash(worker: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def _wait(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_killed_worker_and_an_emptied_redis_lose_no_failover(
    tmp_path: Path, phone: Phone, fake_twilio: Any, request: pytest.FixtureRequest
) -> None:
    gateway: FakeKannel = request.getfixturevalue("kannel")  # the backup gateway, configured for the workers too
    env = dict(os.environ, HOTLINE_CONFIG_DIR=str(_short_timeout(tmp_path)))
    first = _worker(env)
    try:
        assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
        _wait(lambda: len([m for m in fake_twilio.messages if m.to in PMK]) == 3, 30, "alerts not sent")
    finally:
        _crash(first)
    redis_connection().flushdb()  # the timers, the queue, the releaser's heartbeat: all gone
    with unit_of_work() as s:
        due = max(d for d in s.scalars(select(AlertDelivery.due_at)) if d is not None)
    second = _worker(env)
    try:
        _wait(lambda: len(gateway.messages) == 3, TIMEOUT_SECONDS + 30, "failover never fired after the restart")
        late = time.time() - due.timestamp()
        time.sleep(2)  # anything doubled would show by now
    finally:
        _crash(second)
    assert sorted(m.to for m in gateway.messages) == sorted(PMK)  # each member once
    assert late < 10, f"failover fired {late:.1f} s after its moment"
    with unit_of_work() as s:
        assert set(s.scalars(select(AlertDelivery.position))) == {1}
