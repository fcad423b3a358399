"""`VoiceGateway` on Twilio: calls placed and taken over with the REST API (Calls.create, Calls.update), the
alert flow's TwiML served by hotline/channels/twilio/alert_call.py, CallStatus words mapped to ours."""

from __future__ import annotations

from hotline.channels.twilio.call_client import TwilioCaller
from hotline.channels.twilio.call_update import TwilioTakeover
from hotline.channels.voice import CallStatus, OutboundCall
from hotline.settings import Settings

PROVIDER = "twilio"
ALERT_PATH = "/twilio/voice/alert"
# Twilio's CallStatus (https://www.twilio.com/docs/voice/api/call-resource#call-status-values) in our words.
STATUSES = {
    "queued": CallStatus.QUEUED,
    "initiated": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.ANSWERED,
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
}


def alert_urls(public_url: str, attempt_id: int) -> tuple[str, str]:
    """The TwiML URL and the status callback of one alert call (hotline/channels/twilio/alert_call.py)."""
    base = f"{public_url.rstrip('/')}{ALERT_PATH}"
    return f"{base}?attempt={attempt_id}", f"{base}/status?attempt={attempt_id}"


class TwilioVoice:
    provider = PROVIDER

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, api_base: str, public_url: str):
        self._account = (account_sid, auth_token, api_base)
        self._from, self._public_url = from_number, public_url

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioVoice:
        return cls(
            account_sid=settings.twilio_account_sid or "",
            auth_token=settings.twilio_auth_token or "",
            from_number=settings.twilio_from_number or "",
            api_base=settings.twilio_api_base,
            public_url=settings.public_url or "",
        )

    def can_place_calls(self) -> bool:
        # Twilio fetches the alert's TwiML from us: without a public URL it has nowhere to ask.
        account_sid, auth_token, _ = self._account
        return bool(account_sid and auth_token and self._from and self._public_url)

    def place_call(self, call: OutboundCall) -> str:
        account_sid, auth_token, api_base = self._account
        caller = TwilioCaller(account_sid=account_sid, auth_token=auth_token, from_number=self._from, api_base=api_base)
        url, status_callback = alert_urls(self._public_url, call.attempt_id)
        return caller.call(to=call.to, url=url, status_callback=status_callback)

    def take_over(self, *, provider_call_id: str, answer_at: str) -> None:
        account_sid, auth_token, api_base = self._account
        TwilioTakeover(account_sid=account_sid, auth_token=auth_token, api_base=api_base).take(
            provider_call_id=provider_call_id, answer_at=answer_at
        )

    def call_status(self, word: str) -> CallStatus | None:
        return STATUSES.get(word.strip().lower())
