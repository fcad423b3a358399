"""bench/ari_calls: N concurrent calls through the fake ARI; event-to-command latency and CPU per call.

    flock /tmp/hotline-bench.lock .venv/bin/python bench/ari_calls.py               # 200 calls, ~1 min
    flock /tmp/hotline-bench.lock .venv/bin/python bench/ari_calls.py --calls 50 --write
    flock /tmp/hotline-bench.lock .venv/bin/python bench/ari_calls.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

One run, two ARI apps, each its own process against a fresh fake ARI (hotline/fakes/fake_ari.py, served
from this process) on the same machine:

1. baseline: bench/ari_baseline_app.py, the smallest app on the same client: one fixed command per event.
   Each call: StasisStart, then 5 keys, each answered with one playback; the caller hangs up.
2. hotline: `hotline ari` on a real database (SQLite in a temp dir, or --database-url) and Redis (embedded,
   or --redis-url), the Kota Batu flow: StasisStart, 9 (English), 2 (a report), 1 (roads), 2 (Bumiaji),
   10 s of voice, the ticket number read back, the app hangs up. Every call opens and routes a ticket.

Calls start evenly over --ramp seconds (10); every prompt "plays" for --playback seconds (3; the Kota
Batu menus are longer) and a caller presses each key --think-min..--think-max seconds (0.5..2.5) after it
ended, so a call lasts ~25 s and all N calls are in progress at once: ~50 caller events a second for 200
calls. `--ramp 2 --playback 0.2 --think-min 0.4 --think-max 1.2` squeezes the same calls into ~6 s
(~200 events a second): a stress run that shows where one app process saturates.

Latency: from the moment the fake raises an event the caller caused (StasisStart, a key, the end of a
recording) to the first request the app sends for that channel in answer; measured in this process by
the fake's own clock. CPU per call: the user+system CPU time of the app's process and any child processes
during the calls / N; this process's own CPU (the fake and the callers: not counted against the apps) is
printed beside it, with the machine's load average.
Prints progress every 2 s; --write adds the results to docs/benchmarks.md (end of section "## ari_calls").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.fakes.fake_ari import FakeAri, FakeRequest  # noqa: E402

TARGET_P99_MS = 50.0
STEP_TIMEOUT = 30.0


@dataclass
class CallResult:
    latencies: list[float] = field(default_factory=list)
    completed: bool = False
    error: str = ""


@dataclass
class PhaseResult:
    name: str
    calls: list[CallResult]
    cpu_seconds: float
    wall_seconds: float
    rejected: int
    app_duplicates: int = 0
    bench_cpu_seconds: float = 0.0  # this process: the fake ARI and the simulated callers

    @property
    def latencies_ms(self) -> list[float]:
        return sorted(x * 1000 for c in self.calls for x in c.latencies)

    def percentile(self, p: float) -> float:
        values = self.latencies_ms
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))]


class Requests:
    """The fake's requests, per channel, as they arrive."""

    def __init__(self) -> None:
        self.queues: defaultdict[str, asyncio.Queue[FakeRequest]] = defaultdict(asyncio.Queue)

    def __call__(self, request: FakeRequest) -> None:
        channel = channel_of(request.path)
        if channel:
            self.queues[channel].put_nowait(request)

    async def next(self, channel: str) -> FakeRequest:
        return await asyncio.wait_for(self.queues[channel].get(), STEP_TIMEOUT)

    async def until(self, channel: str, operation: str) -> FakeRequest:
        while True:
            request = await self.next(channel)
            if request.operation == operation:
                return request


def channel_of(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "channels":
        return parts[2]
    if len(parts) > 2 and parts[1] == "playbacks":
        return parts[2].rsplit(".", 1)[0]  # the app's playback ids are <channel>.<n>
    return None


Driver = Callable[[FakeAri, Requests, int, "argparse.Namespace"], Awaitable[CallResult]]


async def caused(requests: Requests, channel: str, action: Awaitable[object]) -> tuple[float, FakeRequest]:
    """Raise the caller's event; the seconds until the app's first request for the channel, and that request."""
    queue = requests.queues[channel]
    while not queue.empty():  # nothing before the event counts as its answer
        queue.get_nowait()
    started = time.perf_counter()
    await action
    request = await requests.next(channel)
    return request.at - started, request


async def baseline_call(fake: FakeAri, requests: Requests, i: int, args: argparse.Namespace) -> CallResult:
    result = CallResult()
    started = time.perf_counter()
    channel = await fake.dial(f"+62812{i:07d}")
    result.latencies.append((await requests.next(channel)).at - started)
    for key in "94261":
        await asyncio.sleep(args.playback + random.uniform(args.think_min, args.think_max))
        latency, _ = await caused(requests, channel, fake.press(channel, key))
        result.latencies.append(latency)
    await fake.hang_up(channel)
    result.completed = True
    return result


async def ivr_call(fake: FakeAri, requests: Requests, i: int, args: argparse.Namespace) -> CallResult:
    result = CallResult()
    started = time.perf_counter()
    channel = await fake.dial(f"+62812{i:07d}")
    result.latencies.append((await requests.next(channel)).at - started)  # answer
    await requests.until(channel, "play")  # the welcome menu
    # English (the welcome again), 2 a report, 1 roads, 2 Bumiaji: the recording
    for key, waits_for in (("9", "play"), ("2", "play"), ("1", "play"), ("2", "record")):
        # After the menu has played: a key during it would only stop the playback (no turn to measure).
        await asyncio.sleep(args.playback + random.uniform(args.think_min, args.think_max))
        latency, request = await caused(requests, channel, fake.press(channel, key))
        result.latencies.append(latency)
        if request.operation != waits_for:
            await requests.until(channel, waits_for)
    await asyncio.sleep(random.uniform(args.think_min, args.think_max))
    latency, _ = await caused(requests, channel, fake.speak(channel, 10))
    result.latencies.append(latency)
    await requests.until(channel, "hangup")  # the number read back, goodbye, the app hangs up
    result.completed = True
    return result


async def guarded(driver: Driver, fake: FakeAri, requests: Requests, i: int, args: argparse.Namespace) -> CallResult:
    await asyncio.sleep(i * args.ramp / args.calls)
    try:
        return await driver(fake, requests, i, args)
    except (TimeoutError, AssertionError) as exc:
        return CallResult(error=f"{type(exc).__name__}: {exc}")


async def phase(
    name: str, argv: list[str], env: dict[str, str], driver: Driver, args: argparse.Namespace
) -> PhaseResult:
    fake = FakeAri(playback_seconds=args.playback)
    requests = Requests()
    fake.on_request = requests
    url = await fake.start()
    app_env = {
        **env,
        "ARI_URL": url,
        "ARI_USERNAME": fake.username,
        "ARI_PASSWORD": fake.password,
        "ARI_APP": "hotline",
    }
    process = await asyncio.create_subprocess_exec(*argv, env=app_env, cwd=ROOT)
    try:
        await fake.wait_for(lambda r: r.path == "/channels", timeout=60)
        ps = psutil.Process(process.pid)
        cpu_before, bench_before = tree_cpu(ps), psutil.Process().cpu_times()
        started = time.perf_counter()
        tasks = [asyncio.create_task(guarded(driver, fake, requests, i, args)) for i in range(args.calls)]
        while not all(t.done() for t in tasks):
            await asyncio.wait(tasks, timeout=2.0)
            done = sum(1 for t in tasks if t.done())
            used = tree_cpu(ps) - cpu_before
            print(
                f"[{name}] {time.perf_counter() - started:5.1f} s  calls done {done}/{args.calls}  "
                f"requests {len(fake.requests)}  app CPU {used:.2f} s",
                flush=True,
            )
        calls = [t.result() for t in tasks]
        wall = time.perf_counter() - started
        cpu_after, bench_after = tree_cpu(ps), psutil.Process().cpu_times()
        cpu = cpu_after - cpu_before
        bench_cpu = bench_after.user + bench_after.system - bench_before.user - bench_before.system
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
        await fake.stop()
    return PhaseResult(name, calls, cpu, wall, len(fake.rejected()), bench_cpu_seconds=bench_cpu)


def tree_cpu(ps: psutil.Process) -> float:
    """User+system CPU seconds of the app with its child processes, if it has any."""
    total = 0.0
    for process in [ps, *ps.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def extra_options(args: argparse.Namespace) -> str:
    """The options beyond the load's shape, as they were given (a database URL without its password)."""
    text = ""
    if args.postgres:
        text += f" --postgres {make_url(args.postgres).render_as_string(hide_password=True)}"
    return text


def report(results: list[PhaseResult], args: argparse.Namespace, tickets: int) -> str:
    base, app = results
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores shared with other "
        f"work, Python {platform.python_version()}, database {args.database_label}. Command: "
        f"`bench/ari_calls.py --calls {args.calls} --ramp {args.ramp:g} --think-min {args.think_min:g} "
        f"--think-max {args.think_max:g} --playback {args.playback:g}{extra_options(args)}`. The fake ARI and the "
        "simulated callers run in the bench process; each app is its own process.",
        "",
        "| app | calls | completed | events measured | p50 ms | p99 ms | max ms | CPU ms per call | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        completed = sum(1 for c in r.calls if c.completed)
        values = r.latencies_ms
        lines.append(
            f"| {r.name} | {len(r.calls)} | {completed} | {len(values)} | {r.percentile(50):.1f} | "
            f"{r.percentile(99):.1f} | {max(values, default=float('nan')):.1f} | "
            f"{r.cpu_seconds / len(r.calls) * 1000:.1f} | {r.wall_seconds:.1f} |"
        )
    steps = ["StasisStart", "key 9", "key 2", "key 1", "kec 2", "RecordingFinished"]
    by_step = []
    for i, step in enumerate(steps):
        values = sorted(c.latencies[i] * 1000 for c in app.calls if len(c.latencies) > i)
        if values:
            p99 = values[min(len(values) - 1, max(0, round(0.99 * len(values)) - 1))]
            by_step.append(f"{step} {statistics.median(values):.1f}/{p99:.1f}")
    lines += ["", "hotline p50/p99 ms by event: " + ", ".join(by_step) + "."]
    ratio_p99 = app.percentile(99) / base.percentile(99)
    ratio_cpu = app.cpu_seconds / max(base.cpu_seconds, 1e-9)
    verdict = "met" if app.percentile(99) < TARGET_P99_MS else "NOT met"
    lines += [
        "",
        f"hotline / baseline: p99 x{ratio_p99:.1f}, CPU x{ratio_cpu:.1f}. Target p99 < {TARGET_P99_MS:g} ms with "
        f"{args.calls} concurrent calls: {verdict}. Tickets opened by the hotline calls: {tickets} of {args.calls}. "
        f"Requests the fake refused: baseline {base.rejected}, hotline {app.rejected}.",
        "",
        f"CPU ms per call of this bench process (fake ARI, callers): {per_call(base.bench_cpu_seconds, args)} with "
        f"the baseline, {per_call(app.bench_cpu_seconds, args)} with hotline. Load average (1 min) before/after: "
        f"{args.load}.",
    ]
    if args.worker_cpu is not None:
        lines += [
            "",
            f"Left to the RQ worker ({WORKER_RUNS[bool(args.worker_during)]}: "
            f"each ticket's activation, i.e. its deadlines and URC alert, and the SMS): "
            f"{per_call(args.worker_cpu, args)} ms CPU per call, start-up included; tickets activated: "
            f"{args.activated} of {tickets}.",
        ]
    errors = [c.error for r in results for c in r.calls if c.error]
    if errors:
        lines.append(f"Failed calls: {len(errors)}; first: {errors[0]}")
    return "\n".join(lines)


WORKER_RUNS = {False: "`hotline worker --burst` after the calls", True: "`hotline worker` running during the calls"}


def per_call(seconds: float, args: argparse.Namespace) -> str:
    return f"{seconds / args.calls * 1000:.1f}"


def run_worker(env: dict[str, str]) -> float:
    """Run the jobs the calls left (hotline worker --burst) and return the CPU seconds it took."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "hotline", "worker", "--burst"],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`hotline worker` beside the ARI app during the calls, as `hotline up` runs them on one machine."""
    return subprocess.Popen(
        [sys.executable, "-m", "hotline", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def finish_worker(worker: subprocess.Popen[bytes], database_url: str, tickets: int) -> float:
    """Wait (up to a minute) until every ticket is activated, then stop the worker; its CPU seconds."""
    deadline = time.monotonic() + 60
    while count_activated(database_url) < tickets and time.monotonic() < deadline:
        time.sleep(0.5)
    cpu = tree_cpu(psutil.Process(worker.pid))
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(30)
    return cpu


def count_activated(database_url: str) -> int:
    engine = create_engine(database_url)
    query = "SELECT count(DISTINCT ticket_id) FROM ticket_events WHERE kind = 'alerted'"
    with engine.connect() as conn:
        value = conn.execute(text(query)).scalar()
    engine.dispose()
    return int(value or 0)


def count_tickets(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT count(*) FROM tickets WHERE channel = 'voice'")).scalar()
    engine.dispose()
    return int(value or 0)


def create_pg_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the server of `base_url` (as tests/conftest.py makes them), and how to drop it."""
    url = make_url(base_url)
    name = f"hotline_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the calls start")
    parser.add_argument("--think-min", type=float, default=0.5, help="seconds a caller waits before a key")
    parser.add_argument("--think-max", type=float, default=2.5, help="below the welcome menu's 3 s timeout")
    parser.add_argument("--playback", type=float, default=3.0, help="seconds each playback lasts")
    parser.add_argument("--database-url", help="default: SQLite in a temp dir")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL server (postgresql+psycopg://postgres@127.0.0.1:5432/test): the bench creates its own "
        "database there and drops it afterwards",
    )
    parser.add_argument("--redis-url", help="default: an embedded Redis")
    parser.add_argument("--no-worker", action="store_true", help="skip running the jobs the calls left")
    parser.add_argument(
        "--worker-during", action="store_true", help="run `hotline worker` during the calls, on the same cores"
    )
    parser.add_argument("--write", action="store_true", help="add the results to docs/benchmarks.md")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-ari-"))
    drop_database = None
    if args.postgres:
        args.database_url, drop_database = create_pg_database(args.postgres)
    database_url = args.database_url or f"sqlite:///{tmp / 'hotline.db'}"
    args.database_label = database_url.split(":", 1)[0].split("+")[0]
    embedded = None
    redis_url = args.redis_url
    if not redis_url:
        from hotline.embedded_redis import EmbeddedRedis

        embedded = EmbeddedRedis(tmp / "redis")
        redis_url = embedded.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "ARI_", "TWILIO_"))},
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_REDIS_URL": redis_url,
        "HOTLINE_DATA_DIR": str(tmp / "var"),
        "HOTLINE_SMS_PROVIDER": "log",
        "HOTLINE_QUEUE": f"bench-ari-{os.getpid()}",
    }
    load_before = os.getloadavg()[0]
    try:
        subprocess.run([sys.executable, "-m", "hotline", "db", "upgrade"], env=env, check=True, cwd=ROOT)
        python = sys.executable
        results = [
            asyncio.run(
                phase("baseline", [python, str(ROOT / "bench" / "ari_baseline_app.py")], env, baseline_call, args)
            ),
        ]
        worker = start_worker(env) if args.worker_during else None
        results.append(asyncio.run(phase("hotline ari", [python, "-m", "hotline", "ari"], env, ivr_call, args)))
        args.load = f"{load_before:.2f}/{os.getloadavg()[0]:.2f}"
        if worker is not None:
            args.worker_cpu = finish_worker(worker, database_url, count_tickets(database_url))
        else:
            args.worker_cpu = None if args.no_worker else run_worker(env)
        args.activated = count_activated(database_url)
        text_report = report(results, args, count_tickets(database_url))
    finally:
        if embedded is not None:
            embedded.stop()
        if drop_database is not None:
            drop_database()
    print()
    print(text_report)
    if args.write:
        path = ROOT / "docs" / "benchmarks.md"
        write_section(path, f"\n### {args.calls} calls, prompts {args.playback:g} s\n\n{text_report}\n")
        print(f"written to {path}, section ## ari_calls")


def write_section(path: Path, text: str) -> None:
    """Add `text` at the end of the "## ari_calls" section (made at the end of the file if missing): other
    benches keep sections after it."""
    doc = path.read_text(encoding="utf-8")
    start = doc.find("\n## ari_calls\n")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n## ari_calls\n" + text
    else:
        end = doc.find("\n## ", start + 1)
        end = len(doc) if end < 0 else end
        doc = doc[:end].rstrip("\n") + "\n" + text + doc[end:]
    path.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
