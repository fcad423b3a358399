"""Build the configured SMS gateways (hotline/core/gateway_config.py) as `SmsGateway`s.

A type's adapter is imported only when a gateway of that type is used. SMPP lives in hotline/channels/smpp/,
which provides `build_gateway(spec, settings) -> SmsGateway` (and may provide `check(spec) -> list[str]`).
"""

from __future__ import annotations

import importlib
import logging
import uuid
from datetime import datetime

from hotline.channels.gateway import MediaSource, OutgoingSms, SendResult, SmsGateway
from hotline.core.gateway_config import GatewaySpec, SmsRouting
from hotline.settings import Settings, get_settings

log = logging.getLogger(__name__)


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


def routing(settings: Settings | None = None) -> SmsRouting:
    return (settings or get_settings()).sms_routing


def gateway_problems(settings: Settings | None = None) -> list[str]:
    """Every gateway setting that cannot work, one line each (empty: all good)."""
    settings = settings or get_settings()
    found = list(routing(settings).problems)
    for spec in routing(settings).of_kind("smpp"):
        try:
            module = importlib.import_module("hotline.channels.smpp")
        except ImportError:
            found.append(
                f"settings: {spec.env('TYPE')}: smpp gateways need hotline/channels/smpp/, not in this version"
            )
            continue
        check = getattr(module, "check", None)
        if callable(check):
            found.extend(str(line) for line in check(spec))
    return found


def build_gateway(spec: GatewaySpec, settings: Settings | None = None) -> SmsGateway:
    settings = settings or get_settings()
    public_url, secret = settings.public_url, settings.secret_key
    if spec.kind == "twilio":
        from hotline.channels.twilio.sms_client import TwilioSmsProvider

        return TwilioSmsProvider(
            name=spec.name,
            account_sid=spec.get("ACCOUNT_SID") or "",
            auth_token=spec.get("AUTH_TOKEN") or "",
            from_number=spec.get("FROM") or "",
            api_base=spec.get("API_BASE") or "https://api.twilio.com",
            public_url=public_url,
        )
    if spec.kind == "kannel":
        from hotline.channels.kannel.sms_client import KannelSmsProvider

        return KannelSmsProvider(
            name=spec.name,
            url=spec.get("URL") or "",
            username=spec.get("USERNAME") or "",
            password=spec.get("PASSWORD") or "",
            from_number=spec.get("FROM"),
            smsc=spec.get("SMSC"),
            public_url=public_url,
            secret_key=secret,
        )
    if spec.kind == "android":
        from hotline.channels.android.client import AndroidSmsGateway

        sim = spec.get("SIM")
        return AndroidSmsGateway(
            name=spec.name,
            url=spec.get("URL") or "",
            username=spec.get("USERNAME"),
            password=spec.get("PASSWORD") or "",
            sim=int(sim) if sim and sim.isdigit() else None,
        )
    if spec.kind == "gammu":
        from hotline.channels.gammu.gateway import GammuGateway

        return GammuGateway.from_spec(spec)
    if spec.kind == "whatsapp":
        from hotline.channels.whatsapp.gateway import WhatsAppGateway
        from hotline.channels.whatsapp.graph import DEFAULT_API_BASE, GraphClient

        client = GraphClient(
            api_base=spec.get("API_BASE") or DEFAULT_API_BASE,
            access_token=spec.get("ACCESS_TOKEN") or "",
            phone_number_id=spec.get("PHONE_NUMBER_ID") or "",
        )
        return WhatsAppGateway(name=spec.name, client=client)
    if spec.kind == "record":
        from hotline.fakes.recording_sms import RecordingGateway

        return RecordingGateway(spec.name, spec.get("PATH") or "")
    if spec.kind == "smpp":
        module = importlib.import_module("hotline.channels.smpp")
        built: SmsGateway = module.build_gateway(spec, settings)
        return built
    return LogGateway(spec.name)


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
