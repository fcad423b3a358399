"""Run a test with these SMS gateways and no Twilio configured at all (no TWILIO_* in the environment)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from hotline.settings import get_settings

CITIZEN = "+6281234567890"
MODEM = "+62811000000"  # the number citizens text (the modem's SIM, the phone's SIM)


PREFIXES = ("TWILIO_", "HOTLINE_GATEWAY_", "HOTLINE_SMS_")


@contextmanager
def gateways(env: dict[str, str]) -> Iterator[None]:
    # Every gateway setting is replaced; any other setting `env` names (HOTLINE_CONFIG_DIR, say) is put back too:
    # one left behind sent every later test of the worker to another city.
    saved = {k: v for k, v in os.environ.items() if k.startswith(PREFIXES) or k in env}
    for name in saved:
        del os.environ[name]
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith(PREFIXES) or k in env]:
            del os.environ[name]
        os.environ.update(saved)
        get_settings.cache_clear()
