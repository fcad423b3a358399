"""One SMPP 3.4 transceiver bind on asyncio: bind, enquire_link, a window of outstanding submit_sm paced at the
link's TPS, deliver_sm handed to the holder and answered with the status it returns (only once it is stored),
unbind both ways.

The session ends (`run` returns, or raises) when the connection drops, a response times out, or the SMSC
unbinds; the holder (hotline/channels/smpp/holder.py) makes a new one with back-off. Outstanding submit_sm then
fail with `LinkLost`: the holder sends them again on the next bind (it knows which parts got an answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from hotline.channels.smpp import pdu
from hotline.channels.smpp.config import LinkConfig

log = logging.getLogger(__name__)


class LinkLost(ConnectionError):
    """The bind ended before the answer came."""


class BindRefused(ConnectionError):
    def __init__(self, status: int):
        super().__init__(f"bind_transceiver refused: {pdu.status_name(status)}")
        self.status = status


class Pacer:
    """`tps` sends a second, on slots 1/tps apart, and never more than `tps` in any second: a send that came late
    (a busy machine) lets the next ones take their own slots, as long as the last `tps` sends span a second."""

    def __init__(self, tps: float):
        self.tps = tps
        self.interval = 1.0 / tps
        self.next_at = 0.0
        self.recent: deque[float] = deque(maxlen=max(1, math.floor(tps)))

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        slot = max(loop.time(), self.next_at)
        self.next_at = slot + self.interval
        while True:
            now = loop.time()
            at = slot
            if len(self.recent) == self.recent.maxlen:
                at = max(at, self.recent[0] + 1.0)
            if at <= now:
                break
            await asyncio.sleep(at - now)
        self.recent.append(now)

    def pause(self, seconds: float) -> None:
        """Nothing is sent for `seconds` (the SMSC said ESME_RTHROTTLED)."""
        self.next_at = max(self.next_at, asyncio.get_running_loop().time() + seconds)


DeliverHandler = Callable[[pdu.ShortMessage], Awaitable[int]]


class Session:
    def __init__(self, config: LinkConfig, on_deliver: DeliverHandler, pacer: Pacer | None = None):
        self.config = config
        self.on_deliver = on_deliver
        self.pacer = pacer or Pacer(config.tps)
        self.window = asyncio.Semaphore(config.window)
        self._sequence = 0
        self._pending: dict[int, asyncio.Future[pdu.Pdu]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closed = asyncio.Event()
        self._draining = False  # the SMSC asked to unbind: no new submit_sm
        self._handlers: set[asyncio.Task[None]] = set()
        self.smsc_system_id = ""
        self.close_reason = ""

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    def _write(self, packet: pdu.Pdu) -> None:
        if self._writer is None or self._closed.is_set():
            raise LinkLost(self.close_reason or "not bound")
        self._writer.write(packet.encode())

    async def open(self) -> None:
        """Connect and bind as a transceiver; BindRefused or OSError/TimeoutError when it cannot."""
        c = self.config
        reader, writer = await asyncio.wait_for(asyncio.open_connection(c.host, c.port), c.timeout_seconds)
        self._reader, self._writer = reader, writer
        bind = pdu.bind_transceiver(
            self._next_sequence(), system_id=c.system_id, password=c.password, system_type=c.system_type
        )
        writer.write(bind.encode())
        resp = await asyncio.wait_for(self._read(), c.timeout_seconds)
        if resp is None:
            raise LinkLost("the SMSC closed the connection during the bind")
        if resp.command_id == pdu.GENERIC_NACK or resp.status != pdu.ESME_ROK:
            self._close("bind refused")
            raise BindRefused(resp.status or pdu.ESME_RBINDFAIL)
        if resp.command_id != pdu.BIND_TRANSCEIVER_RESP:
            self._close("no bind_transceiver_resp")
            raise LinkLost(f"the SMSC answered the bind with command 0x{resp.command_id:08X}")
        self.smsc_system_id = pdu.system_id_of(resp)

    async def _read(self) -> pdu.Pdu | None:
        assert self._reader is not None
        try:
            header = await self._reader.readexactly(pdu.HEADER.size)
        except asyncio.IncompleteReadError:
            return None
        length, command_id, status, sequence = pdu.decode_header(header)
        body = await self._reader.readexactly(length - pdu.HEADER.size) if length > pdu.HEADER.size else b""
        return pdu.Pdu(command_id, status, sequence, body)

    async def run(self) -> None:
        """Read until the bind ends; enquire_link meanwhile. Returns normally after an unbind either way."""
        enquire = asyncio.create_task(self._enquire())
        loop = asyncio.get_running_loop()
        unbind: pdu.Pdu | None = None  # the SMSC's unbind, answered once what is outstanding is done
        deadline = 0.0
        try:
            while True:
                try:
                    if unbind is None:
                        packet = await self._read()
                    elif (not self._pending and not self._handlers) or loop.time() >= deadline:
                        if self._handlers:  # our deliver_sm_resp go before the unbind_resp
                            await asyncio.wait(list(self._handlers), timeout=max(0.0, deadline - loop.time()))
                        self._write(pdu.response(unbind))
                        assert self._writer is not None
                        await self._writer.drain()
                        self._close("the SMSC unbound")
                        return
                    else:
                        try:  # a PDU cut by this timeout is lost with the connection closed right after anyway
                            packet = await asyncio.wait_for(self._read(), 0.05)
                        except TimeoutError:
                            continue
                except (OSError, pdu.PduError) as exc:
                    self._close(f"read failed: {exc}")
                    return
                if packet is None:
                    self._close("the SMSC closed the connection")
                    return
                if packet.is_response:
                    future = self._pending.pop(packet.sequence, None)
                    if future is not None and not future.done():
                        future.set_result(packet)
                    continue
                if packet.command_id == pdu.DELIVER_SM:
                    task = asyncio.create_task(self._deliver(packet))
                    self._handlers.add(task)
                    task.add_done_callback(self._handlers.discard)
                elif packet.command_id == pdu.ENQUIRE_LINK:
                    self._write(pdu.response(packet))
                elif packet.command_id == pdu.UNBIND:
                    # no new submit_sm; the answers to those sent, and our deliver_sm_resp, come first
                    self._draining = True
                    unbind, deadline = packet, loop.time() + self.config.timeout_seconds
                else:
                    self._write(pdu.response(packet, pdu.ESME_RINVCMDID))
        except LinkLost:
            return
        finally:
            enquire.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await enquire
            self._close(self.close_reason or "session ended")

    async def _deliver(self, packet: pdu.Pdu) -> None:
        try:
            sm = pdu.ShortMessage.decode_body(packet.body)
        except pdu.PduError as exc:
            log.error("SMPP %s: unreadable deliver_sm (%s): %s", self.config.name, exc, packet.body.hex())
            status = pdu.ESME_RX_P_APPN
        else:
            try:
                status = await self.on_deliver(sm)
            except Exception:  # broad: any failure to store it answers a temporary error, so the SMSC sends it again
                log.exception("SMPP %s: deliver_sm not taken; the SMSC will deliver it again", self.config.name)
                status = pdu.ESME_RX_T_APPN
        with contextlib.suppress(LinkLost, OSError):
            self._write(pdu.response(packet, status))

    async def _enquire(self) -> None:
        while not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self.config.enquire_seconds)
                return
            try:
                resp = await self._request(pdu.Pdu(pdu.ENQUIRE_LINK, 0, self._next_sequence()))
            except LinkLost:
                return
            if resp.command_id not in (pdu.ENQUIRE_LINK_RESP, pdu.GENERIC_NACK):
                log.warning("SMPP %s: odd answer to enquire_link: 0x%08X", self.config.name, resp.command_id)

    async def _request(self, packet: pdu.Pdu) -> pdu.Pdu:
        future: asyncio.Future[pdu.Pdu] = asyncio.get_running_loop().create_future()
        self._pending[packet.sequence] = future
        closed: asyncio.Task[bool] = asyncio.create_task(self._closed.wait())
        try:
            self._write(packet)
            waiting: list[asyncio.Future[Any]] = [future, closed]
            done, _ = await asyncio.wait(
                waiting, timeout=self.config.timeout_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if future in done:
                return future.result()
            if self._closed.is_set():
                raise LinkLost(self.close_reason)
            self._close(f"no answer to command 0x{packet.command_id:08X} within {self.config.timeout_seconds:g} s")
            raise LinkLost(self.close_reason)
        finally:
            closed.cancel()
            self._pending.pop(packet.sequence, None)
            if not future.done():
                future.cancel()

    async def submit(self, sm: pdu.ShortMessage) -> pdu.Pdu:
        """Send one submit_sm within the window at the link's pace; its submit_sm_resp (any status)."""
        async with self.window:
            if self._draining or self._closed.is_set():
                raise LinkLost(self.close_reason or "the SMSC is unbinding")
            await self.pacer.wait()
            if self._draining or self._closed.is_set():
                raise LinkLost(self.close_reason or "the SMSC is unbinding")
            return await self._request(pdu.submit_sm(self._next_sequence(), sm))

    @property
    def bound(self) -> bool:
        return self._writer is not None and not self._closed.is_set() and not self._draining

    async def unbind(self) -> None:
        """Our unbind (stopping): wait for the window to empty, then unbind and close."""
        if self._closed.is_set():
            return
        self._draining = True
        deadline = asyncio.get_running_loop().time() + self.config.timeout_seconds
        while self._pending and asyncio.get_running_loop().time() < deadline and not self._closed.is_set():
            await asyncio.sleep(0.02)
        with contextlib.suppress(LinkLost, OSError, TimeoutError):
            await asyncio.wait_for(self._request(pdu.Pdu(pdu.UNBIND, 0, self._next_sequence())), 2)
        self._close("unbound")

    def _close(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self.close_reason = reason
        self._closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkLost(reason))
        self._pending.clear()
        if self._writer is not None:
            with contextlib.suppress(Exception):  # broad: the link is closing either way; nothing is left to do
                self._writer.close()

    async def wait_closed(self) -> None:
        await self._closed.wait()
