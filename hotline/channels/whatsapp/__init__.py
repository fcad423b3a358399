"""WhatsApp Business Cloud API (Meta's Graph API): send (gateway.py, graph.py) and the webhook (webhook.py).

`GATEWAY` is the SMS gateway type `whatsapp` (hotline/channels/gateway.py `GatewayType`). It answers those who
wrote on it but is never a purpose's default (`default_route=False`): whoever never wrote there can be reached
only by template, if at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.channels.gateway import GatewayType, SmsGateway
from hotline.core.gateway_config import GatewaySpec

if TYPE_CHECKING:
    from hotline.settings import Settings


def _build(spec: GatewaySpec, settings: Settings) -> SmsGateway:
    from hotline.channels.whatsapp.gateway import WhatsAppGateway
    from hotline.channels.whatsapp.graph import DEFAULT_API_BASE, GraphClient

    client = GraphClient(
        api_base=spec.get("API_BASE") or DEFAULT_API_BASE,
        access_token=spec.get("ACCESS_TOKEN") or "",
        phone_number_id=spec.get("PHONE_NUMBER_ID") or "",
    )
    return WhatsAppGateway(name=spec.name, client=client)


GATEWAY = GatewayType(
    name="whatsapp",
    build=_build,
    keys={
        "PHONE_NUMBER_ID": "the WhatsApp Business phone number id messages are sent from (Meta's app dashboard)",
        "ACCESS_TOKEN": "a system user's access token with whatsapp_business_messaging",
        "APP_SECRET": "the Meta app's secret, which signs every webhook (X-Hub-Signature-256)",
        "VERIFY_TOKEN": "the token Meta's webhook verification (GET /whatsapp/webhook) must echo",
        "API_BASE": "the Graph API base URL (default https://graph.facebook.com/v21.0)",
        "MEDIA_MAX_BYTES": "the largest photo, voice note or document kept (default 16 MiB, WhatsApp's own cap)",
    },
    required=("PHONE_NUMBER_ID", "ACCESS_TOKEN", "APP_SECRET", "VERIFY_TOKEN"),
    default_route=False,
    router="hotline.channels.whatsapp.webhook:router",
)
