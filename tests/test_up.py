"""`hotline up` as a newcomer runs it: one process tree, a webhook in, an SMS out, Ctrl-C stops it all."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from hotline.first_run import FIRST_ADMIN_HINT
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE_NUMBER, _free_port
from tests.suite_city import clean_environment, members

pytestmark = pytest.mark.system  # starts hotline processes (or builds the package): see tests/README.md

# `hotline up` on PostgreSQL is how a city runs it: CI's PostgreSQL pass runs that mode (postgres).
MODES = ["embedded"] + (
    [pytest.param("postgres", marks=pytest.mark.postgres)] if os.environ.get("HOTLINE_TEST_DATABASE_URL") else []
)


def _wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("mode", MODES)
def test_up_serves_processes_and_stops_cleanly(
    mode: str, tmp_path: Path, backend: dict[str, Any], fake_twilio: Any
) -> None:
    port = _free_port()
    env = clean_environment()
    env.update(
        {
            "HOTLINE_DATA_DIR": str(tmp_path / "var"),
            "HOTLINE_PORT": str(port),
            "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HOTLINE_QUEUE": f"up-{uuid.uuid4().hex[:6]}",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": HOTLINE_NUMBER,
            "TWILIO_API_BASE": fake_twilio.base_url,
        }
    )
    if mode == "postgres":
        env["HOTLINE_DATABASE_URL"] = backend["HOTLINE_DATABASE_URL"]
        env["HOTLINE_REDIS_URL"] = backend["HOTLINE_REDIS_URL"]
        db_url = backend["HOTLINE_DATABASE_URL"]
    else:
        db_url = f"sqlite:///{tmp_path / 'var' / 'hotline.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline", "up"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,  # not a terminal: `up` prints how to add the first admin instead of asking
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(base + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(ready, 90, "hotline up to be ready")
        root = httpx.get(base + "/", follow_redirects=True)  # the address it printed leads to the sign-in page
        assert root.status_code == 200 and "hotline user add NAMA --role admin" in root.text
        url = base + "/twilio/sms"
        sid = f"SM{uuid.uuid4().hex}"
        params = {
            "MessageSid": sid,
            "From": "+6281234567890",
            "To": HOTLINE_NUMBER,
            "AccountSid": ACCOUNT_SID,
            "Body": "LONGSOR di Sumberbrantas",
        }
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        assert httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}).status_code == 200
        engine = create_engine(db_url)

        def routed() -> Any:
            with engine.connect() as conn:
                return conn.execute(
                    text(
                        "SELECT t.status, t.routing_rule FROM tickets t JOIN inbound_messages i "
                        "ON i.ticket_id = t.id WHERE i.provider_sid = :sid"
                    ),
                    {"sid": sid},
                ).first()

        assert tuple(_wait_for(routed, 30, "the ticket")) == ("routed", "disasters-to-bpbd")
        engine.dispose()
        _wait_for(lambda: fake_twilio.sent_to(members("BPBD")[0]), 30, "the alert to BPBD")
        reply = _wait_for(lambda: fake_twilio.sent_to("+6281234567890"), 30, "the reply to the citizen")
        assert reply[0].body.startswith("Laporan No. ")
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode == 0, output
    assert "Hotline stopped" in output
    assert f"console: http://127.0.0.1:{port}/console" in output
    assert FIRST_ADMIN_HINT in output  # no user yet


def test_settings_that_must_not_run_are_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    base = clean_environment(HOTLINE_DATA_DIR=str(tmp_path))
    cases = [
        ({"HOTLINE_ENV": "production"}, "HOTLINE_PUBLIC_URL must be set"),  # placeholders refused in production
        ({"HOTLINE_PORT": "eighty"}, "HOTLINE_PORT: Input should be a valid integer"),
    ]
    for settings, message in cases:
        for command in (["db", "upgrade"], ["config", "check"], ["serve"]):
            done = subprocess.run(
                [sys.executable, "-m", "hotline", *command],
                env={**base, **settings},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 2, (command, done.stderr)
            assert "Traceback" not in done.stderr
            assert message in " ".join(done.stderr.split()), done.stderr  # rich wraps long lines


def _read_until(stream: Any, wanted: str, timeout: float, seen: bytearray) -> None:
    """Read `stream` (a pipe) into `seen` until `wanted` shows, without blocking past `timeout`."""
    deadline = time.monotonic() + timeout
    while wanted.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted!r} in {seen.decode(errors='replace')!r}"
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream.fileno(), 4096)
            assert chunk, f"hotline up ended before {wanted!r}: {seen.decode(errors='replace')!r}"
            seen += chunk


def test_up_on_a_terminal_asks_for_the_first_admin(tmp_path: Path) -> None:
    port = _free_port()
    env = clean_environment(HOTLINE_DATA_DIR=str(tmp_path / "var"), HOTLINE_PORT=str(port))
    env["HOTLINE_QUEUE"] = f"up-{uuid.uuid4().hex[:6]}"
    leader, follower = os.openpty()  # stdin is a terminal; a new session has no /dev/tty, so getpass reads it
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline", "up"],
        env=env,
        cwd=tmp_path,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    os.close(follower)
    seen = bytearray()
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout, "Admin name: ", 60, seen)
        os.write(leader, b"kepala\n")
        for prompt in ("Password: ", "Password again: "):
            _read_until(proc.stdout, prompt, 10, seen)
            os.write(leader, b"sandi panjang sekali\n")
        _read_until(proc.stdout, "Hotline is up", 60, seen)
        engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'hotline.db'}")
        with engine.connect() as conn:
            role = conn.execute(text("SELECT role FROM users WHERE username = 'kepala'")).scalar()
        engine.dispose()
        assert role == "admin"
    finally:
        proc.send_signal(signal.SIGINT)
        seen += proc.communicate(timeout=30)[0]
        os.close(leader)
    output = seen.decode(errors="replace")
    assert "user kepala (admin) created" in output and FIRST_ADMIN_HINT not in output, output
