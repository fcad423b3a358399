"""bench/sms_ingest: how many signed Twilio SMS webhooks per second `hotline serve` takes in, sustained.

    .venv/bin/python bench/sms_ingest.py            # full run, about 5 minutes
    .venv/bin/python bench/sms_ingest.py --quick    # CI-sized, under a minute

For each worker count (default 1 and 2), in one run:
1. the baseline (bench/baseline_app.py: bare FastAPI, reads the form, answers the same TwiML) under
   uvicorn with that many workers, then
2. `hotline serve --workers W` on PostgreSQL (database hotline_bench, dropped and created here) and
   Redis (db 9, flushed before and after); no `hotline worker` runs, so jobs pile up in Redis,
each get a short warm-up and then open-loop steps at increasing rates from bench/loadgen.py (a
separate process; requests pre-signed before the clock starts, every MessageSid unique). Per step:
offered and achieved rate, p50/p99/max latency from the time each request was due, errors, and the
CPU time the server, PostgreSQL, Redis and the generator used. A step is *sustained* when achieved
>= 95 % of offered, p99 < 200 ms and there are no errors.

Other people's processes share this machine: each step waits (up to 15 s) for the machine to be quiet,
and a step that failed while processes outside the bench used > 25 % of a core is run once more (the
discarded attempt stays in the JSON). PostgreSQL connections opened per step are counted too
(pg_stat_database.sessions): a pool that opens and closes connections under load shows there.

After each hotline ramp, "no report lost" is checked: the MessageSids answered 200 are exactly the rows
of inbound_messages, and rq:queue:hotline holds one job `inbound-<id>` per row.

Prints a table and writes bench/results/sms_ingest-<time>.json. Exit 0 when the run completed and the
no-loss checks passed (targets missed are reported, not an error; --strict makes them one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from bench_services import PG_ADMIN_DSN, database_url, drop_database, hotline_env, reset_database
from redis import Redis

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
HOTLINE = str(Path(PYTHON).with_name("hotline"))

PG_DB = "hotline_bench"
PG_DSN = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
DATABASE_URL = database_url(PG_DB)
REDIS_URL = "redis://127.0.0.1:6379/9"
QUEUE_KEY = "rq:queue:hotline"
AUTH_TOKEN = "bench-twilio-auth-token-0123456789abcdef"

SUSTAINED_ACHIEVED = 0.95
SUSTAINED_P99_MS = 200.0
TARGET_RATE = 500.0
TARGET_P99_AT = 200.0
TARGET_P99_MS = 50.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOISY_OTHER_CPU = 25.0  # % of one core used by processes outside the bench: the step's figures are suspect


# ---------------------------------------------------------------- CPU accounting from /proc


def _proc_ticks(pid: int) -> tuple[int, int, str, int]:
    """(utime+stime ticks, parent pid, command name, ticks of its exited and reaped children)."""
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12]), int(fields[1]), name, int(fields[13]) + int(fields[14])


def _all_procs() -> dict[int, tuple[int, int, str, int]]:
    procs: dict[int, tuple[int, int, str, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                procs[int(entry)] = _proc_ticks(int(entry))
    return procs


def _system_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


GROUPS = ("server", "postgres", "redis", "loadgen")


def _postgres_is_ours(pid: int) -> bool:
    """PostgreSQL's own processes (WAL writer, checkpointer...) and backends of our database only."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return False
    words = title.split(": ", 2)[-1].split()
    is_backend = len(words) >= 3 and ("(" in words[2] or words[2] == "[local]")
    return not is_backend or words[1] == PG_DB


@dataclass
class CpuSample:
    ticks: dict[int, tuple[str, int]]  # pid -> (group, utime+stime ticks)
    busy: int
    total: int
    at: float


def cpu_sample(server_pid: int | None, loadgen_pid: int | None) -> CpuSample:
    procs = _all_procs()
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    tree: set[int] = set()
    stack = [server_pid] if server_pid else []
    while stack:
        pid = stack.pop()
        if pid in procs and pid not in tree:
            tree.add(pid)
            stack.extend(children.get(pid, []))
    ticks: dict[int, tuple[str, int]] = {}
    for pid, (t, _, name, reaped) in procs.items():
        if pid in tree:
            ticks[pid] = ("server", t)
        elif pid == loadgen_pid:
            ticks[pid] = ("loadgen", t)
        elif name.startswith("postgres") and _postgres_is_ours(pid):
            # The postmaster reaps backends: a connection opened and closed within the step is only seen there
            # (it may be another database's; PostgreSQL is shared on this machine).
            ticks[pid] = ("postgres", t + reaped)
        elif name.startswith("redis-server"):
            ticks[pid] = ("redis", t)
    busy, total = _system_ticks()
    return CpuSample(ticks, busy, total, time.monotonic())


def cpu_percent(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Percent of one core per group; `other` is every other process and the kernel; `machine_busy`
    is the whole machine (100 = every core busy). Processes that exited during the step are missed."""
    wall = max(after.at - before.at, 1e-9)
    used = dict.fromkeys(GROUPS, 0)
    for pid, (group, t) in after.ticks.items():
        prev = before.ticks.get(pid)
        used[group] += t - (prev[1] if prev and prev[0] == group else 0)
    busy = after.busy - before.busy
    out = {k: round(100.0 * v / CLK_TCK / wall, 1) for k, v in used.items()}
    out["other"] = round(100.0 * max(0, busy - sum(used.values())) / CLK_TCK / wall, 1)
    out["machine_busy"] = round(100.0 * busy / max(after.total - before.total, 1), 1)
    return out


# ---------------------------------------------------------------- services


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(port: int) -> dict[str, str]:
    return hotline_env(
        HOTLINE_DATABASE_URL=DATABASE_URL,
        HOTLINE_REDIS_URL=REDIS_URL,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOTLINE_ENV="development",
    )


def redis() -> Redis:
    return Redis.from_url(REDIS_URL)


@dataclass
class Server:
    kind: str  # "baseline" | "hotline"
    workers: int
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    display: str | None = None  # the name in tables (bench/gateway_ingest.py: "twilio path", "kannel path")
    extra_env: dict[str, str] | None = None  # more settings for `hotline serve` (a Kannel gateway)
    loadgen_args: tuple[str, ...] = ()  # more arguments for bench/loadgen.py (--kind kannel ...)

    @property
    def name(self) -> str:
        return self.display or self.kind

    @property
    def label(self) -> str:
        return f"{self.name} w{self.workers}"

    def command(self) -> list[str]:
        if self.kind == "baseline":
            return [
                PYTHON,
                "-m",
                "uvicorn",
                "baseline_app:app",
                "--app-dir",
                str(BENCH),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--no-access-log",
            ]
        return [HOTLINE, "serve", "--workers", str(self.workers), "--host", "127.0.0.1", "--port", str(self.port)]

    def start(self) -> None:
        env = {**server_env(self.port), **(self.extra_env or {})}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode}; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    time.sleep(1.0 if self.workers > 1 else 0.2)  # let every worker finish starting
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.label} did not answer /healthz within 60 s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own session, started above
            self.proc.wait(5)


# ---------------------------------------------------------------- steps


@dataclass
class Step:
    server: str
    workers: int
    rate: float
    seconds: float
    summary: dict[str, Any]
    cpu: dict[str, float]
    warmup: bool = False
    waited_for_quiet_s: float = 0.0

    @property
    def sustained(self) -> bool:
        s = self.summary
        return (
            s["error_count"] == 0
            and s["achieved_rate"] >= SUSTAINED_ACHIEVED * self.rate
            and s["latency_ms"]["p99"] < SUSTAINED_P99_MS
        )

    @property
    def noisy(self) -> bool:
        """Something outside the bench took a real share of the machine during the step."""
        return self.cpu.get("other", 0.0) > NOISY_OTHER_CPU

    def row(self) -> dict[str, Any]:
        s = self.summary
        return {
            "server": self.server,
            "workers": self.workers,
            "warmup": self.warmup,
            "offered_rate": self.rate,
            "seconds": self.seconds,
            "sent": s["sent"],
            "ok": s["ok"],
            "achieved_rate": round(s["achieved_rate"], 1),
            "latency_ms": {k: round(v, 2) for k, v in s["latency_ms"].items()},
            "send_lag_ms": {k: round(v, 2) for k, v in s["send_lag_ms"].items()},
            "connections_opened": s["connections_opened"],
            "pg_connections_opened": s.get("pg_connections_opened"),
            "status_counts": s["status_counts"],
            "errors": s["errors"],
            "error_count": s["error_count"],
            "cpu_percent_of_one_core": self.cpu,
            "noisy": self.noisy,
            "waited_for_quiet_s": self.waited_for_quiet_s,
            "sustained": self.sustained,
        }


def run_step(
    server: Server,
    *,
    rate: float,
    seconds: float,
    sid_prefix: str,
    seed: int,
    workdir: Path,
    ok_sids: list[str],
    warmup: bool = False,
) -> Step:
    out = workdir / f"{server.kind}-w{server.workers}-{rate:g}-{seed}.json"
    cmd = [
        PYTHON,
        str(BENCH / "loadgen.py"),
        "--port",
        str(server.port),
        "--token",
        AUTH_TOKEN,
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        "--sid-prefix",
        sid_prefix,
        "--seed",
        str(seed),
        "--out",
        str(out),
        *server.loadgen_args,
    ]
    assert server.proc is not None
    sessions_before = pg_sessions() if server.kind == "hotline" else None
    gen = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    before: CpuSample | None = None
    after: CpuSample | None = None
    assert gen.stdout is not None
    for line in gen.stdout:
        if line.startswith("START"):
            before = cpu_sample(server.proc.pid, gen.pid)
        elif line.startswith("END"):
            after = cpu_sample(server.proc.pid, gen.pid)
    if gen.wait(seconds + 120) != 0 or before is None or after is None:
        raise RuntimeError(f"load generator failed at {rate}/s against {server.label}")
    summary = json.loads(out.read_text())
    ok_sids.extend(summary.pop("ok_sids"))
    out.unlink()
    if sessions_before is not None:
        time.sleep(0.6)  # session counts reach pg_stat_database within about half a second
        sessions_after = pg_sessions()
        summary["pg_connections_opened"] = None if sessions_after is None else sessions_after - sessions_before
    return Step(server.name, server.workers, rate, seconds, summary, cpu_percent(before, after), warmup)


def pg_sessions() -> int | None:
    """Connections ever opened to the bench database (pg_stat_database.sessions, PostgreSQL 14+)."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (PG_DB,)).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row and row[0] is not None else None


def wait_for_quiet(server: Server, max_wait: float) -> float:
    """Wait (up to max_wait s) until processes outside the bench use less than NOISY_OTHER_CPU; return the wait."""
    started = time.monotonic()
    pid = server.proc.pid if server.proc else None
    while time.monotonic() - started < max_wait:
        before = cpu_sample(pid, None)
        time.sleep(0.5)
        if cpu_percent(before, cpu_sample(pid, None))["other"] < NOISY_OTHER_CPU:
            break
    return time.monotonic() - started


def ramp(
    server: Server,
    *,
    rates: list[float],
    seconds: float,
    sid_prefix: str,
    workdir: Path,
    ok_sids: list[str],
    settle: float,
    noisy_retries: int,
    discarded: list[dict[str, Any]],
) -> list[Step]:
    """Warm-up, then the steps in order until two in a row are not sustained or one is far past saturation.

    Other people's processes share this machine: before each step we wait (up to 15 s) for them to quiet
    down, and a step that was not sustained *and* was noisy is run again (up to `noisy_retries` times).
    The discarded attempts are kept in the JSON; their 200s count in the no-loss check like any other."""
    steps = [
        run_step(
            server, rate=50, seconds=2, sid_prefix=sid_prefix, seed=0, workdir=workdir, ok_sids=ok_sids, warmup=True
        )
    ]
    print_step(steps[-1])
    failures = 0
    for seed, rate in enumerate(rates, start=1):
        for attempt in range(noisy_retries + 1):
            time.sleep(settle)
            waited = wait_for_quiet(server, 15.0)
            step = run_step(
                server,
                rate=rate,
                seconds=seconds,
                sid_prefix=sid_prefix,
                seed=seed * 10 + attempt,
                workdir=workdir,
                ok_sids=ok_sids,
            )
            step.waited_for_quiet_s = round(waited, 1)
            print_step(step)
            if step.sustained or not step.noisy or attempt == noisy_retries:
                break
            discarded.append(step.row())
            print(
                f"    {server.label}: repeating the {rate:g}/s step (not sustained while the machine was busy)",
                flush=True,
            )
        steps.append(step)
        failures = 0 if step.sustained else failures + 1
        overloaded = step.summary["achieved_rate"] < 0.7 * rate or step.summary["error_count"] > 0
        if failures >= 2 or overloaded:
            print(f"    {server.label}: stopping the ramp (past saturation)", flush=True)
            break
    return steps


# ---------------------------------------------------------------- no-loss check


def check_no_loss(ok_sids: list[str]) -> dict[str, Any]:
    with psycopg.connect(PG_DSN) as conn:
        rows = conn.execute("SELECT id, provider_sid FROM inbound_messages").fetchall()
    stored = {sid: mid for mid, sid in rows}
    answered = set(ok_sids)
    r = redis()
    queued = [j.decode() for j in r.lrange(QUEUE_KEY, 0, -1)]
    expected_jobs = {f"inbound-{mid}" for mid in stored.values()}
    with r.pipeline(transaction=False) as pipe:
        for job in queued:
            pipe.exists(f"rq:job:{job}")
        job_hashes = sum(int(x) for x in pipe.execute())
    lost = answered - set(stored)
    result = {
        "answered_200": len(ok_sids),
        "answered_200_unique": len(answered),
        "rows_in_inbound_messages": len(rows),
        "answered_but_not_stored": len(lost),
        "stored_but_not_answered_200": len(set(stored) - answered),
        "jobs_in_queue": len(queued),
        "jobs_in_queue_unique": len(set(queued)),
        "rows_without_a_queued_job": len(expected_jobs - set(queued)),
        "queued_jobs_without_a_row": len(set(queued) - expected_jobs),
        "queued_jobs_with_job_hash": job_hashes,
    }
    result["ok"] = (
        len(ok_sids) == len(answered) == len(rows)
        and not lost
        and result["stored_but_not_answered_200"] == 0
        and len(queued) == len(set(queued)) == len(rows)
        and set(queued) == expected_jobs
        and job_hashes == len(rows)
    )
    return result


# ---------------------------------------------------------------- report


def fmt(v: float) -> str:
    return "-" if v != v else (f"{v:.1f}" if v < 100 else f"{v:.0f}")


def print_step(step: Step) -> None:
    s, c = step.summary, step.cpu
    lat = s["latency_ms"]
    tag = "warm-up" if step.warmup else ("ok" if step.sustained else "NOT sustained")
    opened = s.get("pg_connections_opened")
    pg_conns = f" pg conns +{opened}" if opened is not None else ""
    if step.noisy:
        tag += f" (noisy: other processes used {c['other']:.0f}% of a core)"
    print(
        f"  {step.server:>8} w{step.workers} {step.rate:>6g}/s -> {s['achieved_rate']:7.1f}/s  "
        f"p50 {fmt(lat['p50']):>6} p99 {fmt(lat['p99']):>6} max {fmt(lat['max']):>6} ms  "
        f"err {s['error_count']:>4}  cpu srv {c['server']:5.1f}% pg {c['postgres']:5.1f}% "
        f"redis {c['redis']:4.1f}% gen {c['loadgen']:4.1f}% other {c['other']:5.1f}%{pg_conns}  {tag}",
        flush=True,
    )


def markdown_table(steps: list[Step]) -> str:
    lines = [
        "| server | workers | offered/s | achieved/s | p50 ms | p99 ms | max ms | errors "
        "| CPU server | CPU postgres | CPU redis | CPU loadgen | CPU other | PG conns opened | sustained |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step in steps:
        if step.warmup:
            continue
        s, c, lat = step.summary, step.cpu, step.summary["latency_ms"]
        errors = ", ".join(f"{k}: {v}" for k, v in s["errors"].items()) or "0"
        lines.append(
            f"| {step.server} | {step.workers} | {step.rate:g} | {s['achieved_rate']:.1f} | {fmt(lat['p50'])} "
            f"| {fmt(lat['p99'])} | {fmt(lat['max'])} | {errors} | {c['server']:.0f}% | {c['postgres']:.0f}% "
            f"| {c['redis']:.0f}% | {c['loadgen']:.0f}% | {c['other']:.0f}%{' (noisy)' if step.noisy else ''} "
            f"| {'-' if s.get('pg_connections_opened') is None else s['pg_connections_opened']} "
            f"| {'yes' if step.sustained else 'no'} |"
        )
    return "\n".join(lines)


def step_from_row(row: dict[str, Any]) -> Step:
    """A Step back from its JSON row (for --report)."""
    summary = {
        "sent": row["sent"],
        "ok": row["ok"],
        "achieved_rate": row["achieved_rate"],
        "latency_ms": row["latency_ms"],
        "errors": row["errors"],
        "error_count": row["error_count"],
        "pg_connections_opened": row.get("pg_connections_opened"),
    }
    return Step(
        row["server"],
        row["workers"],
        row["offered_rate"],
        row["seconds"],
        summary,
        row["cpu_percent_of_one_core"],
        row["warmup"],
        row.get("waited_for_quiet_s", 0.0),
    )


def max_sustained(steps: list[Step], kind: str, workers: int) -> float:
    """Highest offered rate sustained, counting only steps whose lower rates were all sustained too."""
    best = 0.0
    for step in steps:
        if step.warmup or step.server != kind or step.workers != workers:
            continue
        if not step.sustained:
            break
        best = step.rate
    return best


def code_version() -> dict[str, Any]:
    """Which hotline code was measured: the commit, and a hash of hotline/ as it was on disk."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "hotline").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "hotline_changed_files": git("status", "--porcelain", "--", "hotline").splitlines(),
        "hotline_sha256": digest.hexdigest()[:16],
    }


def machine_info() -> dict[str, Any]:
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with psycopg.connect(PG_ADMIN_DSN) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        pg_version = str(row[0]) if row else "?"
    redis_version = str(redis().info("server").get("redis_version", "?"))
    versions: dict[str, str] = {}
    from importlib.metadata import version

    for dist in (
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "sqlalchemy",
        "psycopg",
        "rq",
        "redis",
        "twilio",
        "python-multipart",
    ):
        with contextlib.suppress(Exception):
            versions[dist] = version(dist)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "postgresql": pg_version,
        "redis": redis_version,
        "packages": versions,
    }


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized run: 1 worker, 3 short steps")
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts to try (default 1 2)")
    parser.add_argument("--rates", type=float, nargs="+", help="offered rates per step, ascending")
    parser.add_argument("--seconds", type=float, help="length of each step")
    parser.add_argument("--only", choices=["baseline", "hotline"], help="run one server kind only")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--noisy-retries",
        type=int,
        default=1,
        help="repeat a failed step this often when other processes loaded the machine",
    )
    parser.add_argument("--out", type=Path, help="JSON result (default bench/results/sms_ingest-<time>.json)")
    parser.add_argument("--report", type=Path, help="only print the table of an earlier result JSON")
    args = parser.parse_args(argv)
    if args.report:
        print(markdown_table([step_from_row(row) for row in json.loads(args.report.read_text())["steps"]]))
        return 0

    workers: list[int] = args.workers or ([1] if args.quick else [1, 2])
    rates: list[float] = args.rates or ([100, 200, 500] if args.quick else [100, 200, 300, 400, 500, 600, 800, 1000])
    seconds: float = args.seconds or (4.0 if args.quick else 8.0)
    settle = 0.5 if args.quick else 1.0
    kinds = [args.only] if args.only else ["baseline", "hotline"]
    hot = "hotline"
    names = {"baseline": "baseline", "hotline": hot}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path: Path = args.out or RESULTS / f"sms_ingest-{stamp}.json"
    logdir = RESULTS / f"sms_ingest-{stamp}-logs"
    logdir.mkdir(parents=True, exist_ok=True)

    info = machine_info()
    print(
        f"sms_ingest: {info['nproc']} CPUs ({info['cpu_model']}), {info['memory_gib']} GiB, Python {info['python']}, "
        f"PostgreSQL {info['postgresql']}, Redis {info['redis']}"
    )
    print(
        f"steps: {', '.join(f'{r:g}' for r in rates)}/s x {seconds:g} s; workers {workers}; "
        f"sustained = achieved >= {SUSTAINED_ACHIEVED:.0%} of offered, p99 < {SUSTAINED_P99_MS:g} ms, no errors",
        flush=True,
    )

    quiet_before = cpu_sample(None, None)
    time.sleep(1.0)
    background = cpu_percent(quiet_before, cpu_sample(None, None))
    info["background_cpu_before_run"] = background
    print(
        f"background before the run (1 s): postgres {background['postgres']}%, redis {background['redis']}%, "
        f"other {background['other']}% of one core",
        flush=True,
    )
    started = time.monotonic()
    steps: list[Step] = []
    no_loss: dict[str, dict[str, Any]] = {}
    discarded: list[dict[str, Any]] = []
    r = redis()
    try:
        with tempfile.TemporaryDirectory(prefix="sms_ingest-") as tmp:
            workdir = Path(tmp)
            for w in workers:
                for kind in kinds:
                    server = Server(kind, w, free_port(), logdir / f"{names[kind]}-w{w}.log")
                    sid_prefix = uuid.uuid4().hex[:8]
                    ok_sids: list[str] = []
                    if kind == "hotline":
                        r.flushdb()
                        reset_database(PG_DB)
                        subprocess.run(
                            [HOTLINE, "db", "upgrade"],
                            cwd=ROOT,
                            env=server_env(server.port),
                            check=True,
                            stdout=subprocess.DEVNULL,
                        )
                    print(f"{server.label}: starting on port {server.port}", flush=True)
                    server.start()
                    try:
                        steps += ramp(
                            server,
                            rates=rates,
                            seconds=seconds,
                            sid_prefix=sid_prefix,
                            workdir=workdir,
                            ok_sids=ok_sids,
                            settle=settle,
                            noisy_retries=args.noisy_retries,
                            discarded=discarded,
                        )
                    finally:
                        server.stop()
                    if kind == "hotline":
                        check = check_no_loss(ok_sids)
                        no_loss[server.label] = check
                        print(
                            f"  no-loss check {server.label}: {'OK' if check['ok'] else 'FAILED'} "
                            f"(200s {check['answered_200']}, rows {check['rows_in_inbound_messages']}, "
                            f"queued jobs {check['jobs_in_queue']})",
                            flush=True,
                        )
    finally:
        r.flushdb()
        with contextlib.suppress(Exception):
            drop_database(PG_DB)
    elapsed = time.monotonic() - started

    best: dict[str, dict[str, float]] = {}
    for w in workers:
        best[str(w)] = {names[kind]: max_sustained(steps, names[kind], w) for kind in kinds}
    hot_best = max((b.get(hot, 0.0) for b in best.values()), default=0.0)
    p99_at = [
        s.summary["latency_ms"]["p99"] for s in steps if s.server == hot and not s.warmup and s.rate == TARGET_P99_AT
    ]
    targets: dict[str, Any] = {}
    if "hotline" in kinds:
        targets = {
            f"sustained_{TARGET_RATE:g}_per_s": {"best_hotline_rate": hot_best, "met": hot_best >= TARGET_RATE},
            f"p99_under_{TARGET_P99_MS:g}ms_at_{TARGET_P99_AT:g}_per_s": {
                "p99_ms_per_worker_count": [round(p, 2) for p in p99_at],
                "met": (min(p99_at) < TARGET_P99_MS) if p99_at else None,
            },
            "no_report_lost": {"met": bool(no_loss) and all(c["ok"] for c in no_loss.values())},
        }
        if max(rates) < TARGET_RATE:
            targets[f"sustained_{TARGET_RATE:g}_per_s"]["note"] = "not reached by the steps of this run"

    table = markdown_table(steps)
    print()
    print(table)
    print()
    for w, b in best.items():
        parts = [f"{k} {v:g}/s" for k, v in b.items()]
        ratio = ""
        if b.get("baseline") and hot in b:
            ratio = f"  ratio hotline/baseline {b[hot] / b['baseline']:.2f}"
        print(f"max sustained, {w} worker(s): {', '.join(parts)}{ratio}")
        if b.get("baseline", 0) >= max(rates):
            print(f"  (baseline sustained the highest step offered, {max(rates):g}/s: its real ceiling is higher)")
    for label, check in no_loss.items():
        print(f"no report lost ({label}): {'yes' if check['ok'] else 'NO'} {json.dumps(check)}")
    for name, t in targets.items():
        verdict = "not measured in this run" if t["met"] is None else ("met" if t["met"] else "NOT met")
        print(f"target {name}: {verdict}")
    print(f"elapsed {elapsed:.0f} s; result {out_path}")

    result = {
        "bench": "sms_ingest",
        "started_utc": stamp,
        "elapsed_s": round(elapsed, 1),
        "quick": args.quick,
        "command": " ".join([".venv/bin/python", "bench/sms_ingest.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": info,
        "code": code_version(),
        "criteria": {
            "sustained": {"achieved_ratio_min": SUSTAINED_ACHIEVED, "p99_ms_max": SUSTAINED_P99_MS, "errors": 0}
        },
        "steps": [s.row() for s in steps],
        "discarded_noisy_attempts": discarded,
        "max_sustained_rate": best,
        "ratio_hotline_over_baseline": {
            w: (round(b[hot] / b["baseline"], 3) if b.get("baseline") and hot in b else None) for w, b in best.items()
        },
        "no_loss": no_loss,
        "targets": targets,
        "server_logs": str(logdir.relative_to(ROOT)),
        "table_markdown": table,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    shutil.copyfile(out_path, RESULTS / "sms_ingest-latest.json")
    if not all(c["ok"] for c in no_loss.values()):
        return 1
    if args.strict and not all(t["met"] is not False for t in targets.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
