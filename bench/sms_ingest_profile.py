"""Where the time goes in `POST /twilio/sms`: a companion to bench/sms_ingest.py.

    .venv/bin/python bench/sms_ingest_profile.py [--rate 200] [--seconds 15]

Two views, same PostgreSQL/Redis setup as sms_ingest.py (database hotline_bench, Redis db 9):

1. Live: `hotline serve --workers 1` under open-loop load from bench/loadgen.py while py-spy samples the
   thread holding the GIL (`--gil --nonblocking`, so the server is not paused). Samples are put in
   buckets (signature check, form parsing, DB insert, Redis enqueue, ...) and turned into CPU
   milliseconds per request with the server's measured CPU time.
2. In-process: each piece of the handler timed alone (wall and CPU microseconds per call), with the
   SQL statements and Redis commands one request costs.

Needs py-spy (`pip install py-spy`, in the dev extra). Writes bench/results/sms_ingest_profile-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_services import drop_database, reset_database
from sms_ingest import (
    CLK_TCK,
    HOTLINE,
    PG_DB,
    PYTHON,
    RESULTS,
    ROOT,
    Server,
    code_version,
    free_port,
    redis,
    run_step,
    server_env,
)

# A sample goes to the first feature bucket found anywhere in its stack (most specific first); the
# rest to the innermost library frame it is in (GENERIC), else to OTHER.
FEATURES: list[tuple[str, tuple[str, ...]]] = [
    ("signature check (twilio RequestValidator)", ("twilio/request_validator.py", "twilio/signature.py")),
    (
        "form parsing (starlette + python-multipart)",
        ("starlette/formparsers.py", "multipart/", "Request.form ", "Request._get_form "),
    ),
    ("sender number to E.164 (phonenumbers)", ("phonenumbers/", "hotline/phone.py")),
    ("DB: pool checkout + pre-ping", ("Session._connection_for_bind ",)),
    ("DB: build + run INSERT .. ON CONFLICT .. RETURNING", ("insert_inbound ", "store_inbound_sms ")),
    ("DB: transaction open, commit, close", ("unit_of_work ", "Engine.begin ")),
    ("Redis enqueue (RQ)", ("enqueue_inbound ", "rq/", "redis/")),
]
GENERIC: list[tuple[str, tuple[str, ...]]] = [
    ("thread-pool hand-off (anyio, threading)", ("anyio/", "threading.py", "queue.py", "concurrent/")),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("other hotline code", ("hotline/",)),
    ("FastAPI/Starlette routing, request, response", ("fastapi/", "starlette/")),
    ("HTTP server (uvicorn + httptools)", ("uvicorn/", "httptools")),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop")),
]
OTHER = "other (GC, interpreter, unknown)"
SAMPLE_HZ = 250


def bucket_of(stack: str) -> str:
    for name, needles in FEATURES:
        if any(n in stack for n in needles):
            return name
    for frame in reversed(stack.split(";")):
        for name, needles in GENERIC:
            if any(n in frame for n in needles):
                return name
    return OTHER


def _user_sys(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def live_profile(*, rate: float, seconds: float, workdir: Path) -> dict[str, Any]:
    py_spy = shutil.which("py-spy") or str(Path(PYTHON).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is needed: .venv/bin/pip install py-spy")
    server = Server("hotline", 1, free_port(), workdir / "hotline-w1.log")
    redis().flushdb()
    reset_database(PG_DB)
    subprocess.run(
        [HOTLINE, "db", "upgrade"], cwd=ROOT, env=server_env(server.port), check=True, stdout=subprocess.DEVNULL
    )
    server.start()
    ok: list[str] = []
    try:
        run_step(server, rate=50, seconds=2, sid_prefix="a0", seed=0, workdir=workdir, ok_sids=ok, warmup=True)
        assert server.proc is not None
        raw = workdir / "pyspy.txt"
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "--gil",
                "--nonblocking",
                "-r",
                str(SAMPLE_HZ),
                "-f",
                "raw",
                "-d",
                str(int(seconds + 1)),
                "-p",
                str(server.proc.pid),
                "-o",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)
        user0, sys0 = _user_sys(server.proc.pid)
        step = run_step(server, rate=rate, seconds=seconds, sid_prefix="a1", seed=1, workdir=workdir, ok_sids=ok)
        user1, sys1 = _user_sys(server.proc.pid)
        _, spy_err = spy.communicate(timeout=60)
        if spy.returncode != 0 or not raw.exists():
            raise RuntimeError(f"py-spy failed: {spy_err.strip()}")
    finally:
        server.stop()
        redis().flushdb()
        drop_database(PG_DB)

    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        buckets[bucket_of(stack)] += int(count)
        leaves[stack.rsplit(";", 1)[-1]] += int(count)
    total = sum(buckets.values()) or 1
    ok_count = step.summary["ok"]
    server_cpu_s = step.cpu["server"] / 100.0 * step.summary["span_s"]
    cpu_ms_per_request = 1000.0 * server_cpu_s / max(ok_count, 1)
    per_request = {"server": cpu_ms_per_request}
    for group in ("postgres", "redis"):
        per_request[group] = 1000.0 * step.cpu[group] / 100.0 * step.summary["span_s"] / max(ok_count, 1)
    # A sample is 1/SAMPLE_HZ s with the GIL held by that code; CPU used with the GIL released (libpq,
    # socket syscalls, the kernel's side of loopback TCP) is what remains of the server's CPU time.
    gil_ms = {name: 1000.0 * n / SAMPLE_HZ / max(ok_count, 1) for name, n in buckets.items()}
    rows = [
        {"bucket": name, "share_of_gil_samples": round(n / total, 4), "gil_ms_per_request": round(gil_ms[name], 3)}
        for name, n in buckets.most_common()
    ]
    rows.append(
        {
            "bucket": "server CPU with the GIL released (C code, syscalls)",
            "share_of_gil_samples": None,
            "gil_ms_per_request": round(max(0.0, cpu_ms_per_request - sum(gil_ms.values())), 3),
        }
    )
    return {
        "rate": rate,
        "seconds": seconds,
        "ok": ok_count,
        "errors": step.summary["error_count"],
        "latency_ms": step.summary["latency_ms"],
        "cpu_percent_of_one_core": step.cpu,
        "cpu_ms_per_request": {k: round(v, 3) for k, v in per_request.items()},
        "gil_samples": total,
        "buckets": rows,
        "server_user_sys_ms_per_request": {
            "user": round(1000.0 * (user1 - user0) / CLK_TCK / max(ok_count, 1), 3),
            "sys": round(1000.0 * (sys1 - sys0) / CLK_TCK / max(ok_count, 1), 3),
        },
        "top_leaf_frames": [{"frame": f, "share": round(n / total, 4)} for f, n in leaves.most_common(15)],
    }


# ---------------------------------------------------------------- in-process component timings


def components(n: int) -> dict[str, Any]:
    """Runs in a child process whose environment points hotline at the bench database and Redis."""
    import psycopg
    from fastapi.concurrency import run_in_threadpool
    from loadgen import twilio_params
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from starlette.requests import Request
    from twilio.request_validator import RequestValidator

    from hotline.core.queue import enqueue_inbound, redis_connection
    from hotline.db import get_engine, unit_of_work
    from hotline.features.sms.sms_intake import store_inbound_sms
    from hotline.models import InboundMessage, utcnow
    from hotline.phone import sender_id

    url = os.environ["HOTLINE_PUBLIC_URL"].rstrip("/") + "/twilio/sms"
    token = os.environ["TWILIO_AUTH_TOKEN"]
    params = twilio_params("SM" + uuid.uuid4().hex, "+6281234567890", "KEBAKARAN di Jl. Diponegoro 12 dekat pasar")
    signature = RequestValidator(token).compute_signature(url, params)
    from urllib.parse import urlencode

    body = urlencode(params).encode()

    def timed(fn: Callable[[int], object], count: int) -> dict[str, float]:
        fn(-1)  # warm
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            fn(i)
        return {
            "wall_us": round((time.perf_counter() - wall) / count * 1e6, 1),
            "cpu_us": round((time.process_time() - cpu) / count * 1e6, 1),
            "calls": count,
        }

    results: dict[str, Any] = {}
    results["signature check: RequestValidator(token).validate"] = timed(
        lambda _i: RequestValidator(token).validate(url, params, signature), n
    )

    loop = asyncio.new_event_loop()

    def timed_async(step: Callable[[], Awaitable[object]], count: int) -> dict[str, float]:
        async def run(k: int) -> None:
            for _ in range(k):
                await step()

        loop.run_until_complete(run(10))  # warm
        wall, cpu = time.perf_counter(), time.process_time()
        loop.run_until_complete(run(count))
        return {
            "wall_us": round((time.perf_counter() - wall) / count * 1e6, 1),
            "cpu_us": round((time.process_time() - cpu) / count * 1e6, 1),
            "calls": count,
        }

    headers = [
        (b"content-type", b"application/x-www-form-urlencoded; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def parse_form() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        request = Request(
            {"type": "http", "method": "POST", "path": "/twilio/sms", "headers": headers, "query_string": b""}, receive
        )
        form = await request.form(max_files=0, max_fields=200)
        await form.close()

    results["form parsing: await request.form()"] = timed_async(parse_form, n)
    results["thread-pool hand-off: await run_in_threadpool(noop)"] = timed_async(
        lambda: run_in_threadpool(lambda: None), n
    )
    results["sender to E.164: sender_id (phonenumbers)"] = timed(lambda _i: sender_id("+6281234567890", "ID"), n)

    # SQL statements and round trips per stored message (psycopg internals, for counting only).
    statements: list[str] = []
    original_execute = psycopg.Cursor.execute
    original_command = psycopg.Connection._exec_command

    def counting_execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(query if isinstance(query, str) else getattr(query, "text", query))[:60])
        return original_execute(self, query, *args, **kwargs)

    def counting_command(self: psycopg.Connection[Any], command: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append((command.decode() if isinstance(command, bytes) else str(command))[:60])
        return original_command(self, command, *args, **kwargs)

    prefix = uuid.uuid4().hex[:8]
    ids: list[int] = []

    def store(i: int) -> None:
        sid = f"SM{prefix}{i + 1:024d}"
        with unit_of_work() as session:
            inbound_id, _ = store_inbound_sms(
                session,
                provider="twilio",
                provider_sid=sid,
                from_raw="+6281234567890",
                from_e164="+6281234567890",
                to_number="+15005550006",
                body=params["Body"],
                payload=params,
            )
        ids.append(inbound_id)

    db_n = max(50, n // 4)
    results["DB: unit_of_work + store_inbound_sms (ORM session)"] = timed(store, db_n)
    psycopg.Cursor.execute = counting_execute  # type: ignore[assignment,method-assign]
    psycopg.Connection._exec_command = counting_command  # type: ignore[assignment,method-assign]
    try:
        store(db_n + 10_000)
    finally:
        psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
        psycopg.Connection._exec_command = original_command  # type: ignore[method-assign]
    statements_per_store = list(statements)

    engine = get_engine()
    engine.pool._pre_ping = True  # what the ping hotline no longer does would cost (diagnostic only)
    results["DB: same, with pool_pre_ping on"] = timed(lambda i: store(i + 20_000), db_n)
    engine.pool._pre_ping = False

    def row(i: int) -> dict[str, Any]:
        return {
            "provider": "twilio",
            "provider_sid": f"SM{prefix}{i + 1:024d}",
            "from_raw": "+6281234567890",
            "from_e164": "+6281234567890",
            "to_number": "+15005550006",
            "body": params["Body"],
            "payload": params,
            "status": "received",
            "received_at": utcnow(),
        }

    table = InboundMessage.__table__
    prebuilt = pg_insert(table).on_conflict_do_nothing(index_elements=["provider_sid"]).returning(table.c.id)

    def core_insert(i: int) -> None:
        with engine.begin() as conn:
            conn.execute(prebuilt, row(i + 40_000)).scalar()

    results["DB: same row, SQLAlchemy Core, statement built once, engine.begin()"] = timed(core_insert, db_n)

    sql = (
        "INSERT INTO inbound_messages (provider, provider_sid, from_raw, from_e164, to_number, body, payload, "
        "status, received_at) VALUES (%(provider)s, %(provider_sid)s, %(from_raw)s, %(from_e164)s, "
        "%(to_number)s, %(body)s, %(payload)s::json, %(status)s, %(received_at)s) "
        "ON CONFLICT (provider_sid) DO NOTHING RETURNING id"
    )
    raw = psycopg.connect(os.environ["HOTLINE_DATABASE_URL"].replace("+psycopg", ""))

    def raw_insert(i: int) -> None:
        values = row(i + 60_000)
        values["payload"] = json.dumps(values["payload"])
        with raw.transaction():
            raw.execute(sql, values, prepare=True).fetchone()

    results["DB: same row, plain psycopg, prepared, one transaction"] = timed(raw_insert, db_n)
    raw.close()

    def select_one(_i: int) -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    results["DB: one extra round trip (checkout + SELECT 1)"] = timed(select_one, db_n)

    r = redis_connection()
    before = r.info("commandstats")
    queued = iter(ids * 3)
    results["Redis: enqueue_inbound (RQ Queue.enqueue)"] = timed(lambda _i: enqueue_inbound(next(queued)), db_n)
    after = r.info("commandstats")
    calls = {k: v["calls"] - before.get(k, {"calls": 0})["calls"] for k, v in after.items()}
    per_enqueue = {k.removeprefix("cmdstat_"): round(c / (db_n + 1), 2) for k, c in calls.items() if c}
    per_enqueue.pop("info", None)
    results["Redis: one PING round trip"] = timed(lambda _i: r.ping(), n)
    return {
        "timings": results,
        "sql_per_stored_message": statements_per_store,
        "redis_commands_per_enqueue": per_enqueue,
    }


def run_components(n: int, workdir: Path) -> dict[str, Any]:
    port = free_port()
    env = server_env(port)
    redis().flushdb()
    reset_database(PG_DB)
    try:
        subprocess.run([HOTLINE, "db", "upgrade"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        out = workdir / "components.json"
        subprocess.run(
            [PYTHON, __file__, "--components-child", str(n), "--out", str(out)], cwd=ROOT, env=env, check=True
        )
        return dict(json.loads(out.read_text()))
    finally:
        redis().flushdb()
        drop_database(PG_DB)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="offered rate while profiling (1 worker)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--calls", type=int, default=2000, help="calls per in-process timing")
    parser.add_argument("--components-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    if args.components_child:
        result = components(args.components_child)
        args.out.write_text(json.dumps(result))
        return 0

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="sms_ingest_profile-") as tmp:
        workdir = Path(tmp)
        live = live_profile(rate=args.rate, seconds=args.seconds, workdir=workdir)
        comp = run_components(args.calls, workdir)

    print(
        f"\nlive: hotline serve --workers 1 at {live['rate']:g}/s for {live['seconds']:g} s: "
        f"{live['ok']} answered 200, "
        f"{live['errors']} errors, p50 {live['latency_ms']['p50']:.1f} ms, p99 {live['latency_ms']['p99']:.1f} ms"
    )
    cpu = live["cpu_ms_per_request"]
    print(
        f"CPU per request: server {cpu['server']:.2f} ms, postgres {cpu['postgres']:.2f} ms, "
        f"redis {cpu['redis']:.2f} ms  ({live['gil_samples']} GIL samples)"
    )
    split = live["server_user_sys_ms_per_request"]
    print(f"server CPU split: user {split['user']:.2f} ms + kernel {split['sys']:.2f} ms per request")
    print("\n| where (server process) | share of GIL samples | ms / request |\n|---|---:|---:|")
    for row in live["buckets"]:
        share = "" if row["share_of_gil_samples"] is None else f"{row['share_of_gil_samples']:.1%}"
        print(f"| {row['bucket']} | {share} | {row['gil_ms_per_request']:.2f} |")
    print("\n| piece, in-process | wall µs / call | CPU µs / call |\n|---|---:|---:|")
    for name, t in comp["timings"].items():
        print(f"| {name} | {t['wall_us']:.0f} | {t['cpu_us']:.0f} |")
    print(f"\nSQL per stored message: {comp['sql_per_stored_message']}")
    print(f"Redis commands per enqueue: {comp['redis_commands_per_enqueue']}")

    out_path = args.out or RESULTS / f"sms_ingest_profile-{stamp}.json"
    out_path.write_text(
        json.dumps(
            {
                "bench": "sms_ingest_profile",
                "started_utc": stamp,
                "code": code_version(),
                "live": live,
                "components": comp,
            },
            indent=2,
        )
    )
    print(f"\nresult {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
