"""Place outbound calls through Twilio's REST API (Calls.create), at any API base URL, for voice-call alerts."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hotline.channels.twilio.sms_client import PERMANENT_ERRORS, BaseUrlHttpClient
from hotline.channels.voice import CallError

RING_SECONDS = 30  # then Twilio gives up with no-answer: the alert goes on to the next channel
# 13223/13224: the number is invalid or not callable; 21215/21216: a geographic permission or a blocked number.
PERMANENT_CALL_ERRORS = PERMANENT_ERRORS | {13223, 13224, 21215, 21216, 21217}


class TwilioCaller:
    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, api_base: str):
        if api_base.rstrip("/") != "https://api.twilio.com":
            http_client: TwilioHttpClient = BaseUrlHttpClient(api_base)
        else:
            http_client = TwilioHttpClient(timeout=10.0)
        self._client = Client(account_sid, auth_token, http_client=http_client)
        self._from = from_number

    def call(self, *, to: str, url: str, status_callback: str) -> str:
        """Ring `to`; when answered Twilio fetches the TwiML at `url`. Returns the CallSid."""
        try:
            call = self._client.calls.create(
                to=to,
                from_=self._from,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=["answered", "completed"],
                timeout=RING_SECONDS,
            )
        except TwilioRestException as exc:
            permanent = exc.code in PERMANENT_CALL_ERRORS or (400 <= exc.status < 500 and exc.status != 429)
            raise CallError(exc.msg or str(exc), code=str(exc.code or exc.status), permanent=permanent) from exc
        except Exception as exc:  # broad: any failure (network, timeout, odd answer) is a CallError, worth a retry
            raise CallError(f"{type(exc).__name__}: {exc}") from exc
        return call.sid or ""
