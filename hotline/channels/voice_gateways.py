"""The composition point of the voice side: which `VoiceGateway`s (hotline/channels/voice.py) this deployment
has, built from settings; SMS gateways are built the same way in hotline/channels/gateways.py.

    twilio     TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN set (calls placed from TWILIO_FROM_NUMBER)
    asterisk   ARI_URL, ARI_USERNAME and ARI_PASSWORD set (calls placed at ARI_ALERT_ENDPOINT)

Alert calls go through HOTLINE_VOICE_ALERTS when it is set, else the first of twilio, asterisk that can place
calls. Adapters are imported only when configured. The types are declared by their packages (`VoiceGatewayType`)
and registered, in that order, by the composition root (hotline/wiring.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from hotline.channels.voice import VoiceGateway, VoiceGatewayType
from hotline.settings import Settings, get_settings

_TYPES: dict[str, VoiceGatewayType] = {}


def register(voice_type: VoiceGatewayType) -> None:
    _TYPES[voice_type.name] = voice_type


def unregister(name: str) -> None:
    _TYPES.pop(name, None)


def voice_types() -> Mapping[str, VoiceGatewayType]:
    """The registered types, in registration order."""
    return _TYPES


def voice_gateways(settings: Settings | None = None) -> dict[str, VoiceGateway]:
    """The configured voice gateways by provider, in registration order (Twilio first)."""
    if not _TYPES:
        # Without them this deployment would seem unable to call anyone: say why instead.
        raise RuntimeError("no voice gateway types registered (hotline.wiring.wire() was not called in this process)")
    settings = settings or get_settings()
    return {name: t.build(settings) for name, t in _TYPES.items() if t.configured(settings)}


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
