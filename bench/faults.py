"""The fault suite (issue 18, docs/reliability.md): reports sent while one part of the hotline fails, and what
became of each one.

    .venv/bin/python bench/faults.py [--reports 20] [--interval 0.2] [--only postgres_stopped,...]

Everything runs here, of its own: a PostgreSQL 15 cluster and a redis-server (appendonly) in a temporary
folder on free ports (tests/throwaway_servers.py; never the shared servers), the fake Twilio
(hotline/fakes/twilio_rest.py), and real `hotline serve` and `hotline worker` processes on the fixture city
(tests/city/). The number's Messaging URL is a TCP proxy in front of the primary `hotline serve` (what nginx
is in production); its Fallback URL is a second `hotline serve` (another host in production) at
/twilio/sms/fallback, with a spool of its own.

"Twilio" here does what Twilio does (docs/reliability.md): one POST of the signed SMS to the Messaging URL
(15 s timeout), no retry; if that fails (no connection, a reset, a 5xx, the timeout) one POST to the
Fallback URL, signed for it. For each fault: `--reports` reports from as many citizens, one every
`--interval` seconds; the fault begins after a quarter of them and is repaired after three quarters. Then
the suite waits (up to 90 s) until every stored report is processed and every citizen answered, and counts:

    answered  got a 200 (from the Messaging URL, or else from the Fallback URL: "via fallback")
    stored    rows in inbound_messages with the reports' MessageSids (one per report at most: unique)
    ticketed  reports linked to a ticket (their own, or the open ticket they were merged into)
    replied   citizens who got an SMS back; "doubled" counts a citizen with two replies or two tickets
    lost      sent but not stored
    settled   seconds from the repair until the last reply

Prints a table (Markdown) and writes bench/results/faults-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from hotline.fakes.twilio_rest import FakeTwilio  # noqa: E402
from tests.fault_processes import crash, free_port, start, stop, wait_for  # noqa: E402
from tests.tcp_proxy import TcpProxy  # noqa: E402
from tests.throwaway_servers import ThrowawayPostgres, ThrowawayRedis, postgres_available  # noqa: E402

ACCOUNT_SID = "AC" + "fa" * 16
AUTH_TOKEN = "faults-auth-token-" + "7" * 14
HOTLINE_NUMBER = "+15005550006"
TWILIO_TIMEOUT = 15.0  # Twilio gives a webhook 15 s
SETTLE_SECONDS = 90.0
DESA = ["Sisir", "Temas", "Ngaglik", "Songgokerto", "Pesanggrahan", "Sidomulyo", "Punten", "Bulukerto"]


@dataclass
class Outcome:
    fault: str
    sent: int = 0
    answered: int = 0
    via_fallback: int = 0
    stored: int = 0
    ticketed: int = 0
    replied: int = 0
    doubled: int = 0
    lost: int = 0
    settled_seconds: float | None = None
    answers: dict[str, int] = field(default_factory=dict)  # what the Messaging URL itself answered


class Hotline:
    """The processes under test and the servers they use."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.pg = ThrowawayPostgres().init()
        self.redis = ThrowawayRedis().start()
        self.twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
        self.serve_port, self.fallback_port = free_port(), free_port()
        self.proxy = TcpProxy(f"127.0.0.1:{self.serve_port}").start()
        self.primary_url = f"http://127.0.0.1:{self.proxy.port}"
        self.fallback_url = f"http://127.0.0.1:{self.fallback_port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TWILIO_", "ARI_"))},
            "HOTLINE_CONFIG_DIR": str(ROOT / "tests" / "city"),
            "HOTLINE_DATABASE_URL": self.pg.url,
            "HOTLINE_REDIS_URL": self.redis.url,
            "HOTLINE_QUEUE": "faults",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": HOTLINE_NUMBER,
            "TWILIO_API_BASE": self.twilio.base_url,
        }
        upgrade = start(["db", "upgrade"], self.env, work / "upgrade.log")
        if upgrade.wait(180) != 0:
            raise SystemExit(f"hotline db upgrade failed: {(work / 'upgrade.log').read_text()[-2000:]}")
        self.serve = self._serve(self.serve_port, self.primary_url, "primary")
        self.fallback = self._serve(self.fallback_port, self.fallback_url, "fallback")
        self.worker = self.start_worker()
        self.database = create_engine(self.pg.url, pool_pre_ping=True)
        self.wait_for_worker()

    def wait_for_worker(self) -> None:
        import redis

        connection = redis.Redis.from_url(self.redis.url)
        wait_for(lambda: bool(connection.smembers("rq:workers")), 60, "hotline worker did not register with RQ")

    def _serve(self, port: int, public_url: str, name: str) -> subprocess.Popen[bytes]:
        env = {**self.env, "HOTLINE_PUBLIC_URL": public_url, "HOTLINE_DATA_DIR": str(self.work / name)}
        process = start(["serve", "--port", str(port)], env, self.work / f"serve-{name}.log")
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}"), 60, f"hotline serve ({name}) did not start")
        return process

    def restart_serve(self) -> None:
        self.serve = self._serve(self.serve_port, self.primary_url, "primary")

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {**self.env, "HOTLINE_DATA_DIR": str(self.work / "worker")}
        return start(["worker", "--sweep-interval", "1"], env, self.work / "worker.log")

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.database.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def close(self) -> None:
        for process in (self.worker, self.serve, self.fallback):
            stop(process)
        self.proxy.stop()
        self.twilio.stop()
        self.database.dispose()
        self.redis.destroy()
        self.pg.destroy()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def send_like_twilio(client: httpx.Client, hotline: Hotline, params: dict[str, str]) -> tuple[bool, bool, str]:
    """(answered, via fallback, what the Messaging URL answered)."""
    validator = RequestValidator(AUTH_TOKEN)

    def post(url: str) -> int | str:
        try:
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            return client.post(url, data=params, headers=headers, timeout=TWILIO_TIMEOUT).status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    first = post(f"{hotline.primary_url}/twilio/sms")
    if first == 200:
        return True, False, "200"
    second = post(f"{hotline.fallback_url}/twilio/sms/fallback")
    return second == 200, second == 200, str(first)


def run(
    hotline: Hotline,
    name: str,
    *,
    index: int,
    reports: int,
    interval: float,
    fault: Callable[[], None],
    repair: Callable[[], None],
) -> Outcome:
    outcome = Outcome(name)
    citizens = [f"+628139{index:02d}{n:04d}" for n in range(reports)]
    sids = []
    answers: Counter[str] = Counter()
    repaired = time.monotonic()
    with httpx.Client() as client:
        for n, citizen in enumerate(citizens):
            if n == reports // 4:
                fault()
            if n == 3 * reports // 4:
                repair()
                repaired = time.monotonic()
            sid = f"SM{uuid.uuid4().hex}"
            sids.append(sid)
            params = {
                "AccountSid": ACCOUNT_SID,
                "MessageSid": sid,
                "SmsSid": sid,
                "From": citizen,
                "To": HOTLINE_NUMBER,
                "Body": f"KEBAKARAN di desa {DESA[n % len(DESA)]}, rumah nomor {index * 100 + n}",
                "NumMedia": "0",
            }
            answered, via_fallback, first = send_like_twilio(client, hotline, params)
            outcome.sent += 1
            outcome.answered += answered
            outcome.via_fallback += via_fallback
            answers[first] += 1
            time.sleep(interval)
    outcome.answers = dict(answers)

    def replies() -> Counter[str]:
        return Counter(m.to for m in list(hotline.twilio.messages) if m.to in citizens)

    def settled() -> bool:
        rows = hotline.query("SELECT status FROM inbound_messages WHERE provider_sid = ANY(:sids)", sids=sids)
        return all(r.status != "received" for r in rows) and len(replies()) >= len(rows)

    try:
        wait_for(settled, SETTLE_SECONDS, "")
        outcome.settled_seconds = round(time.monotonic() - repaired, 1)
    except AssertionError:
        outcome.settled_seconds = None  # not within SETTLE_SECONDS: the table says so
    time.sleep(1.0)  # a late second reply would show as doubled
    rows = hotline.query(
        "SELECT provider_sid, ticket_id FROM inbound_messages WHERE provider_sid = ANY(:sids)", sids=sids
    )
    tickets = Counter(
        r.reporter_phone
        for r in hotline.query("SELECT reporter_phone FROM tickets WHERE reporter_phone = ANY(:c)", c=citizens)
    )
    got = replies()
    outcome.stored = len(rows)
    outcome.ticketed = sum(1 for r in rows if r.ticket_id is not None)
    outcome.replied = len(got)
    outcome.doubled = sum(1 for c in citizens if got[c] > 1 or tickets[c] > 1)
    outcome.lost = outcome.sent - outcome.stored
    return outcome


def faults(hotline: Hotline) -> dict[str, tuple[str, Callable[[], None], Callable[[], None]]]:
    def kill_worker() -> None:
        crash(hotline.worker)

    def new_worker() -> None:
        hotline.worker = hotline.start_worker()

    def kill_redis() -> None:
        hotline.redis.kill()

    def start_redis() -> None:
        hotline.redis.start()

    def kill_serve() -> None:
        crash(hotline.serve)

    return {
        "none": ("no fault (baseline)", lambda: None, lambda: None),
        "worker_killed": ("`hotline worker` SIGKILLed, a new one started", kill_worker, new_worker),
        "redis_killed": ("redis-server SIGKILLed, started again (appendonly)", kill_redis, start_redis),
        "postgres_stopped": (
            "PostgreSQL stopped (`pg_ctl stop -m fast`), started again",
            hotline.pg.stop,
            hotline.pg.start,
        ),
        "serve_killed": ("the primary `hotline serve` SIGKILLed, started again", kill_serve, hotline.restart_serve),
        "proxy_restarted": (
            "the proxy in front cut (connections reset, refused), restored",
            hotline.proxy.cut,
            hotline.proxy.restore,
        ),
    }


def table(outcomes: list[Outcome], described: dict[str, str]) -> str:
    lines = [
        "| fault | sent | answered 200 (via fallback) | stored | ticketed | replied | lost | doubled "
        "| settled after repair | Messaging URL answered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        settled = f"{o.settled_seconds:.1f} s" if o.settled_seconds is not None else f"> {SETTLE_SECONDS:.0f} s"
        first = ", ".join(f"{k} x{v}" for k, v in sorted(o.answers.items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {described[o.fault]} | {o.sent} | {o.answered} ({o.via_fallback}) | {o.stored} | {o.ticketed} | "
            f"{o.replied} | {o.lost} | {o.doubled} | {settled} | {first} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between reports")
    parser.add_argument("--only", default="", help="comma-separated fault names")
    parser.add_argument(
        "--code", type=Path, help="run the hotline processes from this checkout (e.g. an older commit: the before)"
    )
    args = parser.parse_args()
    why = postgres_available()
    if why or not shutil.which("redis-server"):
        raise SystemExit(why or "no redis-server on PATH")
    work = ROOT / "bench" / "results" / f"faults-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    work.mkdir(parents=True)
    if args.code:  # `python -m hotline` finds the package in its working directory first
        os.chdir(args.code.resolve())
    hotline = Hotline(work)
    outcomes: list[Outcome] = []
    try:
        known = faults(hotline)
        chosen = [n for n in args.only.split(",") if n] or list(known)
        wait_for(lambda: bool(hotline.query("SELECT 1")), 30, "no database")
        for index, name in enumerate(chosen):
            described, fault, repair = known[name]
            outcome = run(
                hotline, name, index=index, reports=args.reports, interval=args.interval, fault=fault, repair=repair
            )
            outcomes.append(outcome)
            print(f"{name}: {asdict(outcome)}", flush=True)
    finally:
        hotline.close()
    described = {name: known[name][0] for name in known}
    print()
    print(table(outcomes, described))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    result = {
        "commit": commit.stdout.strip(),
        "reports": args.reports,
        "interval": args.interval,
        "load": os.getloadavg()[0],
        "code": str(args.code) if args.code else None,
        "outcomes": [asdict(o) for o in outcomes],
    }
    (work / "faults.json").write_text(json.dumps(result, indent=2))
    print(f"\n{work / 'faults.json'} (load {result['load']:.1f})")


if __name__ == "__main__":
    main()
