"""bench/broadcast: a 50,000-recipient early warning through the broadcast sender (issue 21), in one run.

    flock /tmp/hotline-bench.lock .venv/bin/python bench/broadcast.py            # 50,000 recipients, ~12 min
    flock /tmp/hotline-bench.lock .venv/bin/python bench/broadcast.py --quick    # 5,000 / 2,000, ~2 min

One run, on PostgreSQL (database hotline_bench_broadcast, dropped and created here) and Redis (db 9, flushed),
every SMS handed to the recording gateway (type `record`: one JSON line per SMS, with the moment it was handed
over, hotline/fakes/recording_sms.py). Real `hotline worker` processes: each runs RQ and starts the broadcast
sender (its sweeper keeps it alive; a Redis lease lets one send).

0. Baseline, same run, same worker: N outbox SMS (`queue_sms`, purpose reply, one RQ job each: the path a
   broadcast would take without the sender), rate handed to the gateway.
A. Unlimited TPS: a broadcast to R recipients; rate handed to the gateway (first to last SMS), and the ratio to
   the baseline.
B. HOTLINE_BROADCAST_TPS=100: a broadcast to R recipients; 100 alerts (`queue_sms`, purpose alert, one
   transaction each, 10 a second) fired in the middle; the broadcast's rate over its whole run and per whole
   second, and each alert's latency from its commit to the gateway (p50/p99/max).
C. Unlimited TPS again; when 40 % are handed over, the sender holding the lease is killed with SIGKILL; the
   worker's sweeper starts another, which resumes. Counted in the gateway's file: recipients never handed over
   (skipped) and handed over more than once (doubled).

Writes bench/results/broadcast-<time>.json. Exit 0 when nothing was skipped or doubled.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_services import database_url, drop_database, hotline_env, reset_database

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
HOTLINE = str(Path(PYTHON).with_name("hotline"))
PG_DB = "hotline_bench_broadcast"
REDIS_URL = "redis://127.0.0.1:6379/9"
QUEUE = "bench-broadcast"


def env_for(path: Path, **extra: str) -> dict[str, str]:
    return hotline_env(
        HOTLINE_DATABASE_URL=database_url(PG_DB),
        HOTLINE_REDIS_URL=REDIS_URL,
        HOTLINE_QUEUE=QUEUE,
        HOTLINE_CONFIG_DIR=str(ROOT),
        HOTLINE_SMS_GATEWAYS="rec",
        HOTLINE_GATEWAY_REC_TYPE="record",
        HOTLINE_GATEWAY_REC_PATH=str(path),
        HOTLINE_DATA_DIR=str(path.parent / "var"),
        **extra,
    )


def records(path: Path) -> list[dict[str, Any]]:
    from hotline.fakes.recording_sms import read_records

    return read_records(path)


def start_worker(env: dict[str, str], log: Path, sweep: float = 30.0) -> subprocess.Popen[bytes]:
    """`sweep`: the sweeper starts a killed sender again at its next sweep (phase C sweeps every second)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [HOTLINE, "worker", "--sweep-interval", str(sweep)],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def wait_until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def seed(count: int) -> None:
    from sqlalchemy import insert

    from hotline.db import unit_of_work
    from hotline.models import Subscriber, utcnow

    now = utcnow()
    desa = DESA
    rows = [
        {
            "phone": f"+62815{i:08d}",
            "desa": desa[i % 4],
            "kecamatan": "Bumiaji",
            "language": "en" if i % 5 == 0 else "id",
            "channel": "sms",
            "source": "csv",
            "consent": "bench",
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with unit_of_work() as session:
        for start in range(0, count, 5000):
            session.execute(insert(Subscriber), rows[start : start + 5000])


DESA = ["Sumberbrantas", "Punten", "Tulungrejo", "Bulukerto"]  # the subscribers are spread evenly over them


def approve_broadcast(hazard: str, areas: list[str] = DESA) -> tuple[int, float, float]:
    """(broadcast id, seconds to approve, the moment it was committed)."""
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.broadcasts import drafting

    with unit_of_work() as session:
        number = drafting.draft(
            session,
            config=current_config(),
            hazard=hazard,
            areas=areas,
            author="spv-a",
        ).id
    began = time.monotonic()
    with unit_of_work() as session:
        drafting.approve(session, broadcast_id=number, approver="spv-b")
    return number, time.monotonic() - began, time.time()


def status_counts(number: int) -> Counter[str]:
    from sqlalchemy import func, select

    from hotline.db import unit_of_work
    from hotline.models import BroadcastRecipient as R

    with unit_of_work() as session:
        rows = session.execute(select(R.status, func.count()).where(R.broadcast_id == number).group_by(R.status))
        return Counter({s: int(n) for s, n in rows})


def wait_sent(number: int, total: int, seconds: float, label: str) -> None:
    last = 0.0

    def done() -> bool:
        nonlocal last
        counts = status_counts(number)
        if time.monotonic() - last > 10:
            last = time.monotonic()
            print(f"  {label}: {dict(counts)}", flush=True)
        return counts.get("sent", 0) == total

    wait_until(done, seconds, f"{label} to be sent")


def rate_of(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank


def phase_baseline(tmp: Path, count: int) -> dict[str, Any]:
    from hotline.core.outbox import queue_sms
    from hotline.db import unit_of_work

    path = tmp / "baseline.jsonl"
    worker = start_worker(env_for(path), tmp / "worker-0.log")
    try:
        time.sleep(3)  # the worker is up (its sweeper, releaser and sender too) before the SMS are queued
        with unit_of_work() as session:
            for i in range(count):
                queue_sms(session, to=f"+62816{i:08d}", body="Balasan uji", purpose="reply")
        queued = time.time()
        wait_until(lambda: len(records(path)) >= count, 600, "the baseline SMS")
    finally:
        stop(worker)
    times = sorted(r["at"] for r in records(path))
    return {"sms": count, "rate": rate_of(times), "seconds_from_commit": times[-1] - queued}


def phase_unlimited(tmp: Path, total: int) -> dict[str, Any]:
    path = tmp / "unlimited.jsonl"
    worker = start_worker(env_for(path), tmp / "worker-a.log")
    try:
        time.sleep(3)
        number, approve_s, approved_at = approve_broadcast("flood")
        wait_sent(number, total, 900, "A unlimited")
    finally:
        stop(worker)
    times = sorted(r["at"] for r in records(path) if r["purpose"] == "broadcast")
    return {
        "broadcast": number,
        "recipients": total,
        "handed": len(times),
        "rate": rate_of(times),
        "approve_seconds": approve_s,
        "seconds_from_approval": times[-1] - approved_at,
    }


def phase_tps(tmp: Path, areas: list[str], tps: int, alerts: int) -> dict[str, Any]:
    from hotline.core.outbox import queue_sms
    from hotline.db import unit_of_work

    path = tmp / "tps.jsonl"
    worker = start_worker(env_for(path, HOTLINE_BROADCAST_TPS=str(tps)), tmp / "worker-b.log")
    fired: dict[int, float] = {}
    try:
        time.sleep(3)
        number, _, _ = approve_broadcast("landslide", areas)
        total = sum(status_counts(number).values())
        wait_until(
            lambda: status_counts(number).get("sent", 0) >= total // 2 - alerts // 2,
            total / tps * 2,
            "the middle of the broadcast",
        )
        print(f"  B: firing {alerts} alerts, 10 a second", flush=True)
        for i in range(alerts):
            with unit_of_work() as session:
                message = queue_sms(session, to=f"+62857{i:08d}", body=f"Bench alert {i}", purpose="alert")
                message_id = message.id
            fired[message_id] = time.time()  # committed (the RQ job is queued after commit, within this call)
            time.sleep(0.1)
        wait_sent(number, total, total / tps * 3, "B tps")
    finally:
        stop(worker)
    lines = records(path)
    times = sorted(r["at"] for r in lines if r["purpose"] == "broadcast")
    latency = [r["at"] - fired[r["id"]] for r in lines if r["purpose"] == "alert" and r["id"] in fired]
    per_second = Counter(int(t - times[0]) for t in times)
    whole = [per_second[s] for s in range(1, int(times[-1] - times[0]))]  # the first and last seconds are partial
    alert_window = [r["at"] for r in lines if r["purpose"] == "alert"]
    return {
        "broadcast": number,
        "recipients": total,
        "tps": tps,
        "handed": len(times),
        "rate": rate_of(times),
        "per_second_min": min(whole, default=0),
        "per_second_max": max(whole, default=0),
        "alerts": alerts,
        "alerts_handed": len(latency),
        "alert_latency_p50": statistics.median(latency) if latency else None,
        "alert_latency_p99": percentile(latency, 0.99) if latency else None,
        "alert_latency_max": max(latency, default=None),
        "alert_window_seconds": max(alert_window) - min(alert_window) if alert_window else None,
        "broadcast_plus_alerts_in_alert_window": sum(
            1 for r in lines if alert_window and min(alert_window) <= r["at"] <= max(alert_window)
        )
        / max(1e-9, max(alert_window) - min(alert_window))
        if alert_window
        else None,
    }


def lease_holder() -> int | None:
    from redis import Redis

    value = Redis.from_url(REDIS_URL).get(f"hotline:broadcast-sender:{QUEUE}")
    return int(value.decode().split(":")[0]) if value else None


def phase_kill(tmp: Path, total: int) -> dict[str, Any]:
    path = tmp / "kill.jsonl"
    worker = start_worker(env_for(path), tmp / "worker-c.log", sweep=1.0)
    try:
        time.sleep(3)
        number, _, _ = approve_broadcast("eruption")
        wait_until(lambda: len(records(path)) >= total * 0.4, 600, "40 % of the broadcast")
        victim = lease_holder()
        if victim is None:
            raise SystemExit("no sender holds the lease")
        os.kill(victim, signal.SIGKILL)
        killed_at = len(records(path))
        print(f"  C: sender {victim} killed with SIGKILL after {killed_at} SMS", flush=True)
        wait_until(lambda: lease_holder() not in (None, victim), 60, "another sender to take over")
        successor = lease_holder()
        wait_sent(number, total, 900, "C after kill")
    finally:
        stop(worker)
    from sqlalchemy import select

    from hotline.db import unit_of_work
    from hotline.models import BroadcastRecipient as R

    with unit_of_work() as session:
        ids = {-i for i in session.scalars(select(R.id).where(R.broadcast_id == number))}
    handed = Counter(r["id"] for r in records(path) if r["purpose"] == "broadcast")
    return {
        "broadcast": number,
        "recipients": total,
        "killed_pid": victim,
        "successor_pid": successor,
        "handed_before_kill": killed_at,
        "skipped": len(ids - set(handed)),
        "doubled": sum(1 for n in handed.values() if n > 1),
        "handed_total": sum(handed.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--recipients", type=int)
    parser.add_argument("--tps-recipients", type=int)
    parser.add_argument("--baseline", type=int)
    parser.add_argument("--phases", default="0ACB", help="which phases to run, in this order (default 0ACB)")
    args = parser.parse_args()
    total = args.recipients or (5000 if args.quick else 50000)
    # Phase B warns some of the 4 desa (a quarter of the subscribers each): --tps-recipients rounds to quarters.
    tps_total = args.tps_recipients or (2500 if args.quick else total)
    baseline_n = args.baseline or (1000 if args.quick else 5000)
    tmp = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    os.environ.update(env_for(tmp / "bench.jsonl"))
    reset_database(PG_DB)
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    subprocess.run([HOTLINE, "db", "upgrade"], env=env_for(tmp / "x.jsonl"), check=True, capture_output=True)
    began = time.time()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    result: dict[str, Any] = {
        "commit": commit.stdout.strip(),  # at the start: the workers load the code as it is then
        "started": datetime.now(UTC).isoformat(),
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
    }
    try:
        seed(total)
        if "0" in args.phases:
            print(f"0: baseline, {baseline_n} outbox SMS (one RQ job each)", flush=True)
            result["baseline"] = phase_baseline(tmp, baseline_n)
            print(f"   {result['baseline']}", flush=True)
        if "A" in args.phases:
            print(f"A: {total} recipients, no TPS limit", flush=True)
            result["unlimited"] = phase_unlimited(tmp, total)
            if "baseline" in result:
                result["unlimited"]["ratio_to_baseline"] = result["unlimited"]["rate"] / result["baseline"]["rate"]
            print(f"   {result['unlimited']}", flush=True)
        if "C" in args.phases:
            print(f"C: {total} recipients, kill -9 the sender at 40 %", flush=True)
            result["kill"] = phase_kill(tmp, total)
            print(f"   {result['kill']}", flush=True)
        if "B" in args.phases:
            print(f"B: about {tps_total} recipients at 100 TPS, 100 alerts in the middle", flush=True)
            result["tps"] = phase_tps(tmp, DESA[: max(1, round(4 * tps_total / total))], 100, 100)
            print(f"   {result['tps']}", flush=True)
    finally:
        result["seconds"] = time.time() - began
        result["load_after"] = os.getloadavg()
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"broadcast-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        out.write_text(json.dumps(result, indent=2, default=str))
        print(f"wrote {out}", flush=True)
        drop_database(PG_DB)
    kill = result.get("kill", {"skipped": 0, "doubled": 0})
    return 0 if kill.get("skipped") == 0 and kill.get("doubled") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
