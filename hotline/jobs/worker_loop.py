"""Keep an RQ worker working through Redis outages.

RQ's own loop waits out a lost connection while it dequeues, but with a back-off that grows to 60 s (so a
worker may sleep a minute after Redis is back), and an error anywhere else (starting, taking the scheduler
lock, the maintenance tasks) ends `work()`, and so the `hotline worker` process (found by
tests/test_faults_outage.py). Here the wait is capped at a few seconds and a worker that stopped without
being asked to is started again, so queued reports flow again within seconds of Redis coming back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError
from rq.exceptions import StopRequested
from rq.worker import BaseWorker

log = logging.getLogger(__name__)

RECONNECT_CAP = 5.0  # seconds: the longest a worker sleeps between tries to reach Redis
RESTART_FIRST, RESTART_CAP = 1.0, 30.0  # back-off between restarts of a worker that stopped on its own
STEADY = 60.0  # a worker that ran this long before stopping starts again at once-ish (RESTART_FIRST)


def work_until_stopped(make_worker: Callable[[], BaseWorker], *, burst: bool = False) -> None:
    delay = RESTART_FIRST
    while True:
        rq_worker: BaseWorker | None = None
        began = time.monotonic()
        try:
            rq_worker = make_worker()
            rq_worker.max_connection_wait_time = RECONNECT_CAP
            rq_worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")
        except (StopRequested, SystemExit, KeyboardInterrupt):
            return
        except RedisError as exc:  # starting or stopping touches Redis outside RQ's own retries
            log.error("RQ worker could not run: %s", exc)
        if burst or _asked_to_stop(rq_worker):
            return
        if time.monotonic() - began > STEADY:
            delay = RESTART_FIRST
        log.error("RQ worker stopped without being asked to (is Redis reachable?); starting it again in %.0f s", delay)
        try:
            time.sleep(delay)
        except (StopRequested, SystemExit, KeyboardInterrupt):  # RQ's signal handlers are still installed
            return
        delay = min(delay * 2, RESTART_CAP)


def _asked_to_stop(rq_worker: BaseWorker | None) -> bool:
    """A SIGTERM/SIGINT reached RQ's handler (a warm shutdown). RQ keeps this only in private attributes:
    `_shutdown_requested_date` when it stopped while idle, `_stop_requested` when it finished a job first."""
    if rq_worker is None:
        return False
    return rq_worker._stop_requested or getattr(rq_worker, "_shutdown_requested_date", None) is not None
