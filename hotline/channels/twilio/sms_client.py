"""Send SMS through Twilio's REST API with the official client, at any API base URL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from hotline.channels.gateway import DeliveryStatus, FetchedMedia, OutgoingSms, SendError, SendResult
from hotline.channels.twilio.media import WHATSAPP_PREFIX, TwilioMedia
from hotline.sms.template_text import fit

# Twilio error codes where a retry cannot succeed (bad number, unsubscribed, unreachable country...).
PERMANENT_ERRORS = {21211, 21212, 21408, 21601, 21606, 21610, 21612, 21614, 21617, 30003, 30005, 30006}


def _status(status: MessageInstance.Status | None) -> str | None:
    """twilio annotates a message's status with MessageInstance.Status, its class of status names; the
    value is the string the API answered."""
    return cast(str | None, status)


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends every REST call to `base_url` instead of https://api.twilio.com (tests, on-prem proxies)."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url.rstrip("/"))
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        parts = urlsplit(url)
        url = urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment))
        return super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


def delivery_status(status: str | None) -> DeliveryStatus:
    """Twilio's message status in our words (receiving/received are inbound states: not ours to see here)."""
    words: dict[str, DeliveryStatus] = {
        "accepted": "accepted",
        "scheduled": "accepted",
        "queued": "queued",
        "sending": "queued",
        "sent": "sent",
        "delivered": "delivered",
        "read": "delivered",
        "undelivered": "undelivered",
        "failed": "failed",
        "canceled": "failed",
    }
    return words.get((status or "").lower(), "queued")


class TwilioSmsProvider:
    kind = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str,
        name: str = "twilio",
        public_url: str | None = None,
    ):
        self.name = name
        self._public_url = public_url
        http_client: TwilioHttpClient
        if api_base.rstrip("/") != "https://api.twilio.com":
            http_client = BaseUrlHttpClient(api_base)
        else:
            http_client = TwilioHttpClient(timeout=10.0)
        self._client = Client(account_sid, auth_token, http_client=http_client)
        self._from = from_number
        self._media = TwilioMedia(account_sid=account_sid, auth_token=auth_token, api_base=api_base)

    def fetch_media(self, ref: str, *, max_bytes: int) -> FetchedMedia:
        """An MMS picture or WhatsApp medium's MediaUrl (hotline/channels/twilio/media.py)."""
        return self._media.fetch_media(ref, max_bytes=max_bytes)

    def send(self, sms: OutgoingSms) -> SendResult:
        # The citizen's SMS came to one of our Twilio numbers: the answer comes from it. A `whatsapp:` sender
        # (hotline/features/sms/sms_routes.py, within the 24-hour window) answers on WhatsApp: both addresses prefixed.
        sender = sms.sender if sms.sender and sms.sender.startswith(("+", WHATSAPP_PREFIX)) else self._from
        to = WHATSAPP_PREFIX + sms.to if sender.startswith(WHATSAPP_PREFIX) else sms.to
        kwargs = {"to": to, "body": sms.body, "from_": sender}
        if sms.content_sid and sender.startswith(WHATSAPP_PREFIX):  # outside the 24-hour window: only an approved
            # template gets through (Content API); its one variable is the text. No Body beside it (Twilio's rule).
            del kwargs["body"]
            kwargs["content_sid"] = sms.content_sid
            kwargs["content_variables"] = json.dumps({"1": fit(sms.body)}, ensure_ascii=False)  # 1,024 at most (63021)
        if self._public_url:
            kwargs["status_callback"] = f"{self._public_url.rstrip('/')}/twilio/sms/status?id={sms.message_id}"
        if sms.validity is not None and sms.purpose in ("alert", "escalation"):  # a late alert is worse than none:
            # Twilio drops one still queued after ValidityPeriod (1-36000 s). Replies keep Twilio's default.
            kwargs["validity_period"] = str(min(36000, max(1, int(sms.validity.total_seconds()))))
        try:
            message = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            permanent = exc.code in PERMANENT_ERRORS or (400 <= exc.status < 500 and exc.status != 429)
            raise SendError(exc.msg or str(exc), code=str(exc.code or exc.status), permanent=permanent) from exc
        except Exception as exc:  # broad: any failure is a SendError: tried again, or the next gateway takes it
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        return SendResult(self.name, self.kind, message.sid or "", delivery_status(_status(message.status)))

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        to, body, sender = sms.to, sms.body, self._from
        if sms.sender and sms.sender.startswith(WHATSAPP_PREFIX):
            to, sender = WHATSAPP_PREFIX + sms.to, sms.sender
        try:
            # A minute of slack: our clock and Twilio's differ, and DateSent is set when Twilio sends.
            listed = self._client.messages.list(
                to=to, from_=sender, date_sent_after=since - timedelta(minutes=1), limit=50
            )
        except Exception as exc:  # broad: whatever failed, we cannot tell; better to send again than to lose it
            raise SendError(f"could not check for an earlier delivery: {type(exc).__name__}: {exc}") from exc
        for message in listed:
            # a template's body is Twilio's rendering of it, with our text as its variable
            same = message.body == body or (sms.content_sid is not None and fit(body) in (message.body or ""))
            if same and message.sid and message.sid not in exclude:
                return SendResult(self.name, self.kind, message.sid, delivery_status(_status(message.status) or "sent"))
        return None
