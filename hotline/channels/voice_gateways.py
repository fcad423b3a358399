"""The composition point of the voice side: which `VoiceGateway`s (hotline/channels/voice.py) this deployment
has, built from settings. The only module that names a voice adapter; SMS gateways are built the same way in
hotline/channels/gateways.py.

    twilio     TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN set (calls placed from TWILIO_FROM_NUMBER)
    asterisk   ARI_URL, ARI_USERNAME and ARI_PASSWORD set (calls placed at ARI_ALERT_ENDPOINT)

Alert calls go through HOTLINE_VOICE_ALERTS when it is set, else the first of twilio, asterisk that can place
calls. Adapters are imported only when configured.
"""

from __future__ import annotations

from hotline.channels.voice import VoiceGateway
from hotline.settings import Settings, get_settings


def voice_gateways(settings: Settings | None = None) -> dict[str, VoiceGateway]:
    """The configured voice gateways by provider, Twilio first."""
    settings = settings or get_settings()
    found: dict[str, VoiceGateway] = {}
    if settings.twilio_account_sid and settings.twilio_auth_token:
        from hotline.channels.twilio.voice_gateway import TwilioVoice

        found["twilio"] = TwilioVoice.from_settings(settings)
    if settings.ari_url and settings.ari_username and settings.ari_password:
        from hotline.channels.ari.voice_gateway import AsteriskVoice

        found["asterisk"] = AsteriskVoice.from_settings(settings)
    return found


def gateway_for(provider: str, settings: Settings | None = None) -> VoiceGateway | None:
    """The gateway whose calls are stored with this provider (a call to take over, a status to read)."""
    return voice_gateways(settings).get(provider)


def alert_gateway(settings: Settings | None = None) -> VoiceGateway | None:
    """The gateway that places voice alerts; None when this deployment cannot call anyone."""
    settings = settings or get_settings()
    gateways = voice_gateways(settings)
    if settings.voice_alerts is not None:
        chosen = gateways.get(settings.voice_alerts)
        return chosen if chosen is not None and chosen.can_place_calls() else None
    return next((g for g in gateways.values() if g.can_place_calls()), None)


def voice_summary(settings: Settings, *, has_alert_flow: bool) -> str:
    """One line for `hotline config check`: who places voice alerts, and whose calls the console can take."""
    gateways = voice_gateways(settings)
    takes = ", ".join(gateways) or "none"
    chosen = alert_gateway(settings)
    if chosen is None:
        alerts = "none (needs Twilio with HOTLINE_PUBLIC_URL, or ARI_URL; docs/asterisk.md)"
    elif not has_alert_flow:
        alerts = "none (no ivr_flows/urc_alert.yaml)"
    elif chosen.provider == "asterisk":
        alerts = f"asterisk, at {settings.ari_alert_endpoint}"
    else:
        alerts = chosen.provider
    return f"voice alerts: {alerts}; console takes calls of: {takes}"
