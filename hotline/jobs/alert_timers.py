"""Failover timers ("no delivery report within N seconds"), on the escalation machinery: a Redis sorted set
scored with each moment, emptied by the escalation releaser (hotline/jobs/escalation.py, `run_releaser`) into
RQ jobs, and rebuilt from the database by the sweeper (`reconcile`). Redis flushed, a worker killed: the
pending rows are still in alert_deliveries with their `due_at`, and the next sweep sets them going again.

A timer is `<delivery id>:<position>`: the alert waiting on its channel number `position`. Firing it is
idempotent (hotline/services/failover.py `on_timeout`), so a timer both in Redis and re-queued by the
reconciler fails the alert over once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from redis import Redis
from rq import Queue
from sqlalchemy import select

from hotline import clock
from hotline.db import unit_of_work
from hotline.jobs.queue import queue
from hotline.models import AlertAttempt, AlertDelivery
from hotline.services import failover
from hotline.settings import get_settings

log = logging.getLogger(__name__)
TIMEOUT_JOB = "hotline.jobs.alert_timers.fire_timeout"
CALL_JOB = "hotline.jobs.alert_calls.place_alert_call"
HORIZON = timedelta(seconds=90)  # rows due this soon get a timer from the reconciler; later ones next sweep
LIVE = {b"queued", b"scheduled", b"deferred", b"started"}
CALL_STUCK = timedelta(seconds=30)  # a call still queued this long lost its job (Redis flushed): queue it again

# Pops the due timers in one atomic step, so two releasers never both fire one.
_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
end
return due
"""


def timers_key() -> str:
    return f"hotline:failover:timers:{get_settings().queue_name}"


def _member(delivery_id: int, position: int) -> str:
    return f"{delivery_id}:{position}"


def job_id(delivery_id: int, position: int) -> str:
    return f"failover-{delivery_id}-{position}"


def set_timer(delivery_id: int, position: int, due: datetime) -> None:
    set_timers([(delivery_id, position, due)])


def set_timers(timers: list[tuple[int, int, datetime]]) -> None:
    if not timers:
        return
    # The real moment: tests move `clock` forward, the releaser reads the wall clock.
    scores = {
        _member(delivery_id, position): (due - clock.offset()).timestamp() for delivery_id, position, due in timers
    }
    queue().connection.zadd(timers_key(), scores)


def enqueue_call(attempt_id: int, delay: timedelta | None = None, retry: int = 0) -> None:
    q = queue()
    options = {"job_id": f"alert-call-{attempt_id}-{retry}", "result_ttl": 300, "failure_ttl": 7 * 86400}
    if delay is None:
        q.enqueue(CALL_JOB, attempt_id, retry, **options)
    else:
        q.enqueue_in(delay, CALL_JOB, attempt_id, retry, **options)


def _enqueue_timeouts(q: Queue, timers: list[tuple[int, int]]) -> None:
    if not timers:
        return
    with q.connection.pipeline() as pipe:
        pipe.multi()
        for delivery_id, position in timers:
            options = {"job_id": job_id(delivery_id, position), "result_ttl": 300, "failure_ttl": 86400}
            q.enqueue(TIMEOUT_JOB, delivery_id, position, pipeline=pipe, **options)
        pipe.execute()


def fire_timeout(delivery_id: int, position: int) -> str:
    with unit_of_work() as session:
        outcome = failover.on_timeout(session, delivery_id=delivery_id, position=position)
        due = None
        if outcome == "early":
            found = session.get(AlertDelivery, delivery_id)
            due = found.due_at if found else None
    if due is not None:  # woken before the moment: sleep on it again
        set_timer(delivery_id, position, due)
    return outcome


def release_due(connection: Redis | None = None, limit: int = 200) -> int:
    """Move the due timers to RQ jobs. Called by the escalation releaser a few times a second."""
    q = queue()
    connection = connection or q.connection
    script = connection.register_script(_POP_DUE)
    popped = script(keys=[timers_key()], args=[repr(time.time()), limit])
    timers: list[tuple[int, int]] = []
    for member in popped:
        delivery_id, position = member.decode().split(":")
        timers.append((int(delivery_id), int(position)))
    # Popped but not queued (the releaser died in between): the reconciler finds the row without either.
    _enqueue_timeouts(q, timers)
    return len(timers)


@dataclass
class ReconcileResult:
    pending_in_horizon: int = 0
    requeued: int = 0
    calls_requeued: int = 0


def reconcile(horizon: timedelta = HORIZON) -> ReconcileResult:
    """Every pending failover due within the horizon gets a timer or a job unless it has one; a voice call
    whose job was lost is queued again. The database is the truth."""
    from hotline.jobs.escalation import _heartbeat_key

    q = queue()
    connection = q.connection
    # redis-py types zrange() as every shape a reply can take; this connection answers a list of bytes.
    timers = {member.decode() for member in cast(list[bytes], connection.zrange(timers_key(), 0, -1))}
    releaser_alive = bool(connection.exists(_heartbeat_key()))
    now = clock.now()
    with unit_of_work() as session:
        rows = session.execute(
            select(AlertDelivery.id, AlertDelivery.position, AlertDelivery.due_at).where(
                AlertDelivery.status == "pending", AlertDelivery.due_at <= now + horizon
            )
        ).all()
        stuck_calls = list(
            session.scalars(
                select(AlertAttempt.id)
                .join(AlertDelivery, AlertDelivery.id == AlertAttempt.delivery_id)
                .where(
                    AlertDelivery.status == "pending",
                    AlertAttempt.channel == "voice",
                    AlertAttempt.status == "queued",
                    AlertAttempt.updated_at < now - CALL_STUCK,
                )
            )
        )
    due_now: list[tuple[int, int]] = []
    later: dict[str, float] = {}
    for delivery_id, position, due in rows:
        assert due is not None  # the query asked for due_at <= ..., which NULL never is
        member = _member(delivery_id, position)
        if member in timers and (due > now or releaser_alive):
            continue  # the releaser will fire it
        if connection.hget(f"rq:job:{job_id(delivery_id, position)}", "status") in LIVE:
            continue
        if due <= now:
            due_now.append((delivery_id, position))
        else:
            later[member] = (due - clock.offset()).timestamp()
    if later:
        connection.zadd(timers_key(), later)
    _enqueue_timeouts(q, due_now)
    for attempt_id in stuck_calls:  # the job claims the attempt atomically: a second one does nothing
        enqueue_call(attempt_id, retry=int(now.timestamp()))
    if due_now or stuck_calls:
        log.warning("failover reconcile queued %s timeout(s) and %s call(s)", len(due_now), len(stuck_calls))
    return ReconcileResult(len(rows), len(due_now) + len(later), len(stuck_calls))
