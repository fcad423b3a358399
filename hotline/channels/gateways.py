"""Build the configured SMS gateways (hotline/core/gateway_config.py) as `SmsGateway`s, from the registered types.

Each adapter package declares its type (hotline/channels/gateway.py `GatewayType`: name, keys, builder, check,
router); the composition root (hotline/wiring.py) hands them to `register`, which also tells the settings
(hotline/core/gateway_config.py `register_type`). A type's adapter code is imported only when a gateway of that type
is built or its router mounted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime

from hotline.channels.gateway import GatewayType, MediaSource, OutgoingSms, SendResult, SmsGateway
from hotline.core import gateway_config
from hotline.core.gateway_config import GatewaySpec, SmsRouting
from hotline.settings import Settings, get_settings

log = logging.getLogger(__name__)

_TYPES: dict[str, GatewayType] = {}


def register(gateway_type: GatewayType) -> None:
    """Make a gateway type usable: accepted by the settings, built by `build_gateway`, its router mounted."""
    gateway_config.register_type(gateway_type)
    _TYPES[gateway_type.name] = gateway_type


def unregister(name: str) -> None:
    gateway_config.unregister_type(name)
    _TYPES.pop(name, None)


def gateway_types() -> Mapping[str, GatewayType]:
    """The registered types, in registration order."""
    return _TYPES


class LogGateway:
    """Development default when no gateway is configured: the SMS is written to the log, not sent."""

    kind = "log"

    def __init__(self, name: str = "log"):
        self.name = name

    def send(self, sms: OutgoingSms) -> SendResult:
        log.warning("SMS NOT SENT (gateway %s only logs) to %s: %s", self.name, sms.to, sms.body)
        return SendResult(self.name, self.kind, f"LOG{uuid.uuid4().hex}", "sent")

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        return None  # the log keeps nothing to ask; writing the line again is harmless


def _build_log(spec: GatewaySpec, settings: Settings) -> SmsGateway:
    return LogGateway(spec.name)


LOG = GatewayType(name="log", build=_build_log)


def routing(settings: Settings | None = None) -> SmsRouting:
    return (settings or get_settings()).sms_routing


def gateway_problems(settings: Settings | None = None) -> list[str]:
    """Every gateway setting that cannot work, one line each (empty: all good); each type's own check included."""
    return list(routing(settings).problems)


def build_gateway(spec: GatewaySpec, settings: Settings | None = None) -> SmsGateway:
    gateway_type = _TYPES.get(spec.kind)
    if gateway_type is None:  # only a spec made by hand can name a type nobody registered: settings refuse it
        return LogGateway(spec.name)
    return gateway_type.build(spec, settings or get_settings())


def whatsapp_alert_gateways(settings: Settings | None = None) -> list[GatewaySpec]:
    """The gateways that carry an alert on the `whatsapp` alert channel, in the order they are tried: every Cloud
    API gateway (type whatsapp), then every Twilio gateway with a WhatsApp sender (WHATSAPP_FROM, default
    TWILIO_WHATSAPP_FROM). With both, the Cloud API wins; Twilio takes the alert only when the Cloud API cannot
    (no template for it outside the member's window, or it refused the send). None: the channel is skipped."""
    sms_routing = routing(settings)
    twilio = [g for g in sms_routing.of_kind("twilio") if g.get("WHATSAPP_FROM")]
    return [*sms_routing.of_kind("whatsapp"), *twilio]


def whatsapp_alert_summary(settings: Settings | None = None) -> str:
    """`hotline config check`'s line on which gateway carries WhatsApp alerts."""
    carriers = whatsapp_alert_gateways(settings)
    if not carriers:
        return "whatsapp alerts: no WhatsApp gateway (a `whatsapp` entry of alert_channels is skipped)"
    named = [
        f"{g.name} (Cloud API)"
        if g.kind == "whatsapp"
        else f"{g.name} (Twilio WhatsApp from {(g.get('WHATSAPP_FROM') or '').removeprefix('whatsapp:')})"
        for g in carriers
    ]
    return "whatsapp alerts: through " + ", then ".join(named)


def gateway_named(name: str, settings: Settings | None = None) -> SmsGateway | None:
    spec = routing(settings).gateways.get(name)
    return build_gateway(spec, settings) if spec is not None else None


def media_source(name: str, settings: Settings | None = None) -> MediaSource | None:
    """The gateway called `name` as a MediaSource (WhatsApp, Twilio), or None when it cannot fetch media."""
    gateway = gateway_named(name, settings)
    return gateway if isinstance(gateway, MediaSource) else None


def media_max_bytes(name: str, settings: Settings | None = None) -> int:
    spec = routing(settings).gateways.get(name)
    raw = (spec.get("MEDIA_MAX_BYTES") if spec is not None else None) or ""
    return int(raw) if raw.isdigit() else DEFAULT_MEDIA_MAX_BYTES


DEFAULT_MEDIA_MAX_BYTES = 16 * 1024 * 1024  # WhatsApp's own cap on audio, video and images it relays
