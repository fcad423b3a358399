"""Send SMS through Kannel's smsbox HTTP interface (`/cgi-bin/sendsms`), the gateway Indonesian cities run in
front of GSM modems or an SMPP link to a telco.

    GET {URL}?username=&password=&from=&to=&text=&charset=UTF-8&coding=0|2&validity=&smsc=&dlr-mask=31&dlr-url=
    202 "0: Accepted for delivery" | 202 "3: Queued for later delivery"     -> sent / queued
    4xx (403 "Authorization failed for sendsms", 400 "Missing receiver number", ...) -> permanent failure
    5xx, a network error, a timeout                                       -> worth a retry

- `coding`: 0 (GSM-7) or 2 (UCS-2), from the text as sent (hotline/sms/encoding.py); `charset=UTF-8`
  says how the text is written in the request, Kannel recodes it.
- Long texts: Kannel splits them only up to the sendsms-user's `max-messages` (default 1: cut at 160 or 70
  characters, and still "Accepted"), and joins them on the phone only with `concatenation = true`. docs/sms-gateways.md
  gives the kannel.conf the tests run.
- `validity` (minutes): the SMSC drops what it could not deliver by then (HOTLINE_SMS_*_VALIDITY_MINUTES).
- Kannel returns no message id, so ours goes into the dlr-url with a token bound to that message and that send
  (an HMAC of both under HOTLINE_SECRET_KEY: Kannel does not sign its requests), and Kannel fills in `%d`,
  the report type, when it calls back: 1 delivered, 2 not delivered, 4 buffered, 8 accepted by the SMSC,
  16 rejected by it (hotline/channels/kannel/dlr.py).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from urllib.parse import urlencode

import httpx

from hotline.channels.gateway import OutgoingSms, SendError, SendResult

DLR_MASK = 1 + 2 + 4 + 8 + 16  # every report: an SMSC reject (16) is the earliest sign to fail over
DLR_PATH = "/kannel/dlr"


def dlr_token(secret_key: str, message_id: int, sid: str | None = None) -> str:
    """The token in one send's dlr-url: only we (and the Kannel we gave the URL to) know it, and it is good
    for that message and that send only. (Without `sid`: the form of before, good for the message only;
    still accepted for reports of SMS sent before the upgrade, where the sid must then match.)"""
    subject = f"kannel-dlr:{message_id}" if sid is None else f"kannel-dlr:{message_id}:{sid}"
    return hmac.new(secret_key.encode(), subject.encode(), hashlib.sha256).hexdigest()[:32]


def dlr_url(public_url: str, secret_key: str, message_id: int, sid: str, gateway: str) -> str:
    """Where Kannel reports on outbox row `message_id` sent as `sid`; Kannel adds its escape codes' values."""
    query = urlencode(
        {"id": message_id, "sid": sid, "gateway": gateway, "token": dlr_token(secret_key, message_id, sid)}
    )
    # %d: the report type; %A: the SMSC's answer (why it failed). Kannel substitutes both.
    return f"{public_url.rstrip('/')}{DLR_PATH}?{query}&status=%d&answer=%A"


class KannelSmsProvider:
    kind = "kannel"

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: str,
        from_number: str | None,
        smsc: str | None = None,
        name: str = "kannel",
        public_url: str | None = None,
        secret_key: str = "",
        timeout: float = 10.0,
    ):
        self.name = name
        self._url, self._username, self._password = url, username, password
        self._from, self._smsc, self._timeout = from_number, smsc, timeout
        self._public_url, self._secret_key = public_url, secret_key

    def request_params(self, sms: OutgoingSms, sid: str) -> dict[str, str]:
        params = {
            "username": self._username,
            "password": self._password,
            "to": sms.to,
            "text": sms.body,
            "charset": "UTF-8",
            "coding": "2" if sms.coding.encoding == "ucs2" else "0",
        }
        sender = sms.sender or self._from
        if sender:
            params["from"] = sender
        smsc = sms.line or self._smsc  # back through the modem or link the citizen's SMS came in on
        if smsc:
            params["smsc"] = smsc
        if sms.validity is not None:
            params["validity"] = str(max(1, int(sms.validity.total_seconds() // 60)))
        if self._public_url:
            params["dlr-mask"] = str(DLR_MASK)
            params["dlr-url"] = dlr_url(self._public_url, self._secret_key, sms.message_id, sid, self.name)
        return params

    def send(self, sms: OutgoingSms) -> SendResult:
        sid = f"KN{uuid.uuid4().hex}"
        try:
            response = httpx.get(self._url, params=self.request_params(sms, sid), timeout=self._timeout)
        except httpx.HTTPError as exc:  # Kannel down, a timeout: worth a retry
            raise SendError(f"Kannel unreachable: {type(exc).__name__}: {exc}") from exc
        answer = response.text.strip()
        if response.status_code >= 500:
            raise SendError(f"Kannel {response.status_code}: {answer}", code=str(response.status_code))
        if response.status_code >= 400:  # refused (login, a missing or bad field): the same again fails again
            raise SendError(f"Kannel {response.status_code}: {answer}", code=str(response.status_code), permanent=True)
        return SendResult(self.name, self.kind, sid, "queued" if answer.startswith("3") else "sent")

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        return None  # Kannel keeps no list of what it sent to ask; a retry may send the SMS again
