"""Send SMS through Kannel's smsbox HTTP interface (`/cgi-bin/sendsms`), the gateway Indonesian cities run in
front of a GSM modem or an SMPP link to a telco.

    GET {HOTLINE_BACKUP_SMS_URL}?username=&password=&from=&to=&text=&charset=UTF-8&coding=&dlr-mask=31&dlr-url=
    202 "0: Accepted for delivery" | 202 "3: Queued for later delivery"     -> sent
    4xx (403 "Authorization failed for sendsms", 400 "Missing receiver number", ...) -> permanent failure
    5xx, a network error, a timeout                                       -> worth a retry

Kannel returns no message id, so ours goes into the dlr-url (with a per-message token, since Kannel does not
sign its requests: hotline/channels/kannel/dlr.py) and Kannel fills in `%d`, the report type, when it calls
it back: 1 delivered, 2 not delivered, 4 buffered at the SMSC, 8 accepted by the SMSC, 16 rejected by it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from urllib.parse import urlencode

import httpx

from hotline.channels.sms_provider import SendError, SendResult

DLR_MASK = 1 + 2 + 4 + 8 + 16  # every report: an SMSC reject (16) is the earliest sign to fail over
DLR_PATH = "/kannel/dlr"


def dlr_token(secret_key: str, message_id: int) -> str:
    """The token in one message's dlr-url: only we (and the Kannel we gave the URL to) know it."""
    return hmac.new(secret_key.encode(), f"kannel-dlr:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]


def dlr_url(public_url: str, secret_key: str, message_id: int) -> str:
    """Where Kannel reports on outbox row `message_id`; the provider adds the sid and Kannel's escape codes."""
    query = urlencode({"id": message_id, "token": dlr_token(secret_key, message_id)})
    return f"{public_url.rstrip('/')}{DLR_PATH}?{query}"


class KannelSmsProvider:
    name = "kannel"

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: str,
        from_number: str | None,
        smsc: str | None = None,
        timeout: float = 10.0,
    ):
        self._url, self._username, self._password = url, username, password
        self._from, self._smsc, self._timeout = from_number, smsc, timeout

    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SendResult:
        sid = f"KN{uuid.uuid4().hex}"
        params = {"username": self._username, "password": self._password, "to": to, "text": body, "charset": "UTF-8"}
        if self._from:
            params["from"] = self._from
        if self._smsc:
            params["smsc"] = self._smsc
        if not body.isascii():
            params["coding"] = "2"  # UCS-2: Indonesian names and '…' survive
        if status_callback:
            # %d: the report type; %A: the SMSC's answer (why it failed). Kannel substitutes both.
            params["dlr-mask"] = str(DLR_MASK)
            params["dlr-url"] = f"{status_callback}&sid={sid}&status=%d&answer=%A"
        try:
            response = httpx.get(self._url, params=params, timeout=self._timeout)
        except httpx.HTTPError as exc:  # Kannel down, a timeout: worth a retry
            raise SendError(f"Kannel unreachable: {type(exc).__name__}: {exc}") from exc
        answer = response.text.strip()
        if response.status_code >= 500:
            raise SendError(f"Kannel {response.status_code}: {answer}", code=str(response.status_code))
        if response.status_code >= 400:  # refused (login, a missing or bad field): the same again fails again
            raise SendError(f"Kannel {response.status_code}: {answer}", code=str(response.status_code), permanent=True)
        status = "queued" if answer.startswith("3") else "sent"
        return SendResult(self.name, sid, status)

    def find_sent(self, *, to: str, body: str, since: datetime, exclude: set[str]) -> SendResult | None:
        return None  # Kannel keeps no list of what it sent to ask; a retry may send the SMS again
