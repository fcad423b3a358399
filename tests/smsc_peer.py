"""An SMSC for the SMPP tests: the server side of smpp34 (PyPI; a Rust SMPP 3.4 codec and session nobody here
wrote), on a free 127.0.0.1 port, in a thread of its own. What it does with what it gets is ours, as an
aggregator's SMSC would:

- accepts every bind (smpp34's server has no password check), every submit_sm with a message id `sim<n>`, or
  with the statuses queued in `reject` first (e.g. ESME_RTHROTTLED);
- sends a delivery receipt for each accepted part (esm_class 0x04, receipted_message_id and message_state TLVs,
  and the "id:... stat:DELIVRD" text) when `receipts` is on;
- `mo(...)` delivers a citizen's SMS to the bound ESME and returns the deliver_sm_resp status it got;
- `drop()` unbinds every bound ESME (the aggregator restarting).

Texts are read back independently of hotline/channels/smpp/text.py: UCS-2 with Python's codec, GSM-7 only where
it equals ASCII (letters, digits, the punctuation our texts use), which `texts()` asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import smpp34

from tests.fault_processes import free_port

# GSM 03.38 code points where the default alphabet differs from ASCII in the printable range
_NOT_ASCII = {0x00, 0x02, 0x11, 0x1B, 0x24, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F}


@dataclass
class Submit:
    at: float
    source: str
    source_ton: int
    destination: str
    data_coding: int
    esm_class: int
    short_message: bytes
    tlvs: dict[int, bytes]
    message_id: str
    status: int

    def concat(self) -> tuple[int, int, int, bytes]:
        """(ref, total, seq, text octets): from the UDH or the SAR TLVs; (0, 1, 1, octets) when not a part."""
        if self.esm_class & 0x40:
            header_len = self.short_message[0]
            header = self.short_message[1 : 1 + header_len]
            assert header[0] == 0x00 and header[1] == 3, f"not an 8-bit concatenation header: {header.hex()}"
            return header[2], header[3], header[4], self.short_message[1 + header_len :]
        if 0x020C in self.tlvs:
            return (
                struct.unpack(">H", self.tlvs[0x020C])[0],
                self.tlvs[0x020E][0],
                self.tlvs[0x020F][0],
                self.short_message,
            )
        return 0, 1, 1, self.short_message


@dataclass
class Sms:
    to: str
    sender: str
    text: str
    parts: int
    data_coding: int
    message_ids: list[str] = field(default_factory=list)


def _text(data_coding: int, octets: bytes) -> str:
    if data_coding == 8:
        return octets.decode("utf-16-be")
    assert data_coding == 0, f"data_coding {data_coding}"
    odd = [b for b in octets if b in _NOT_ASCII or b < 0x0A or (0x0A < b < 0x20 and b != 0x0D)]
    assert not odd, f"GSM-7 the test cannot read as ASCII: {bytes(odd).hex()}"
    return octets.decode("ascii")


class Smsc:
    def __init__(self, *, receipts: bool = True):
        self.port = free_port()
        self.receipts = receipts
        self.reject: list[int] = []  # statuses for the next submit_sm, in order
        self.submits: list[Submit] = []
        self.binds = 0
        self.esmes: dict[str, Any] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smsc", daemon=True)
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._count = 0
        self.lock = threading.Lock()

    def _run(self, call: Callable[[], Awaitable[Any]], timeout: float = 15) -> Any:
        """`call()` on the SMSC's loop (smpp34 makes its futures when called: it must be called there)."""

        async def inside() -> Any:
            return await call()

        return asyncio.run_coroutine_threadsafe(inside(), self._loop).result(timeout)

    def start(self) -> Smsc:
        self._thread.start()
        self._run(self._start)
        return self

    async def _start(self) -> None:
        self._server = smpp34.Server(host="127.0.0.1", port=self.port, system_id="SIMSMSC")
        await self._server.start()
        self._task = asyncio.create_task(self._serve())

    async def _serve(self) -> None:
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self.esmes[event.session_id] = event
                self.binds += 1
            elif isinstance(event, smpp34.Unbound):
                self.esmes.pop(event.session_id, None)
            elif isinstance(event, smpp34.SubmitSmEvent):
                self._submit(event)

    def _submit(self, event: Any) -> None:
        with self.lock:
            status = self.reject.pop(0) if self.reject else 0
            self._count += 1
            message_id = f"sim{self._count}" if status == 0 else ""
            self.submits.append(
                Submit(
                    time.monotonic(),
                    event.source_addr,
                    event.source_addr_ton,
                    event.destination_addr,
                    event.data_coding,
                    event.esm_class,
                    bytes(event.short_message),
                    {t.tag: bytes(t.value) for t in event.tlvs},
                    message_id,
                    status,
                )
            )
        if status:
            event.reject(status)
            return
        event.accept(message_id=message_id)
        esme = self.esmes.get(event.session_id)
        if self.receipts and esme is not None and event.registered_delivery & 1:
            asyncio.get_running_loop().create_task(self._receipt(esme, event, message_id))

    async def _receipt(self, esme: Any, event: Any, message_id: str) -> None:
        await asyncio.sleep(0.01)
        if esme.session_id not in self.esmes:
            return  # unbound meanwhile
        text = f"id:{message_id} sub:001 dlvrd:001 submit date:2612070900 done date:2612070900 stat:DELIVRD err:000"
        with contextlib.suppress(smpp34.SmppError):  # the ESME unbinding meanwhile
            await esme.deliver_sm(
                event.source_addr,
                text.encode(),
                source_addr=event.destination_addr,
                esm_class=0x04,
                tlvs=[
                    smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
                    smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, b"\x02"),
                ],
            )

    def accepted(self) -> list[Submit]:
        with self.lock:
            return [s for s in self.submits if s.status == 0]

    def texts(self) -> list[Sms]:
        """The accepted submit_sm joined into whole SMS (parts by destination and reference), in order."""
        whole: dict[tuple[str, int, int], dict[int, Submit]] = {}
        order: list[tuple[str, int, int]] = []
        for submit in self.accepted():
            ref, total, seq, _ = submit.concat()
            group = (submit.destination, ref, total) if total > 1 else (submit.destination, -len(order), 1)
            if group not in whole:
                whole[group] = {}
                order.append(group)
            whole[group][seq] = submit
        found = []
        for group in order:
            parts = whole[group]
            if len(parts) < group[2]:
                continue  # not all parts yet
            ordered = [parts[n] for n in sorted(parts)]
            text = "".join(_text(p.data_coding, p.concat()[3]) for p in ordered)
            first = ordered[0]
            found.append(
                Sms(
                    first.destination,
                    first.source,
                    text,
                    len(ordered),
                    first.data_coding,
                    [p.message_id for p in ordered],
                )
            )
        return found

    def sent_to(self, number: str) -> list[str]:
        return [sms.text for sms in self.texts() if sms.to == number.lstrip("+")]

    def bound(self) -> bool:
        return bool(self.esmes)

    def mo(self, sender: str, to: str, text: str, *, ucs2: bool = False, **fields: Any) -> int:
        """A phone's SMS delivered to the bound ESME; the deliver_sm_resp's command_status."""
        octets = text.encode("utf-16-be") if ucs2 else text.encode("ascii")
        return self.deliver(
            to,
            octets,
            source_addr=sender.lstrip("+"),
            source_addr_ton=1,
            source_addr_npi=1,
            data_coding=8 if ucs2 else 0,
            **fields,
        )

    def deliver(self, to: str, octets: bytes, **fields: Any) -> int:
        esme = next(iter(self.esmes.values()))
        resp = self._run(lambda: esme.deliver_sm(to, octets, **fields))
        return int(resp.command_status)

    def drop(self) -> None:
        """Unbind every ESME (as an SMSC does when it restarts)."""
        for esme in list(self.esmes.values()):
            self._run(esme.unbind)

    def stop(self) -> None:
        if self._server is not None:
            self._run(self._server.stop)
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
