"""`hotline smpp`: one transceiver bind per configured SMPP link, held by one process (a Redis lease per link).

Per link, while this process holds its lease:
- bind (log line and state "down" with the reason when it fails), again with back-off 0.5 s doubling to 5 s;
- send what the workers queue in the link's stream (hotline/channels/smpp/gateway.py), at the link's TPS
  within its window, long texts in parts (UDH or SAR); ESME_RTHROTTLED / ESME_RMSGQFUL pause the link and
  send the part again; any other refusal is answered to the worker, which fails over to the next gateway;
- take deliver_sm: a receipt goes to the delivery service, a citizen's SMS (its parts joined) to the inbound
  path every gateway uses (gateway_sink), and only then is deliver_sm_resp sent; with the database down it
  is kept in the local spool first (hotline/spool/, replayed by `hotline serve`); only if that cannot be
  written either is the answer ESME_RX_T_APPN, so the SMSC keeps the message and delivers it again;
- publish the link's state (bound / down and why) for /readyz and /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from hotline.channels.ari.lease import AriLease
from hotline.channels.gateway import DeliveryReport, InboundSms
from hotline.channels.gateway_sink import InboundRefused, take_or_spool, take_report
from hotline.channels.smpp import inbound, keys, pdu
from hotline.channels.smpp.config import LinkConfig, address
from hotline.channels.smpp.session import BindRefused, LinkLost, Pacer, Session
from hotline.channels.smpp.text import parts

log = logging.getLogger(__name__)

BACKOFF = (0.5, 1.0, 2.0, 4.0, 5.0)  # seconds before binding again; stays at the last
THROTTLE_PAUSE = (0.2, 0.5, 1.0, 2.0)  # the SMSC said ESME_RTHROTTLED n times in a row
TEMPORARY_NACKS = {pdu.ESME_RTHROTTLED, pdu.ESME_RMSGQFUL}
PARTS_TTL = 3600
INTAKE = 64  # deliver_sm handled at once (each needs a Redis connection, then a database slot)


@dataclass
class Progress:
    """Parts of one request the SMSC already took (kept across a rebind: never sent twice)."""

    ids: list[str] = field(default_factory=list)


class LinkHolder:
    def __init__(self, config: LinkConfig, redis: Redis, *, lease_seconds: float = 15.0, database_slots: int = 8):
        self.config = config
        self.redis = redis
        self.lease = AriLease(redis, keys.key(config.name, "lease"), ttl=lease_seconds, label=f"SMPP {config.name}")
        self.pacer = Pacer(config.tps)
        self.session: Session | None = None
        self.progress: dict[str, Progress] = {}
        self.in_flight: set[str] = set()
        self.counts: dict[str, int] = {}
        self.recent: dict[str, str] = {}  # SMSC message id -> "<outbox id> <first part's id>", newest last
        self.db = asyncio.Semaphore(database_slots)
        self.intake = asyncio.Semaphore(INTAKE)
        self.consumer = self.lease.holder
        self.state = ("down", "starting")
        self._ref = int(time.time()) & 0xFFFF
        self._throttled = 0

    def k(self, *parts: str) -> str:
        return keys.key(self.config.name, *parts)

    # --- state -----------------------------------------------------------------------------------------
    async def publish(self, state: str, reason: str = "") -> None:
        changed = (state, reason) != self.state
        if changed:
            self.since = time.time()
            self.state = (state, reason)
        smsc = self.session.smsc_system_id if self.session is not None and state == "bound" else ""
        value = keys.state_value(state, since=getattr(self, "since", time.time()), reason=reason, smsc=smsc)
        try:
            await self.redis.set(self.k("state"), value, ex=keys.STATE_TTL)
        except (RedisError, OSError) as exc:
            if changed:
                log.warning("SMPP %s: could not publish the link's state (%s)", self.config.name, exc)

    async def count(self, what: str, n: int = 1) -> None:
        """Counted here, added to Redis with the next state renewal (not a round trip per PDU)."""
        self.counts[what] = self.counts.get(what, 0) + n

    async def flush_counts(self) -> None:
        counts, self.counts = self.counts, {}
        if not counts:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for what, n in counts.items():
                    pipe.hincrby(self.k("counts"), what, n)
                await pipe.execute()
        except (RedisError, OSError):
            for what, n in counts.items():  # next time
                self.counts[what] = self.counts.get(what, 0) + n

    # --- the bind ----------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await self.lease.acquire(stop):
                break
            lost = asyncio.Event()
            keeper = asyncio.create_task(self._keep_lease(stop, lost))
            try:
                await self._bind_loop(stop, lost)
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
        await self.publish("down", "hotline smpp stopped")
        await self.flush_counts()
        await self.lease.release()

    async def _keep_lease(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        keeper = asyncio.create_task(self.lease.keep(stop))
        try:
            while not keeper.done():
                await asyncio.wait([keeper], timeout=min(2.0, keys.STATE_TTL / 3))
                await self.publish(*self.state)  # renew the state key while we hold the link
                await self.flush_counts()
        finally:
            lost.set()  # the lease is gone (or we stop): stand down

    async def _bind_loop(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        c = self.config
        failures = 0
        while not stop.is_set() and not lost.is_set():
            session = Session(c, self.on_deliver, self.pacer)
            try:
                await session.open()
            except (BindRefused, OSError, TimeoutError, pdu.PduError) as exc:
                reason = str(exc) or type(exc).__name__
                delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                log.error(
                    "SMPP %s: bind to %s:%s as %r failed: %s; trying again in %.1f s",
                    c.name,
                    c.host,
                    c.port,
                    c.system_id,
                    reason,
                    delay,
                )
                await self.publish("down", f"bind failed: {reason}")
                await self.count("bind_failures")
                await _sleep_or(stop, lost, delay)
                continue
            bound_at = time.monotonic()
            self.session = session
            log.info("SMPP %s: bound to %s:%s (%s) as %r", c.name, c.host, c.port, session.smsc_system_id, c.system_id)
            await self.publish("bound")
            await self.count("binds")
            sender = asyncio.create_task(self._send_loop(session))
            runner = asyncio.create_task(session.run())
            waiter = asyncio.create_task(_first(stop, lost))
            await asyncio.wait([runner, waiter], return_when=asyncio.FIRST_COMPLETED)
            if not runner.done():  # stopping, or the lease is lost: unbind cleanly
                await session.unbind()
                await runner
            waiter.cancel()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            reason = session.close_reason or "closed"
            self.session = None
            if not stop.is_set():
                # a bind that keeps dropping at once backs off like one that fails; one that held starts afresh
                failures = failures + 1 if time.monotonic() - bound_at < 10 else 0
                delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
                log.warning("SMPP %s: bind lost (%s); binding again in %.1f s", c.name, reason, delay)
                await self.publish("down", reason)
                await _sleep_or(stop, lost, delay)

    # --- sending -----------------------------------------------------------------------------------------
    async def _send_loop(self, session: Session) -> None:
        stream = self.k("out")
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists
            await self.redis.xgroup_create(stream, keys.GROUP, id="0", mkstream=True)
        tasks: set[asyncio.Task[None]] = set()
        room = asyncio.Semaphore(max(4 * self.config.window, 64))
        first = True
        while session.bound:
            try:
                if first:  # what a holder before us (or this one, before a rebind) took and did not finish
                    entries = await self._unfinished()
                    first = False
                else:
                    got: Any = await self.redis.xreadgroup(
                        keys.GROUP, self.consumer, {stream: ">"}, count=64, block=1000
                    )
                    entries = [(eid, data) for _, items in (got or []) for eid, data in items]
            except (RedisError, OSError) as exc:
                log.warning("SMPP %s: cannot read the send queue (%s)", self.config.name, exc)
                await asyncio.sleep(1)
                first = True
                continue
            for entry_id, data in entries:
                eid = _text(entry_id)
                if eid in self.in_flight:
                    continue
                await room.acquire()
                self.in_flight.add(eid)
                task = asyncio.create_task(self._send(session, eid, {_text(k): _text(v) for k, v in data.items()}))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(self._done(eid, room))
        if tasks:
            await asyncio.wait(tasks)

    def _done(self, eid: str, room: asyncio.Semaphore) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self.in_flight.discard(eid)
            room.release()

        return done

    async def _unfinished(self) -> list[tuple[Any, dict[Any, Any]]]:
        stream = self.k("out")
        found: list[tuple[Any, dict[Any, Any]]] = []
        start = "0-0"
        while True:
            result = await self.redis.xautoclaim(stream, keys.GROUP, self.consumer, 0, start_id=start, count=100)
            start, claimed = _text(result[0]), result[1]
            found.extend((eid, data) for eid, data in claimed if data)
            if start == "0-0" or not claimed:
                return found

    async def _send(self, session: Session, eid: str, request: dict[str, str]) -> None:
        try:
            answer = await self._submit_all(session, request)
        except LinkLost:
            return  # stays pending: sent again after the rebind (the parts already taken are not)
        await self._finish(eid, request, answer)

    async def _submit_all(self, session: Session, request: dict[str, str]) -> dict[str, Any]:
        rid = request["request"]
        progress = self.progress.setdefault(rid, Progress())
        if not progress.ids and time.time() > float(request.get("expires") or 0):
            return {"status": "expired", "reason": f"not sent within its time ({self.state[1] or 'link busy'})"}
        self._ref = (self._ref + 1) & 0xFFFF
        coding, pieces = parts(request["body"], concat=self.config.concat, ref=self._ref)
        ston, snpi, source = address(request.get("sender") or self.config.source)
        dton, dnpi, dest = address(request["to"])
        validity = _validity(request.get("validity") or "")
        for n, piece in enumerate(pieces):
            if n < len(progress.ids):
                continue
            sm = pdu.ShortMessage(
                source_addr=source,
                destination_addr=dest,
                source_ton=ston,
                source_npi=snpi,
                dest_ton=dton,
                dest_npi=dnpi,
                esm_class=piece.esm_class,
                validity_period=validity,
                registered_delivery=1,  # a receipt for the final outcome, delivered or not
                data_coding=coding,
                short_message=piece.short_message,
                tlvs=piece.tlvs,
            )
            while True:
                resp = await session.submit(sm)
                if resp.command_id == pdu.SUBMIT_SM_RESP and resp.status == pdu.ESME_ROK:
                    self._throttled = 0
                    smsc_id = pdu.message_id_of(resp)
                    progress.ids.append(smsc_id)
                    self._remember(smsc_id, request.get("message_id", ""), progress.ids[0])
                    await self.count("submitted")
                    break
                if resp.status in TEMPORARY_NACKS:
                    pause = THROTTLE_PAUSE[min(self._throttled, len(THROTTLE_PAUSE) - 1)]
                    self._throttled += 1
                    await self.count("throttled")
                    log.warning("SMPP %s: %s; pausing %.1f s", self.config.name, pdu.status_name(resp.status), pause)
                    self.pacer.pause(pause)
                    if not progress.ids and time.time() > float(request.get("expires") or 0):
                        return {"status": "expired", "reason": pdu.status_name(resp.status)}
                    continue
                await self.count("refused")
                return {"status": "error", "code": resp.status, "reason": pdu.status_name(resp.status)}
        return {"status": "ok", "id": progress.ids[0], "ids": progress.ids}

    def _remember(self, smsc_id: str, message_id: str, first: str) -> None:
        """A receipt may come before the request is finished (and its ids are in Redis): kept here meanwhile."""
        self.recent[smsc_id] = f"{message_id} {first}"
        while len(self.recent) > 10000:
            self.recent.pop(next(iter(self.recent)))

    async def _known(self, smsc_id: str) -> str | None:
        for form in inbound.id_forms(smsc_id):
            known = self.recent.get(form)
            if known is None:
                raw = await self.redis.get(self.k("sid", form))
                known = _text(raw) if raw is not None else None
            if known is not None:
                return known
        return None

    async def _finish(self, eid: str, request: dict[str, str], answer: dict[str, Any]) -> None:
        message_id, rid = request.get("message_id", ""), request["request"]
        for attempt in range(30):  # Redis away: try for a while, then leave the entry pending (the next holder)
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    if answer["status"] == "ok":
                        pipe.set(self.k("sent", message_id), json.dumps(answer), ex=keys.SENT_TTL)
                        for smsc_id in answer["ids"]:
                            pipe.set(self.k("sid", smsc_id), f"{message_id} {answer['id']}", ex=keys.SENT_TTL)
                    pipe.rpush(request["reply"], json.dumps(answer))
                    pipe.expire(request["reply"], 120)
                    pipe.xack(self.k("out"), keys.GROUP, eid)
                    pipe.xdel(self.k("out"), eid)
                    await pipe.execute()
                self.progress.pop(rid, None)
                return
            except (RedisError, OSError) as exc:
                log.warning("SMPP %s: cannot record SMS %s as sent (%s); again", self.config.name, message_id, exc)
                await asyncio.sleep(min(2.0, 0.1 * (attempt + 1)))

    # --- receiving ---------------------------------------------------------------------------------------
    async def on_deliver(self, sm: pdu.ShortMessage) -> int:
        """The deliver_sm_resp status for `sm`, once it is stored (ROK) or could not be (RX_T_APPN)."""
        async with self.intake:  # an SMSC without a window: the rest wait here, not for a Redis connection
            if inbound.is_receipt(sm):
                return await self._receipt(sm)
            return await self._mo(sm)

    async def _receipt(self, sm: pdu.ShortMessage) -> int:
        found = inbound.receipt(sm)
        await self.count("receipts")
        if found is None:
            log.warning("SMPP %s: a receipt naming no message: %r", self.config.name, sm.short_message[:160])
            return pdu.ESME_ROK
        message_id: int | None = None
        first: str | None = None
        known = await self._known(found.smsc_id)
        if known is None and self.in_flight:  # its submit_sm_resp came just before: let that send note it
            for _ in range(20):
                await asyncio.sleep(0.05)
                known = await self._known(found.smsc_id)
                if known is not None:
                    break
        if known is not None:
            mid, first = known.split(" ", 1)
            message_id = int(mid) if mid.isdigit() else None
        report = DeliveryReport(
            gateway=self.config.name,
            status=found.status,
            message_id=message_id,
            provider_sid=first or found.smsc_id,
            error_code=found.error[:16] if found.error else None,
            detail=found.text[:200] or None,
        )
        async with self.db:
            await asyncio.to_thread(take_report, report)
        return pdu.ESME_ROK

    async def _mo(self, sm: pdu.ShortMessage) -> int:
        message = inbound.mo(sm)
        await self.count("delivered")
        pinned = self.k("mo", message.key)
        gateway_id = f"{message.key}.{int(time.time() * 1000)}"
        if not await self.redis.set(pinned, gateway_id, nx=True, ex=keys.REDELIVERY_WINDOW):
            gateway_id = _text(await self.redis.get(pinned) or gateway_id)  # delivered again: the same id
        text = message.text
        if message.concat is not None and message.concat.total > 1:
            group = self.k("parts", f"{message.sender}:{message.to}:{message.concat.ref}:{message.concat.total}")
            await self.redis.hset(group, str(message.concat.seq), json.dumps([gateway_id, text]))
            await self.redis.expire(group, PARTS_TTL)
            got = {int(_text(k)): json.loads(v) for k, v in (await self.redis.hgetall(group)).items()}
            if len(got) < message.concat.total:
                return pdu.ESME_ROK  # kept in Redis with the others; stored as one SMS when the last one comes
            ordered = [got[n] for n in sorted(got)]
            text = "".join(t for _, t in ordered)
            gateway_id = "c" + hashlib.sha256("|".join(g for g, _ in ordered).encode()).hexdigest()[:24]
        else:
            group = ""
        sms = InboundSms(
            gateway=self.config.name,
            gateway_id=gateway_id,
            sender=message.sender,
            to=message.to,
            body=text,
            payload={"data_coding": sm.data_coding, "esm_class": sm.esm_class, "service_type": sm.service_type},
        )
        try:
            async with self.db:
                await asyncio.to_thread(take_or_spool, sms, kind="smpp")
        except InboundRefused as exc:
            log.error("SMPP %s: cannot store SMS from %r: %s", self.config.name, message.sender, exc)
            return pdu.ESME_RX_P_APPN  # the same again cannot be stored either: the SMSC must not retry
        if group:
            with contextlib.suppress(RedisError, OSError):
                await self.redis.delete(group)
        return pdu.ESME_ROK


def _validity(seconds: str) -> str:
    """A relative validity_period (YYMMDDhhmmss000R) for `seconds`."""
    if not seconds.isdigit() or int(seconds) <= 0:
        return ""
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return f"0000{min(days, 99):02d}{hours:02d}{minutes:02d}{s:02d}000R"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def _sleep_or(stop: asyncio.Event, lost: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_first(stop, lost), seconds)


async def serve(
    links: list[LinkConfig], redis_url: str, stop: asyncio.Event | None = None, lease_seconds: float = 15.0
) -> None:
    """Hold every link until SIGINT/SIGTERM (or `stop`)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # The loop's thread reads and answers PDUs while threads store SMS: let it have the GIL within 1 ms of a
    # PDU arriving, not after the default 5 ms (which is what deliver_sm_resp would wait behind a busy thread).
    sys.setswitchinterval(0.001)
    with contextlib.suppress(RuntimeError, ValueError):  # not the main thread (tests): `stop` stops it
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    redis = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10)
    holders = [LinkHolder(link, redis, lease_seconds=lease_seconds) for link in links]
    try:
        await asyncio.gather(*(h.run(stop) for h in holders))
    finally:
        await redis.aclose()
