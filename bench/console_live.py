"""bench/console_live: how fast a new caller reaches open consoles, and what open consoles cost the database (issue 19).

    .venv/bin/python bench/console_live.py --label after
    .venv/bin/python bench/console_live.py --code /work/main --label before   # another checkout's code, same bench

A PostgreSQL database of its own (`console_live_bench`, dropped after), migrated by the code under test, and a real
`hotline serve` (1 process, the shipped city, Redis db 3, SMS to the log). For each number of consoles (1, then 20 by
default) that many console sessions are signed in (GET /console/login, POST the form) and each opens /console/live,
as a browser tab does. First the consoles sit idle for `--idle` seconds: the database's transactions per second
(pg_stat_database.xact_commit of the bench database) are what the open tabs cost when nothing happens. Then callers
arrive at `--per-minute` for `--seconds`, by the real call path: Twilio's signed Voice webhooks (the call comes in,
the caller presses 0 for an operator: the call waits in the queue); each call's latency on each console is from just
before that second webhook is sent to the `queue` event whose table holds the caller's number. A caller seen by
every console hangs up (the status callback), as when an operator takes the call, so the queue stays short.
Prints p50/p99 per number of consoles and the ratio to the first step; writes
bench/results/console_live-<label>-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from bench_services import PG_ADMIN_DSN, database_url, drop_database, hotline_env, reset_database
from twilio.request_validator import RequestValidator

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
DB = "console_live_bench"
REDIS_URL = "redis://127.0.0.1:6379/3"
FIXTURES = ROOT / "tests" / "fixtures" / "twilio"
TOKEN = secrets.token_hex(20)
PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(code: Path, port: int) -> dict[str, str]:
    env = hotline_env(
        HOTLINE_DATABASE_URL=database_url(DB),
        HOTLINE_REDIS_URL=REDIS_URL,
        HOTLINE_QUEUE=f"console-live-bench-{port}",
        HOTLINE_ENV="development",
        HOTLINE_SMS_PROVIDER="log",
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOTLINE_DATA_DIR=str(BENCH / "results" / "console-live-var"),
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_FROM_NUMBER="+62341000000",
    )
    env["PYTHONPATH"] = str(code)  # the checkout whose code runs
    return env


def hotline(code: Path, port: int, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [PYTHON, "-c", "from hotline.cli import main; main()", *args],
        cwd=code,
        env=env_for(code, port),
        input=stdin,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"hotline {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def transactions() -> int:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (DB,)
        ).fetchone()
    return int(row[0]) if row else 0


class Voice:
    """Signed Twilio Voice webhooks for one caller (the captured payloads of tests/fixtures/twilio)."""

    def __init__(self, http: httpx.AsyncClient, base: str, number: str):
        self.http, self.base, self.number = http, base, number
        self.sid = f"CA{secrets.token_hex(16)}"

    async def post(self, path: str, fixture: str, **params: str) -> None:
        data = json.loads((FIXTURES / f"voice_{fixture}.json").read_text())
        data["CallSid"] = self.sid
        if "From" in data:
            data.update(From=self.number, Caller=self.number)
        data.update(params)
        url = self.base + path
        signature = RequestValidator(TOKEN).compute_signature(url, data)
        answer = await self.http.post(url, data=data, headers={"X-Twilio-Signature": signature})
        answer.raise_for_status()


async def sign_in(base: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, read=60))
    page = await client.get("/console/login")
    found = CSRF.search(page.text)
    assert found, "no CSRF field on the login page"
    answer = await client.post(
        "/console/login", data={"username": "bench", "password": PASSWORD, "csrf": found.group(1)}
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


async def console(client: httpx.AsyncClient, seen: dict[str, float], opened: asyncio.Event) -> None:
    """One open tab: notes when each caller's number first appears in a `queue` event."""
    async with client.stream("GET", "/console/live") as stream:
        name, data = "", []
        async for line in stream.aiter_lines():
            if line.startswith("retry:"):
                opened.set()
            elif line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif not line:
                if name == "queue":
                    now = time.monotonic()
                    for number in re.findall(r"\+62899\d{6}", "".join(data)):
                        seen.setdefault(number, now)
                name, data = "", []


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def one_step(
    base: str, consoles: int, per_minute: int, seconds: float, idle: float, first: int
) -> dict[str, Any]:
    clients = [await sign_in(base) for _ in range(consoles)]
    seen: list[dict[str, float]] = [{} for _ in clients]
    opened = [asyncio.Event() for _ in clients]
    tabs = [asyncio.create_task(console(c, s, o)) for c, s, o in zip(clients, seen, opened, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 30)
    # PostgreSQL flushes an idle session's statistics within 10 s: the sign-ins are counted before the window.
    await asyncio.sleep(11)
    before, started = transactions(), time.monotonic()
    await asyncio.sleep(idle)
    idle_tps = (transactions() - before) / (time.monotonic() - started)

    sent: dict[str, float] = {}
    webhooks = httpx.AsyncClient(timeout=30)
    hangups: list[asyncio.Task[None]] = []

    async def caller(number: str) -> None:
        voice = Voice(webhooks, base, number)
        await voice.post("/twilio/voice", "incoming")
        sent[number] = time.monotonic()
        await voice.post("/twilio/voice/gather", "gather_digits", Digits="0")  # to an operator: queued
        deadline = time.monotonic() + 30
        while not all(number in s for s in seen) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await voice.post("/twilio/voice/status", "status_completed", CallStatus="completed")

    count = int(per_minute * seconds / 60)
    gap = 60 / per_minute
    t0 = time.monotonic()
    for i in range(count):
        await asyncio.sleep(max(0.0, t0 + i * gap - time.monotonic()))
        hangups.append(asyncio.create_task(caller(f"+62899{first + i:06d}")))
    await asyncio.gather(*hangups)
    for tab in tabs:
        tab.cancel()
    await asyncio.gather(*tabs, return_exceptions=True)
    for c in clients:
        await c.aclose()
    await webhooks.aclose()
    latencies = [(s[n] - sent[n]) * 1000 for s in seen for n in sent if n in s]
    missed = sum(1 for s in seen for n in sent if n not in s)
    return {
        "consoles": consoles,
        "calls": count,
        "deliveries": len(latencies),
        "missed": missed,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(pct(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "idle_db_transactions_per_s": round(idle_tps, 2),
    }


def measure(code: Path, steps: list[int], per_minute: int, seconds: float, idle: float) -> list[dict[str, Any]]:
    port = free_port()
    reset_database(DB)
    hotline(code, port, "db", "upgrade")
    hotline(code, port, "user", "add", "bench", "--role", "operator", "--password-stdin", stdin=f"{PASSWORD}\n")
    (BENCH / "results").mkdir(exist_ok=True)
    log = (BENCH / "results" / "console-live-serve.log").open("ab")
    proc = subprocess.Popen(
        [PYTHON, "-c", "from hotline.cli import main; main()", "serve", "--port", str(port)],
        cwd=code,
        env=env_for(code, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("hotline serve did not start (bench/results/console-live-serve.log)")
            time.sleep(0.2)
        rows = []
        for i, consoles in enumerate(steps):
            rows.append(asyncio.run(one_step(base, consoles, per_minute, seconds, idle, first=i * 10_000)))
            print(json.dumps(rows[-1]))
        return rows
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        drop_database(DB)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--consoles", default="1,20", help="numbers of open consoles, one step each")
    parser.add_argument("--per-minute", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=36.0)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--label", default="run")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    steps = [int(n) for n in args.consoles.split(",")]
    rows = measure(args.code.resolve(), steps, args.per_minute, args.seconds, args.idle)
    one = rows[0]
    for row in rows:
        if one["p99_ms"] and row["p99_ms"]:
            row["p99_ratio_to_first"] = round(row["p99_ms"] / one["p99_ms"], 2)
        if one["idle_db_transactions_per_s"]:
            row["db_ratio_to_first"] = round(row["idle_db_transactions_per_s"] / one["idle_db_transactions_per_s"], 2)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    commit = subprocess.run(
        ["git", "-C", str(args.code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result = {"label": args.label, "commit": commit, "load_1min_before": round(load, 2), "rows": rows}
    result["load_1min_after"] = round(os.getloadavg()[0], 2)
    out = BENCH / "results" / f"console_live-{args.label}-{stamp}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"{'consoles':>8} {'calls':>5} {'seen':>5} {'missed':>6} {'p50 ms':>8} {'p99 ms':>8} {'idle DB tx/s':>12}")
    for row in rows:
        print(
            f"{row['consoles']:>8} {row['calls']:>5} {row['deliveries']:>5} {row['missed']:>6} "
            f"{row['p50_ms']!s:>8} {row['p99_ms']!s:>8} {row['idle_db_transactions_per_s']:>12}"
        )
    print(f"written: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
