"""Put a queued Twilio call through to an operator: update the live call with <Dial> TwiML (REST)."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from hotline.channels.twilio.sms_client import BaseUrlHttpClient
from hotline.channels.voice import TakeoverError


def dial_twiml(answer_at: str) -> str:
    """<Dial> to a phone number, a Twilio Client identity (client:NAME) or a SIP URI (sip:...)."""
    dial = Dial()
    if answer_at.startswith("client:"):
        dial.client(answer_at.removeprefix("client:"))
    elif answer_at.startswith("sip:"):
        dial.sip(answer_at)
    else:
        dial.number(answer_at)
    response = VoiceResponse()
    response.append(dial)
    return str(response)


class TwilioTakeover:
    def __init__(self, *, account_sid: str, auth_token: str, api_base: str):
        if api_base.rstrip("/") != "https://api.twilio.com":
            http_client: TwilioHttpClient = BaseUrlHttpClient(api_base)
        else:
            http_client = TwilioHttpClient(timeout=10.0)
        self._client = Client(account_sid, auth_token, http_client=http_client)

    def take(self, *, provider_call_id: str, answer_at: str) -> None:
        try:
            self._client.calls(provider_call_id).update(twiml=dial_twiml(answer_at))
        except TwilioRestException as exc:
            raise TakeoverError(f"Twilio refused ({exc.code or exc.status}): {exc.msg}") from exc
        except Exception as exc:  # broad: any failure (network, timeout, odd answer) is the console's TakeoverError
            raise TakeoverError(f"Twilio could not be reached: {type(exc).__name__}") from exc
