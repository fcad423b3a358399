"""Real `hotline serve` and `hotline worker` processes for the fault tests, and ways to wait on them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hotline", *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the worker's forked scheduler and releaser too
        )


def serve(env: dict[str, str], log: Path, public_url: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`hotline serve` on a port of its own; returns the process and its base URL once /healthz answers.
    Twilio signs for `public_url` (a load balancer's address) if given, else for that base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"HOTLINE_PUBLIC_URL": public_url or base, "HOTLINE_PORT": str(port)}
    process = start(["serve", "--port", str(port)], {**env, **settings}, log)
    wait_for(lambda: _healthy(base), 30, f"hotline serve did not start; log: {log.read_text()[-2000:]}")
    return process, base


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def crash(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group, as an OOM killer or a lost host would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL whatever of the group is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    finally:
        crash(process)


def stacks(process: subprocess.Popen[bytes]) -> str:
    """What every thread of `process` is doing (py-spy, from the dev extra), for a failure message."""
    py_spy = Path(sys.executable).with_name("py-spy")
    try:
        return subprocess.run(
            [str(py_spy), "dump", "--pid", str(process.pid)], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(no stacks: {exc})"


def wait_for(condition: Callable[[], bool], seconds: float, failure: str | Callable[[], str]) -> float:
    """Poll until `condition()`; returns how long it took. Fails with `failure` after `seconds`."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > seconds:
            raise AssertionError(failure() if callable(failure) else failure)
        time.sleep(0.05)
    return time.monotonic() - began
