"""bench/escalation: how late escalation steps fire when 100,000 open tickets fall due within 10 minutes.

    flock /tmp/hotline-bench.lock .venv/bin/python bench/escalation.py           # 100,000 tickets, ~14 min
    flock /tmp/hotline-bench.lock .venv/bin/python bench/escalation.py --quick   # 10,000 over 2 min, ~3 min
    flock /tmp/hotline-bench.lock .venv/bin/python bench/escalation.py --pieces 4000   # CPU per piece, ~1 min
    ... --pieces 4000 --profile /tmp/esc.prof   # and cProfile the releaser piece (calls, statements: load-free)
    .venv/bin/python bench/escalation.py --report bench/results/escalation-<time>.json   # the table again

One run, on PostgreSQL (database hotline_bench_esc, dropped and created here) and Redis (db 8,
flushed before and after):
1. `hotline db upgrade` with a bench copy of the city's data (HOTLINE_CONFIG_DIR in a temp dir) whose
   PMK chain is one step, no repeat, notifying the URC leader (1 phone; `--phones 3` notifies the
   whole URC), so every ticket fires exactly once.
2. Seed N routed PMK tickets with the chain pinned exactly as `services.escalation.pin()` pins it
   (one prototype ticket is pinned through the ORM and rolled back; its chain is copied) and one
   pending accept-phase Escalation row each, with bulk Core inserts. Due times are uniform over
   [start + lead, start + lead + spread] (start = when seeding ends; ids follow due times, as they
   would for tickets with the same SLA). No timer exists yet: the workers' reconciler sets them.
3. Start W real `hotline worker` processes (the log SMS provider: no Twilio). They fire every row
   and send every SMS through the outbox.
4. The baseline, in the same run through the same workers: for every 10th escalation a no-op RQ job
   (`baseline_noop` below) scheduled with `enqueue_at(ceil_second(due))` for the same due time, 90 s
   ahead as the reconciler schedules. It shows what RQ's own scheduler gives: whole seconds, a 1 s poll,
   then the queue. (Not one per escalation: a no-op RQ job costs ~4.6 ms of CPU here, 100,000 of them
   would take 0.8 of the 2 cores and change what is measured.)
5. Until every row fired and every SMS went out (or a deadline): progress lines every 5 s with the CPU
   per process group and what PostgreSQL is busy with, and every 10 s the RQ job hashes of newly fired
   rows (a row fired by an RQ job `esc-<id>` shows when RQ released and started it).

Reported: lateness = fired_at - due_at (p50/p90/p99/max, a histogram), early (fired_at < due_at),
missed (still pending at the end), doubled (more than one 'escalated' event or fired row per
ticket-step, or one phone alerted twice for a ticket), SMS queued and sent (sent_at - due_at), the
reconciler's seconds per sweep (parsed from the workers' log line), CPU per process group.
Writes bench/results/escalation-<time>.json. Exit 0 when the run completed and nothing was missed,
doubled or early (a missed p99 target is reported, not an error; --strict makes it one).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_services import PG_ADMIN_DSN, database_url, drop_database, hotline_env, reset_database

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
HOTLINE = str(Path(PYTHON).with_name("hotline"))

PG_DB = "hotline_bench_esc"
DATABASE_URL = database_url(PG_DB)
REDIS_URL = "redis://127.0.0.1:6379/8"
BASELINE_KEY = "bench:escalation:baseline"  # Redis list: one JSON record per baseline job run
BASELINE_JOB = "bench.escalation.baseline_noop"
TARGET_P99_S = 2.0
HISTOGRAM_EDGES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 3.0, 5.0, 10.0)
RECONCILE_LINE = re.compile(
    r"^(\S+ \S+) INFO hotline\.jobs\.sweeper: (?:escalation|timer) reconcile: (\d+) (?:pending|due) within the "
    r"horizon, (\d+) (?:timers set or )?re-queued, (?:\d+ swept, )?([0-9.]+) s"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the baseline job (runs in the workers)


def baseline_noop(due: float) -> None:
    """RQ's own scheduler and queue, no database: record when RQ released this job and when it ran."""
    from rq import get_current_job

    ran = time.time()
    job = get_current_job()
    assert job is not None and job.enqueued_at is not None and job.started_at is not None
    record = [due, _ts(job.enqueued_at), _ts(job.started_at), ran]
    job.connection.rpush(BASELINE_KEY, json.dumps(record))


def _ts(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


# ---------------------------------------------------------------- environment


@dataclass
class Plan:
    tickets: int
    spread: float  # seconds over which due times are spread
    lead: float  # seconds from the end of seeding to the first due time
    workers: int
    phones: int
    grace: float  # seconds after the last due time before the run is cut off
    baseline_every: int = 10  # every n-th escalation gets a baseline twin
    seed: int = 20261123
    quick: bool = False


def bench_env(config_dir: Path) -> dict[str, str]:
    return hotline_env(
        HOTLINE_DATABASE_URL=DATABASE_URL,
        HOTLINE_REDIS_URL=REDIS_URL,
        HOTLINE_CONFIG_DIR=str(config_dir),
        HOTLINE_SMS_PROVIDER="log",
        HOTLINE_ENV="development",
        # the workers import bench.escalation for the baseline job, and it imports bench_services
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), str(BENCH), os.environ.get("PYTHONPATH", "")) if p),
    )


def bench_config(tmp: Path, phones: int) -> Path:
    """The city's data with PMK's chain cut to one step and no repeat: each ticket fires exactly once."""
    import yaml

    for folder in ("routing", "sms"):
        shutil.copytree(ROOT / folder, tmp / folder)
    path = tmp / "routing" / "escalation.yaml"
    data = yaml.safe_load(path.read_text())
    notify = ["urc_leader"] if phones == 1 else ["urc"]
    data.setdefault("agencies", {})["PMK"] = {"steps": [{"after_minutes": 0, "notify": notify}]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp


def say(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- seeding


def seed(plan: Plan) -> tuple[float, list[tuple[int, float]]]:
    """Bulk-insert the tickets and their pending rows; returns (start epoch, [(escalation id, due epoch)])."""
    from sqlalchemy import inspect, select, text

    from hotline.core.city import current_config
    from hotline.db import get_engine, get_sessionmaker
    from hotline.features.escalation.escalation import pin
    from hotline.models import Agency, Escalation, Ticket, Urc

    config = current_config()
    # One prototype pinned by the app's own code, rolled back: every seeded ticket gets its chain.
    session = get_sessionmaker()()
    try:
        agency = session.scalars(select(Agency).where(Agency.code == "PMK")).one()
        urc = session.scalars(select(Urc).where(Urc.agency_id == agency.id).order_by(Urc.id)).first()
        assert urc is not None
        proto = Ticket(
            channel="sms",
            reporter_phone="+6281200000000",
            category="fire",
            priority="critical",
            text="bench",
            status="routed",
            agency_id=agency.id,
            urc_id=urc.id,
            routed_at=datetime.now(UTC),
        )
        session.add(proto)
        session.flush()
        pin(session, config=config, ticket=proto, agency=agency)
        chain = proto.escalation_chain
        sla_accept, sla_resolve = proto.sla_accept_minutes, proto.sla_resolve_minutes
        agency_id, urc_id = agency.id, urc.id
    finally:
        session.rollback()
        session.info.clear()  # the prototype's post-commit hooks must never run
        session.close()
    assert chain is not None and sla_accept is not None and sla_resolve is not None
    assert len(chain["steps"]) == 1 and not chain.get("repeat_minutes"), chain
    say(f"pinned chain: {json.dumps(chain)}")

    rng = random.Random(plan.seed)
    offsets = sorted(rng.uniform(plan.lead, plan.lead + plan.spread) for _ in range(plan.tickets))
    base = datetime.now(UTC)  # placeholder; every time is moved to the real start once seeding is done
    engine = get_engine()
    timer_table = inspect(engine).has_table("timers")  # the code under test keeps its deadlines there too
    tickets, escalations = Ticket.__table__, Escalation.__table__
    chunk = 5000
    t0 = time.monotonic()
    with engine.begin() as conn:
        for lo in range(0, plan.tickets, chunk):
            t_rows: list[dict[str, Any]] = []
            e_rows: list[dict[str, Any]] = []
            for i in range(lo, min(lo + chunk, plan.tickets)):
                n = i + 1
                due = base + timedelta(seconds=offsets[i])
                routed = due - timedelta(minutes=sla_accept)
                t_rows.append(
                    {
                        "id": n,
                        "channel": "sms",
                        "reporter_phone": f"+62812{n:07d}",
                        "language": "id",
                        "category": "fire",
                        "priority": "critical",
                        "urgent": False,
                        "text": f"KEBAKARAN di Jl. Diponegoro {n} Sisir",
                        "location_text": f"Jl. Diponegoro {n} Sisir",
                        "status": "routed",
                        "agency_id": agency_id,
                        "urc_id": urc_id,
                        "routing_rule": "bench",
                        "category_prompts": 0,
                        "created_at": routed,
                        "updated_at": routed,
                        "routed_at": routed,
                        "sla_accept_minutes": sla_accept,
                        "sla_resolve_minutes": sla_resolve,
                        "accept_due_at": due,
                        "resolve_due_at": routed + timedelta(minutes=sla_resolve),
                        "escalation_chain": chain,
                    }
                )
                e_rows.append(
                    {
                        "id": n,
                        "ticket_id": n,
                        "phase": "accept",
                        "step": 0,
                        "round": 0,
                        "due_at": due,
                        "status": "pending",
                        "notified": [],
                        "created_at": routed,
                    }
                )
            conn.execute(tickets.insert(), t_rows)
            conn.execute(escalations.insert(), e_rows)
            done = min(lo + chunk, plan.tickets)
            rate = done / max(time.monotonic() - t0, 1e-9)
            say(f"seeded {done:>7,}/{plan.tickets:,} tickets + rows ({rate:,.0f}/s)")
        conn.execute(text("SELECT setval('tickets_id_seq', :n)"), {"n": plan.tickets})
        conn.execute(text("SELECT setval('escalations_id_seq', :n)"), {"n": plan.tickets})
        # Now that seeding is done, move every time so that the first row is due `lead` seconds from now.
        shift = datetime.now(UTC) - base
        conn.execute(
            text(
                "UPDATE tickets SET created_at = created_at + :s, updated_at = updated_at + :s, "
                "routed_at = routed_at + :s, accept_due_at = accept_due_at + :s, resolve_due_at = resolve_due_at + :s"
            ),
            {"s": shift},
        )
        conn.execute(text("UPDATE escalations SET due_at = due_at + :s, created_at = created_at + :s"), {"s": shift})
        if timer_table:  # the table of due work (hotline/jobs/timers.py): a row per pending step, as schedule() writes
            conn.execute(
                text(
                    "INSERT INTO timers (kind, ref, seq, due_at, created_at) "
                    "SELECT 'escalation', id, 0, due_at, created_at FROM escalations WHERE status = 'pending'"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE tickets"))
        conn.execute(text("VACUUM ANALYZE escalations"))
        if timer_table:
            conn.execute(text("VACUUM ANALYZE timers"))
    start = (base + shift).timestamp()
    say(f"seeded {plan.tickets:,} tickets in {time.monotonic() - t0:.1f} s; first due in {plan.lead:.0f} s")
    return start, [(i + 1, start + offsets[i]) for i in range(plan.tickets)]


# ---------------------------------------------------------------- CPU accounting from /proc


def _proc(pid: int) -> tuple[int, int, str, int]:
    """(utime+stime, parent pid, name, reaped children's utime+stime) in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12]), int(fields[1]), name, int(fields[13]) + int(fields[14])


def _is_releaser(pid: int) -> bool:
    """The escalation releaser process each worker starts (hotline.jobs.escalation.start_releaser)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"releaser_main" in f.read()
    except OSError:
        return False


@dataclass
class CpuSample:
    ticks: dict[str, int]
    busy: int
    total: int
    at: float


def cpu_sample(worker_pids: list[int]) -> CpuSample:
    procs: dict[int, tuple[int, int, str, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                procs[int(entry)] = _proc(int(entry))
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    workers: set[int] = set()
    stack = list(worker_pids)
    while stack:  # each worker and the RQ scheduler process it forks
        pid = stack.pop()
        if pid in procs and pid not in workers:
            workers.add(pid)
            stack.extend(children.get(pid, []))
    ticks = {"workers": 0, "releasers": 0, "postgres": 0, "redis": 0, "bench": 0}
    for pid, (t, _, name, reaped) in procs.items():
        if pid in workers:
            ticks["releasers" if _is_releaser(pid) else "workers"] += t
        elif pid == os.getpid():
            ticks["bench"] += t
        elif name.startswith("postgres"):
            ticks["postgres"] += t + reaped  # all of PostgreSQL: it is shared, see "other" for the rest
        elif name.startswith("redis-server"):
            ticks["redis"] += t
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    total = sum(values[:8])
    return CpuSample(ticks, total - values[3] - values[4], total, time.monotonic())


def cpu_percent(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """% of one core per group over the interval (200 = both cores of this machine)."""
    wall = max(after.at - before.at, 1e-9)
    out = {k: round(100.0 * (after.ticks[k] - before.ticks[k]) / CLK_TCK / wall, 1) for k in after.ticks}
    busy = (after.busy - before.busy) / CLK_TCK / wall * 100.0
    out["other"] = round(max(0.0, busy - sum(out.values())), 1)
    out["machine_busy_percent"] = round(100.0 * (after.busy - before.busy) / max(after.total - before.total, 1), 1)
    return out


# ---------------------------------------------------------------- the run


@dataclass
class Observed:
    esc_jobs: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)  # id -> (released, started)
    progress: list[dict[str, Any]] = field(default_factory=list)


def _parse_rq_time(raw: bytes | None) -> float | None:
    if not raw:
        return None
    from rq.utils import utcparse

    return _ts(utcparse(raw.decode()))


def start_workers(plan: Plan, env: dict[str, str], logdir: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for n in range(plan.workers):
        with (logdir / f"worker-{n}.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [HOTLINE, "worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its own session, started above
            proc.wait(5)


def run(plan: Plan, workdir: Path) -> dict[str, Any]:
    config_dir = bench_config(workdir / "config", plan.phones)
    env = bench_env(config_dir)
    os.environ.update({k: v for k, v in env.items() if k.startswith("HOTLINE_")})
    from redis import Redis

    from hotline.settings import get_settings

    get_settings.cache_clear()
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    say(f"database {PG_DB} (re)created, Redis db 8 flushed; migrating with the bench's routing/")
    reset_database(PG_DB)
    subprocess.run([HOTLINE, "db", "upgrade"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

    t_seed = time.monotonic()
    start, rows = seed(plan)
    seed_seconds = time.monotonic() - t_seed
    logdir = workdir / "logs"
    logdir.mkdir()
    workers = start_workers(plan, env, logdir)
    say(f"{plan.workers} x `hotline worker` started (logs in {logdir})")
    try:
        observed = watch(plan, start, rows, workers, redis)
    finally:
        stop_workers(workers)
    result = collect(plan, start, rows, observed, logdir, redis)
    result["seed_seconds"] = round(seed_seconds, 1)
    for n in range(plan.workers):  # keep the logs' tails with the results: a failure is read there
        lines = (logdir / f"worker-{n}.log").read_text(errors="replace").splitlines()
        result.setdefault("worker_log_tail", {})[n] = [ln for ln in lines if "SMS NOT SENT" not in ln][-15:]
    return result


def watch(
    plan: Plan, start: float, rows: list[tuple[int, float]], workers: list[subprocess.Popen[bytes]], redis: Any
) -> Observed:
    """Feed the baseline jobs 90 s ahead, print progress, read RQ's timestamps of fired rows' jobs."""
    from rq import Queue
    from sqlalchemy import func, select, text

    from hotline import clock
    from hotline.db import unit_of_work
    from hotline.models import Escalation, OutboundMessage
    from hotline.settings import get_settings

    try:
        from hotline.jobs.timers import HORIZON  # the timer core
    except ImportError:
        from hotline.features.escalation.escalation import HORIZON  # type: ignore[attr-defined,no-redef]  # before it

    q = Queue(get_settings().queue_name, connection=redis)
    observed = Observed()
    twins = rows[:: plan.baseline_every]
    fed = 0
    last_fired_at = datetime.fromtimestamp(0, UTC)
    last_due = start + plan.lead + plan.spread
    cutoff = last_due + plan.grace
    cpu_before: CpuSample | None = None
    cpu_after: CpuSample | None = None
    next_progress = time.time()
    next_collect = time.time() + 10
    last_cpu = cpu_sample([w.pid for w in workers])
    while True:
        now = time.time()
        for worker in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a worker exited with {worker.returncode}")
        horizon = now + HORIZON.total_seconds()
        with redis.pipeline() as pipe:
            while fed < len(twins) and twins[fed][1] <= horizon:
                escalation_id, due = twins[fed]
                q.enqueue_at(
                    clock.ceil_second(datetime.fromtimestamp(due, UTC)),
                    BASELINE_JOB,
                    due,
                    job_id=f"esc-{escalation_id}-noop",
                    result_ttl=0,
                    failure_ttl=86400,
                    pipeline=pipe,
                )
                fed += 1
            pipe.execute()
        if cpu_before is None and now >= start + plan.lead:
            cpu_before = cpu_sample([w.pid for w in workers])
        if now >= next_collect:
            next_collect += 10
            last_fired_at = _collect_job_times(observed, last_fired_at, redis)
        if now >= next_progress:
            next_progress += 5
            with unit_of_work() as s:
                counts = dict(s.execute(select(Escalation.status, func.count()).group_by(Escalation.status)).all())
                sms = dict(
                    s.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all()
                )
                # What PostgreSQL is busy with right now: its CPU comes and goes (autovacuum, checkpoints?).
                pg_busy = Counter(
                    f"{kind}: {query}"
                    for kind, query in s.execute(
                        text(
                            "SELECT backend_type, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) "
                            "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query <> '' AND "
                            "((datname = current_database() AND state NOT LIKE 'idle%') "
                            "OR backend_type LIKE 'autovacuum%')"
                        )
                    )
                )
            baseline_ran = redis.llen(BASELINE_KEY)
            cpu_now = cpu_sample([w.pid for w in workers])
            entry = {
                "t": round(now - start, 1),
                "cpu_percent_of_one_core": cpu_percent(last_cpu, cpu_now),
                "escalations": counts,
                "sms": sms,
                "baseline_ran": baseline_ran,
                "rq_queued": redis.llen(q.key),
                "rq_scheduled": redis.zcard(q.scheduled_job_registry.key),
                "pg_activity": dict(pg_busy),
            }
            last_cpu = cpu_now
            observed.progress.append(entry)
            due_so_far = sum(1 for _, d in rows if d <= now)
            say(
                f"t={entry['t']:>6.1f}s due {due_so_far:>7,} fired {counts.get('fired', 0):>7,} "
                f"pending {counts.get('pending', 0):>7,} | baseline ran {baseline_ran:>7,} | "
                f"SMS sent {sms.get('sent', 0):>7,} queued {sms.get('queued', 0) + sms.get('sending', 0):>5,} | "
                f"RQ queue {entry['rq_queued']:>5,} scheduled {entry['rq_scheduled']:>6,} | CPU% "
                + " ".join(f"{k[:4]} {v:.0f}" for k, v in entry["cpu_percent_of_one_core"].items() if k != "bench")
            )
            all_done = (
                counts.get("pending", 0) == 0
                and baseline_ran >= len(twins)
                and sms.get("queued", 0) + sms.get("sending", 0) == 0
            )
            if all_done or now > cutoff:
                if cpu_before is not None and cpu_after is None:
                    cpu_after = cpu_sample([w.pid for w in workers])
                if not all_done:
                    say("deadline reached with work left; stopping")
                break
        time.sleep(0.5)
    _collect_job_times(observed, last_fired_at, redis)
    if cpu_before and cpu_after:
        observed.progress.append({"cpu_whole_run": cpu_percent(cpu_before, cpu_after)})
    return observed


def _collect_job_times(observed: Observed, since: datetime, redis: Any) -> datetime:
    """RQ keeps a finished job's hash for its result_ttl (300 s): read when it was released and started."""
    from sqlalchemy import select

    from hotline.db import unit_of_work
    from hotline.models import Escalation

    with unit_of_work() as s:
        fired = s.execute(
            select(Escalation.id, Escalation.fired_at).where(Escalation.status == "fired", Escalation.fired_at > since)
        ).all()
    if not fired:
        return since
    with redis.pipeline(transaction=False) as pipe:
        for escalation_id, _ in fired:
            pipe.hmget(f"rq:job:esc-{escalation_id}", "enqueued_at", "started_at")
        states = pipe.execute()
    for (escalation_id, _), (enqueued, started) in zip(fired, states, strict=True):
        observed.esc_jobs[escalation_id] = (_parse_rq_time(enqueued), _parse_rq_time(started))
    return max(at for _, at in fired)


# ---------------------------------------------------------------- results


def stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None, "min": None, "mean": None}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "min": round(ordered[0], 4),
        "p50": round(pct(50), 4),
        "p90": round(pct(90), 4),
        "p99": round(pct(99), 4),
        "max": round(ordered[-1], 4),
        "mean": round(statistics.fmean(ordered), 4),
    }


def histogram(values: list[float]) -> dict[str, int]:
    """Counts per lateness bucket, in seconds; '<0' is early."""
    edges = HISTOGRAM_EDGES
    out = {"<0": sum(1 for v in values if v < 0)}
    for lo, hi in itertools.pairwise(edges):
        out[f"{lo:g}-{hi:g}"] = sum(1 for v in values if lo <= v < hi)
    out[f">={edges[-1]:g}"] = sum(1 for v in values if v >= edges[-1])
    return out


def collect(
    plan: Plan, start: float, rows: list[tuple[int, float]], observed: Observed, logdir: Path, redis: Any
) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from hotline.db import unit_of_work
    from hotline.models import Escalation, OutboundMessage, TicketEvent

    due_by_id = dict(rows)
    with unit_of_work() as s:
        fired = s.execute(
            select(Escalation.id, Escalation.due_at, Escalation.fired_at).where(Escalation.status == "fired")
        ).all()
        statuses = dict(s.execute(select(Escalation.status, func.count()).group_by(Escalation.status)).all())
        events_per_step = s.execute(
            text(
                "SELECT count(*) FROM (SELECT ticket_id FROM ticket_events WHERE kind = 'escalated' "
                "GROUP BY ticket_id, data->>'phase', data->>'step', data->>'round' HAVING count(*) > 1) d"
            )
        ).scalar_one()
        events = s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "escalated"))
        fired_rows_per_step = s.execute(
            text(
                "SELECT count(*) FROM (SELECT ticket_id FROM escalations WHERE status = 'fired' "
                "GROUP BY ticket_id, phase, step, round HAVING count(*) > 1) d"
            )
        ).scalar_one()
        sms_twice = s.execute(
            text(
                "SELECT count(*) FROM (SELECT ticket_id, to_number FROM outbound_messages WHERE purpose = 'escalation' "
                "GROUP BY ticket_id, to_number HAVING count(*) > 1) d"
            )
        ).scalar_one()
        sms = dict(
            s.execute(
                select(OutboundMessage.status, func.count())
                .where(OutboundMessage.purpose == "escalation")
                .group_by(OutboundMessage.status)
            ).all()
        )
        fired_span = s.execute(select(func.min(Escalation.fired_at), func.max(Escalation.fired_at))).one()
        sms_lag = [
            float(v)
            for (v,) in s.execute(
                text(
                    "SELECT extract(epoch FROM o.sent_at - e.due_at) FROM outbound_messages o "
                    "JOIN escalations e ON e.ticket_id = o.ticket_id "
                    "WHERE o.purpose = 'escalation' AND o.sent_at IS NOT NULL"
                )
            )
        ]
    late = [(f - d).total_seconds() for _, d, f in fired]
    early = sum(1 for v in late if v < 0)

    # Lateness split into its parts, for the rows whose RQ job hash was read in time.
    # Which path fired a row: an RQ job `esc-<id>` (its hash says when RQ released and started it) or the
    # releaser (it deletes the hash once fired); an RQ job that started after the row fired was a spare.
    rounding, release, queue_wait, in_job = [], [], [], []
    paths: Counter[str] = Counter()
    fired_at = {i: f.timestamp() for i, _, f in fired}
    for escalation_id, (released, started) in observed.esc_jobs.items():
        due = due_by_id[escalation_id]
        if escalation_id not in fired_at:
            continue
        if released is None or started is None:
            paths["releaser (no RQ job hash left)"] += 1
            continue
        if started > fired_at[escalation_id]:
            paths["releaser, then a spare RQ job"] += 1
            continue
        paths["RQ job"] += 1
        wake = math.ceil(due)
        rounding.append(wake - due)
        release.append(released - wake)
        queue_wait.append(started - released)
        in_job.append(fired_at[escalation_id] - started)

    baseline = [json.loads(raw) for raw in redis.lrange(BASELINE_KEY, 0, -1)]
    b_late = [ran - due for due, _, _, ran in baseline]
    b_release = [released - math.ceil(due) for due, released, _, _ in baseline]
    b_queue = [started - released for _, released, started, _ in baseline]
    b_ids = len(baseline)

    sweeps = []
    for n in range(plan.workers):
        for line in (logdir / f"worker-{n}.log").read_text(errors="replace").splitlines():
            m = RECONCILE_LINE.match(line)
            if m:
                sweeps.append(
                    {
                        "worker": n,
                        "at": m.group(1),
                        "pending": int(m.group(2)),
                        "requeued": int(m.group(3)),
                        "seconds": float(m.group(4)),
                    }
                )
    cpu = next((p["cpu_whole_run"] for p in observed.progress if "cpu_whole_run" in p), None)
    lat = stats(late)
    result: dict[str, Any] = {
        "bench": "escalation",
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "plan": plan.__dict__,
        "machine": machine(),
        "start": datetime.fromtimestamp(start, UTC).isoformat(),
        "escalations": {
            "rows": len(rows),
            "statuses": statuses,
            "fired": len(fired),
            "missed": statuses.get("pending", 0),
            "early": early,
            "doubled": {
                "tickets_with_more_than_one_escalated_event_per_step": events_per_step,
                "escalated_events": events,
                "fired_rows_per_step_over_one": fired_rows_per_step,
                "phone_alerted_twice_for_a_ticket": sms_twice,
            },
            "lateness_s": lat,
            "histogram_s": histogram(late),
            "first_fired": fired_span[0].isoformat() if fired_span[0] else None,
            "last_fired": fired_span[1].isoformat() if fired_span[1] else None,
        },
        "lateness_parts_s": {
            "fired_by": dict(paths),
            "rows_with_rq_times": len(rounding),
            "rounding_up_to_the_second": stats(rounding),
            "rq_scheduler_release_after_that_second": stats(release),
            "queue_wait": stats(queue_wait),
            "job_start_to_fired_at": stats(in_job),
        },
        "baseline_noop": {
            "jobs": len(rows[:: plan.baseline_every]),
            "one_per_n_escalations": plan.baseline_every,
            "ran": b_ids,
            "early": sum(1 for v in b_late if v < 0),
            "lateness_s": stats(b_late),
            "histogram_s": histogram(b_late),
            "rq_scheduler_release_after_that_second": stats(b_release),
            "queue_wait": stats(b_queue),
        },
        "sms": {
            "queued_total": sum(sms.values()),
            "statuses": sms,
            "phones_per_step": plan.phones,
            "sent_at_minus_due_at_s": stats(sms_lag),
        },
        "reconcile": {
            "sweeps": len(sweeps),
            "seconds": stats([s["seconds"] for s in sweeps]),
            "pending_within_horizon": stats([float(s["pending"]) for s in sweeps]),
            "requeued_total": sum(s["requeued"] for s in sweeps),
            "each": sweeps,
        },
        "cpu_percent_of_one_core": cpu,
        "progress": observed.progress,
    }
    b = result["baseline_noop"]["lateness_s"]
    result["ratio_to_baseline"] = {
        k: (round(lat[k] / b[k], 2) if lat[k] is not None and b[k] else None) for k in ("p50", "p99", "max")
    }
    missed, doubled = result["escalations"]["missed"], events_per_step + fired_rows_per_step + sms_twice
    result["targets"] = {
        "p99_under_2s": lat["p99"] is not None and lat["p99"] < TARGET_P99_S,
        "none_early": early == 0,
        "none_missed": missed == 0,
        "none_doubled": doubled == 0,
    }
    return result


def machine() -> dict[str, Any]:
    import psycopg
    import rq
    import sqlalchemy
    from redis import Redis

    with psycopg.connect(PG_ADMIN_DSN) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        pg = row[0] if row else "?"
    info = Redis.from_url(REDIS_URL).info("server")
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": info.get("redis_version"),
        "rq": rq.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(result: dict[str, Any]) -> None:
    e, b, r = result["escalations"], result["baseline_noop"], result["reconcile"]
    lat, bl = e["lateness_s"], b["lateness_s"]
    plan = result["plan"]
    print()
    print(
        f"escalation bench {result['at']}: {plan['tickets']:,} tickets due over {plan['spread']:g} s, "
        f"{plan['workers']} workers, {plan['phones']} phone(s) per step"
    )
    print()
    print("| | n | p50 s | p90 s | p99 s | max s | early | missed | doubled |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    d = e["doubled"]
    doubled = (
        d["tickets_with_more_than_one_escalated_event_per_step"]
        + d["fired_rows_per_step_over_one"]
        + d["phone_alerted_twice_for_a_ticket"]
    )
    print(
        f"| escalations (fired_at - due_at) | {lat['n']:,} | {_f(lat['p50'])} | {_f(lat['p90'])} | "
        f"{_f(lat['p99'])} | {_f(lat['max'])} | {e['early']} | {e['missed']} | {doubled} |"
    )
    print(
        f"| baseline no-op RQ jobs | {bl['n']:,} | {_f(bl['p50'])} | {_f(bl['p90'])} | {_f(bl['p99'])} | "
        f"{_f(bl['max'])} | {b['early']} | {b['jobs'] - b['ran']} | - |"
    )
    ratio = result["ratio_to_baseline"]
    print(
        f"| escalations / baseline | | {_f(ratio['p50'], 2)} | | {_f(ratio['p99'], 2)} | {_f(ratio['max'], 2)} | | | |"
    )
    print()
    print("histogram (s):      " + "  ".join(f"{k}: {v}" for k, v in e["histogram_s"].items()))
    print("baseline histogram: " + "  ".join(f"{k}: {v}" for k, v in b["histogram_s"].items()))
    print()
    parts = result["lateness_parts_s"]
    print(f"fired by: {parts.get('fired_by', {})}")
    keys = ("rounding_up_to_the_second", "rq_scheduler_release_after_that_second", "queue_wait")
    if parts["rows_with_rq_times"]:
        print(f"lateness parts of the {parts['rows_with_rq_times']:,} fired by RQ jobs (baseline alongside):")
        for key in (*keys, "job_start_to_fired_at"):
            p, bp = parts[key], b.get(key)
            extra = f"   baseline p50 {_f(bp['p50'])} p99 {_f(bp['p99'])} max {_f(bp['max'])}" if bp else ""
            print(f"  {key:<42} p50 {_f(p['p50'])} p99 {_f(p['p99'])} max {_f(p['max'])}{extra}")
    else:
        print("baseline lateness parts:")
        for key in keys[1:]:
            bp = b[key]
            print(f"  {key:<42} p50 {_f(bp['p50'])} p99 {_f(bp['p99'])} max {_f(bp['max'])}")
    rs = r["seconds"]
    rp = r["pending_within_horizon"]
    print()
    print(
        f"reconcile: {r['sweeps']} sweeps, p50 {_f(rs['p50'])} s, max {_f(rs['max'])} s; pending within the "
        f"horizon p50 {_f(rp['p50'], 0)} max {_f(rp['max'], 0)}; re-queued {r['requeued_total']}"
    )
    lag = result["sms"]["sent_at_minus_due_at_s"]
    print(
        f"SMS: {result['sms']['queued_total']:,} queued, statuses {result['sms']['statuses']}; sent_at - due_at "
        f"p50 {_f(lag['p50'])} p99 {_f(lag['p99'])} max {_f(lag['max'])} s (log provider)"
    )
    if result.get("cpu_percent_of_one_core"):
        print(f"CPU (% of one core, first due to the end): {result['cpu_percent_of_one_core']}")
    print(f"seeding: {result.get('seed_seconds')} s")
    print(f"targets: {result['targets']}")


# ---------------------------------------------------------------- --pieces: what one escalation costs


def pieces(n: int, workdir: Path, profile: Path | None = None) -> dict[str, Any]:
    """CPU and wall time per row of each piece of the path, in this process, one at a time, against the
    same PostgreSQL and Redis (the full run has both workers, PostgreSQL and Redis share 2 cores)."""
    import logging

    from redis import Redis

    from hotline.settings import get_settings

    env = bench_env(bench_config(workdir / "config", 1))
    os.environ.update({k: v for k, v in env.items() if k.startswith("HOTLINE_")})
    get_settings.cache_clear()
    logging.getLogger("hotline.channels.gateways").disabled = True  # the log gateway's line per SMS
    Redis.from_url(REDIS_URL).flushdb()
    reset_database(PG_DB)
    subprocess.run([HOTLINE, "db", "upgrade"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    _, rows = seed(Plan(tickets=n, spread=1, lead=-5, workers=0, phones=1, grace=0))  # all due already
    from rq import SimpleWorker
    from sqlalchemy import select

    from hotline.core.queue import queue
    from hotline.db import unit_of_work
    from hotline.jobs import escalation as jobs
    from hotline.jobs.outbound import send_outbound_sms
    from hotline.models import OutboundMessage

    try:  # this process runs jobs itself: wire it as `hotline worker` is (the gateway types, the timer core)
        from hotline.wiring import wire

        wire()
    except ImportError:  # a checkout from before the composition root
        pass
    q = queue()
    out: dict[str, Any] = {"rows_per_piece": n // 2}
    try:  # the timer core (hotline/jobs/timers.py); before it, hotline/jobs/escalation.py had these
        from hotline.jobs import timers

        def fire_one(i: int) -> str:
            return timers.fire_timer("escalation", i)

        def fire_claimed(ids: list[int], connection: Any) -> Any:
            return timers.fire_claimed([timers.Due("escalation", i) for i in ids], connection)

        def set_timers(rows: list[tuple[int, datetime]], q: Any) -> None:
            timers.arm([(timers.Due("escalation", i), at) for i, at in rows], q)

    except ImportError:
        fire_one, fire_claimed, set_timers = jobs.fire_escalation, jobs.fire_claimed, jobs.enqueue_escalations

    def timed(name: str, count: int, work: Any) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        work()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        out[name] = {"cpu_ms": round(1000 * cpu / count, 2), "wall_ms": round(1000 * wall / count, 2)}
        say(f"{name:<58} {out[name]['cpu_ms']:6.2f} ms CPU {out[name]['wall_ms']:6.2f} ms wall per row")

    half = n // 2
    ids = [i for i, _ in rows]
    with q.connection.pipeline() as pipe:
        for _ in range(half):
            q.enqueue("builtins.len", "x", result_ttl=0, pipeline=pipe)
        pipe.execute()
    worker = SimpleWorker([q], connection=q.connection)
    timed("RQ SimpleWorker: one no-op job", half, lambda: worker.work(burst=True, logging_level="ERROR"))
    timed(
        "fire one row per transaction (fire_escalation, no RQ)",
        half,
        lambda: [fire_one(i) for i in ids[:half]],
    )
    q.connection.delete(q.key)  # their SMS jobs: not run here
    profiler = cProfile.Profile() if profile else None  # --profile: call and statement counts do not vary with load

    def releaser_piece() -> None:
        if profiler:
            profiler.enable()
        try:
            fire_claimed(ids[half:], q.connection)
        finally:
            if profiler:
                profiler.disable()

    timed(f"fire {jobs.FIRE_CHUNK} rows per transaction (releaser)", n - half, releaser_piece)
    if profiler and profile:
        profiler.dump_stats(profile)
        say(f"profile of the releaser piece: {profile} (python -m pstats)")
    q.connection.delete(q.key)
    with unit_of_work() as session:
        sms = list(session.scalars(select(OutboundMessage.id).where(OutboundMessage.status == "queued")))
    timed("send one SMS (send_outbound_sms, log provider, no RQ)", len(sms), lambda: [*map(send_outbound_sms, sms)])
    later = [(10**7 + i, datetime.now(UTC) + timedelta(minutes=1)) for i in range(half)]
    timed("set one timer (enqueue_escalations, not yet due)", half, lambda: set_timers(later, q))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 tickets over 2 minutes")
    parser.add_argument("--tickets", type=int)
    parser.add_argument("--spread", type=float, help="seconds over which deadlines fall")
    parser.add_argument("--lead", type=float, help="seconds from the end of seeding to the first deadline")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--phones", type=int, choices=(1, 3), default=1, help="phones per step: leader, or URC")
    parser.add_argument("--baseline-every", type=int, default=10, help="a baseline no-op twin per n escalations")
    parser.add_argument("--keep", action="store_true", help="keep the database and Redis data afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the p99 target is missed")
    parser.add_argument("--report", type=Path, help="print the table of an earlier results file")
    parser.add_argument("--pieces", type=int, metavar="N", help="only the CPU per piece, over N rows (e.g. 4000)")
    parser.add_argument("--profile", type=Path, help="with --pieces: cProfile the releaser piece into this file")
    args = parser.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()))
        return 0
    RESULTS.mkdir(exist_ok=True)
    if args.pieces:
        with tempfile.TemporaryDirectory(prefix="bench-esc-") as tmp:
            try:
                measured = {"at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine()}
                measured |= pieces(args.pieces, Path(tmp), args.profile)
            finally:
                from hotline.db import dispose_all

                dispose_all()
                drop_database(PG_DB)
                from redis import Redis

                Redis.from_url(REDIS_URL).flushdb()
        out = RESULTS / f"escalation_pieces-{measured['at'].replace('-', '').replace(':', '')}.json"
        out.write_text(json.dumps(measured, indent=2))
        print(f"results: {out}")
        return 0
    plan = Plan(
        tickets=args.tickets or (10_000 if args.quick else 100_000),
        spread=args.spread or (120.0 if args.quick else 600.0),
        lead=args.lead or (30.0 if args.quick else 60.0),
        workers=args.workers,
        phones=args.phones,
        grace=60.0 if args.quick else 120.0,
        baseline_every=args.baseline_every,
        quick=args.quick,
    )
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-esc-") as tmp:
        try:
            result = run(plan, Path(tmp))
        finally:
            from redis import Redis

            if not args.keep:
                with contextlib.suppress(Exception):
                    Redis.from_url(REDIS_URL).flushdb()
                with contextlib.suppress(Exception):
                    from hotline.db import dispose_all

                    dispose_all()
                drop_database(PG_DB)
    result["wall_seconds"] = round(time.monotonic() - began, 1)
    out = RESULTS / f"escalation-{result['at'].replace('-', '').replace(':', '')}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    report(result)
    print(f"\nresults: {out} (whole run {result['wall_seconds']:.0f} s)")
    t = result["targets"]
    ok = t["none_early"] and t["none_missed"] and t["none_doubled"]
    return 0 if ok and (t["p99_under_2s"] or not args.strict) else 1


if __name__ == "__main__":
    sys.exit(main())
