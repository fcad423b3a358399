"""One timer core for every kind of deadline: the table of due work, the Redis timers that wake it on time, the
releaser that fires them, the RQ job that fires one, and the reconciler that rebuilds what Redis lost.

- A deadline is a row of `timers` (hotline/models/timers.py): kind, ref (a row of the kind's own table), seq,
  due_at. `add()` writes it in the caller's transaction; after commit a row due soon gets its Redis timer.
  The row is deleted in the transaction that fires it: the table holds exactly what is still due.
- A kind is a `TimerKind`: a function that fires pieces of work of that kind, each at most once however often
  it is asked, and says FireOutcome.EARLY (with the moment) for one not due yet. Kinds are registered in one
  place, hotline/jobs/timer_kinds.py; a new kind of deadline is one handler module and one line there.
- A timer is a member `kind:ref[:seq]` of one Redis sorted set scored with its moment (never early). Every
  `hotline worker` runs a releaser process (`start_releaser`, started by the sweeper) that, every
  RELEASE_TICK, moves the due members to an in-flight set in one atomic step (one claimant each) and fires
  them, `kind.batch` per transaction. RQ's own scheduler is not used: it keeps whole seconds and polls once a
  second, and one RQ job per deadline costs more CPU than firing it (docs/benchmarks.md, "escalation").
- `reconcile()` (at worker start and every sweep) gives every row due within HORIZON a timer unless it has
  one, is in flight or has a live RQ job; a row due with no releaser alive, or claimed by a releaser that
  died, becomes an RQ job (`fire_timer`). Redis flushed, a worker killed: the rows are still here.

Times: due moments are `hotline.clock`'s (tests move it forward; the releaser of a real worker reads the same
clock with no offset). Claims and RQ's own timestamps are wall-clock, since they say whether a process is alive."""

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from redis import Redis
from rq import Queue
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hotline import clock
from hotline.core import deadlines
from hotline.core.deadlines import HORIZON, Due, FireOutcome, add
from hotline.core.queue import job_id, queue
from hotline.db import unit_of_work
from hotline.jobs.timer_kind import Outcome, TimerKind
from hotline.models import Timer
from hotline.settings import get_settings

log = logging.getLogger(__name__)
JOB = "hotline.jobs.timers.fire_timer"
STALE_START = 10.0  # a fire takes milliseconds: started (or claimed) this long ago means its worker died
LIVE = {b"queued", b"scheduled", b"deferred"}
RELEASE_TICK = 0.05  # seconds between the releaser's looks at the timers: the most lateness it adds
RELEASE_BATCH = 200  # timers claimed per look; a full batch means a backlog: look again at once
HEARTBEAT_MS = 5000  # a releaser that has not looked at the timers for this long is gone
FAILURE_REPORT_EVERY = 30.0  # seconds between log lines while the releaser keeps failing (Redis down)
WATCH_WORKER_EVERY = 0.5  # seconds: how soon a releaser notices its worker is gone

# Moves the due timers to the in-flight set, scored with the claim time, and returns them: atomic, so two
# releasers never claim the same timer. ARGV: the moment (due clock), the limit, the claim time (wall clock).
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[2], ARGV[3], member)
end
return due
"""


_KINDS: dict[str, TimerKind] = {}


def register(kind: TimerKind) -> None:
    if "-" in kind.prefix or ":" in kind.name:
        raise ValueError(f"timer kind {kind.name!r}: no ':' in the name, no '-' in the job prefix")
    _KINDS[kind.name] = kind


@cache
def _wire() -> None:
    from hotline.jobs.timer_kinds import KINDS

    for kind in KINDS:
        register(kind)


def kinds() -> dict[str, TimerKind]:
    """Every registered kind; the first call registers them (hotline/jobs/timer_kinds.py, the one wiring place)."""
    _wire()
    return _KINDS


def timer_job_id(due: Due) -> str:
    prefix = kinds()[due.kind].prefix
    return job_id(prefix, due.ref, due.seq) if due.seq else job_id(prefix, due.ref)


def timers_key() -> str:
    return f"hotline:timers:due:{get_settings().queue_name}"


def inflight_key() -> str:
    return f"hotline:timers:inflight:{get_settings().queue_name}"


def heartbeat_key() -> str:
    return f"hotline:timers:releaser:{get_settings().queue_name}"


# ---------------------------------------------------------------- setting timers


def arm(timers: Sequence[tuple[Due, datetime]], q: Queue | None = None) -> None:
    """Queue what is due now as RQ jobs; set a timer at the exact moment for the rest (never early)."""
    if not timers:
        return
    q = q or queue()
    now = clock.now()
    due_now = [due for due, at in timers if at <= now]
    later = {due.member: at.timestamp() for due, at in timers if at > now}
    with q.connection.pipeline() as pipe:
        pipe.multi()  # one transaction; RQ's enqueue starts it itself unless it has been started
        if due_now:  # due now: no sleeping timer left behind
            pipe.zrem(timers_key(), *(due.member for due in due_now))
        for due in due_now:
            options = {"job_id": timer_job_id(due), "result_ttl": 300, "failure_ttl": 86400, "pipeline": pipe}
            q.enqueue(JOB, due.kind, due.ref, due.seq, **options)
        if later:
            pipe.zadd(timers_key(), later)
        pipe.execute()


# ---------------------------------------------------------------- firing


def fire_timer(kind: str, ref: int, seq: int = 0) -> str:
    """The RQ job: fire one piece of due work (a reconciler's fallback; the releaser fires most)."""
    [(_, outcome)] = _fire(kinds()[kind], [Due(kind, ref, seq)])
    return outcome


def _fire(kind: TimerKind, pieces: list[Due]) -> list[tuple[Due, str]]:
    """Fire pieces of one kind in one transaction; what is done leaves the table with it."""
    with unit_of_work() as session:
        outcomes = kind.fire(session, pieces)
        early = [
            (due, at)
            for due, (outcome, at) in zip(pieces, outcomes, strict=True)
            if outcome == FireOutcome.EARLY and at
        ]
        _forget(
            session, [due for due, (outcome, _) in zip(pieces, outcomes, strict=True) if outcome != FireOutcome.EARLY]
        )
        for due, at in early:  # only with clocks that disagree, or a moment that moved: sleep on it again
            session.execute(_where(update(Timer), due.kind, due.seq, [due.ref]).values(due_at=at))
    arm(early)
    return [(due, outcome) for due, (outcome, _) in zip(pieces, outcomes, strict=True)]


def _where(statement: Any, kind: str, seq: int, refs: Iterable[int]) -> Any:
    return statement.where(Timer.kind == kind, Timer.seq == seq, Timer.ref.in_(list(refs)))


def _forget(session: Session, pieces: list[Due]) -> None:
    groups: dict[tuple[str, int], list[int]] = {}
    for due in pieces:
        groups.setdefault((due.kind, due.seq), []).append(due.ref)
    for (kind, seq), refs in groups.items():
        session.execute(_where(delete(Timer), kind, seq, refs))


def claim_due(connection: Redis, limit: int = RELEASE_BATCH) -> list[Due]:
    """Take the timers whose moment has come; they stay in flight until fired."""
    script = connection.register_script(_CLAIM)  # EVALSHA, loading the script again after a Redis restart
    moment = repr(clock.now().timestamp())
    claimed = script(keys=[timers_key(), inflight_key()], args=[moment, limit, repr(time.time())])
    return [Due.parse(member) for member in claimed]


def fire_claimed(pieces: list[Due], connection: Redis | None = None) -> Counter[str]:
    """Fire claimed work, each kind `batch` per transaction (or queue it as RQ jobs, for kinds not fired in the
    releaser: FireOutcome.QUEUED); a batch that fails is retried piece by piece so one bad row cannot hold back
    the others. A piece that still fails stays in flight: the reconciler turns it into an RQ job (which ends in
    RQ's failed registry with its traceback) once STALE_START has passed."""
    connection = connection or queue().connection
    outcomes: Counter[str] = Counter()
    by_kind: dict[str, list[Due]] = {}
    for due in pieces:
        by_kind.setdefault(due.kind, []).append(due)
    for name, group in by_kind.items():
        kind = kinds().get(name)
        if kind is None:
            log.error("no timer kind %r is registered (hotline/jobs/timer_kinds.py): %s left in flight", name, group)
            continue
        if not kind.in_releaser:  # a job now; its claim goes once the job is queued (a live job is enough)
            now = clock.now()
            arm([(due, now) for due in group])
            connection.zrem(inflight_key(), *(due.member for due in group))
            outcomes[FireOutcome.QUEUED] += len(group)
            continue
        for start in range(0, len(group), kind.batch):
            results = _fire_batch(kind, group[start : start + kind.batch])
            if results:
                connection.zrem(inflight_key(), *(due.member for due, _ in results))
            outcomes.update(outcome for _, outcome in results)
    return outcomes


def _fire_batch(kind: TimerKind, batch: list[Due]) -> list[tuple[Due, str]]:
    try:
        return _fire(kind, batch)
    except Exception:  # broad: a kind's handler may fail any way; one bad timer must not hold back the others
        if len(batch) == 1:
            log.exception("%s failed to fire; the reconciler will retry it", batch[0].member)
            return []
        log.exception("firing %s %s timer(s) together failed; firing them one by one", len(batch), kind.name)
    results: list[tuple[Due, str]] = []
    for due in batch:
        results += _fire_batch(kind, [due])
    return results


# ---------------------------------------------------------------- the releaser


def start_releaser() -> subprocess.Popen[bytes]:
    """The releaser runs in a process of its own, started by each worker's sweeper. As a thread of the
    worker it shares one GIL with RQ's jobs: when SMS jobs keep the worker busy, firing fell up to 8 s
    behind (docs/benchmarks.md, escalation). It stops with its worker, or when the worker is gone."""
    # The worker's pid goes along: a worker stopped while the releaser was still importing would otherwise be
    # gone before the releaser first asked who its parent is, and the releaser would watch init instead.
    # Its own entry point, so it wires itself (the composition root, hotline/wiring.py: gateway types, the timer core).
    entry = "from hotline.wiring import wire; wire(); "
    code = entry + f"from hotline.jobs.timers import releaser_main; releaser_main({os.getpid()})"
    # close_fds=False lets subprocess use posix_spawn. Its default fork+exec waits on a pipe until the child
    # has exec'd, and RQ forks its scheduler (no exec) from another thread of this process: a fork at the
    # wrong moment inherits that pipe's write end, and this call then waited as long as the scheduler
    # lived -- the sweeper stalled for minutes (a py-spy dump in tests/test_faults_outage.py caught it).
    # Python's own descriptors are not inheritable (PEP 446), so nothing else leaks into the releaser.
    return subprocess.Popen([sys.executable, "-c", code], close_fds=False)


def releaser_main(worker_pid: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The kinds' modules (the services they fire) load before the handlers below are set: a SIGTERM that comes
    # while they load ends the process at once, as it did when the releaser was part of jobs/escalation.py.
    kinds()
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
    """Fire due timers of every kind within `tick` of their moment."""
    last_report = -math.inf
    while not stop.is_set():
        claimed: list[Due] = []
        try:
            connection = queue().connection
            connection.set(heartbeat_key(), os.getpid(), px=HEARTBEAT_MS)
            claimed = claim_due(connection)
            if claimed:
                fire_claimed(claimed, connection)
            last_report = -math.inf
        except Exception:  # broad: the releaser's loop must outlive any one failed tick
            # Every tick fails the same way while Redis is down: one traceback, then a line now and then.
            if time.monotonic() - last_report >= FAILURE_REPORT_EVERY:
                log.exception("timer releaser failed; trying again every %ss", tick)
                last_report = time.monotonic()
        if len(claimed) < RELEASE_BATCH:
            stop.wait(tick)


# ---------------------------------------------------------------- the reconciler


@dataclass
class ReconcileResult:
    pending_in_horizon: int = 0
    requeued: int = 0  # timers set or RQ jobs queued for rows that had neither
    seconds: float = 0.0
    swept: int = 0  # what the kinds' own sweeps queued again (a voice alert call whose job was lost)


@dataclass
class _RedisView:
    """What Redis holds of the timers, read before the database (a row fired in between is then no longer
    due, so it is not mistaken for one that lost its timer)."""

    timers: set[str]
    claims: dict[str, float]
    releaser_alive: bool

    @classmethod
    def read(cls, connection: Redis) -> _RedisView:
        with connection.pipeline(transaction=False) as pipe:
            pipe.zrange(timers_key(), 0, -1)
            pipe.zrange(inflight_key(), 0, -1, withscores=True)
            pipe.exists(heartbeat_key())
            timer_list, claimed_list, heartbeat = pipe.execute()
        claims = {member.decode(): score for member, score in claimed_list}
        return cls({member.decode() for member in timer_list}, claims, bool(heartbeat))


def reconcile(horizon: timedelta = HORIZON, batch: int = 50_000, only: Sequence[str] | None = None) -> ReconcileResult:
    """Every row due within the horizon must have a timer, be in flight, or have a live RQ job; give one to
    those that don't. Timers past their moment are left to the releasers while one runs. `only` limits it
    to some kinds (tests that drive one kind)."""
    started = time.perf_counter()
    q = queue()
    names = [name for name in kinds() if only is None or name in only]
    redis_view = _RedisView.read(q.connection)
    with unit_of_work() as session:
        rows = session.execute(
            select(Timer.kind, Timer.ref, Timer.seq, Timer.due_at)
            .where(Timer.kind.in_(names), Timer.due_at <= clock.now() + horizon)
            .order_by(Timer.due_at)
            .limit(batch)
        ).all()
    now_epoch = time.time()
    stuck = _popped_but_not_started(q, now_epoch)
    missing: list[tuple[Due, datetime]] = []
    for start in range(0, len(rows), 5000):
        chunk = [(Due(kind, ref, seq), at) for kind, ref, seq, at in rows[start : start + 5000]]
        missing += _without_timer(q, redis_view, chunk, stuck)
    # Claims that old are gone for good: due rows were given an RQ job above; the others (fired or
    # cancelled before their claimant died) would otherwise stay in the set forever.
    stale = [member for member, claimed in redis_view.claims.items() if now_epoch - claimed >= STALE_START]
    if stale:
        q.connection.zrem(inflight_key(), *stale)
    if missing:
        for job in {timer_job_id(due) for due, _ in missing} & stuck:
            # out of RQ's intermediate list, or RQ's own cleanup would fail the new run
            q.intermediate_queue.remove(job)
            q.connection.delete(q.intermediate_queue.get_first_seen_key(job))
        arm(missing, q)
        now = clock.now()
        overdue = sum(1 for _, at in missing if at <= now)
        if overdue:  # normal only in tests: Redis lost the timers, a worker died, or no worker runs
            log.warning("reconciler queued %s due timer(s) as RQ jobs", overdue)
    swept = sum(sweep() for name in names if (sweep := kinds()[name].sweep) is not None)
    return ReconcileResult(len(rows), len(missing), time.perf_counter() - started, swept)


def _without_timer(
    q: Queue, seen: _RedisView, rows: list[tuple[Due, datetime]], stuck: set[str]
) -> list[tuple[Due, datetime]]:
    """Of these rows, those nothing will fire: no timer (or a due one and no releaser), no claim, no live job."""
    now, now_epoch = clock.now(), time.time()
    missing: list[tuple[Due, datetime]] = []
    rest: list[tuple[Due, datetime]] = []
    for due, at in rows:
        if due.member in seen.timers:
            if at <= now and not seen.releaser_alive:
                missing.append((due, at))  # due, and no releaser to fire it: an RQ job
            continue
        claimed = seen.claims.get(due.member)
        if claimed is not None and now_epoch - claimed < STALE_START:
            continue  # being fired (claimed longer ago: by a releaser that died)
        rest.append((due, at))
    if not rest:
        return missing
    with q.connection.pipeline(transaction=False) as pipe:
        for due, _ in rest:
            pipe.hmget(f"rq:job:{timer_job_id(due)}", "status", "started_at")
        states = pipe.execute()
    for (due, at), (status, started_at) in zip(rest, states, strict=True):
        if status in LIVE and timer_job_id(due) not in stuck:
            continue
        if status == b"started" and started_at and now_epoch - _epoch(started_at) < STALE_START:
            continue
        missing.append((due, at))
    return missing


def _popped_but_not_started(q: Queue, now_epoch: float) -> set[str]:
    """Timer jobs a worker took off the queue (RQ moves them to an intermediate list) but never started:
    their status still says 'queued', yet no worker will run them if that worker died. RQ itself only
    notices at its 10-minute maintenance; here they are stuck once they sat there STALE_START seconds."""
    prefixes = tuple(f"{kind.prefix}-" for kind in kinds().values())
    intermediate = q.intermediate_queue
    stuck: set[str] = set()
    for job in intermediate.get_job_ids():
        if not job.startswith(prefixes):
            continue
        intermediate.set_first_seen(job)  # RQ's own marker, shared by every worker's reconciler
        first_seen = intermediate.get_first_seen(job)
        if first_seen is not None and now_epoch - first_seen.timestamp() >= STALE_START:
            stuck.add(job)
    return stuck


def _epoch(value: bytes) -> float:
    from rq.utils import utcparse

    try:
        parsed = utcparse(value.decode())
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except ValueError:  # not RQ's timestamp (UnicodeDecodeError is one too): as if started long ago
        return 0.0


# Features write deadlines through hotline/core/deadlines.py; this is how they are armed after commit.
deadlines.plug_arm(arm)
__all__ = ["HORIZON", "Due", "Outcome", "TimerKind", "add"]  # re-exported: the timer core's names as before
