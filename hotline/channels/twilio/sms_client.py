"""Send SMS through Twilio's REST API with the official client, at any API base URL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from hotline.channels.sms_provider import SendError, SendResult

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


class TwilioSmsProvider:
    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, api_base: str):
        http_client: TwilioHttpClient
        if api_base.rstrip("/") != "https://api.twilio.com":
            http_client = BaseUrlHttpClient(api_base)
        else:
            http_client = TwilioHttpClient(timeout=10.0)
        self._client = Client(account_sid, auth_token, http_client=http_client)
        self._from = from_number

    def send(self, *, to: str, body: str, status_callback: str | None = None) -> SendResult:
        kwargs = {"to": to, "body": body, "from_": self._from}
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            permanent = exc.code in PERMANENT_ERRORS or (400 <= exc.status < 500 and exc.status != 429)
            raise SendError(exc.msg or str(exc), code=str(exc.code or exc.status), permanent=permanent) from exc
        except Exception as exc:  # network errors, timeouts: worth a retry
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        return SendResult(self.name, message.sid or "", _status(message.status) or "queued")

    def find_sent(self, *, to: str, body: str, since: datetime, exclude: set[str]) -> SendResult | None:
        try:
            # A minute of slack: our clock and Twilio's differ, and DateSent is set when Twilio sends.
            listed = self._client.messages.list(
                to=to, from_=self._from, date_sent_after=since - timedelta(minutes=1), limit=50
            )
        except Exception as exc:  # cannot tell: better to send again than to lose the SMS
            raise SendError(f"could not check for an earlier delivery: {type(exc).__name__}: {exc}") from exc
        for message in listed:
            if message.body == body and message.sid and message.sid not in exclude:
                return SendResult(self.name, message.sid, _status(message.status) or "sent")
        return None
