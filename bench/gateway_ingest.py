"""bench/gateway_ingest: citizen SMS in through Kannel's `POST /kannel/sms` beside the Twilio webhook path, in
one run, on the same machine, the same way bench/sms_ingest.py measures the Twilio path.

    flock /tmp/hotline-bench.lock .venv/bin/python bench/gateway_ingest.py          # about 4 minutes
    .venv/bin/python bench/gateway_ingest.py --quick                              # 1 worker, 3 short steps

For each worker count (default 2), three ramps of open-loop steps (bench/loadgen.py, a separate process):
1. baseline: bench/baseline_app.py's bare `/kannel/sms` (reads the body, answers empty; no database, no Redis);
2. twilio path: `hotline serve` taking signed Twilio webhooks (as bench/sms_ingest.py);
3. kannel path: `hotline serve` with a Kannel gateway (HOTLINE_SMS_GATEWAYS=kannel, a SECRET) taking requests
   exactly as smsbox posts them with config/kannel/kannel.conf's post-url (escape codes in the query, the text
   as the body, X-Kannel-* headers), each with its own %I.
Each hotline ramp starts on a fresh PostgreSQL database and an empty Redis (db 9); no worker runs, so jobs pile
up. After each, "no report lost": the ids answered 200 are exactly the rows of inbound_messages, with one queued
job each. Targets (issue 15): the Kannel path sustains >= 500 reports/s, with p99 < 50 ms at 200/s.

Prints a table and writes bench/results/gateway_ingest-<time>.json (and -latest.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sms_ingest as base
from bench_services import drop_database, reset_database

SECRET = "bench-kannel-post-secret-0123456789"
KANNEL_ENV = {
    "HOTLINE_SMS_GATEWAYS": "kannel",
    "HOTLINE_GATEWAY_KANNEL_URL": "http://127.0.0.1:13013/cgi-bin/sendsms",  # not used: nothing is sent
    "HOTLINE_GATEWAY_KANNEL_USERNAME": "hotline",
    "HOTLINE_GATEWAY_KANNEL_PASSWORD": "bench-sendsms-password",
    "HOTLINE_GATEWAY_KANNEL_SECRET": SECRET,
    "HOTLINE_GATEWAY_KANNEL_ALLOW": "127.0.0.1",
}
KANNEL_ARGS = ("--kind", "kannel", "--kannel-secret", SECRET)
PATHS = ("baseline", "twilio path", "kannel path")


def server_for(path: str, workers: int, logdir: Path) -> base.Server:
    slug = path.replace(" ", "-")
    port = base.free_port()
    if path == "baseline":
        return base.Server(
            "baseline", workers, port, logdir / f"{slug}-w{workers}.log", display=path, loadgen_args=KANNEL_ARGS
        )
    if path == "twilio path":
        return base.Server("hotline", workers, port, logdir / f"{slug}-w{workers}.log", display=path)
    return base.Server(
        "hotline",
        workers,
        port,
        logdir / f"{slug}-w{workers}.log",
        display=path,
        extra_env=KANNEL_ENV,
        loadgen_args=KANNEL_ARGS,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 worker, 100/200/500/s x 4 s")
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts (default 2)")
    parser.add_argument("--rates", type=float, nargs="+", help="offered rates per step, ascending")
    parser.add_argument("--seconds", type=float, help="length of each step")
    parser.add_argument("--paths", nargs="+", choices=PATHS, help="which ramps to run (default all three)")
    parser.add_argument("--noisy-retries", type=int, default=1)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    workers: list[int] = args.workers or ([1] if args.quick else [2])
    rates: list[float] = args.rates or ([100, 200, 500] if args.quick else [100, 200, 300, 400, 500, 600, 800, 1000])
    seconds: float = args.seconds or (4.0 if args.quick else 8.0)
    settle = 0.5 if args.quick else 1.0
    paths: list[str] = args.paths or list(PATHS)
    base.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = base.RESULTS / f"gateway_ingest-{stamp}.json"
    logdir = base.RESULTS / f"gateway_ingest-{stamp}-logs"
    logdir.mkdir(parents=True, exist_ok=True)
    info = base.machine_info()
    print(
        f"gateway_ingest: {info['nproc']} CPUs, Python {info['python']}, PostgreSQL {info['postgresql']}, "
        f"Redis {info['redis']}; steps {', '.join(f'{r:g}' for r in rates)}/s x {seconds:g} s; workers {workers}",
        flush=True,
    )
    started = time.monotonic()
    steps: list[base.Step] = []
    no_loss: dict[str, dict[str, Any]] = {}
    discarded: list[dict[str, Any]] = []
    r = base.redis()
    try:
        with tempfile.TemporaryDirectory(prefix="gateway_ingest-") as tmp:
            for w in workers:
                for path in paths:
                    server = server_for(path, w, logdir)
                    ok_ids: list[str] = []
                    if server.kind == "hotline":
                        r.flushdb()
                        reset_database(base.PG_DB)
                        env = {**base.server_env(server.port), **(server.extra_env or {})}
                        subprocess.run(
                            [base.HOTLINE, "db", "upgrade"],
                            cwd=base.ROOT,
                            env=env,
                            check=True,
                            stdout=subprocess.DEVNULL,
                        )
                    print(f"{server.label}: starting on port {server.port}", flush=True)
                    server.start()
                    try:
                        steps += base.ramp(
                            server,
                            rates=rates,
                            seconds=seconds,
                            sid_prefix=uuid.uuid4().hex[:8],
                            workdir=Path(tmp),
                            ok_sids=ok_ids,
                            settle=settle,
                            noisy_retries=args.noisy_retries,
                            discarded=discarded,
                        )
                    finally:
                        server.stop()
                    if server.kind == "hotline":
                        check = base.check_no_loss(ok_ids)
                        no_loss[server.label] = check
                        print(
                            f"  no-loss check {server.label}: {'OK' if check['ok'] else 'FAILED'} (200s "
                            f"{check['answered_200']}, rows {check['rows_in_inbound_messages']}, queued jobs "
                            f"{check['jobs_in_queue']})",
                            flush=True,
                        )
    finally:
        r.flushdb()
        with contextlib.suppress(Exception):
            drop_database(base.PG_DB)
    elapsed = time.monotonic() - started

    best = {str(w): {p: base.max_sustained(steps, p, w) for p in paths} for w in workers}
    p99_at = {
        p: [s.summary["latency_ms"]["p99"] for s in steps if s.server == p and not s.warmup and s.rate == 200]
        for p in paths
    }
    kannel_best = max((b.get("kannel path", 0.0) for b in best.values()), default=0.0)
    targets: dict[str, Any] = {}
    if "kannel path" in paths:
        targets = {
            "kannel_sustained_500_per_s": {"best": kannel_best, "met": kannel_best >= 500},
            "kannel_p99_under_50ms_at_200_per_s": {
                "p99_ms": [round(v, 2) for v in p99_at["kannel path"]],
                "met": (min(p99_at["kannel path"]) < 50) if p99_at["kannel path"] else None,
            },
            "no_report_lost": {"met": bool(no_loss) and all(c["ok"] for c in no_loss.values())},
        }
    table = base.markdown_table(steps)
    print()
    print(table)
    print()
    ratios: dict[str, dict[str, float | None]] = {}
    for w, b in best.items():
        ratios[w] = {
            "kannel_over_twilio": round(b["kannel path"] / b["twilio path"], 3)
            if b.get("twilio path") and "kannel path" in b
            else None,
            "kannel_over_baseline": round(b["kannel path"] / b["baseline"], 3)
            if b.get("baseline") and "kannel path" in b
            else None,
        }
        print(f"max sustained, {w} worker(s): {', '.join(f'{k} {v:g}/s' for k, v in b.items())}; ratios {ratios[w]}")
    for name, t in targets.items():
        print(f"target {name}: {'not measured' if t['met'] is None else ('met' if t['met'] else 'NOT met')} {t}")
    print(f"elapsed {elapsed:.0f} s; result {out_path}")
    result = {
        "bench": "gateway_ingest",
        "started_utc": stamp,
        "elapsed_s": round(elapsed, 1),
        "command": " ".join(
            [".venv/bin/python", "bench/gateway_ingest.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": info,
        "code": base.code_version(),
        "steps": [s.row() for s in steps],
        "discarded_noisy_attempts": discarded,
        "max_sustained_rate": best,
        "ratios": ratios,
        "no_loss": no_loss,
        "targets": targets,
        "table_markdown": table,
    }
    out_path.write_text(json.dumps(result, indent=2))
    shutil.copyfile(out_path, base.RESULTS / "gateway_ingest-latest.json")
    if not all(c["ok"] for c in no_loss.values()):
        return 1
    if args.strict and not all(t["met"] is not False for t in targets.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
