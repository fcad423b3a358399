"""Escalation timers in Redis, the releaser that fires them on time, the RQ job that fires a step, and
the reconciler that rebuilds every timer from the database (Redis flushed, worker killed: nothing is lost).

A timer is the row id in a sorted set (`timers_key()`) scored with its exact due moment. Every
`hotline worker` runs a releaser process (`start_releaser`, started by the sweeper) that, every
RELEASE_TICK, moves the due ids to an in-flight set in one atomic step (each timer has one claimant) and
fires them in a few transactions. RQ's own scheduler is not used: it keeps whole seconds and polls once
a second, up to 2 s late, and at 100,000 deadlines in 10 minutes one RQ job per row costs more CPU than
firing the row itself (docs/benchmarks.md, "escalation"). RQ jobs `esc-<id>` remain for rows that are
due when the reconciler finds them without a timer, and when no releaser is running (tests).
`fire()` fires a row at most once, whatever runs it how often."""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue
from sqlalchemy import select

from hotline import clock
from hotline.db import unit_of_work
from hotline.jobs.queue import queue
from hotline.models import Escalation
from hotline.services.city import current_config
from hotline.services.escalation import HORIZON, fire, fire_many
from hotline.settings import get_settings

log = logging.getLogger(__name__)
JOB = "hotline.jobs.escalation.fire_escalation"
STALE_START = 10.0  # a fire takes milliseconds: started (or claimed) this long ago means its worker died
LIVE = {b"queued", b"scheduled", b"deferred"}
RELEASE_TICK = 0.05  # seconds between the releaser's looks at the timers: the most lateness it adds
RELEASE_BATCH = 200  # timers claimed per look; a full batch means a backlog: look again at once
FIRE_CHUNK = 25  # rows fired per transaction: one commit for many rows, few ticket locks held at a time
HEARTBEAT_MS = 5000  # a releaser that has not looked at the timers for this long is gone
FAILURE_REPORT_EVERY = 30.0  # seconds between log lines while the releaser keeps failing (Redis down)
FAILOVER_TICK = 0.5  # seconds between looks at the alert failover timers: a timeout is minutes, not milliseconds

# Moves the due timers to the in-flight set, scored with the claim time, and returns them: atomic, so two
# releasers never claim the same timer.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[1], id)
end
return due
"""


def job_id(escalation_id: int) -> str:
    return f"esc-{escalation_id}"


def timers_key() -> str:
    return f"hotline:escalation:timers:{get_settings().queue_name}"


def _inflight_key() -> str:
    return f"hotline:escalation:inflight:{get_settings().queue_name}"


def _heartbeat_key() -> str:
    return f"hotline:escalation:releaser:{get_settings().queue_name}"


def enqueue_escalations(rows: list[tuple[int, datetime]], q: Queue | None = None) -> None:
    """Queue due rows as RQ jobs now; set a timer at the exact moment for the others (never early)."""
    q = q or queue()
    now = clock.now()
    due_now = [escalation_id for escalation_id, due in rows if due <= now]
    # The real moment: tests move `clock` forward, Redis and the releaser read the wall clock.
    later = {str(escalation_id): (due - clock.offset()).timestamp() for escalation_id, due in rows if due > now}
    with q.connection.pipeline() as pipe:
        pipe.multi()  # one transaction; RQ's enqueue starts it itself unless it has been started
        if due_now:  # due now: no sleeping timer left behind
            pipe.zrem(timers_key(), *(str(i) for i in due_now))
        for escalation_id in due_now:
            options = {"job_id": job_id(escalation_id), "result_ttl": 300, "failure_ttl": 86400, "pipeline": pipe}
            q.enqueue(JOB, escalation_id, **options)
        if later:
            pipe.zadd(timers_key(), later)
        pipe.execute()


def fire_escalation(escalation_id: int) -> str:
    with unit_of_work() as session:
        outcome, due = fire(session, escalation_id=escalation_id, config=current_config())
    if outcome == "early" and due is not None:  # woken before the moment: sleep on it again
        enqueue_escalations([(escalation_id, due)])
    return outcome


def is_timer_set(escalation_id: int) -> bool:
    return queue().connection.zscore(timers_key(), str(escalation_id)) is not None


# ---------------------------------------------------------------- the releaser


def claim_due(connection: Redis, limit: int = RELEASE_BATCH) -> list[int]:
    """Take the timers whose moment has come; they stay in flight until fired."""
    script = connection.register_script(_CLAIM)  # EVALSHA, loading the script again after a Redis restart
    claimed = script(keys=[timers_key(), _inflight_key()], args=[repr(time.time()), limit])
    return [int(member) for member in claimed]


def fire_claimed(escalation_ids: list[int], connection: Redis | None = None) -> Counter[str]:
    """Fire claimed rows, FIRE_CHUNK per transaction; a chunk that fails is retried row by row so one bad
    row cannot hold back the others. A row that still fails stays in flight: the reconciler turns it into
    an RQ job (which ends in RQ's failed registry with its traceback) once STALE_START has passed."""
    connection = connection or queue().connection
    config = current_config()
    outcomes: Counter[str] = Counter()
    for start in range(0, len(escalation_ids), FIRE_CHUNK):
        chunk = escalation_ids[start : start + FIRE_CHUNK]
        results: list[tuple[int, str, datetime | None]] = []
        try:
            with unit_of_work() as session:
                outcomes_due = fire_many(session, escalation_ids=chunk, config=config)
            results = [(i, outcome, due) for i, (outcome, due) in zip(chunk, outcomes_due, strict=True)]
        except Exception:
            log.exception("firing %s escalation(s) together failed; firing them one by one", len(chunk))
            results = []
            for escalation_id in chunk:
                try:
                    with unit_of_work() as session:
                        results.append((escalation_id, *fire(session, escalation_id=escalation_id, config=config)))
                except Exception:
                    log.exception("escalation %s failed to fire; the reconciler will retry it", escalation_id)
        early = [(escalation_id, due) for escalation_id, outcome, due in results if outcome == "early" and due]
        if early:  # only with clocks that disagree: sleep on it again
            enqueue_escalations(early)
        if results:
            connection.zrem(_inflight_key(), *(str(escalation_id) for escalation_id, _, _ in results))
        outcomes.update(outcome for _, outcome, _ in results)
    return outcomes


def start_releaser() -> subprocess.Popen[bytes]:
    """The releaser runs in a process of its own, started by each worker's sweeper. As a thread of the
    worker it shares one GIL with RQ's jobs: when SMS jobs keep the worker busy, firing fell up to 8 s
    behind (docs/benchmarks.md, escalation). It stops with its worker, or when the worker is gone."""
    # The worker's pid goes along: a worker stopped while the releaser was still importing would otherwise be
    # gone before the releaser first asked who its parent is, and the releaser would watch init instead.
    code = f"from hotline.jobs.escalation import releaser_main; releaser_main({os.getpid()})"
    # close_fds=False lets subprocess use posix_spawn. Its default fork+exec waits on a pipe until the child
    # has exec'd, and RQ forks its scheduler (no exec) from another thread of this process: a fork at the
    # wrong moment inherits that pipe's write end, and this call then waited as long as the scheduler
    # lived -- the sweeper stalled for minutes (a py-spy dump in tests/test_faults_outage.py caught it).
    # Python's own descriptors are not inheritable (PEP 446), so nothing else leaks into the releaser.
    return subprocess.Popen([sys.executable, "-c", code], close_fds=False)


WATCH_WORKER_EVERY = 0.5  # seconds: how soon a releaser notices its worker is gone


def releaser_main(worker_pid: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def watch_parent() -> None:
        while os.getppid() == worker_pid:  # else the worker was killed, or stopped before we started
            if stop.wait(WATCH_WORKER_EVERY):
                return
        stop.set()

    threading.Thread(target=watch_parent, name="watch-worker", daemon=True).start()
    run_releaser(stop)


def run_releaser(stop: threading.Event, tick: float = RELEASE_TICK) -> None:
    """Fire due timers within `tick` of their moment; alert failover timers too (hotline/jobs/alert_timers.py)."""
    from hotline.jobs.alert_timers import release_due

    last_report = -math.inf
    last_failover = -math.inf
    while not stop.is_set():
        claimed: list[int] = []
        try:
            connection = queue().connection
            connection.set(_heartbeat_key(), os.getpid(), px=HEARTBEAT_MS)
            claimed = claim_due(connection)
            if claimed:
                fire_claimed(claimed, connection)
            if time.monotonic() - last_failover >= FAILOVER_TICK:
                last_failover = time.monotonic()
                release_due(connection)
            last_report = -math.inf
        except Exception:
            # Every tick fails the same way while Redis is down: one traceback, then a line now and then.
            if time.monotonic() - last_report >= FAILURE_REPORT_EVERY:
                log.exception("escalation releaser failed; trying again every %ss", tick)
                last_report = time.monotonic()
        if len(claimed) < RELEASE_BATCH:
            stop.wait(tick)


# ---------------------------------------------------------------- the reconciler


@dataclass
class ReconcileResult:
    pending_in_horizon: int = 0
    requeued: int = 0  # timers set or RQ jobs queued for rows that had neither
    seconds: float = 0.0


def reconcile(horizon: timedelta = HORIZON, batch: int = 50_000) -> ReconcileResult:
    """Every pending row due within the horizon must have a timer, be in flight, or have a live RQ job;
    give one to those that don't. Timers past their moment are left to the releasers while one runs."""
    started = time.perf_counter()
    q = queue()
    connection = q.connection
    # Redis first, the database second: a row fired in between is no longer pending, so it is not
    # mistaken for one that lost its timer.
    with connection.pipeline(transaction=False) as pipe:
        pipe.zrange(timers_key(), 0, -1, withscores=True)
        pipe.zrange(_inflight_key(), 0, -1, withscores=True)
        pipe.exists(_heartbeat_key())
        timer_list, claimed_list, heartbeat = pipe.execute()
    timers = {int(member): score for member, score in timer_list}
    claims = {int(member): score for member, score in claimed_list}
    releaser_alive = bool(heartbeat)
    limit = clock.now() + horizon
    with unit_of_work() as session:
        rows = session.execute(
            select(Escalation.id, Escalation.due_at)
            .where(Escalation.status == "pending", Escalation.due_at <= limit)
            .order_by(Escalation.due_at)
            .limit(batch)
        ).all()
    now = clock.now()
    now_epoch = time.time()
    popped = _popped_but_not_started(q, now_epoch)
    missing: list[tuple[int, datetime]] = []
    for chunk_start in range(0, len(rows), 5000):
        chunk = rows[chunk_start : chunk_start + 5000]
        rest: list[tuple[int, datetime]] = []
        for escalation_id, due in chunk:
            claimed = claims.get(escalation_id)
            if escalation_id in timers:
                if due <= now and not releaser_alive:
                    missing.append((escalation_id, due))  # due, and no releaser to fire it: an RQ job
                continue
            if claimed is not None and now_epoch - claimed < STALE_START:
                continue  # being fired (claimed longer ago: by a releaser that died)
            rest.append((escalation_id, due))
        if not rest:
            continue
        with connection.pipeline(transaction=False) as pipe:
            for escalation_id, _ in rest:
                pipe.hmget(f"rq:job:{job_id(escalation_id)}", "status", "started_at")
            states = pipe.execute()
        for (escalation_id, due), (status, started_at) in zip(rest, states, strict=True):
            if status in LIVE and job_id(escalation_id) not in popped:
                continue
            if status == b"started" and started_at and now_epoch - _epoch(started_at) < STALE_START:
                continue
            missing.append((escalation_id, due))
    # Claims that old are gone for good: pending rows were given an RQ job above; the others (fired or
    # cancelled before their claimant died) would otherwise stay in the set forever.
    stale_inflight = [str(i) for i, claimed in claims.items() if now_epoch - claimed >= STALE_START]
    if stale_inflight:
        connection.zrem(_inflight_key(), *stale_inflight)
    if missing:
        stuck = [job_id(escalation_id) for escalation_id, _ in missing if job_id(escalation_id) in popped]
        for stale in stuck:  # out of RQ's intermediate list, or RQ's own cleanup would fail the new run
            q.intermediate_queue.remove(stale)
            connection.delete(q.intermediate_queue.get_first_seen_key(stale))
        enqueue_escalations(missing, q)
        overdue = sum(1 for _, due in missing if due <= now)
        if overdue:  # normal only in tests: Redis lost the timers, a worker died, or no worker runs
            log.warning("reconciler queued %s due escalation(s) as RQ jobs", overdue)
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
