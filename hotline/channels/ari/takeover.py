"""The console taking an Asterisk call (hotline/features/calls/call_takeover.py), from the web process.

The web process does not talk to the ARI app: it asks Asterisk directly (ARI REST) to ring the operator
into the Stasis app with appArgs `operator,<caller channel>`. The ARI app sees that leg start and bridges it
with the waiting caller (hotline/channels/ari/executor.py), so nothing else needs to connect the two
processes. Where the operator answers (the console's "answer calls at"):

    PJSIP/operator1, SIP/...     as written (an Asterisk dial string)
    sip:operator1                PJSIP/operator1 (a PJSIP endpoint in pjsip.conf)
    +62812..., 0812...           PJSIP/<number>@<trunk>: out through the SIP trunk (pjsip.conf: trunk)
"""

from __future__ import annotations

import re
import uuid

import httpx

from hotline.channels.ari import media as m
from hotline.channels.ari.client import basic_auth
from hotline.channels.voice import TakeoverError

PHONE = re.compile(r"\+?\d{3,20}")
OPERATOR_ARG = "operator"  # appArgs of an operator's leg: operator,<caller channel id>


def operator_endpoint(answer_at: str, *, trunk: str = "trunk") -> str:
    value = answer_at.strip()
    if "/" in value and not value.startswith("sip:"):
        return value
    if value.startswith("sip:") and re.fullmatch(r"sip:[A-Za-z0-9_.-]+", value):
        return f"PJSIP/{value[4:]}"
    if PHONE.fullmatch(value):
        return f"PJSIP/{value}@{trunk}"
    raise TakeoverError(
        f"Asterisk cannot ring {answer_at!r}: use a PJSIP endpoint (sip:operator1 or PJSIP/operator1) or a number"
    )


class AsteriskTakeover:
    """Taking over a queued Asterisk call (hotline/channels/ari/voice_gateway.py `AsteriskVoice.take_over`)."""

    def __init__(self, *, url: str, username: str, password: str, app: str, timeout_seconds: int = 30):
        self.base = url.rstrip("/") + "/ari"
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.headers = {"Authorization": basic_auth(username, password)}

    def take(self, *, provider_call_id: str, answer_at: str) -> None:
        endpoint = operator_endpoint(answer_at)
        request = m.originate(
            endpoint,
            app=self.app,
            app_args=f"{OPERATOR_ARG},{provider_call_id}",
            channel_id=f"op-{uuid.uuid4().hex}",
            caller_id="",
            timeout=self.timeout_seconds,
        )
        try:
            with httpx.Client(headers=self.headers, timeout=10) as http:
                if http.get(f"{self.base}/channels/{provider_call_id}").status_code == 404:
                    raise TakeoverError("the caller has hung up")
                response = http.request(request.method, self.base + request.path, params=request.query())
        except httpx.HTTPError as exc:
            raise TakeoverError(f"Asterisk is not reachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise TakeoverError(f"Asterisk refused to ring {endpoint}: {response.status_code} {response.text[:200]}")
