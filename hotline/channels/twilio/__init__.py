"""Twilio: SMS and WhatsApp through its REST API (sms_client.py, webhooks.py) and voice (voice_*.py, alert_call.py).

`GATEWAY` is the SMS gateway type `twilio` (hotline/channels/gateway.py `GatewayType`), `VOICE` the voice gateway
type `twilio` (hotline/channels/voice.py `VoiceGatewayType`), with its own settings (voice_settings.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.channels.gateway import GatewayType, SmsGateway
from hotline.channels.twilio.voice_settings import TwilioVoiceSettings
from hotline.channels.voice import VoiceGateway, VoiceGatewayType
from hotline.core.gateway_config import GatewaySpec

if TYPE_CHECKING:
    from hotline.settings import Settings


def _build(spec: GatewaySpec, settings: Settings) -> SmsGateway:
    from hotline.channels.twilio.sms_client import TwilioSmsProvider

    return TwilioSmsProvider(
        name=spec.name,
        account_sid=spec.get("ACCOUNT_SID") or "",
        auth_token=spec.get("AUTH_TOKEN") or "",
        from_number=spec.get("FROM") or "",
        api_base=spec.get("API_BASE") or "https://api.twilio.com",
        public_url=settings.public_url,
    )


GATEWAY = GatewayType(
    name="twilio",
    build=_build,
    keys={
        "ACCOUNT_SID": "the Twilio account SID (default TWILIO_ACCOUNT_SID)",
        "AUTH_TOKEN": "its auth token (default TWILIO_AUTH_TOKEN)",
        "FROM": "the number SMS are sent from (default TWILIO_FROM_NUMBER)",
        "API_BASE": "the REST base URL (default TWILIO_API_BASE)",
        "WHATSAPP_FROM": "the WhatsApp sender number replies to `whatsapp:` senders go from when their message did "
        "not name one (default TWILIO_WHATSAPP_FROM)",
    },
    required=("ACCOUNT_SID", "AUTH_TOKEN", "FROM"),
    router="hotline.channels.twilio.webhooks:router",
)


def _voice_configured(settings: Settings) -> bool:
    # The account is shared with SMS (TWILIO_*, hotline/settings.py); HOTLINE_VOICE_FALLBACK_NUMBER is voice's own.
    return bool(settings.twilio_account_sid and settings.twilio_auth_token)


def _build_voice(settings: Settings) -> VoiceGateway:
    from hotline.channels.twilio.voice_gateway import TwilioVoice

    return TwilioVoice.from_settings(settings)


VOICE = VoiceGatewayType(
    name="twilio",
    configured=_voice_configured,
    build=_build_voice,
    settings=TwilioVoiceSettings,
    routers=(
        "hotline.channels.twilio.voice_webhooks:router",
        "hotline.channels.twilio.voice_fallback:router",
        "hotline.channels.twilio.alert_call:router",
    ),
)
