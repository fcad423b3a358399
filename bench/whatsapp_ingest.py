"""bench/whatsapp_ingest: WhatsApp Cloud API webhooks (`POST /whatsapp/webhook`, signed as Meta signs them) at
increasing rates beside the Twilio SMS webhook, in one run, the way bench/gateway_ingest.py measures Kannel.

    .venv/bin/python bench/whatsapp_ingest.py              # 2 workers, 100..800/s x 6 s, about 4 minutes
    .venv/bin/python bench/whatsapp_ingest.py --quick      # 1 worker, 3 short steps

Ramps of open-loop steps (bench/loadgen.py, its own process): the bare floor (bench/baseline_app.py), the
Twilio path, the WhatsApp path with text messages, and the WhatsApp path with photos (media are fetched by a
job, never on the webhook: the photo ramp shows intake does not wait for them). Each hotline ramp starts on a
fresh PostgreSQL database of this bench's own (hotline_bench_whatsapp) and a Redis of its own (an embedded
redis-server on a free port: the machine's Redis is shared); no worker runs, so jobs pile up. After each ramp,
"no report lost": the ids answered 200 are exactly the rows of inbound_messages, with one queued job each.
Targets (issue 20, as SMS): >= 500 reports/s stored and queued; p99 < 50 ms at 200/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sms_ingest as base
from bench_services import drop_database, reset_database

from hotline.embedded_redis import EmbeddedRedis

APP_SECRET = "bench-whatsapp-app-secret-0123456789"
WA_ENV = {
    "HOTLINE_SMS_GATEWAYS": "twilio,wa",
    "TWILIO_ACCOUNT_SID": "ACbench",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "HOTLINE_GATEWAY_WA_TYPE": "whatsapp",
    "HOTLINE_GATEWAY_WA_PHONE_NUMBER_ID": "106540352242922",
    "HOTLINE_GATEWAY_WA_ACCESS_TOKEN": "bench-access-token",
    "HOTLINE_GATEWAY_WA_APP_SECRET": APP_SECRET,
    "HOTLINE_GATEWAY_WA_VERIFY_TOKEN": "bench-verify-token",
}
PATHS = ("baseline", "twilio path", "whatsapp text", "whatsapp photo")


def server_for(path: str, workers: int, logdir: Path) -> base.Server:
    slug = path.replace(" ", "-")
    log = logdir / f"{slug}-w{workers}.log"
    port = base.free_port()
    wa_args = ("--kind", "whatsapp-image" if path == "whatsapp photo" else "whatsapp", "--app-secret", APP_SECRET)
    if path == "baseline":
        return base.Server("baseline", workers, port, log, display=path, loadgen_args=wa_args)
    if path == "twilio path":
        return base.Server("hotline", workers, port, log, display=path)
    return base.Server("hotline", workers, port, log, display=path, extra_env=WA_ENV, loadgen_args=wa_args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 worker, 100/200/500/s x 4 s")
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts (default 2)")
    parser.add_argument("--rates", type=float, nargs="+", help="offered rates per step, ascending")
    parser.add_argument("--seconds", type=float, help="length of each step")
    parser.add_argument("--paths", nargs="+", choices=PATHS, help="which ramps to run (default all)")
    parser.add_argument("--noisy-retries", type=int, default=1)
    args = parser.parse_args(argv)

    workers: list[int] = args.workers or ([1] if args.quick else [2])
    rates: list[float] = args.rates or ([100, 200, 500] if args.quick else [100, 200, 400, 500, 600, 800])
    seconds: float = args.seconds or (4.0 if args.quick else 6.0)
    paths: list[str] = args.paths or list(PATHS)
    base.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = base.RESULTS / f"whatsapp_ingest-{stamp}.json"
    logdir = base.RESULTS / f"whatsapp_ingest-{stamp}-logs"
    logdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    steps: list[base.Step] = []
    no_loss: dict[str, dict[str, Any]] = {}
    discarded: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="whatsapp_ingest-") as tmp:
        own_redis = EmbeddedRedis(Path(tmp) / "redis")
        base.REDIS_URL = own_redis.start()  # this bench's own Redis: the shared one is other people's
        base.PG_DB = "hotline_bench_whatsapp"
        base.PG_DSN = f"postgresql://postgres@127.0.0.1:5432/{base.PG_DB}"
        base.DATABASE_URL = base.database_url(base.PG_DB)
        info = base.machine_info()
        print(f"whatsapp_ingest: {info['nproc']} CPUs; steps {rates}/s x {seconds:g} s; workers {workers}", flush=True)
        r = base.redis()
        try:
            for w in workers:
                for path in paths:
                    server = server_for(path, w, logdir)
                    ok_ids: list[str] = []
                    if server.kind == "hotline":
                        r.flushdb()
                        reset_database(base.PG_DB)
                        env = {**base.server_env(server.port), **(server.extra_env or {})}
                        base.subprocess.run([base.HOTLINE, "db", "upgrade"], cwd=base.ROOT, env=env, check=True,
                                            stdout=base.subprocess.DEVNULL)  # fmt: skip
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
                            settle=0.5 if args.quick else 1.0,
                            noisy_retries=args.noisy_retries,
                            discarded=discarded,
                        )
                    finally:
                        server.stop()
                    if server.kind == "hotline":
                        no_loss[server.label] = check = base.check_no_loss(ok_ids)
                        print(
                            f"  no-loss check {server.label}: {'OK' if check['ok'] else 'FAILED'} {check}", flush=True
                        )
        finally:
            with contextlib.suppress(Exception):
                drop_database(base.PG_DB)
            own_redis.stop()
    elapsed = time.monotonic() - started
    best = {str(w): {p: base.max_sustained(steps, p, w) for p in paths} for w in workers}
    p99_200 = {
        p: [round(s.summary["latency_ms"]["p99"], 2) for s in steps if s.server == p and not s.warmup and s.rate == 200]
        for p in paths
    }
    table = base.markdown_table(steps)
    print()
    print(table)
    print()
    ratios = {
        w: {
            f"{p}_over_twilio": round(b[p] / b["twilio path"], 3) if b.get("twilio path") and p in b else None
            for p in ("whatsapp text", "whatsapp photo")
        }
        for w, b in best.items()
    }
    for w, b in best.items():
        print(f"max sustained, {w} worker(s): {', '.join(f'{k} {v:g}/s' for k, v in b.items())}; ratios {ratios[w]}")
    print(f"p99 at 200/s (ms): {p99_200}")
    print(f"elapsed {elapsed:.0f} s; result {out_path}")
    result = {
        "bench": "whatsapp_ingest",
        "started_utc": stamp,
        "elapsed_s": round(elapsed, 1),
        "command": " ".join(
            [".venv/bin/python", "bench/whatsapp_ingest.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": info,
        "code": base.code_version(),
        "steps": [s.row() for s in steps],
        "discarded_noisy_attempts": discarded,
        "max_sustained_rate": best,
        "ratios": ratios,
        "p99_ms_at_200": p99_200,
        "no_loss": no_loss,
        "table_markdown": table,
    }
    out_path.write_text(json.dumps(result, indent=2))
    shutil.copyfile(out_path, base.RESULTS / "whatsapp_ingest-latest.json")
    return 0 if all(c["ok"] for c in no_loss.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
