"""The recording SMS gateway (type `record`): each SMS handed to it is one JSON line appended to a file, and
nothing is sent. Tests and benches read the file to see exactly what reached "the gateway" and when; a process
killed with kill -9 loses nothing it wrote (the write is in the kernel before `send` returns).

    HOTLINE_SMS_GATEWAYS=rec  HOTLINE_GATEWAY_REC_TYPE=record  HOTLINE_GATEWAY_REC_PATH=/tmp/sms.jsonl

Several processes may append to one file (O_APPEND: each line lands whole). `find_sent` answers from the
file, as a real gateway's message list would: a retry after a crash never becomes a second line."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline.channels.gateway import GatewayType, OutgoingSms, SendError, SendResult, SmsGateway
from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings


class RecordingGateway:
    kind = "record"

    def __init__(self, name: str, path: str | Path):
        if not str(path):
            raise SendError("record gateway without a PATH", permanent=True)
        self.name, self.path = name, Path(path)
        self._offset = 0
        self._index: dict[tuple[int, str], str] = {}  # (message id, to) -> sid, as read so far

    def send(self, sms: OutgoingSms) -> SendResult:
        sid = uuid.uuid4().hex
        line = {
            "gateway": self.name,
            "sid": sid,
            "id": sms.message_id,
            "to": sms.to,
            "body": sms.body,
            "purpose": sms.purpose,
            "at": time.time(),
        }
        self._append(json.dumps(line, separators=(",", ":")) + "\n")
        return SendResult(self.name, self.kind, sid, "sent")

    def _append(self, text: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        self._read_new()
        sid = self._index.get((sms.message_id, sms.to))
        if sid is None or sid in exclude:
            return None
        return SendResult(self.name, self.kind, sid, "sent")

    def _read_new(self) -> None:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a line being written is read next time
        for raw in data[:end].splitlines():
            line = json.loads(raw)
            if line.get("gateway") == self.name:
                self._index[(int(line["id"]), str(line["to"]))] = str(line["sid"])
        self._offset += end


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every SMS the file holds, in the order they reached it."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _build(spec: GatewaySpec, settings: object) -> SmsGateway:
    return RecordingGateway(spec.name, spec.get("PATH") or "")


def _check(spec: GatewaySpec, settings: GatewaySettings) -> Findings:
    if settings.env == "production":
        return Findings(problems=[f"settings: {spec.env('TYPE')}: a record gateway sends nothing; not for production"])
    return Findings()


GATEWAY = GatewayType(
    name="record",
    build=_build,
    keys={"PATH": "the file each SMS is appended to, one JSON line each"},
    required=("PATH",),
    check=_check,
)
