"""`VoiceGateway` on Asterisk: an alert call is `POST /channels` (originate) into our Stasis app with appArgs
`alert,<attempt>`; the ARI app (hotline/channels/ari/executor.py) runs the alert flow on the channel once it
is answered, or reports the hang-up cause of a call nobody answered. Taking over a queued call rings the
operator into the app (hotline/channels/ari/takeover.py). From any process: only ARI REST is used here.

Hang-up causes in our words: hotline/channels/ari/alerts.py.
"""

from __future__ import annotations

import httpx

from hotline.channels.ari import media as m
from hotline.channels.ari.alerts import ALERT_ARG, alert_channel_id, status_of_cause
from hotline.channels.ari.client import basic_auth
from hotline.channels.ari.settings import ari_settings
from hotline.channels.ari.takeover import AsteriskTakeover
from hotline.channels.voice import CallError, CallStatus, OutboundCall
from hotline.phone import national_digits
from hotline.settings import Settings

PROVIDER = "asterisk"
RING_SECONDS = 30  # as on Twilio: then the call is not answered and the alert goes on


class AsteriskVoice:
    provider = PROVIDER

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: str,
        app: str,
        endpoint: str,
        caller_id: str = "",
        region: str = "ID",
    ):
        self.base = url.rstrip("/") + "/ari"
        self.app, self.endpoint, self.caller_id, self.region = app, endpoint, caller_id, region
        self.headers = {"Authorization": basic_auth(username, password)}
        self._takeover = AsteriskTakeover(url=url, username=username, password=password, app=app)

    @classmethod
    def from_settings(cls, settings: Settings) -> AsteriskVoice:
        ari = ari_settings(settings)
        return cls(
            url=ari.url or "",
            username=ari.username or "",
            password=ari.password or "",
            app=ari.app,
            endpoint=ari.alert_endpoint,
            caller_id=ari.alert_caller_id or "",
            region=settings.default_region,
        )

    def can_place_calls(self) -> bool:
        return bool(self.base != "/ari" and self.endpoint)

    def dial_string(self, to: str) -> str:
        return self.endpoint.format(number=to, national=national_digits(to, self.region))

    def place_call(self, call: OutboundCall) -> str:
        channel_id = alert_channel_id(call.attempt_id)
        request = m.originate(
            self.dial_string(call.to),
            app=self.app,
            app_args=f"{ALERT_ARG},{call.attempt_id}",
            channel_id=channel_id,
            caller_id=self.caller_id,
            timeout=RING_SECONDS,
        )
        try:
            with httpx.Client(headers=self.headers, timeout=10) as http:
                response = http.request(request.method, self.base + request.path, params=request.query())
        except httpx.HTTPError as exc:  # network errors, timeouts: worth a retry
            raise CallError(f"Asterisk is not reachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            # 400: a dial string Asterisk cannot use (the setting is wrong); anything else may pass.
            permanent = response.status_code == 400
            raise CallError(
                f"Asterisk refused the call: {response.status_code} {response.text[:200]}",
                code=str(response.status_code),
                permanent=permanent,
            )
        return channel_id

    def take_over(self, *, provider_call_id: str, answer_at: str) -> None:
        self._takeover.take(provider_call_id=provider_call_id, answer_at=answer_at)

    def call_status(self, word: str) -> CallStatus | None:
        """`word`: "answered", or a hang-up cause (e.g. "17")."""
        if word == "answered":
            return CallStatus.ANSWERED
        if not word.isdigit():
            return None
        return status_of_cause(int(word))
