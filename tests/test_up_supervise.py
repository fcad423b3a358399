"""`hotline up` supervises its parts: a killed worker, API or embedded Redis is started again while the rest
goes on (one `hotline up` for all three: each start costs seconds of CPU); a taken port is one line and a
non-zero exit before anything starts; Ctrl-C / SIGTERM still stop everything and leave no process behind. Real
processes and sockets throughout (settings: test_settings_check.py)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from hotline.supervisor import Backoff, Service, Supervisor
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE_NUMBER, _free_port
from tests.suite_city import clean_environment

pytestmark = pytest.mark.system  # starts hotline processes (or builds the package): see tests/README.md

MODES = ["embedded"] + (["postgres"] if os.environ.get("HOTLINE_TEST_DATABASE_URL") else [])
T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def run_hotline(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Up:
    """A running `hotline up`: its parts, its API, and a signed SMS webhook as Twilio sends one."""

    def __init__(self, process: subprocess.Popen[bytes], base: str, log: Path, db_url: str) -> None:
        self.process, self.base, self.log, self.db_url = process, base, log, db_url

    def get(self, path: str, timeout: float = 5) -> int | None:
        try:
            return httpx.get(self.base + path, timeout=timeout).status_code
        except httpx.HTTPError:
            return None

    def part(self, is_it: Callable[[psutil.Process], bool]) -> psutil.Process | None:
        for child in psutil.Process(self.process.pid).children():
            try:
                if alive(child) and is_it(child):
                    return child
            except psutil.Error:
                continue
        return None

    def worker(self) -> psutil.Process | None:
        return self.part(lambda p: p.cmdline()[-1:] == ["worker"])

    def redis(self) -> psutil.Process | None:
        return self.part(lambda p: p.name() == "redis-server")

    def api(self) -> psutil.Process | None:
        return self.part(lambda p: "serve" in p.cmdline())

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def report(self, fake_twilio: Any, sender: str, body: str = "LONGSOR di Sumberbrantas") -> None:
        """Send an SMS webhook; wait until its ticket is routed and the citizen got the reply."""
        url = self.base + "/twilio/sms"
        sid = f"SM{uuid.uuid4().hex}"
        params = {"MessageSid": sid, "From": sender, "To": HOTLINE_NUMBER, "AccountSid": ACCOUNT_SID, "Body": body}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        assert httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}).status_code == 200
        engine = create_engine(self.db_url)

        def routed() -> Any:
            with engine.connect() as conn:
                query = (
                    "SELECT t.status FROM tickets t JOIN inbound_messages i ON i.ticket_id = t.id "
                    "WHERE i.provider_sid = :sid"
                )
                return conn.execute(text(query), {"sid": sid}).first()

        try:
            assert tuple(wait_for(routed, 30, "the ticket")) == ("routed",)
        finally:
            engine.dispose()
        reply = wait_for(lambda: fake_twilio.sent_to(sender), 30, "the reply to the citizen")
        assert reply[0].body.startswith("Laporan No. ")

    def stop(self, signum: int = signal.SIGINT) -> None:
        """Stop it as Ctrl-C (or SIGTERM) does: exit 0, and nothing it started is left running."""
        descendants = psutil.Process(self.process.pid).children(recursive=True)
        assert descendants, "no parts running"
        self.process.send_signal(signum)
        assert self.process.wait(30) == 0, self.output()
        assert "Hotline stopped" in self.output()
        left = [p for p in descendants if alive(p)]
        assert not left, [(p.pid, p.name(), p.cmdline()) for p in left]


@contextmanager
def hotline_up(tmp_path: Path, mode: str, backend: dict[str, Any], fake_twilio: Any, *args: str) -> Iterator[Up]:
    port = _free_port()
    env = clean_environment(
        HOTLINE_DATA_DIR=str(tmp_path / "var"),
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOTLINE_QUEUE=f"up-{uuid.uuid4().hex[:6]}",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=HOTLINE_NUMBER,
        TWILIO_API_BASE=fake_twilio.base_url,
    )
    with socket.socket() as taken:  # HOTLINE_PORT names a taken port: --port must win over it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["HOTLINE_PORT"] = str(taken.getsockname()[1])
        if mode == "postgres":
            env["HOTLINE_DATABASE_URL"] = db_url = backend["HOTLINE_DATABASE_URL"]
            env["HOTLINE_REDIS_URL"] = backend["HOTLINE_REDIS_URL"]
        else:
            db_url = f"sqlite:///{tmp_path / 'var' / 'hotline.db'}"
        log = tmp_path / "up.log"
        with log.open("wb") as out:  # a file, not a pipe nobody reads while the parts log
            process = subprocess.Popen(
                [sys.executable, "-m", "hotline", "up", "--port", str(port), *args],
                env=env,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,  # never the first-admin prompt of a terminal
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        up = Up(process, f"http://127.0.0.1:{port}", log, db_url)
        try:
            wait_for(lambda: up.get("/readyz") == 200, 90, "hotline up to be ready")
            yield up
        finally:
            if process.poll() is None:
                for child in psutil.Process(process.pid).children(recursive=True):
                    child.kill()
                process.kill()
                process.wait()


class HealthPoller:
    """GET /healthz every 50 ms in a thread; counts the polls that got no 200."""

    def __init__(self, up: Up) -> None:
        self.up, self.polls, self.failed = up, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.polls += 1
            if self.up.get("/healthz", timeout=15) != 200:
                self.failed += 1

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(20)


@pytest.mark.parametrize("mode", MODES)
def test_killed_parts_are_started_again_while_the_api_answers(
    mode: str, tmp_path: Path, backend: dict[str, Any], fake_twilio: Any
) -> None:
    with hotline_up(tmp_path, mode, backend, fake_twilio) as up:
        worker = wait_for(up.worker, 10, "the worker")
        # Its escalation releaser and RQ's scheduler: they go when it is killed (the releaser sees its worker
        # gone; the supervisor stops the rest of its process group).
        left_behind = wait_for(lambda: len(c := worker.children(recursive=True)) >= 2 and c, 15, "its helpers")
        with HealthPoller(up) as health:
            wait_for(lambda: health.polls >= 3, 10, "the first /healthz polls")
            killed = time.monotonic()
            worker.kill()
            restarted = wait_for(lambda: (w := up.worker()) and w.pid != worker.pid and w, 15, "a new worker")
            worker_back = time.monotonic() - killed
            wait_for(lambda: not any(alive(p) for p in left_behind), 10, "what the killed worker had started to go")
            up.report(fake_twilio, "+6281234567801")  # processed by the new worker
            worker_polls, worker_failed = health.polls, health.failed

            api = wait_for(up.api, 10, "the API")
            killed = time.monotonic()
            api.kill()
            wait_for(lambda: (a := up.api()) and a.pid != api.pid, 15, "a new API")
            wait_for(lambda: up.get("/healthz") == 200, 15, "the new API to answer")
            api_back = time.monotonic() - killed
        print(
            f"\n[{mode}] worker started again {worker_back:.2f} s after kill -9; /healthz failed {worker_failed} of "
            f"{worker_polls} polls meanwhile; API answering again {api_back:.2f} s after kill -9 "
            f"({health.failed - worker_failed} of {health.polls - worker_polls} polls failed)"
        )
        assert worker_failed == 0, f"{worker_failed} of {worker_polls} /healthz polls failed while the worker restarted"
        assert restarted.pid != worker.pid
        output = up.output()
        assert f"worker (pid {worker.pid}) was killed by SIGKILL" in output and "starting it again in 1 s" in output
        assert f"API (pid {api.pid}) was killed by SIGKILL" in output
        assert "worker started again" in output and "API started again" in output
        if mode == "embedded":  # the same `hotline up` (each start costs seconds of CPU): its Redis next
            _kill_the_embedded_redis(up, tmp_path, fake_twilio)
            up.stop(signal.SIGTERM)
        else:
            up.stop(signal.SIGINT)


def _kill_the_embedded_redis(up: Up, tmp_path: Path, fake_twilio: Any) -> None:
    """A killed embedded redis-server is started again on its socket, and reports flow again."""
    redis = wait_for(up.redis, 10, "the embedded redis-server")
    killed = time.monotonic()
    redis.kill()
    wait_for(lambda: up.get("/readyz") == 503, 10, "/readyz to see Redis gone")
    new = wait_for(lambda: (r := up.redis()) and r.pid != redis.pid and r, 15, "a new redis-server")
    wait_for(lambda: up.get("/readyz") == 200, 15, "/readyz to recover")
    print(f"\n/readyz answered 200 again {time.monotonic() - killed:.2f} s after kill -9 of redis-server")
    assert str(tmp_path / "var" / "redis.sock") in " ".join(new.cmdline())  # the same socket and data dir
    up.report(fake_twilio, "+6281234567802", "BANJIR di Temas")  # not the first report again: that one merges
    assert f"embedded Redis (pid {redis.pid}) was killed by SIGKILL" in up.output()


@pytest.mark.parametrize("command", ["up", "serve"])
def test_a_taken_port_is_one_line_and_a_non_zero_exit(command: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_environment(HOTLINE_DATA_DIR=str(tmp_path / "var"))
        done = run_hotline(command, "--port", str(port), env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""  # no "Hotline is up", no embedded Redis or SQLite line: nothing started
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "already in use" in done.stderr
    assert "--port" in done.stderr and "HOTLINE_PORT=" in done.stderr
    assert not (tmp_path / "var").exists()


# The supervisor itself, on small real processes with short back-offs.


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_back_off_doubles_to_the_cap_and_starts_over_after_a_steady_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hotline.supervisor")
    runs = tmp_path / "runs"
    # Dies at once its first five runs, then runs 1.3 s (steady: 1 s) before dying.
    code = (
        f"import pathlib, time; p = pathlib.Path({str(runs)!r}); n = len(p.read_text()) if p.exists() else 0; "
        "p.write_text('x' * (n + 1)); time.sleep(1.3 if n >= 5 else 0)"
    )
    supervisor = Supervisor(Backoff(first=0.1, cap=0.3, steady=1.0))
    supervisor.start(Service("crasher", python(code)))

    def runs_seen() -> int:
        supervisor.check()
        return len(runs.read_text()) if runs.exists() else 0

    try:
        wait_for(lambda: runs_seen() >= 8, 20, "eight runs", every=0.01)
    finally:
        supervisor.stop()
    waits = [r.getMessage().rsplit(" in ", 1)[1] for r in caplog.records if "starting it again" in r.getMessage()]
    assert waits[:7] == ["0.1 s", "0.2 s", "0.3 s", "0.3 s", "0.3 s", "0.1 s", "0.1 s"], waits
    assert "crasher (pid" in caplog.text and "exited with code 0 after" in caplog.text


def test_a_part_that_does_not_come_up_again_is_tried_later_with_its_traceback_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Whatever `_launch` raises (here the readiness check; redis-server refusing its data dir in real life), the
    supervisor's loop goes on and tries again after the back-off (its one broad handler, issue 16)."""
    caplog.set_level(logging.INFO, logger="hotline.supervisor")
    starts: list[int] = []

    def ready(process: subprocess.Popen[bytes]) -> None:  # answers the first time only
        starts.append(process.pid)
        if len(starts) > 1:
            raise RuntimeError("not answering")

    supervisor = Supervisor(Backoff(first=0.1, cap=0.2, steady=10.0))
    supervisor.start(Service("flaky", python("pass"), wait_ready=ready))

    def started() -> int:
        supervisor.check()
        return len(starts)

    try:
        wait_for(lambda: started() >= 3, 20, "two starts again", every=0.01)
    finally:
        supervisor.stop()
    failed = [r for r in caplog.records if "did not start again" in r.getMessage()]
    assert len(failed) >= 2 and "(not answering)" in failed[0].getMessage()
    assert all(r.exc_info is not None and r.exc_info[0] is RuntimeError for r in failed)


def test_stop_ends_the_parts_before_the_last_and_what_they_left_behind(tmp_path: Path) -> None:
    app_stopped, infra_saw = tmp_path / "app-stopped", tmp_path / "infra-saw"
    grandchild_pid = tmp_path / "grandchild"
    app = (  # starts a grandchild that would outlive it, and takes 0.3 s to stop
        "import signal, subprocess, sys, time, pathlib\n"
        "def stop(*_):\n"
        f"    time.sleep(0.3); pathlib.Path({str(app_stopped)!r}).touch(); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "g = subprocess.Popen(['sleep', '60'])\n"
        f"pathlib.Path({str(grandchild_pid)!r}).write_text(str(g.pid))\n"
        "time.sleep(60)\n"
    )
    infra = (
        "import signal, sys, time, pathlib\n"
        "def stop(*_):\n"
        f"    pathlib.Path({str(infra_saw)!r}).write_text(str(pathlib.Path({str(app_stopped)!r}).exists()))\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "time.sleep(60)\n"
    )
    supervisor = Supervisor(stop_timeout=10, leftover_timeout=2)
    supervisor.start(Service("infra", python(infra), last=True, wait_ready=lambda _: time.sleep(0.3)))
    supervisor.start(Service("app", python(app), wait_ready=lambda _: wait_for(grandchild_pid.exists, 10, "app")))
    grandchild = psutil.Process(int(grandchild_pid.read_text()))
    started = time.monotonic()
    supervisor.stop()
    assert infra_saw.read_text() == "True"  # the app had stopped before the infrastructure was asked to
    assert not alive(grandchild)
    assert time.monotonic() - started < 5


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_parts_stop_when_hotline_up_itself_is_killed(tmp_path: Path, backend: dict[str, Any], fake_twilio: Any) -> None:
    with hotline_up(tmp_path, "embedded", backend, fake_twilio) as up:
        wait_for(lambda: len(psutil.Process(up.process.pid).children(recursive=True)) >= 5, 15, "all the parts")
        descendants = psutil.Process(up.process.pid).children(recursive=True)
        up.process.kill()  # no chance to stop anything: Linux sends each part SIGTERM (PR_SET_PDEATHSIG)
        up.process.wait()
        _, left = psutil.wait_procs(descendants, timeout=15)
        assert not [p for p in left if alive(p)], [(p.pid, p.name()) for p in left]
