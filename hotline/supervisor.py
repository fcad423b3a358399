"""Keeps the parts of `hotline up` running: a part that dies is started again, the others go on.

Each part (the embedded Redis, the API, the worker, the ARI app, the SMPP binds) is a child process in a
process group of its own, so a Ctrl-C in the terminal reaches `hotline up` alone and it stops the parts in
order: the API, worker, ARI app and SMPP binds first, then the Redis they use. A part that exits without being
asked to is started again after a back-off (1 s doubling to 30 s, back to 1 s once it had run steadily), one log
line for the exit and one for the restart. On Linux each part also gets SIGTERM if `hotline up` itself is
killed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0  # seconds before the first restart of a part that died
    cap: float = 30.0  # the longest wait between restarts of a part that keeps dying
    steady: float = 60.0  # a part that ran this long before dying is restarted after `first` again


@dataclass
class Service:
    """One part of Hotline, run as `argv`. `wait_ready` may wait for it to answer after each start and raise
    (any exception) if it does not; `last` parts are stopped after all the others."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    pass_fds: Sequence[int] = ()
    wait_ready: Callable[[subprocess.Popen[bytes]], None] | None = None
    last: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    started_at: float = field(default=0.0, init=False)
    restart_at: float | None = field(default=None, init=False)  # when a part that died is due to start again
    delay: float = field(default=0.0, init=False)  # the back-off its next death will wait


class StartError(RuntimeError):
    """A part did not come up when `hotline up` first started it."""


class Supervisor:
    def __init__(
        self, backoff: Backoff | None = None, stop_timeout: float = 15.0, leftover_timeout: float = 5.0
    ) -> None:
        self.backoff = backoff or Backoff()
        self.stop_timeout = stop_timeout  # for a part to stop after SIGTERM
        self.leftover_timeout = leftover_timeout  # for what a stopped part left behind
        self.services: list[Service] = []

    def start(self, service: Service) -> None:
        """Start a part and keep it running from now on; StartError if it does not come up."""
        service.delay = self.backoff.first
        try:
            self._launch(service)
        except Exception as exc:  # broad: whatever keeps a part from coming up is one clear StartError
            raise StartError(f"{service.name} did not start: {exc}") from exc
        self.services.append(service)

    def run(self, stop: threading.Event, poll: float = 0.2) -> None:
        """Watch the parts until `stop` is set (see stop_on_signals)."""
        while not stop.wait(poll):
            self.check()

    def check(self) -> None:
        """One look at every part: note the ones that died, start again those whose back-off is over."""
        now = time.monotonic()
        for service in self.services:
            process = service.process
            if service.restart_at is None and process is not None and process.poll() is not None:
                ran = now - service.started_at
                if ran >= self.backoff.steady:
                    service.delay = self.backoff.first
                service.restart_at = now + service.delay
                log.error(
                    "%s (pid %d) %s after %.1f s; starting it again in %.3g s",
                    service.name,
                    process.pid,
                    _how_it_ended(process.returncode),
                    ran,
                    service.delay,
                )
                service.delay = min(service.delay * 2, self.backoff.cap)
                # What it started and left behind (RQ's scheduler, the escalation releaser) is in its process
                # group: stopped too, or a killed worker's scheduler would go on holding the scheduler lock.
                _signal_group(process.pid, signal.SIGTERM)
            if service.restart_at is not None and now >= service.restart_at:
                self._restart(service)

    def stop(self) -> None:
        """SIGTERM the parts (the `last` ones after the others), SIGKILL what is still up after stop_timeout;
        then what each part left in its process group."""
        for last in (False, True):
            group = [(s.name, s.process) for s in self.services if s.last is last and s.process is not None]
            for _, process in group:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            for name, process in group:
                try:
                    process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning(
                        "%s (pid %d) did not stop within %.0f s; killing it", name, process.pid, self.stop_timeout
                    )
                    process.kill()
                    process.wait()
            for _, process in group:
                _stop_group(process.pid, self.leftover_timeout)
        for service in self.services:
            service.process = None

    def _restart(self, service: Service) -> None:
        try:
            self._launch(service)
        except Exception as exc:  # broad: whatever stopped it (redis-server refusing its data dir...): try again later
            service.restart_at = time.monotonic() + service.delay
            log.error(
                "%s did not start again (%s); trying again in %.3g s", service.name, exc, service.delay, exc_info=True
            )
            service.delay = min(service.delay * 2, self.backoff.cap)
            return
        service.restart_at = None
        assert service.process is not None
        log.warning("%s started again (pid %d)", service.name, service.process.pid)

    def _launch(self, service: Service) -> None:
        process = subprocess.Popen(
            service.argv,
            env=service.env,
            pass_fds=service.pass_fds,
            stdin=subprocess.DEVNULL,
            process_group=0,  # out of the terminal's group: Ctrl-C comes to us, we stop the parts in order
            preexec_fn=_die_with(os.getpid()) if sys.platform == "linux" else None,
        )
        service.process, service.started_at = process, time.monotonic()
        if service.wait_ready is not None:
            try:
                service.wait_ready(process)
            except BaseException:
                process.kill()
                process.wait()
                service.process = None
                raise


def stop_on_signals(stop: threading.Event) -> None:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal closed) set `stop`; Supervisor.run then returns."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda _signum, _frame: stop.set())


def _signal_group(pgid: int, signum: int) -> bool:
    """Signal a part's process group (its pgid is its pid: process_group=0); False once nobody is left."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # a pid reused by someone else's process group: not ours to touch
        return False
    return True


def _stop_group(pgid: int, timeout: float) -> None:
    """SIGTERM what is left in a stopped part's process group; SIGKILL it after `timeout`."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if not _signal_group(pgid, 0):
            return
    log.warning("processes left by pid %d did not stop within %.0f s; killing them", pgid, timeout)
    _signal_group(pgid, signal.SIGKILL)


def _how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _die_with(parent: int) -> Callable[[], None]:
    """Runs in the child between fork and exec: ask Linux to SIGTERM it when `hotline up` dies, even by
    SIGKILL, so no part outlives it (process_group keeps the terminal's Ctrl-C from reaching the parts)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, before the fork
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # `hotline up` died before prctl: nobody would signal us
            os._exit(1)

    return preexec
