"""The suite's WhatsApp gateway: the fake Graph API (hotline/fakes/whatsapp_graph.py) and the settings that point
the hotline at it, beside Twilio for SMS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hotline.fakes.whatsapp_graph import FakeGraph
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE_NUMBER
from tests.gateway_env import gateways

VERIFY_TOKEN = "verify-token-for-the-suite-7f3a"


def whatsapp_env(graph: FakeGraph, twilio_base: str, **extra: str) -> dict[str, str]:
    return {
        "HOTLINE_SMS_GATEWAYS": "twilio,wa",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": HOTLINE_NUMBER,
        "TWILIO_API_BASE": twilio_base,
        "HOTLINE_GATEWAY_WA_TYPE": "whatsapp",
        "HOTLINE_GATEWAY_WA_PHONE_NUMBER_ID": graph.phone_number_id,
        "HOTLINE_GATEWAY_WA_ACCESS_TOKEN": graph.access_token,
        "HOTLINE_GATEWAY_WA_APP_SECRET": graph.app_secret,
        "HOTLINE_GATEWAY_WA_VERIFY_TOKEN": VERIFY_TOKEN,
        "HOTLINE_GATEWAY_WA_API_BASE": graph.base_url,
        **extra,
    }


@contextmanager
def whatsapp(graph: FakeGraph, twilio_base: str, server: str, **extra: str) -> Iterator[FakeGraph]:
    graph.reset()
    graph.webhook_url = f"{server}/whatsapp/webhook"
    with gateways(whatsapp_env(graph, twilio_base, **extra)):
        yield graph
