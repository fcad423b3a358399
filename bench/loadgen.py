"""Open-loop load generator for Twilio SMS webhooks (one step: one rate for a fixed time).

Run by bench/sms_ingest.py as a separate process; usable alone:

    python bench/loadgen.py --port 8000 --token T --rate 200 --seconds 10 --out step.json

* Every request is built and signed (X-Twilio-Signature, exactly as Twilio computes it) before the
  clock starts, each with its own MessageSid, so the timed phase only writes bytes and reads replies.
* Open loop: request i is due at t0 + i/rate whatever happened to earlier ones. Latency is measured
  from the time a request was *due*, not from when it went out, so a server (or generator) that falls
  behind pays for the whole backlog (no coordinated omission). `lag` says how late requests went out.
* A minimal HTTP/1.1 client on asyncio (uvloop) streams with a keep-alive connection pool: far cheaper
  per request than a general client, which matters when generator and server share two cores.
* Bounded: at most --max-conns connections, --timeout per request, and the step ends --grace seconds
  after the last request was due; whatever is still open then counts as a timeout error.

Prints "START <t>" when timing begins and "END <t>" when it is over (the orchestrator samples CPU
time between the two), then writes a JSON summary with the MessageSids answered 200.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "b3" * 16
TO_NUMBER = "+15005550006"
BODIES = (
    "KEBAKARAN rumah di Jl. Diponegoro 12 dekat pasar, asap tebal tolong cepat",
    "LONGSOR di Desa Sumberbrantas, jalan tertutup tanah, ada motor terjebak",
    "BANJIR setinggi lutut di Kelurahan Sisir RT 03 RW 05",
    "JALAN berlubang besar di depan SDN Temas 1, sudah ada yang jatuh",
    "SAMPAH menumpuk 3 hari di TPS Jl. Brantas belum diangkut",
    "TANI hama wereng menyerang sawah di Desa Tlekung",
    "pohon tumbang menutup jalan raya Batu-Malang km 5",
    "STATUS 123",
    "tolong ada kebakaran lahan di dekat Coban Rondo",
    "Selamat pagi, lampu jalan mati di Jl. Sultan Agung sejak kemarin malam",
)


def twilio_params(sid: str, sender: str, body: str) -> dict[str, str]:
    """The parameters Twilio posts for an inbound SMS (same names, same order as a captured request)."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "ID",
        "To": TO_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def build_requests(
    *, count: int, host: str, port: int, path: str, public_url: str, token: str, sid_prefix: str, seed: int
) -> tuple[list[bytes], list[str]]:
    """`count` complete, signed HTTP/1.1 requests, each with a unique MessageSid."""
    validator = RequestValidator(token)
    rng = random.Random(seed)
    url = public_url.rstrip("/") + path
    requests: list[bytes] = []
    sids: list[str] = []
    for _ in range(count):
        sid = "SM" + (sid_prefix + uuid.uuid4().hex)[:32]
        sender = f"+62812{rng.randrange(10_000_000, 99_999_999)}"
        params = twilio_params(sid, sender, rng.choice(BODIES))
        body = urlencode(params).encode()
        signature = validator.compute_signature(url, params)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            f"Accept: */*\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
        sids.append(sid)
    return requests, sids


def build_whatsapp_requests(
    *, count: int, host: str, port: int, app_secret: str, gateway: str, sid_prefix: str, seed: int, image: bool
) -> tuple[list[bytes], list[str]]:
    """`count` WhatsApp Cloud API webhooks as Meta posts them (one message each, the shape of
    tests/fixtures/whatsapp/text.json or image.json), signed with X-Hub-Signature-256. The ids returned are the
    provider_sid each is stored under ("<gateway>:<wamid or its digest>")."""
    import hashlib
    import hmac

    rng = random.Random(seed)
    requests: list[bytes] = []
    sids: list[str] = []
    for n in range(count):
        wamid = f"wamid.{sid_prefix}{uuid.UUID(int=rng.getrandbits(128)).hex}{n:06d}"
        sender = f"62812{rng.randrange(10_000_000, 99_999_999)}"
        text = rng.choice(BODIES)
        if image:
            content = {
                "type": "image",
                "image": {"caption": text, "mime_type": "image/jpeg", "sha256": "x", "id": str(10**15 + n)},
            }
        else:
            content = {"type": "text", "text": {"body": text}}
        message = {"from": sender, "id": wamid, "timestamp": str(int(time.time())), **content}
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6281100000099", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Warga"}, "wa_id": sender}],
            "messages": [message],
        }
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [{"id": "1022", "changes": [{"value": value, "field": "messages"}]}],
            }
        ).encode()
        signature = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
        head = (
            f"POST /whatsapp/webhook HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: facebookexternalua\r\n"
            f"Content-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
        stored = wamid if len(wamid) <= 40 else "h" + hashlib.sha256(wamid.encode()).hexdigest()[:39]
        sids.append(f"{gateway}:{stored}")
    return requests, sids


def build_kannel_requests(
    *, count: int, host: str, port: int, secret: str, gateway: str, sid_prefix: str, seed: int
) -> tuple[list[bytes], list[str]]:
    """`count` requests as Kannel's smsbox posts a citizen SMS (config/kannel/kannel.conf's post-url: escape codes
    in the query, the text as the body, X-Kannel-* headers), each with its own %I. The ids returned are the
    provider_sid each is stored under ("<gateway>:<id>")."""
    rng = random.Random(seed)
    requests: list[bytes] = []
    sids: list[str] = []
    for _ in range(count):
        message_id = str(uuid.UUID(int=rng.getrandbits(128)))[: -len(sid_prefix) or None] + sid_prefix
        sender = f"+62812{rng.randrange(10_000_000, 99_999_999)}"
        body = rng.choice(BODIES).encode()
        query = urlencode(
            {
                "gateway": gateway,
                "secret": secret,
                "id": message_id,
                "from": sender,
                "to": "+62811000000",
                "smsc": "modem1",
                "time": str(int(time.time())),
            }
        )
        head = (
            f"POST /kannel/sms?{query} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: Kannel/1.4.5\r\n"
            f'Content-Type: text/plain; charset="UTF-8"\r\nX-Kannel-From: {sender}\r\nX-Kannel-To: +62811000000\r\n'
            f"X-Kannel-SMSC: modem1\r\nX-Kannel-Coding: 0\r\nX-Kannel-Service: default\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
        sids.append(f"{gateway}:{message_id}")
    return requests, sids


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reusable = True
        self.idle_since = 0.0

    async def exchange(self, request: bytes) -> int:
        """Send one request, read the whole response, return its status code."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        marker = lower.find(b"\r\ncontent-length:")
        if marker >= 0:
            end = lower.index(b"\r\n", marker + 2)
            await self.reader.readexactly(int(lower[marker + 17 : end]))
        elif b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if b"\r\nconnection: close" in lower:
            self.reusable = False
        return status

    def close(self) -> None:
        self.reusable = False
        self.writer.close()


class Pool:
    """Keep-alive connections; at most `max_conns` requests in flight, so at most that many sockets.

    A connection idle for `max_idle` seconds is closed rather than reused: uvicorn drops keep-alive
    connections after 5 s, and writing to one it is closing just then fails with no fault of the app
    (general clients retry those; we avoid them)."""

    def __init__(self, host: str, port: int, max_conns: int, max_idle: float = 2.0) -> None:
        self.host, self.port = host, port
        self.slots = asyncio.Semaphore(max_conns)
        self.idle: list[Connection] = []
        self.max_idle = max_idle
        self.stale_closed = 0
        self.opened = 0

    async def acquire(self) -> Connection:
        await self.slots.acquire()
        now = time.perf_counter()
        while self.idle:
            conn = self.idle.pop()
            if now - conn.idle_since < self.max_idle:
                return conn
            conn.close()
            self.stale_closed += 1
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except BaseException:
            self.slots.release()
            raise
        self.opened += 1
        return Connection(reader, writer)

    def release(self, conn: Connection) -> None:
        if conn.reusable:
            conn.idle_since = time.perf_counter()
            self.idle.append(conn)
        else:
            conn.close()
        self.slots.release()

    def close_all(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


@dataclass
class Outcome:
    statuses: list[int]
    errors: Counter[str]
    latency: list[float]  # seconds from due time to the end of the response, per answered request
    lag: list[float]  # seconds from due time to the moment the request was written
    ok_sids: list[str]
    t0: float
    last_done: float
    connections_opened: int


async def run_step(
    requests: list[bytes],
    sids: list[str],
    *,
    host: str,
    port: int,
    rate: float,
    max_conns: int,
    timeout: float,
    grace: float,
) -> Outcome:
    pool = Pool(host, port, max_conns)
    n = len(requests)
    statuses: list[int] = []
    errors: Counter[str] = Counter()
    latency: list[float] = []
    lag: list[float] = []
    ok_sids: list[str] = []
    done_at: list[float] = []

    async def one(i: int, due: float) -> None:
        conn: Connection | None = None
        try:
            async with asyncio.timeout(timeout):
                conn = await pool.acquire()
                lag.append(time.perf_counter() - due)
                status = await conn.exchange(requests[i])
            now = time.perf_counter()
            statuses.append(status)
            latency.append(now - due)
            done_at.append(now)
            if status == 200:
                ok_sids.append(sids[i])
            else:
                errors[f"http_{status}"] += 1
        except TimeoutError:
            errors["timeout"] += 1
            if conn is not None:
                conn.close()
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors[type(exc).__name__] += 1
            if conn is not None:
                conn.close()
        except asyncio.CancelledError:
            errors["unfinished"] += 1
            if conn is not None:
                conn.close()
            raise
        finally:
            if conn is not None:
                pool.release(conn)

    tasks: set[asyncio.Task[None]] = set()
    interval = 1.0 / rate
    print(f"START {time.time():.6f}", flush=True)
    t0 = time.perf_counter()
    i = 0
    while i < n:
        now = time.perf_counter()
        while i < n and t0 + i * interval <= now:
            task = asyncio.create_task(one(i, t0 + i * interval))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if i < n:
            await asyncio.sleep(max(0.0, t0 + i * interval - time.perf_counter()))
    if tasks:
        deadline = t0 + n * interval + grace
        _, pending = await asyncio.wait(set(tasks), timeout=max(0.0, deadline - time.perf_counter()))
        for task in pending:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pending, return_exceptions=True)
    print(f"END {time.time():.6f}", flush=True)
    pool.close_all()
    return Outcome(statuses, errors, latency, lag, ok_sids, t0, max(done_at, default=t0), pool.opened)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def summarise(outcome: Outcome, *, rate: float, seconds: float, sent: int) -> dict[str, Any]:
    lat = sorted(outcome.latency)
    lag = sorted(outcome.lag)
    ok = len(outcome.ok_sids)
    span = max(seconds, outcome.last_done - outcome.t0)
    ms = 1000.0
    return {
        "offered_rate": rate,
        "seconds": seconds,
        "sent": sent,
        "answered": len(outcome.statuses),
        "ok": ok,
        "achieved_rate": ok / span if span > 0 else 0.0,
        "span_s": span,
        "status_counts": {str(k): v for k, v in sorted(Counter(outcome.statuses).items())},
        "errors": dict(outcome.errors),
        "error_count": sum(outcome.errors.values()),
        "latency_ms": {
            "p50": percentile(lat, 50) * ms,
            "p90": percentile(lat, 90) * ms,
            "p99": percentile(lat, 99) * ms,
            "max": (lat[-1] * ms) if lat else float("nan"),
            "mean": (sum(lat) / len(lat) * ms) if lat else float("nan"),
        },
        "connections_opened": outcome.connections_opened,
        "send_lag_ms": {"p99": percentile(lag, 99) * ms, "max": (lag[-1] * ms) if lag else float("nan")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/twilio/sms")
    parser.add_argument("--public-url", help="base URL the signature is computed for (default http://host:port)")
    parser.add_argument("--token", required=True, help="Twilio auth token the server checks against")
    parser.add_argument(
        "--kind", choices=["twilio", "kannel", "whatsapp", "whatsapp-image"], default="twilio", help="whose requests"
    )
    parser.add_argument("--app-secret", default="", help="the WhatsApp app secret (--kind whatsapp*)")
    parser.add_argument("--kannel-secret", default="", help="the Kannel gateway's SECRET (--kind kannel)")
    parser.add_argument("--kannel-gateway", default="kannel", help="the Kannel gateway's name (--kind kannel)")
    parser.add_argument("--rate", type=float, required=True, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--max-conns", type=int, default=512)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--grace", type=float, default=12.0, help="seconds after the last due time")
    parser.add_argument("--sid-prefix", default="", help="hex prefix for MessageSids (unique per run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="JSON summary (with the 200 MessageSids)")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("loopback only")

    count = max(1, round(args.rate * args.seconds))
    if args.kind.startswith("whatsapp"):
        requests, sids = build_whatsapp_requests(
            count=count,
            host=args.host,
            port=args.port,
            app_secret=args.app_secret,
            gateway="wa",
            sid_prefix=args.sid_prefix[:8],
            seed=args.seed,
            image=args.kind == "whatsapp-image",
        )
    elif args.kind == "kannel":
        requests, sids = build_kannel_requests(
            count=count,
            host=args.host,
            port=args.port,
            secret=args.kannel_secret,
            gateway=args.kannel_gateway,
            sid_prefix=args.sid_prefix[:8],
            seed=args.seed,
        )
    else:
        requests, sids = build_requests(
            count=count,
            host=args.host,
            port=args.port,
            path=args.path,
            public_url=args.public_url or f"http://{args.host}:{args.port}",
            token=args.token,
            sid_prefix=args.sid_prefix,
            seed=args.seed,
        )
    gc.collect()
    gc.freeze()  # the pre-built requests never need scanning again
    step = run_step(
        requests,
        sids,
        host=args.host,
        port=args.port,
        rate=args.rate,
        max_conns=args.max_conns,
        timeout=args.timeout,
        grace=args.grace,
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        outcome = asyncio.run(step)
    else:
        outcome = uvloop.run(step)
    summary = summarise(outcome, rate=args.rate, seconds=args.seconds, sent=count)
    summary["ok_sids"] = outcome.ok_sids
    args.out.write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
