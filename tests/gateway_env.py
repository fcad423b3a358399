"""Run a test with these SMS gateways and no Twilio configured at all (no TWILIO_* in the environment)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from hotline.settings import get_settings

CITIZEN = "+6281234567890"
MODEM = "+62811000000"  # the number citizens text (the modem's SIM, the phone's SIM)


@contextmanager
def gateways(env: dict[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith(("TWILIO_", "HOTLINE_GATEWAY_", "HOTLINE_SMS_"))}
    for name in saved:
        del os.environ[name]
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith(("TWILIO_", "HOTLINE_GATEWAY_", "HOTLINE_SMS_"))]:
            del os.environ[name]
        os.environ.update(saved)
        get_settings.cache_clear()
