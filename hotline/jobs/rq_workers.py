"""The RQ worker classes Hotline runs: RQ's own, with a command listener that stops at once.

RQ listens for commands (stop a job, shut down) on a pubsub thread that blocks up to 60 s waiting for a
message. redis-py 8.2 made `PubSubWorkerThread.stop()` join that thread, so stopping a worker could take a
minute (a `hotline worker` then ignored SIGTERM long enough to be killed, and `hotline up` and the tests left
processes behind). Here the thread wakes every PUBSUB_POLL seconds instead: a stop is prompt with any
redis-py, at the cost of five idle reads a second per worker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.worker import BaseWorker

PUBSUB_POLL = 0.2  # seconds the command thread blocks before it looks whether it should stop
# Seconds the worker blocks waiting for a job (RQ: worker_ttl - 15, 45 s). A SIGTERM the kernel hands to another
# thread of the process (the sweeper's, the command listener's) does not interrupt that wait: Python runs the
# handler only when the main thread comes back, so the worker stopped 45 s late. Found when a worker that took
# 50 ms longer to start (it checks its SMS gateway settings) failed tests/test_worker_stop.py most runs.
DEQUEUE_WAKE = 1


class _PromptStop(BaseWorker):  # a mixin on BaseWorker: it must not pull Worker's forking into InProcessWorker
    # Called as soon as SIGTERM/SIGINT arrives, before RQ's own teardown: the worker's sweeper and releaser
    # then stop alongside it instead of after it.
    on_stop: Callable[[], None] | None = None

    @property
    def dequeue_timeout(self) -> int:
        return DEQUEUE_WAKE

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.on_stop is not None:
            self.on_stop()
        super().request_stop(signum, frame)

    def subscribe(self) -> None:
        # RQ's subscribe(), with a short poll instead of its 60 s one.
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ 3.0 infers the attribute's type from its `self.pubsub_thread = None` in __init__; its own
        # subscribe() makes the same assignment.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_POLL, daemon=True, exception_handler=self._pubsub_exception_handler
        )


class ForkingWorker(_PromptStop, Worker):
    """A work horse forked per job (isolation; about 4x the cost per job)."""


class InProcessWorker(_PromptStop, SimpleWorker):
    """Jobs run in the worker's own process: what `hotline worker` runs by default."""


def make_worker(
    queues: Sequence[Queue],
    connection: Redis,
    *,
    fork: bool = False,
    on_stop: Callable[[], None] | None = None,
    **options: Any,
) -> BaseWorker:
    worker = (ForkingWorker if fork else InProcessWorker)(list(queues), connection=connection, **options)
    worker.on_stop = on_stop
    return worker
