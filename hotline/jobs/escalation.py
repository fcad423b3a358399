"""RQ side of escalation: timers that wake a worker, the job that fires a step, and the reconciler
that rebuilds every timer from the database (Redis flushed, worker killed: nothing is lost)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rq import Queue
from sqlalchemy import select

from hotline import clock
from hotline.db import unit_of_work
from hotline.jobs.queue import queue
from hotline.models import Escalation
from hotline.services.city import current_config
from hotline.services.escalation import HORIZON, fire

log = logging.getLogger(__name__)
JOB = "hotline.jobs.escalation.fire_escalation"
STALE_START = 10.0  # a fire job takes milliseconds: 'started' this long ago means its worker died
LIVE = {b"queued", b"scheduled", b"deferred"}


def job_id(escalation_id: int) -> str:
    return f"esc-{escalation_id}"


def enqueue_escalations(rows: list[tuple[int, datetime]], q: Queue | None = None) -> None:
    """Queue due rows now and schedule the others, rounded up to the whole second (never early)."""
    q = q or queue()
    now = clock.now()
    due_now = [job_id(escalation_id) for escalation_id, due in rows if due <= now]
    if due_now:  # due now: take them out of the scheduled set so no sleeping timer is left behind
        q.connection.zrem(q.scheduled_job_registry.key, *due_now)
    with q.connection.pipeline() as pipe:
        for escalation_id, due in rows:
            options = {"job_id": job_id(escalation_id), "result_ttl": 300, "failure_ttl": 86400, "pipeline": pipe}
            if due <= now:
                q.enqueue(JOB, escalation_id, **options)
            else:
                q.enqueue_at(clock.ceil_second(due - clock.offset()), JOB, escalation_id, **options)
        pipe.execute()


def fire_escalation(escalation_id: int) -> str:
    with unit_of_work() as session:
        outcome, due = fire(session, escalation_id=escalation_id, config=current_config())
    if outcome == "early" and due is not None:  # RQ woke us before the moment: sleep on it again
        enqueue_escalations([(escalation_id, due)])
    return outcome


@dataclass
class ReconcileResult:
    pending_in_horizon: int = 0
    requeued: int = 0
    seconds: float = 0.0


def reconcile(horizon: timedelta = HORIZON, batch: int = 50_000) -> ReconcileResult:
    """Every pending row due within the horizon must have a live RQ job; give one to those that don't."""
    started = time.perf_counter()
    limit = clock.now() + horizon
    with unit_of_work() as session:
        rows = session.execute(
            select(Escalation.id, Escalation.due_at)
            .where(Escalation.status == "pending", Escalation.due_at <= limit)
            .order_by(Escalation.due_at)
            .limit(batch)
        ).all()
    q = queue()
    now = clock.now()
    missing: list[tuple[int, datetime]] = []
    now_epoch = time.time()
    popped = _popped_but_not_started(q, now_epoch)
    for chunk_start in range(0, len(rows), 5000):
        chunk = rows[chunk_start : chunk_start + 5000]
        with q.connection.pipeline(transaction=False) as pipe:
            for escalation_id, _ in chunk:
                pipe.hmget(f"rq:job:{job_id(escalation_id)}", "status", "started_at")
            states = pipe.execute()
        for (escalation_id, due), (status, started_at) in zip(chunk, states, strict=True):
            if status == b"scheduled" and due <= now:
                missing.append((escalation_id, due))  # overdue yet still asleep: the scheduler is late
                continue
            if status in LIVE and job_id(escalation_id) not in popped:
                continue
            if status == b"started" and started_at and now_epoch - _epoch(started_at) < STALE_START:
                continue
            missing.append((escalation_id, due))
    if missing:
        stuck = [job_id(escalation_id) for escalation_id, _ in missing if job_id(escalation_id) in popped]
        for stale in stuck:  # out of RQ's intermediate list, or RQ's own cleanup would fail the new run
            q.intermediate_queue.remove(stale)
            q.connection.delete(q.intermediate_queue.get_first_seen_key(stale))
        enqueue_escalations(missing, q)
        log.warning("reconciler re-queued %s escalation timer(s)", len(missing))
    return ReconcileResult(len(rows), len(missing), time.perf_counter() - started)


def _popped_but_not_started(q: Queue, now_epoch: float) -> set[str]:
    """Jobs a worker took off the queue (RQ moves them to an intermediate list) but never started:
    their status still says 'queued', yet no worker will run them if that worker died. RQ itself only
    notices at its 10-minute maintenance; we call them stuck once they sat there STALE_START seconds."""
    intermediate = q.intermediate_queue
    stuck: set[str] = set()
    for raw in intermediate.get_job_ids():
        if not raw.startswith("esc-"):
            continue
        intermediate.set_first_seen(raw)  # RQ's own marker, shared by every worker's reconciler
        first_seen = intermediate.get_first_seen(raw)
        if first_seen is not None and now_epoch - first_seen.timestamp() >= STALE_START:
            stuck.add(raw)
    return stuck


def _epoch(value: bytes) -> float:
    from rq.utils import utcparse

    try:
        parsed = utcparse(value.decode())
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except Exception:
        return 0.0
