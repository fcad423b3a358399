"""The composition point of the voice side: which `VoiceGateway`s (hotline/channels/voice.py) this deployment
has, built from settings; SMS gateways are built the same way in hotline/channels/gateways.py.

Each type says when it is configured (e.g. twilio: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN set; asterisk:
ARI_URL, ARI_USERNAME and ARI_PASSWORD), reads and checks its own settings and builds its adapter, imported only
when configured. Alert calls go through the type HOTLINE_VOICE_ALERTS names when it is set (a registered one:
the settings refuse others), else the first, in registration order, that can place calls. The types are declared
by their packages (`VoiceGatewayType`) and registered by the composition root (hotline/wiring.py): `register`
tells this module and the settings (hotline/core/voice_config.py `register_kind`: core may not import adapters).
"""

from __future__ import annotations

from collections.abc import Mapping

from hotline.channels.voice import VoiceGateway, VoiceGatewayType
from hotline.core import voice_config
from hotline.core.gateway_config import NAME_RE, Findings
from hotline.settings import Settings, get_settings

_TYPES: dict[str, VoiceGatewayType] = {}


def register(voice_type: VoiceGatewayType) -> None:
    """Make a voice gateway type known: built from here, named by HOTLINE_VOICE_ALERTS, its settings read. Before
    the settings are read (hotline/wiring.py `wire`), as SMS gateway types are."""
    if not NAME_RE.match(voice_type.name):
        raise ValueError(f"voice gateway type {voice_type.name!r}: a-z first, then a-z, 0-9 or _, at most 16")
    _TYPES[voice_type.name] = voice_type
    voice_config.register_kind(voice_type)


def unregister(name: str) -> None:
    _TYPES.pop(name, None)
    voice_config.unregister_kind(name)


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


def voice_findings(settings: Settings | None = None) -> Findings:
    """Every registered type's check of its own settings: problems stop `up`, `serve` and `worker` (cli.py)."""
    settings = settings or get_settings()
    found = Findings()
    for voice_type in _TYPES.values():
        if voice_type.check is not None:
            own = voice_type.check(settings)
            found.problems.extend(own.problems)
            found.notes.extend(own.notes)
    return found


def voice_summary(settings: Settings, *, has_alert_flow: bool) -> str:
    """One line for `hotline config check`: who places voice alerts, and whose calls the console can take."""
    gateways = voice_gateways(settings)
    takes = ", ".join(gateways) or "none"
    chosen = alert_gateway(settings)
    if chosen is None:
        alerts = "none (needs Twilio with HOTLINE_PUBLIC_URL, or ARI_URL; docs/asterisk.md)"
    elif not has_alert_flow:
        alerts = "none (no ivr_flows/urc_alert.yaml)"
    else:
        voice_type = _TYPES.get(chosen.provider)  # a gateway's provider is its type's name
        alerts = voice_type.describe(settings) if voice_type and voice_type.describe else chosen.provider
    return f"voice alerts: {alerts}; console takes calls of: {takes}"
