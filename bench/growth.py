"""bench/growth: what the hotline's everyday operations cost as the city's history grows (issue 25).

    .venv/bin/python bench/growth.py seed --sizes 10k 100k 1m   # once: databases growth_10k, _100k, _1m
    flock /tmp/hotline-bench.lock .venv/bin/python bench/growth.py measure --sizes 10k 100k 1m --label after
    .venv/bin/python bench/growth.py measure --code /path/to/other/checkout --label before   # another commit's code
    .venv/bin/python bench/growth.py report bench/results/growth-<time>.json [more.json]      # the table again
    .venv/bin/python bench/growth.py downgrade 0012          # this checkout's migrations back, for older code
    .venv/bin/python bench/growth.py drop                                                      # drop the databases

Seeding is SQL only (INSERT ... SELECT over generate_series, one statement a table), on PostgreSQL: N tickets
spread evenly over the last 3 years, 2.1 % of them still open (routed, accepted or on site, most of them old:
stale), 6 agencies from routing/, and per ticket on average 6.7 timeline events, 1.6 inbound and 5.6 outbound
SMS, 2.4 escalation rows (fired or cancelled: no pending timers, so a worker has nothing old to fire) and 0.2
alert deliveries (1 in 100 exhausted: "member not reached"). Then ANALYZE. 1M tickets (~17M rows) takes minutes.

Measuring runs the code of `--code` (default: this checkout) against every database at once: `hotline db
upgrade` (its migrations), a user and an API token, then a real `hotline serve` and `hotline worker` per database
(SMS to the log, Redis db 0 under a queue of its own per size), and times each operation sequentially, its
repetitions taken in turns across the sizes (10k, 100k, 1m, 10k, ...) after one warm-up each, so that the load
other people put on this shared machine weighs on every size alike: webhook to routed ticket with alert rows,
STATUS SMS to its reply, API lists, console pages, a /metrics scrape, Open311; then in process (`probe`, one size
after the other) the scorecard of `hotline scorecard` and the escalation reconcile of the sweeper. Everything over
50 ms at the largest size is run once more in process with every SQL statement over 50 ms explained (EXPLAIN
ANALYZE, BUFFERS) and printed. Writes bench/results/growth-<label>-<time>.json (with the load average before and
after) and prints the table with growth factors (largest / smallest): median ms (p95).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from bench_services import PG_ADMIN_DSN, database_url, drop_database, hotline_env

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
REDIS_URL = "redis://127.0.0.1:6379/0"
AUTH_TOKEN = "growth-bench-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "0" * 32
PASSWORD = "growth-bench-password"
SLOW_MS = 50.0
TARGET_GROWTH = 2.0
TARGET_PAGE_MS = 200.0


def _closed_month() -> str:
    """Three months back (in UTC: a day off at a month's edge does not matter here): closed, and in every seed."""
    today = datetime.now(UTC)
    year, month = today.year, today.month - 3
    if month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


CLOSED_MONTH = _closed_month()


def db_name(size: str) -> str:
    return f"growth_{size}"


def dsn(size: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{db_name(size)}"


# ---------------------------------------------------------------- seeding

SEED_SQL = """
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
DROP TABLE IF EXISTS pg_temp.ag;
CREATE TEMP TABLE ag AS
SELECT row_number() OVER (ORDER BY a.code) - 1 AS idx, a.id AS agency_id, a.code,
       (SELECT min(u.id) FROM urcs u WHERE u.agency_id = a.id) AS urc_id,
       CASE a.code WHEN 'PMK' THEN 'fire' WHEN 'BPBD' THEN 'flood' WHEN 'PUPR' THEN 'roads'
                   WHEN 'DLH' THEN 'waste' WHEN 'DISTAN' THEN 'farm' ELSE 'other' END AS category
FROM agencies a WHERE a.active;
-- tickets: evenly over 3 years; 2.1 % open (mod(i*7919, 1000) < 21), of those 2/5 routed, 2/5 accepted, 1/5 on site
INSERT INTO tickets (id, channel, reporter_phone, language, category, priority, urgent, text, location_text, status,
    agency_id, urc_id, routing_rule, desa, kecamatan, category_prompts, created_at, updated_at, routed_at,
    accepted_at, on_site_at, resolved_at, cancelled_at, sla_accept_minutes, sla_resolve_minutes, accept_due_at,
    resolve_due_at, escalation_chain, partial, reporter_count)
SELECT i, CASE WHEN mod(i, 4) = 0 THEN 'voice' ELSE 'sms' END,
    '+62812' || lpad(mod(i::bigint * 7919, 400000)::text, 7, '0'), 'id', ag.category, 'normal', false,
    'Laporan warga nomor ' || i || ': jalan rusak dan berlubang di dekat sekolah, mohon segera diperbaiki', NULL,
    CASE WHEN NOT o THEN CASE WHEN mod(i, 10) = 0 THEN 'cancelled' ELSE 'resolved' END
         WHEN mod(i, 5) IN (0, 1) THEN 'routed' WHEN mod(i, 5) IN (2, 3) THEN 'accepted' ELSE 'on_site' END,
    ag.agency_id, ag.urc_id, 'bench-' || ag.category, 'Sisir', (ARRAY['Batu', 'Bumiaji', 'Junrejo'])[1 + mod(i, 3)], 0,
    c, c + interval '5 minutes', c + interval '2 seconds',
    CASE WHEN o AND mod(i, 5) IN (0, 1) THEN NULL WHEN NOT o AND mod(i, 10) = 0 THEN NULL
         ELSE c + make_interval(mins => 3 + mod(i, 25)) END,
    CASE WHEN o AND mod(i, 5) <> 4 THEN NULL WHEN NOT o AND mod(i, 10) = 0 THEN NULL
         ELSE c + make_interval(mins => 30 + mod(i, 60)) END,
    CASE WHEN o OR mod(i, 10) = 0 THEN NULL ELSE c + make_interval(mins => 60 + mod(i * 7, 400)) END,
    CASE WHEN NOT o AND mod(i, 10) = 0 THEN c + interval '20 minutes' END,
    15, 240, c + interval '2 seconds' + interval '15 minutes', c + interval '2 seconds' + interval '240 minutes',
    json_build_object('number', 0, 'agency', ag.code, 'repeat_minutes', 30,
        'steps', json_build_array(json_build_object('after_minutes', 0, 'notify', json_build_array('urc_leader'),
            'via', json_build_array('sms'), 'phones', json_build_array('+6281100000101'),
            'roles', json_build_object('+6281100000101', 'urc_leader'))),
        'alerts', json_build_object('channels', json_build_array('sms'), 'timeout_seconds', 120)),
    false, 1
FROM generate_series(1, %(n)s) AS i
CROSS JOIN LATERAL (SELECT now() - interval '1095 days' * (1 - i::float8 / %(n)s) AS c,
                           mod(i::bigint * 7919, 1000) < 21 AS o) AS t
JOIN ag ON ag.idx = mod(i * 31, (SELECT count(*) FROM ag));
SELECT setval('tickets_id_seq', %(n)s);
-- 6.7 events a ticket; one ticket in 67 was reopened once
INSERT INTO ticket_events (ticket_id, at, kind, actor, note, data)
SELECT t.id, t.created_at + make_interval(mins => k * 7),
    CASE WHEN k = 7 AND mod(t.id, 67) = 0 THEN 'reopened'
         ELSE (ARRAY['created', 'routed', 'alerted', 'accepted', 'on_site', 'resolved', 'escalated'])[k] END,
    CASE WHEN k IN (4, 5, 6) THEN '+6281100000101' ELSE 'system' END, NULL, '{}'::json
FROM tickets t CROSS JOIN LATERAL generate_series(1, 6 + (mod(t.id, 10) < 7)::int) AS k;
-- 1.6 inbound SMS a ticket
INSERT INTO inbound_messages (provider, provider_sid, from_raw, from_e164, to_number, body, payload, status, outcome,
    ticket_id, received_at, processed_at)
SELECT 'twilio', 'SMseed' || t.id || '-' || k, t.reporter_phone, t.reporter_phone, '+62341000112',
    CASE WHEN k = 1 THEN 'JALAN rusak di dekat sekolah' ELSE 'STATUS ' || t.id END, '{}'::json, 'processed',
    CASE WHEN k = 1 THEN 'ticket' ELSE 'status' END, t.id,
    t.created_at + make_interval(mins => (k - 1) * 90), t.created_at + make_interval(mins => (k - 1) * 90)
FROM tickets t CROSS JOIN LATERAL generate_series(1, 1 + (mod(t.id, 5) < 3)::int) AS k;
-- 5.6 outbound SMS a ticket: reply, 2 alerts, notify, escalation, (reply)
INSERT INTO outbound_messages (to_number, body, purpose, ticket_id, status, provider, gateway, provider_sid, attempts,
    created_at, updated_at, next_attempt_at, sent_at)
SELECT CASE WHEN k IN (2, 3, 5) THEN '+628110000' || lpad((100 + k)::text, 4, '0') ELSE t.reporter_phone END,
    'Laporan #' || t.id || ' diterima dan diteruskan ke petugas. Balas STATUS ' || t.id || ' untuk memantau.',
    (ARRAY['reply', 'alert', 'alert', 'notify', 'escalation', 'reply'])[k], t.id,
    CASE WHEN mod(t.id + k, 50) = 0 THEN 'failed' ELSE 'delivered' END, 'twilio', 'twilio',
    'SMout' || t.id || '-' || k, 1, t.created_at + make_interval(mins => k), t.created_at + make_interval(mins => k),
    NULL, t.created_at + make_interval(mins => k)
FROM tickets t CROSS JOIN LATERAL generate_series(1, 5 + (mod(t.id, 5) < 3)::int) AS k;
-- 2.4 escalation rows a ticket (the first fired, the rest cancelled; none pending)
INSERT INTO escalations (ticket_id, chain, phase, step, round, due_at, status, fired_at, notified, created_at)
SELECT t.id, 0, CASE WHEN k = 3 THEN 'resolve' ELSE 'accept' END, CASE WHEN k = 2 THEN 1 ELSE 0 END, 0,
    t.accept_due_at + make_interval(mins => (k - 1) * 10), CASE WHEN k = 1 THEN 'fired' ELSE 'cancelled' END,
    CASE WHEN k = 1 THEN t.accept_due_at END, '[]'::json, t.created_at
FROM tickets t CROSS JOIN LATERAL generate_series(1, 2 + (mod(t.id, 5) < 2)::int) AS k;
-- 0.2 alert deliveries a ticket, 1 in 100 exhausted (every channel failed)
INSERT INTO alert_deliveries (ticket_id, phone, purpose, body, channels, timeout_seconds, position, status, due_at,
    created_at, updated_at)
SELECT t.id, '+6281100000101', 'alert', 'Laporan #' || t.id, '["sms", "voice"]'::json, 120, 1,
    CASE WHEN mod(t.id, 100) = 0 OR (t.status = 'routed' AND mod(t.id, 3) = 0) THEN 'exhausted' ELSE 'delivered' END,
    NULL, t.created_at, t.created_at
FROM tickets t WHERE mod(t.id, 5) = 0;
-- the shield's log: one decision a call (half as many calls as tickets), 4 % held back (silent, rate limited,
-- flagged, queued last, prank), 1 % verification SMS, a third of those confirmed "1", a few cleared
INSERT INTO call_screening (at, phone, call_id, decision, reason, rule, actor, until, done_at)
SELECT c, '+62812' || lpad(mod(i::bigint * 7919, 400000)::text, 7, '0'), NULL,
    CASE WHEN d < 96 THEN 'allowed' WHEN d = 96 THEN 'silent' WHEN d = 97 THEN 'rate_limited'
         WHEN d = 98 THEN (ARRAY['flagged', 'queued_last', 'prank'])[1 + mod(i, 3)]
         WHEN mod(i, 3) = 0 THEN 'confirmed' WHEN mod(i, 7) = 0 THEN 'cleared' ELSE 'verification_sent' END,
    '', '{}'::json, CASE WHEN d = 99 AND mod(i, 7) = 0 THEN 'operator' ELSE 'system' END,
    CASE WHEN d = 98 THEN c + interval '1 day' END, NULL
FROM generate_series(1, %(n)s / 2) AS i
CROSS JOIN LATERAL (SELECT now() - interval '1095 days' * (1 - i::float8 / (%(n)s / 2)) AS c,
                           mod(i::bigint * 104729, 100) AS d) AS t;
"""


def seed(size: str, *, code: Path, force: bool) -> dict[str, Any]:
    n = SIZES[size]
    name = db_name(size)
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not force:
            print(f"{name}: exists, kept (--force seeds it again)")
            return {"size": size, "kept": True}
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    hotline(code, size, "db", "upgrade")
    started = time.perf_counter()
    with psycopg.connect(dsn(size), autocommit=False) as conn:
        for statement in SEED_SQL.split(";\n"):
            if statement.strip():
                t0 = time.perf_counter()
                conn.execute(statement.replace("%(n)s", str(n)))  # type: ignore[arg-type]
                line = statement.strip().splitlines()[-1 if statement.strip().startswith("--") else 0][:70]
                print(f"  {name}: {time.perf_counter() - t0:6.1f} s  {line}", flush=True)
        conn.commit()
    with psycopg.connect(dsn(size), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in (
                "tickets",
                "ticket_events",
                "inbound_messages",
                "outbound_messages",
                "escalations",
                "call_screening",
            )
        }
        counts["open"] = conn.execute(
            "SELECT count(*) FROM tickets WHERE status IN ('routed', 'accepted', 'on_site')"
        ).fetchone()[0]  # type: ignore[index]
    seconds = time.perf_counter() - started
    print(f"{name}: seeded in {seconds:.0f} s: {counts}")
    return {"size": size, "seconds": seconds, "rows": counts}


# ---------------------------------------------------------------- running hotline


def env_for(size: str, code: Path, port: int = 0) -> dict[str, str]:
    env = hotline_env(
        HOTLINE_DATABASE_URL=database_url(db_name(size)),
        HOTLINE_REDIS_URL=REDIS_URL,
        HOTLINE_QUEUE=f"growth{size}",
        HOTLINE_ENV="development",
        HOTLINE_SMS_PROVIDER="log",
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOTLINE_DATA_DIR=str(BENCH / "results" / "growth-var"),
    )
    env["PYTHONPATH"] = str(code)  # the checkout whose code runs (before PYTHONPATH's editable install)
    return env


def hotline(code: Path, size: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [PYTHON, "-c", "from hotline.cli import main; main()", *args],
        cwd=code,
        env=env_for(size, code),
        input=stdin,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise SystemExit(f"hotline {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(code: Path, size: str, port: int, *args: str, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [PYTHON, "-c", "from hotline.cli import main; main()", *args],
        cwd=code,
        env=env_for(size, code, port),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hotline serve exited ({proc.returncode})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("hotline serve did not answer /healthz")


# ---------------------------------------------------------------- operations


def signed_sms(port: int, sid: str, sender: str, body: str) -> tuple[dict[str, str], dict[str, str]]:
    from twilio.request_validator import RequestValidator

    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": "+62341000112",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    url = f"http://127.0.0.1:{port}/twilio/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return params, {"X-Twilio-Signature": signature}


def wait_db(conn: psycopg.Connection[Any], sql: str, args: tuple[Any, ...], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(sql, args).fetchone()
        if row is not None and row[0] is not None:
            return row[0]
        time.sleep(0.002)
    raise TimeoutError(sql)


class Runner:
    def __init__(self, size: str, port: int, token: str, client: httpx.Client, console: httpx.Client) -> None:
        self.size, self.port, self.token, self.client, self.console = size, port, token, client, console
        self.db = psycopg.connect(dsn(size), autocommit=True)
        self.phone_seq = 0
        self.last_ticket: int | None = None
        self.last_phone = ""

    def path(self, template: str) -> str:
        return template.format(ticket=self.last_ticket, closed=CLOSED_MONTH)

    def get(self, path: str, *, console: bool = False) -> float:
        client = self.console if console else self.client
        headers = {} if console else {"Authorization": f"Bearer {self.token}"}
        started = time.perf_counter()
        response = client.get(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
        self.last_bytes = len(response.content)
        return elapsed

    def sms_report(self) -> float:
        self.phone_seq += 1
        phone = f"+62857{self.size.rjust(4, '0')[-4:].replace('k', '0').replace('m', '1')}{self.phone_seq:04d}"
        sid = "SM" + secrets.token_hex(16)
        params, headers = signed_sms(self.port, sid, phone, "JALAN rusak berlubang di Jl. Diponegoro 12 Sisir")
        started = time.perf_counter()
        response = self.client.post(f"http://127.0.0.1:{self.port}/twilio/sms", data=params, headers=headers)
        assert response.status_code == 200, response.text
        ticket = wait_db(
            self.db,
            "SELECT t.id FROM inbound_messages m JOIN tickets t ON t.id = m.ticket_id "
            "WHERE m.provider_sid = %s AND t.status = 'routed' "
            "AND EXISTS (SELECT 1 FROM outbound_messages o WHERE o.ticket_id = t.id AND o.purpose = 'alert')",
            (sid,),
        )
        elapsed = time.perf_counter() - started
        self.last_ticket, self.last_phone = ticket, phone
        return elapsed

    def status_sms(self) -> float:
        if self.last_ticket is None:
            self.sms_report()
        sid = "SM" + secrets.token_hex(16)
        params, headers = signed_sms(self.port, sid, self.last_phone, f"STATUS {self.last_ticket}")
        started = time.perf_counter()
        response = self.client.post(f"http://127.0.0.1:{self.port}/twilio/sms", data=params, headers=headers)
        assert response.status_code == 200, response.text
        wait_db(
            self.db,
            "SELECT o.id FROM inbound_messages m JOIN outbound_messages o ON o.inbound_id = m.id "
            "WHERE m.provider_sid = %s",
            (sid,),
        )
        return time.perf_counter() - started


HTTP_OPS: list[tuple[str, str, bool, bool]] = [  # (name, path, console?, console page?)
    ("`/api/v1/tickets` default page", "/api/v1/tickets", False, False),
    (
        "`/api/v1/tickets?agency=PUPR&status=open&overdue`",
        "/api/v1/tickets?agency=PUPR&status=open&overdue=true",
        False,
        False,
    ),
    ("console board", "/console/board", True, True),
    ("console tickets list", "/console/tickets", True, True),
    ("console tickets, PUPR open overdue", "/console/tickets?agency=PUPR&status=open&overdue=true", True, True),
    ("console ticket page", "/console/tickets/{ticket}", True, True),
    ("console calls page", "/console", True, True),
    ("console scorecard (current month)", "/console/scorecard", True, True),
    ("console scorecard, a closed month", "/console/scorecard?month={closed}", True, True),
    ("`/api/v1/scorecard` (this month)", "/api/v1/scorecard", False, False),
    ("`/api/v1/scorecard?month=` a closed month", "/api/v1/scorecard?month={closed}", False, False),
    ("console shield page (decisions, flags, the month's report)", "/console/shield", True, True),
    ("`/api/v1/shield/decisions` (100 newest)", "/api/v1/shield/decisions", False, False),
    ("`/api/v1/shield/report` (this month, 100 numbers)", "/api/v1/shield/report", False, False),
    ("`/api/v1/shield/report?month=` a closed month", "/api/v1/shield/report?month={closed}", False, False),
    ("`/api/v1/shield/flagged` (100 newest)", "/api/v1/shield/flagged", False, False),
    ("`/api/v1/shield/callbacks` (100 oldest)", "/api/v1/shield/callbacks", False, False),
    ("`/metrics`, one scrape", "/metrics", False, False),
    ("Open311 requests", "/open311/v2/requests.json", False, False),
]


def summary(times: list[float]) -> dict[str, Any]:
    times = sorted(times)
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "n": len(times),
    }


def timed(fn: Any, reps: int, budget: float) -> dict[str, Any]:
    fn()  # warm-up
    times: list[float] = []
    started = time.monotonic()
    while len(times) < reps and (len(times) < 3 or time.monotonic() - started < budget):
        times.append(fn() * 1000)
    return summary(times)


def login(console: httpx.Client, port: int) -> None:
    page = console.get(f"http://127.0.0.1:{port}/console/login")
    marker = 'name="csrf" value="'
    csrf = page.text.split(marker, 1)[1].split('"', 1)[0]
    response = console.post(
        f"http://127.0.0.1:{port}/console/login",
        data={"username": "growth", "password": PASSWORD, "csrf": csrf},
    )
    assert response.status_code in (200, 303), response.status_code


def prepare(code: Path, size: str) -> str:
    """Migrations of `code`, the bench's user, and a fresh API token."""
    hotline(code, size, "db", "upgrade")
    add = ["user", "add", "growth", "--role", "supervisor", "--password-stdin"]
    hotline(code, size, *add, stdin=PASSWORD + "\n", check=False)  # there already on a second run
    return hotline(code, size, "user", "token", "growth").strip().split()[-1]


def measure_sizes(sizes: list[str], code: Path, reps: int, log: Path) -> dict[str, dict[str, Any]]:
    """Every size at once: one `hotline serve` and one `hotline worker` per database, and each operation's
    repetitions taken in turns across the sizes (10k, 100k, 1m, 10k, ...), so a neighbour's load on this
    shared machine weighs on every size alike and the growth factors stay honest."""
    tokens = {size: prepare(code, size) for size in sizes}
    ports = {size: free_port() for size in sizes}
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, dict[str, Any]] = {size: {} for size in sizes}
    load: dict[str, list[float]] = {"before": list(os.getloadavg())}
    try:
        for size in sizes:
            procs.append(start(code, size, ports[size], "serve", "--port", str(ports[size]), log=log))
            procs.append(start(code, size, ports[size], "worker", log=log))
        for size in sizes:
            wait_ready(ports[size], procs[sizes.index(size) * 2])
        clients = {size: (httpx.Client(timeout=60), httpx.Client(timeout=60)) for size in sizes}
        runners: dict[str, Runner] = {}
        for size in sizes:
            login(clients[size][1], ports[size])
            runners[size] = Runner(size, ports[size], tokens[size], *clients[size])
        ops: list[tuple[str, Any, dict[str, Any]]] = [
            ("SMS report, POST -> routed ticket + alert rows", lambda r: r.sms_report(), {}),
            ("STATUS SMS end to end", lambda r: r.status_sms(), {}),
        ]
        for name, path, is_console, page in HTTP_OPS:
            ops.append(
                (
                    name,
                    lambda r, p=path, c=is_console: r.get(r.path(p), console=c),
                    {"page": page, "path": path},
                )
            )
        for name, fn, meta in ops:
            times: dict[str, list[float]] = {size: [] for size in sizes}
            for size in sizes:
                fn(runners[size])  # warm-up
            for _ in range(reps):
                for size in sizes:
                    times[size].append(fn(runners[size]) * 1000)
            for size in sizes:
                row = {**summary(times[size]), **meta, "bytes": runners[size].last_bytes if meta else None}
                if "path" in meta:
                    row["path"] = runners[size].path(meta["path"])
                results[size][name] = row
            print(f"  {name}: " + ", ".join(f"{s} {results[s][name]['median_ms']:.1f} ms" for s in sizes), flush=True)
        for runner in runners.values():
            runner.db.close()
        for a, b in clients.values():
            a.close()
            b.close()
    finally:
        for proc in procs:
            stop(proc)
    load["after_http"] = list(os.getloadavg())
    for size in sizes:
        probe = subprocess.run(
            [PYTHON, str(BENCH / "growth.py"), "probe", "--reps", str(reps)],
            cwd=code,
            env=env_for(size, code, ports[size]),
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            raise SystemExit(f"probe failed: {probe.stderr[-3000:]}")
        results[size].update(json.loads(probe.stdout.strip().splitlines()[-1]))
    load["after"] = list(os.getloadavg())
    results["_load"] = load  # type: ignore[assignment]
    return results


# ---------------------------------------------------------------- in process: probe and explain


def probe(reps: int) -> None:
    """In the hotline's own environment (run by `measure`): what `hotline scorecard` does for this month and for a
    closed one, what judging a month costs (the refresher's turn for this month, freezing for a closed one), one run
    of the metrics refresher's database counts, and the sweeper's reconcile. Older code (no scorecard rollup) judges
    every month now, as its `hotline scorecard` did."""
    from hotline import clock
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.scorecard import Month, Scorecard, build_scorecard, city_timezone
    from hotline.jobs.timers import reconcile  # the sweeper's timer reconcile (escalations, failover, activation)
    from hotline.metrics import refresh_database_metrics

    tz = city_timezone()
    config = current_config()
    this_month = Month.containing(clock.now(), tz)
    closed = this_month
    for _ in range(3):
        closed = Month(closed.year - 1, 12) if closed.month == 1 else Month(closed.year, closed.month - 1)

    def judged(month: Month) -> Scorecard:
        with unit_of_work() as session:
            return build_scorecard(session, config=config, month=month, tz=tz, now=clock.now())

    try:
        from hotline.features.scorecard.monthly import month_scorecard

        def cli_card(month: Month) -> Scorecard:
            return month_scorecard(config=config, month=month, tz=tz, now=clock.now())
    except ImportError:  # code from before the rollup: the CLI judged every month now
        cli_card = judged

    def seconds(fn: Any, *args: Any) -> Any:
        def run() -> float:
            started = time.perf_counter()
            fn(*args)
            return time.perf_counter() - started

        return run

    out: dict[str, Any] = {}
    from hotline.db import get_engine
    from hotline.models import AlertDelivery

    refresh_database_metrics()  # the seed's deltas (millions: it wrote with the triggers on) folded once

    if hasattr(AlertDelivery, "counted"):  # migration 0026: the failover alerts settled before it folded once
        from hotline.alert_counts import fold_settled

        started = time.perf_counter()
        while True:
            with unit_of_work() as session:
                if not fold_settled(session, now=clock.now()):
                    break
        once = (time.perf_counter() - started) * 1000
        out["failover alerts folded once after migration 0026 (all turns, one-off)"] = summary([once])
    # This PostgreSQL runs with autovacuum off: vacuum what a deployment's autovacuum would after those bulk
    # deletes and updates (an empty gauge_deltas of 14M dead rows took 550 ms to DELETE from at 1M).
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM FULL gauge_deltas")
        conn.exec_driver_sql("VACUUM ANALYZE alert_deliveries")
    out |= {
        "`hotline scorecard --month` this month (in-process part)": timed(seconds(cli_card, this_month), reps, 30),
        "`hotline scorecard --month` a closed month (in-process part)": timed(seconds(cli_card, closed), reps, 30),
        "this month judged now (the refresher's turn, off the request path)": timed(
            seconds(judged, this_month), reps, 30
        ),
        "metrics refresher, database counts of one run (off the request path)": timed(
            seconds(refresh_database_metrics), reps, 30
        ),
        "timer reconcile (sweeper)": timed(seconds(reconcile), reps, 20),
    }
    print(json.dumps(out))


def explain(paths: list[str], console_paths: list[str]) -> None:
    """Each path once through the app in process; every SQL statement over SLOW_MS explained."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from hotline.db import get_engine
    from hotline.web.app import create_app

    engine = get_engine()
    slow: list[tuple[float, str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info["growth_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        ms = (time.perf_counter() - conn.info.pop("growth_started", time.perf_counter())) * 1000
        if threading.current_thread().name == "metrics-refresher":
            return  # the app's background counting (hotline/metrics.py), not the request's
        if ms > SLOW_MS and statement.lstrip().upper().startswith("SELECT"):
            plan_cursor = cursor.connection.cursor()
            plan_cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(r[0] for r in plan_cursor.fetchall())
            slow.append((ms, statement, plan))

    token = os.environ["GROWTH_TOKEN"]
    with TestClient(create_app()) as client:
        page = client.get("/console/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/console/login", data={"username": "growth", "password": PASSWORD, "csrf": csrf}, follow_redirects=False
        )
        for path in paths + console_paths:
            slow.clear()
            headers = {} if path in console_paths else {"Authorization": f"Bearer {token}"}
            started = time.perf_counter()
            client.get(path, headers=headers)
            total = (time.perf_counter() - started) * 1000
            print(f"\n### {path}: {total:.0f} ms in process; {len(slow)} statement(s) over {SLOW_MS:.0f} ms")
            for ms, statement, plan in slow:
                print(f"\n{ms:.0f} ms:\n{statement}\n{plan}")


# ---------------------------------------------------------------- report


def report(runs: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for run in runs:
        sizes = [s for s in SIZES if s in run["results"]]
        load = run.get("load") or {}
        loads = ", ".join(f"{k} {v[0]:.1f}" for k, v in load.items())
        lines.append(f"\n{run['label']} (code {run['commit']}, {run['started']}; load average {loads or '-'}):\n")
        lines.append("| operation | " + " | ".join(sizes) + " | growth | |")
        lines.append("|---|" + "---:|" * len(sizes) + "---:|---|")
        first = run["results"][sizes[0]]
        for name in first:
            cells = []
            for s in sizes:
                row = run["results"][s].get(name)
                cells.append(f"{row['median_ms']:.0f} ({row['p95_ms']:.0f})" if row else "-")
            small, large = run["results"][sizes[0]][name], run["results"][sizes[-1]].get(name)
            growth = large["median_ms"] / max(small["median_ms"], 0.001) if large else float("nan")
            verdict = []
            if large and len(sizes) > 1 and growth > TARGET_GROWTH:
                verdict.append("over 2x")
            if large and large.get("page") and large["median_ms"] > TARGET_PAGE_MS:
                verdict.append("over 200 ms")
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth:.1f}x | {', '.join(verdict) or 'ok'} |")
    return "\n".join(lines)


def git_commit(code: Path) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "hotline"], cwd=code, capture_output=True, text=True)
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p_seed.add_argument("--force", action="store_true")
    p_seed.add_argument("--code", type=Path, default=ROOT)
    p_measure = sub.add_parser("measure")
    p_measure.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p_measure.add_argument("--code", type=Path, default=ROOT)
    p_measure.add_argument("--label", default="run")
    p_measure.add_argument("--reps", type=int, default=15)
    p_measure.add_argument("--no-explain", action="store_true")
    p_probe = sub.add_parser("probe")
    p_probe.add_argument("--reps", type=int, default=15)
    p_explain = sub.add_parser("explain")
    p_explain.add_argument("--paths", nargs="*", default=[])
    p_explain.add_argument("--console-paths", nargs="*", default=[])
    p_report = sub.add_parser("report")
    p_report.add_argument("files", nargs="+", type=Path)
    sub.add_parser("drop")
    p_down = sub.add_parser("downgrade", help="migrations back to REVISION (to measure older code on the data)")
    p_down.add_argument("revision")
    p_down.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args(argv)

    if args.command == "seed":
        for size in args.sizes:
            seed(size, code=args.code.resolve(), force=args.force)
    elif args.command == "probe":
        probe(args.reps)
    elif args.command == "explain":
        explain(args.paths, args.console_paths)
    elif args.command == "downgrade":
        for size in args.sizes:
            code = "from alembic import command; from hotline.migrate import alembic_config; "
            code += f"command.downgrade(alembic_config(), {args.revision!r})"
            subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env_for(size, ROOT), check=True)
            print(f"{db_name(size)}: at {args.revision}")
    elif args.command == "drop":
        for size in SIZES:
            drop_database(db_name(size))
    elif args.command == "report":
        print(report([json.loads(f.read_text()) for f in args.files]))
    else:
        code = args.code.resolve()
        RESULTS.mkdir(parents=True, exist_ok=True)
        started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        log = RESULTS / f"growth-{args.label}-{started}.log"
        run: dict[str, Any] = {
            "label": args.label,
            "commit": git_commit(code),
            "started": started,
            "machine": platform.node(),
            "command": " ".join(sys.argv),
            "results": {},
        }
        out = RESULTS / f"growth-{args.label}-{started}.json"
        measured = measure_sizes(args.sizes, code, args.reps, log)
        run["load"] = measured.pop("_load")
        run["results"] = measured
        out.write_text(json.dumps(run, indent=2))
        largest = args.sizes[-1]
        slow = {n: r for n, r in run["results"][largest].items() if r["median_ms"] > SLOW_MS and "path" in r}
        if slow and not args.no_explain:
            token = hotline(code, largest, "user", "token", "growth").strip().split()[-1]
            env = {**env_for(largest, code), "GROWTH_TOKEN": token}
            api = [r["path"] for r in slow.values() if not r["path"].startswith("/console")]
            pages = [r["path"] for r in slow.values() if r["path"].startswith("/console")]
            plans = subprocess.run(
                [PYTHON, str(BENCH / "growth.py"), "explain", "--paths", *api, "--console-paths", *pages],
                cwd=code,
                env=env,
                capture_output=True,
                text=True,
            )
            run["explain"] = plans.stdout + plans.stderr[-2000:]
        out.write_text(json.dumps(run, indent=2))
        print(report([run]))
        if run.get("explain"):
            print(f"\nEXPLAIN of what took over {SLOW_MS:.0f} ms at {largest}:\n{run['explain']}")
        print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
