"""bench/open311: what Open311's public reads and a filing with a photo cost (issue 23).

    .venv/bin/python bench/open311.py --tickets 20000 --label after
    .venv/bin/python bench/open311.py --tickets 20000 --code /work/main --label before   # another checkout's code

A PostgreSQL database of its own (`open311_bench`, dropped after), migrated by the code under test, seeded by SQL
with `--tickets` tickets over the last 120 days (their text holds a phone number, an e-mail and a NIK-like number,
as citizens write them) and the inbound message it came from (every fifth a WhatsApp one with a profile name); where
the code has `open311_submissions`, every tenth ticket gets one (with a name) and a photo. Then a real `hotline
serve` (SMS to the log, Redis db 10 or $OPEN311_BENCH_REDIS_URL) and each read timed `--reps` times after a warm-up:
GET requests.json and requests.xml (1,000 newest of the 90-day window: the spec's default), GET requests/{id}.xml;
and POST requests.json with a 60 kB photo (a partner key made with `hotline partner add`). Each ticket's timeline
is seeded too (created, routed, alerted, accepted with a crew note with a number; resolved for a third): where the
code answers servicerequestupdates, FixMyStreet's poll (the last two hours) and the 90-day default's first page
are timed, then again in the same run without the index on ticket_events.at (dropped), as the baseline. Code
without XML or
partner keys (main before issue 23) is timed on what it has: requests.json, and POST with an operator's token.
Prints median ms (p95) and the answer's size, and writes them to bench/results/open311-<label>-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from bench_services import PG_ADMIN_DSN, database_url, drop_database, hotline_env, reset_database

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
DB = "open311_bench"
REDIS_URL = "redis://127.0.0.1:6379/10"  # or $OPEN311_BENCH_REDIS_URL: on a shared machine, a database of your own
PHOTO = (ROOT / "tests" / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()

SEED_SQL = """
INSERT INTO tickets (id, channel, reporter_phone, language, category, priority, urgent, text, location_text, status,
    agency_id, desa, kecamatan, category_prompts, created_at, updated_at, partial, reporter_count)
SELECT i, 'sms', '+62812' || lpad(mod(i * 7919, 400000)::text, 7, '0'), 'id',
    (ARRAY['roads', 'waste', 'flood', 'other'])[1 + mod(i, 4)], 'normal', false,
    'Jalan berlubang dekat SD nomor ' || i || ', hubungi 0812' || lpad(mod(i, 99999999)::text, 8, '0')
        || ' atau warga' || i || '@example.id, NIK 35790123' || lpad(i::text, 8, '0'),
    'Jl. Diponegoro ' || mod(i, 200), CASE WHEN mod(i, 3) = 0 THEN 'resolved' ELSE 'routed' END,
    (SELECT min(id) FROM agencies), 'Sisir', 'Batu', 0,
    now() - interval '120 days' * (1 - i::float8 / %(n)s), now() - interval '120 days' * (1 - i::float8 / %(n)s),
    false, 1
FROM generate_series(1, %(n)s) AS i;
SELECT setval('tickets_id_seq', %(n)s);
INSERT INTO inbound_messages (provider, provider_sid, from_raw, from_e164, to_number, body, payload, status, outcome,
    ticket_id, received_at, processed_at)
SELECT CASE WHEN mod(i, 5) = 0 THEN 'wa' ELSE 'twilio' END, 'seed-' || i, t.reporter_phone, t.reporter_phone,
    '+6281100000000', t.text,
    (CASE WHEN mod(i, 5) = 0 THEN '{"wa_type": "text", "profile_name": "Siti Rahayu"}' ELSE '{}' END)::json,
    'processed', 'ticket', i, t.created_at, t.created_at
FROM generate_series(1, %(n)s) AS i JOIN tickets t ON t.id = i
"""
EVENTS_SQL = """
INSERT INTO ticket_events (ticket_id, at, kind, actor, note, data)
SELECT t.id, t.created_at + k.after, k.kind, 'system', NULL, '{}'::json
FROM tickets t CROSS JOIN (VALUES ('created', interval '0 s'), ('routed', interval '1 s'), ('alerted', interval '2 s'))
    AS k(kind, after);
INSERT INTO ticket_events (ticket_id, at, kind, actor, note, data)
SELECT id, created_at + interval '10 minutes', 'accepted', 'member:1', 'otw, hubungi 0812 3456 7890', '{}'::json
FROM tickets;
INSERT INTO ticket_events (ticket_id, at, kind, actor, note, data)
SELECT id, created_at + interval '2 hours', 'resolved', 'member:1', 'sudah diperbaiki', '{}'::json
FROM tickets WHERE status = 'resolved'
"""
SUBMISSIONS_SQL = """
INSERT INTO partner_keys (id, name, key_sha256, per_minute, created_by, created_at)
VALUES (999, 'seed', repeat('0', 64), 30, 'bench', now());
INSERT INTO open311_submissions (token, ticket_id, partner_key_id, created_at, first_name, last_name, email,
    attributes, media_urls)
SELECT 'seed-' || i, i, 999, now(), 'Siti', 'Aminah' || i, 'siti' || i || '@example.id', '{}', '[]'
FROM generate_series(10, %(n)s, 10) AS i;
INSERT INTO ticket_attachments (ticket_id, filename, content_type, size, sha256, data, created_at)
SELECT i, 'p.jpg', 'image/jpeg', 801, repeat('0', 64), %(photo)s, now() FROM generate_series(10, %(n)s, 10) AS i
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(code: Path, port: int) -> dict[str, str]:
    env = hotline_env(
        HOTLINE_DATABASE_URL=database_url(DB),
        HOTLINE_REDIS_URL=os.environ.get("OPEN311_BENCH_REDIS_URL", REDIS_URL),
        HOTLINE_QUEUE="open311-bench",
        HOTLINE_ENV="development",
        HOTLINE_SMS_PROVIDER="log",
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOTLINE_DATA_DIR=str(BENCH / "results" / "open311-var"),
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


def seed(code: Path, port: int, n: int) -> bool:
    """The database for `code`, seeded; whether the code keeps Open311 submissions (issue 23)."""
    reset_database(DB)
    hotline(code, port, "db", "upgrade")
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{DB}"
    with psycopg.connect(dsn) as conn:
        for statement in [*SEED_SQL.split(";\n"), *EVENTS_SQL.split(";\n")]:
            conn.execute(statement.replace("%(n)s", str(n)))  # type: ignore[arg-type]
        has = conn.execute("SELECT to_regclass('open311_submissions') IS NOT NULL").fetchone()
        submissions = bool(has and has[0])
        if submissions:
            for statement in SUBMISSIONS_SQL.split(";\n"):
                conn.execute(statement.replace("%(n)s", str(n)), {"photo": PHOTO} if "%(photo)s" in statement else None)  # type: ignore[arg-type]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return submissions


def timed(reps: int, call: object) -> tuple[float, float, int]:
    assert callable(call)
    call()  # warm-up
    times, size = [], 0
    for _ in range(reps):
        started = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code in (200, 201), answer.text[:300]  # main answered a POST with 201
        size = len(answer.content)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], size


def measure(code: Path, n: int, reps: int) -> list[tuple[str, float, float, int]]:
    port = free_port()
    new = seed(code, port, n)
    if new:
        key = hotline(code, port, "partner", "add", "bench-app", "--per-minute", "10000").strip()
    else:
        hotline(
            code, port, "user", "add", "bench", "--role", "operator", "--password-stdin", stdin="bench-password-1\n"
        )
        key = hotline(code, port, "user", "token", "bench").strip()
    log = (BENCH / "results" / "open311-serve.log").open("ab")
    proc = subprocess.Popen(
        [PYTHON, "-c", "from hotline.cli import main; main()", "serve", "--port", str(port)],
        cwd=code,
        env=env_for(code, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/open311/v2"
    rows = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("hotline serve did not start (bench/results/open311-serve.log)")
            time.sleep(0.2)
        with httpx.Client(timeout=60) as http:
            reads = [("GET requests.json (1,000 newest)", f"{base}/requests.json")]
            if new:
                reads += [
                    ("GET requests.xml (1,000 newest)", f"{base}/requests.xml"),
                    ("GET requests/{id}.xml", f"{base}/requests/{n - 10}.xml"),
                ]
            for label, url in reads:
                rows.append((label, *timed(reps, lambda url=url: http.get(url))))
            form = {
                "api_key": key,
                "service_code": "roads",
                "description": "Jalan berlubang",
                "lat": "-7.87",
                "long": "112.52",
            }
            if http.get(f"{base}/servicerequestupdates.xml").status_code == 200:
                rows += _updates(http, base, reps)
            files = {"media": ("p.jpg", PHOTO + b"\0" * 60_000, "image/jpeg")} if new else None
            label = "POST requests.json with a 60 kB photo" if new else "POST requests.json (no photo: not kept)"
            rows.append((label, *timed(reps, lambda: http.post(f"{base}/requests.json", data=form, files=files))))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        drop_database(DB)
    return rows


def _updates(http: httpx.Client, base: str, reps: int) -> list[tuple[str, float, float, int]]:
    """FixMyStreet's poll and the default window's first page, with the index on ticket_events.at and without."""
    now = datetime.now(UTC)
    poll = {"start_date": (now - timedelta(hours=2)).isoformat(), "end_date": now.isoformat()}
    url = f"{base}/servicerequestupdates.xml"
    rows = []
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{DB}"
    for variant in ("", " without ix_ticket_events_at"):
        if variant:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DROP INDEX ix_ticket_events_at")
                conn.execute("ANALYZE ticket_events")
        rows.append(
            (f"GET servicerequestupdates.xml, last 2 hours{variant}", *timed(reps, lambda: http.get(url, params=poll)))
        )
        rows.append(
            (f"GET servicerequestupdates.xml, 90 days' first 1,000{variant}", *timed(reps, lambda: http.get(url)))
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--label", default="run")
    args = parser.parse_args()
    (BENCH / "results").mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    rows = measure(args.code.resolve(), args.tickets, args.reps)
    print(
        f"\n{args.label}: {args.tickets} tickets, code {args.code}, load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = BENCH / "results" / f"open311-{args.label}-{stamp}.json"
    keys = ("operation", "median_ms", "p95_ms", "bytes")
    record = {"tickets": args.tickets, "code": str(args.code), "load": [load, os.getloadavg()[0]]}
    out.write_text(json.dumps({**record, "rows": [dict(zip(keys, row, strict=True)) for row in rows]}, indent=1))
    print(f"written: {out}")
    print(f"| operation ({args.label}) | median ms (p95) | answer |\n|---|---:|---:|")
    for label, median, p95, size in rows:
        print(f"| {label} | {median:.0f} ({p95:.0f}) | {size / 1024:.0f} kB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
