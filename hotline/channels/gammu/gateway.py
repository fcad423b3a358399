"""Gammu SMSD as an SMS gateway, through its files service (gammu-smsd-files(7)).

Out: one file per SMS in its OutboxPath, `OUT<A|B><date>_<time>_00_<to>_hl<outbox id>x<expiry>.txt`, the
text in UTF-16 with a BOM (no locale guessing), written under another name and renamed in, so SMSD never reads
half a file. Priority A (alerts) goes before B. SMSD picks GSM-7 or UCS-2 from the text (TransmitFormat = auto,
as our check does) and splits long texts into a concatenated SMS.

Delivery state, by looking (`poll`, run by the worker's sweeper): a file of ours SMSD moved to SentSMSPath
was sent; to ErrorSMSPath, failed (then the next gateway or channel). Each is reported once: it is then moved
into a `hotline-reported/` folder beside it. A file still in the outbox after its expiry (the alert's validity:
the modem was down) is taken back and reported failed, so a stale "Balas TERIMA" never goes out hours late.

In: `hotline sms gammu-receive` (RunOnReceive) stores what SMSD received; `poll` also stores any inbox file
it did not (RunOnReceive failed, the database was down), after a grace period. Stored files move into
`hotline-stored/` beside the inbox. A message is stored under "<gateway>:<its file name without the part
number>-<hash of its text>" (`message_key`), the same whichever path stores it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from hotline.channels.gateway import DeliveryReport, InboundSms, OutgoingSms, SendError, SendResult
from hotline.core.gateway_config import GatewaySpec

log = logging.getLogger(__name__)

OURS = re.compile(r"^OUT[A-Z]\d{8}_\d{6}_\d{2}_(?P<to>[^_]+)_hl(?P<id>\d+)x(?P<expires>\d+)\.txtd?$")
INBOX_FILE = re.compile(r"^(?P<key>IN\d{8}_\d{6}_\d{2}_(?P<sender>.+))_(?P<part>\d{2})\.txt$")
REPORTED, STORED = "hotline-reported", "hotline-stored"
INBOX_GRACE_SECONDS = 30.0  # RunOnReceive runs right after SMSD writes a message; the sweeper only mops up


def sid_of(name: str) -> str:
    """An outbox file's id for the outbox row: `hl<id>x<expiry>`, the part of the name that is ours. (The whole
    name, with the number and the time, outgrew the 64-character provider_sid column once outbox ids passed
    about 1000.)"""
    match = OURS.match(name)
    return f"hl{match['id']}x{match['expires']}" if match else name


def _safe_number(to: str) -> str:
    return re.sub(r"[^0-9A-Za-z+]", "", to)


def read_text(path: Path) -> str:
    """An SMSD text file: UTF-16 (InboxFormat = unicode, the default) or, without a BOM, UTF-8."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-16-le", "replace")


def _move(path: Path, folder: str) -> None:
    target = path.parent / folder
    target.mkdir(exist_ok=True)
    with contextlib.suppress(FileNotFoundError):  # another process (RunOnReceive, a sweep) did it first
        path.replace(target / path.name)


class GammuGateway:
    kind = "gammu"

    def __init__(self, *, name: str, outbox: Path, sent: Path, error: Path, inbox: Path | None = None):
        self.name, self.outbox, self.sent, self.error, self.inbox = name, outbox, sent, error, inbox

    @classmethod
    def from_spec(cls, spec: GatewaySpec) -> GammuGateway:
        inbox = spec.get("INBOX")
        return cls(
            name=spec.name,
            outbox=Path(spec.get("OUTBOX") or ""),
            sent=Path(spec.get("SENT") or ""),
            error=Path(spec.get("ERROR") or ""),
            inbox=Path(inbox) if inbox else None,
        )

    # --- out -----------------------------------------------------------------------------------------------
    def file_name(self, sms: OutgoingSms, now: datetime) -> str:
        expires = int(now.timestamp() + sms.validity.total_seconds()) if sms.validity is not None else 0
        priority = "A" if sms.purpose in ("alert", "escalation") else "B"
        stamp = now.astimezone(UTC).strftime("%Y%m%d_%H%M%S")
        return f"OUT{priority}{stamp}_00_{_safe_number(sms.to)}_hl{sms.message_id}x{expires}.txt"

    def send(self, sms: OutgoingSms) -> SendResult:
        if not _safe_number(sms.to):
            raise SendError(f"{sms.to!r} is no number Gammu can send to", permanent=True)
        name = self.file_name(sms, datetime.now(UTC))
        temporary = self.outbox / f".hotline-{uuid.uuid4().hex}.tmp"  # SMSD reads only OUT* files
        try:
            temporary.write_bytes(b"\xff\xfe" + sms.body.encode("utf-16-le"))
            os.replace(temporary, self.outbox / name)
        except OSError as exc:  # the outbox folder gone, full, not writable: another gateway may do better
            temporary.unlink(missing_ok=True)
            raise SendError(f"cannot write to gammu-smsd's outbox {self.outbox}: {exc}") from exc
        return SendResult(self.name, self.kind, sid_of(name), "queued")

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        """A file of this outbox row that is in the outbox, or was sent, already."""
        for folder, status in ((self.outbox, "queued"), (self.sent, "sent"), (self.sent / REPORTED, "sent")):
            for path in _ours(folder):
                match = OURS.match(path.name)
                if match and int(match["id"]) == sms.message_id and sid_of(path.name) not in exclude:
                    return SendResult(self.name, self.kind, sid_of(path.name), "sent" if status == "sent" else "queued")
        return None

    # --- by looking ----------------------------------------------------------------------------------------
    def poll(self) -> Iterable[InboundSms | DeliveryReport]:
        found: list[InboundSms | DeliveryReport] = []
        for folder, status in ((self.sent, "sent"), (self.error, "failed")):
            for path in _ours(folder):
                found.append(
                    DeliveryReport(
                        gateway=self.name,
                        status="sent" if status == "sent" else "failed",
                        provider_sid=sid_of(path.name),
                        error_code="gammu-error" if status == "failed" else None,
                        detail=f"gammu-smsd moved it to {folder}",
                    )
                )
        now = time.time()
        for path in _ours(self.outbox):
            match = OURS.match(path.name)
            if match and 0 < int(match["expires"]) < now:
                try:
                    path.unlink()  # taken back before SMSD sends it this late
                except FileNotFoundError:
                    continue  # SMSD took it just now: its sent or error folder will say
                found.append(
                    DeliveryReport(
                        gateway=self.name,
                        status="failed",
                        provider_sid=sid_of(path.name),
                        error_code="expired",
                        detail="still in gammu-smsd's outbox when its validity ended (the modem was down?)",
                    )
                )
        if self.inbox is not None:
            found.extend(self.inbox_messages(grace=INBOX_GRACE_SECONDS))
        return found

    def reported(self, report: DeliveryReport) -> None:
        """The report was applied: move its file out of the way so it is reported once."""
        if not report.provider_sid:
            return
        for folder in (self.sent, self.error):
            for path in _ours(folder):
                if sid_of(path.name) == report.provider_sid:
                    _move(path, REPORTED)

    def inbox_messages(self, *, grace: float = 0.0, names: Iterable[str] | None = None) -> list[InboundSms]:
        """The inbox's messages (or those of these file names), each with its parts joined in order."""
        if self.inbox is None:
            return []
        groups: dict[str, list[tuple[int, Path]]] = {}
        candidates = [self.inbox / n for n in names] if names is not None else list(self.inbox.iterdir())
        cutoff = time.time() - grace
        for path in candidates:
            match = INBOX_FILE.match(path.name)
            if match is None or not path.is_file():
                continue
            if grace and path.stat().st_mtime > cutoff:
                continue
            groups.setdefault(match["key"], []).append((int(match["part"]), path))
        messages = []
        for key, parts in sorted(groups.items()):
            parts.sort()
            sender = INBOX_FILE.match(parts[0][1].name)
            assert sender is not None
            body = "".join(read_text(p) for _, p in parts)
            messages.append(
                InboundSms(
                    gateway=self.name,
                    gateway_id=message_key(key, body),
                    sender=sender["sender"],
                    body=body,
                    payload={"files": [p.name for _, p in parts]},
                )
            )
        return messages

    def stored(self, sms: InboundSms) -> None:
        if self.inbox is None:
            return
        files = sms.payload.get("files")
        for name in files if isinstance(files, list) else []:
            _move(self.inbox / str(name), STORED)


def message_key(file_key: str, body: str) -> str:
    """The id a received SMS is stored under. SMSD names files by the SMS's sent time (to the second) and
    sender, and reuses a name once the file has moved on: two SMS from one number in one second would share
    it. The text's hash keeps them apart; the same text in the same second is the same SMS sent twice."""
    digest = hashlib.sha1(f"{file_key}\n{body}".encode()).hexdigest()[:8]
    return f"{file_key[:38]}-{digest}"


def _ours(folder: Path) -> Iterator[Path]:
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for path in entries:
        if path.name.startswith("OUT") and OURS.match(path.name):
            yield path
