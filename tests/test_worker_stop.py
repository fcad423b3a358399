"""A worker stops promptly whatever redis-py does (hotline/jobs/rq_workers.py).

With RQ's own classes and redis-py 8.2 a stop waited for RQ's command thread, which blocks up to 60 s:
about one stop in five took a minute."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from rq import Worker
from rq.worker import WorkerStatus

from hotline.core.queue import queue, redis_connection
from hotline.jobs.rq_workers import make_worker
from tests.fault_processes import start, wait_for

pytestmark = pytest.mark.system  # starts hotline processes (or builds the package): see tests/README.md

# Liveness bounds, not performance figures: the stalls these tests catch last 45-60 s (RQ's job wait, its pubsub
# thread's sleep), while a prompt stop takes about a second, more on a loaded machine (2.09 s seen in CI).
STOP_WITHIN = 10.0
LISTENER_STOP_WITHIN = 5.0
RUNS = 8  # the listener's race is forced in its own test below; these are real processes, about 1.4 s of CPU each


@pytest.mark.parametrize("fork", [False, True])
def test_the_in_process_worker_runs_jobs_in_its_own_process_and_the_forking_one_does_not(
    backend: dict[str, str], fork: bool
) -> None:
    job = queue().enqueue("os.getpid")
    make_worker([queue()], redis_connection(), fork=fork).work(burst=True, logging_level="WARNING")
    assert (job.return_value() == os.getpid()) is not fork


def test_the_command_listener_stops_at_once_every_time(backend: dict[str, str]) -> None:
    """The part that stalled: RQ's listener thread, started and stopped as a worker does, for both worker
    classes. The stall needs the thread to read the unsubscribe confirmation before it is told to stop; every
    other run makes that happen (RQ's own SimpleWorker then takes 60 s with redis-py 8.2)."""
    took = []
    for run in range(RUNS):
        worker = make_worker([queue()], redis_connection(), fork=run % 2 == 1)
        worker.subscribe()
        time.sleep(0.02)  # the thread is in its blocking read, as in a running worker
        if run % 4 >= 2:
            assert worker.pubsub is not None
            worker.pubsub.unsubscribe()
            time.sleep(0.05)  # ... and has read the confirmation
        began = time.monotonic()
        worker.unsubscribe()
        took.append(time.monotonic() - began)
        assert worker.pubsub_thread is not None and not worker.pubsub_thread.is_alive()
    assert max(took) < LISTENER_STOP_WITHIN, took


def test_hotline_worker_stops_on_sigterm_without_stalling_eight_times(backend: dict[str, str], tmp_path: Path) -> None:
    """8 real `hotline worker` processes (4 at a time), each stopped with SIGTERM once it is working: every
    one exits well before any RQ wait would end (about a second each), with its releaser, and leaves no
    process behind."""
    stops: list[float] = []
    for batch in range(RUNS // 4):
        stops += _start_and_stop(4, tmp_path / f"batch-{batch}")
    shown = sorted(round(s, 2) for s in stops)
    print(f"FIGURE worker stops (s): max {max(stops):.2f}, mean {sum(stops) / len(stops):.2f}: {shown}")
    assert len(stops) == RUNS and max(stops) < STOP_WITHIN, stops


def _start_and_stop(count: int, folder: Path) -> list[float]:
    folder.mkdir()
    env = dict(os.environ)
    workers = [start(["worker", "--sweep-interval", "0.5"], env, folder / f"worker-{n}.log") for n in range(count)]
    stops = []
    try:
        wait_for(lambda: all(_working(w) for w in workers), 60, lambda: _logs(folder))
        family = [child for w in workers for child in _descendants(w)]
        for process in workers:
            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_WITHIN + 5)
            finally:
                stops.append(time.monotonic() - began)
            assert process.returncode == 0, _logs(folder)
        # The releaser and RQ's scheduler went with their worker (they watch it and are stopped by it).
        wait_for(  # a liveness bound too: over 3 s was seen at a load average of 15
            lambda: not any(_alive(p) for p in family),
            STOP_WITHIN,
            lambda: f"outlived their worker: {[p.cmdline() for p in family if _alive(p)]}",
        )
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
    return stops


def _working(process: subprocess.Popen[bytes]) -> bool:
    """Waiting for jobs (RQ sets 'idle' after installing its signal handlers; a SIGTERM before that is
    Python's default: killed) with its releaser child started: a worker that has fully come up."""
    assert process.poll() is None, f"worker exited with {process.returncode}"
    connection = redis_connection()
    idle = {w.pid for w in Worker.all(connection=connection) if w.get_state() == WorkerStatus.IDLE}
    return process.pid in idle and bool(_descendants(process))


def _descendants(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    try:
        return psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _logs(folder: Path) -> Any:
    return "\n".join(f"{log.name}: {log.read_text()[-800:]}" for log in sorted(folder.glob("*.log")))


@pytest.mark.parametrize("mode", ["worker", "off"])
def test_a_worker_keeps_a_broadcast_sender_unless_told_not_to(
    backend: dict[str, str], tmp_path: Path, mode: str
) -> None:
    """HOTLINE_BROADCAST_SENDER: each worker keeps the early-warning sender ("worker", the default), or none
    ("off": `hotline broadcast sender` runs on its own; the suite's workers run none)."""
    env = {**os.environ, "HOTLINE_BROADCAST_SENDER": mode}
    worker = start(["worker", "--sweep-interval", "0.5"], env, tmp_path / "worker.log")

    def helpers() -> list[str]:
        return [" ".join(p.cmdline()) for p in _descendants(worker) if _alive(p)]

    try:
        wait_for(lambda: _working(worker) and any("releaser_main" in c for c in helpers()), 60, lambda: _logs(tmp_path))
        if mode == "worker":
            wait_for(lambda: any("sender_main" in c for c in helpers()), 20, lambda: f"no sender: {helpers()}")
        else:
            assert not any("sender_main" in c for c in helpers()), helpers()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(STOP_WITHIN + 5)
