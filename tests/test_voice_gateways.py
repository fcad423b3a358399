"""The voice port (hotline/channels/voice.py): which gateways a deployment has (hotline/channels/voice_gateways.py),
each provider's words in ours, and the Asterisk adapter's originate against the fake ARI."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotline.channels.ari.alerts import alert_attempt, alert_channel_id
from hotline.channels.ari.voice_gateway import AsteriskVoice
from hotline.channels.twilio.voice_gateway import TwilioVoice, alert_urls
from hotline.channels.voice import CallError, CallStatus, OutboundCall
from hotline.channels.voice_gateways import alert_gateway, gateway_for, voice_gateways
from hotline.fakes.fake_ari import FakeAri
from hotline.features.alerts import failover
from hotline.settings import Settings
from tests.ari_harness import requires_ari_docs, run

TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "t" * 32,
    "TWILIO_FROM_NUMBER": "+6234100000",
    "HOTLINE_PUBLIC_URL": "https://hotline.example.id",
}
ARI = {"ARI_URL": "http://127.0.0.1:8088", "ARI_USERNAME": "hotline", "ARI_PASSWORD": "p" * 24}


def settings(**values: Any) -> Settings:
    """Settings with exactly these voice settings (the test process's environment may hold others)."""
    unset = {name: None for name in (*TWILIO, *ARI, "HOTLINE_VOICE_ALERTS")}
    return Settings(**{**unset, **values})  # type: ignore[arg-type]


def test_a_deployment_without_twilio_or_ari_cannot_call_anyone() -> None:
    plain = settings()
    assert voice_gateways(plain) == {} and alert_gateway(plain) is None and gateway_for("twilio", plain) is None
    assert not failover.available("voice", plain)


def test_twilio_places_alert_calls_when_it_can_else_asterisk() -> None:
    both = settings(**TWILIO, **ARI)
    assert list(voice_gateways(both)) == ["twilio", "asterisk"]
    assert isinstance(alert_gateway(both), TwilioVoice)
    no_public_url = settings(**{**TWILIO, "HOTLINE_PUBLIC_URL": None}, **ARI)  # Twilio could not fetch the flow
    assert isinstance(alert_gateway(no_public_url), AsteriskVoice)
    asterisk_only = settings(**ARI)
    assert isinstance(alert_gateway(asterisk_only), AsteriskVoice) and failover.available("voice", asterisk_only)
    assert isinstance(gateway_for("asterisk", asterisk_only), AsteriskVoice)  # the console takes its calls


def test_the_city_names_the_gateway_for_alert_calls() -> None:
    assert isinstance(alert_gateway(settings(**TWILIO, **ARI, HOTLINE_VOICE_ALERTS="asterisk")), AsteriskVoice)
    assert alert_gateway(settings(**ARI, HOTLINE_VOICE_ALERTS="twilio")) is None  # named, but not configured
    with pytest.raises(ValueError, match="HOTLINE_VOICE_ALERTS"):
        settings(HOTLINE_VOICE_ALERTS="sip")


def test_each_providers_words_become_ours() -> None:
    twilio = TwilioVoice.from_settings(settings(**TWILIO))
    assert [twilio.call_status(w) for w in ("in-progress", "completed", "busy", "no-answer", "failed")] == [
        CallStatus.ANSWERED,
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.FAILED,
    ]
    assert twilio.call_status("ringing") == CallStatus.RINGING and twilio.call_status("odd") is None
    asterisk = AsteriskVoice.from_settings(settings(**ARI))
    causes = {cause: asterisk.call_status(cause) for cause in ("16", "17", "19", "21", "20", "3", "34")}
    assert causes == {
        "16": CallStatus.COMPLETED,
        "17": CallStatus.BUSY,
        "19": CallStatus.NO_ANSWER,
        "21": CallStatus.BUSY,  # rejected: Twilio says busy for a declined call too
        "20": CallStatus.FAILED,  # subscriber absent (a phone that is off)
        "3": CallStatus.FAILED,
        "34": CallStatus.FAILED,
    }
    assert asterisk.call_status("answered") == CallStatus.ANSWERED and asterisk.call_status("") is None


def test_where_each_gateway_rings_a_member() -> None:
    asterisk = AsteriskVoice.from_settings(settings(**ARI))
    assert asterisk.dial_string("+6285700000111") == "PJSIP/085700000111@trunk"  # the default: national, trunk
    custom = AsteriskVoice.from_settings(settings(**ARI, ARI_ALERT_ENDPOINT="PJSIP/{number}@telkom"))
    assert custom.dial_string("+6285700000111") == "PJSIP/+6285700000111@telkom"
    assert alert_attempt(alert_channel_id(42)) == 42 and alert_attempt("1700000000.12") is None
    assert alert_urls("https://hotline.example.id/", 7) == (
        "https://hotline.example.id/twilio/voice/alert?attempt=7",
        "https://hotline.example.id/twilio/voice/alert/status?attempt=7",
    )


@requires_ari_docs
def test_asterisk_places_an_alert_call_by_originating_into_the_stasis_app() -> None:
    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.far_ends = {"PJSIP/085700000111@trunk": "ring"}
        url = await fake.start()
        try:
            ari = {"ARI_URL": url, "ARI_USERNAME": fake.username, "ARI_PASSWORD": fake.password}
            gateway = AsteriskVoice.from_settings(settings(**ari, ARI_ALERT_CALLER_ID="0341112"))
            channel = await asyncio.to_thread(gateway.place_call, OutboundCall(attempt_id=9, to="+6285700000111"))
            broken = AsteriskVoice.from_settings(settings(**ari, ARI_ALERT_ENDPOINT="trunk-{national}"))
            try:
                await asyncio.to_thread(broken.place_call, OutboundCall(attempt_id=10, to="+6285700000111"))
                refused: CallError | None = None
            except CallError as exc:
                refused = exc
            await asyncio.sleep(0.05)
            [originate] = [r for r in fake.requests if r.method == "POST" and r.path == "/channels" and r.status == 200]
            return {
                "channel": channel,
                "params": originate.params,
                "events": [(e["type"], e["channel"]["state"]) for e in fake.events],
                "refused": refused,
            }
        finally:
            await fake.stop()

    r = run(scenario())
    assert r["channel"].startswith("alert-9-") and alert_attempt(r["channel"]) == 9
    params = r["params"]
    assert (params["endpoint"], params["app"], params["appArgs"]) == ("PJSIP/085700000111@trunk", "hotline", "alert,9")
    assert (params["channelId"], params["callerId"], params["timeout"]) == (r["channel"], "0341112", 30)
    assert r["events"] == [("ChannelCreated", "Down"), ("ChannelStateChange", "Ringing")]  # rings until answered
    refused = r["refused"]
    assert isinstance(refused, CallError) and refused.permanent and "400" in str(refused)  # no tech/resource
