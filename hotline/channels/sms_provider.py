"""The one interface every SMS provider implements (Twilio now; Gammu SMSD or SMPP can sit beside it)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_sid: str
    status: str = "sent"


class SendError(Exception):
    def __init__(self, message: str, *, code: str | None = None, permanent: bool = False):
        super().__init__(message)
        self.code, self.permanent = code, permanent


class SmsProvider(Protocol):
    name: str

    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SendResult:
        """Hand one SMS to the provider. Raise SendError (permanent=True when retrying cannot help)."""
        ...

    def find_sent(self, *, to: str, body: str, since: datetime, exclude: set[str]) -> SendResult | None:
        """An SMS with this text to this number the provider took since `since` (and whose id is not in
        `exclude`), or None. Asked before sending again after an attempt whose outcome we never learned (the
        worker died mid-send, a timeout): it is how a retry never becomes a second SMS."""
        ...


class LogSmsProvider:
    """Development default when no provider is configured: the SMS is written to the log, not sent."""

    name = "log"

    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SendResult:
        log.warning("SMS NOT SENT (no provider configured) to %s: %s", to, body)
        return SendResult(self.name, f"LOG{uuid.uuid4().hex}", "sent")

    def find_sent(self, *, to: str, body: str, since: datetime, exclude: set[str]) -> SendResult | None:
        return None  # the log keeps nothing to ask; writing the line again is harmless
