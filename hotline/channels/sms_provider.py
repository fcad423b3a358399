"""The one interface every SMS provider implements (Twilio now; Gammu SMSD or SMPP can sit beside it)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
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


class LogSmsProvider:
    """Development default when no provider is configured: the SMS is written to the log, not sent."""

    name = "log"

    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SendResult:
        log.warning("SMS NOT SENT (no provider configured) to %s: %s", to, body)
        return SendResult(self.name, f"LOG{uuid.uuid4().hex}", "sent")
