"""The composition root: where the layers are plugged together, once per process.

- Deadlines written by features (hotline/core/deadlines.py) are armed by the timer core (hotline/jobs/timers.py).
- The SMS gateway types (one `GatewayType` per adapter package) are listed in `SMS_GATEWAY_TYPES`, once:
  registering them tells the settings which types exist (hotline/core/gateway_config.py), the factory how to
  build them (hotline/channels/gateways.py) and the app which webhook routers to mount (hotline/web/app.py).
  The voice gateway types (`VOICE_GATEWAY_TYPES`) are registered with hotline/channels/voice_gateways.py the
  same way: the settings learn their names (HOTLINE_VOICE_ALERTS) and read their own settings
  (hotline/core/voice_config.py), and their routers are mounted.

Called by the app (hotline/web/app.py `create_app`), the CLI (hotline/cli.py, so `hotline worker` and the RQ work
horses it forks), the timer releaser and broadcast sender processes (their `-c` entry code), and the test suite."""

from __future__ import annotations

from functools import cache

from hotline.channels import android, ari, gammu, kannel, smpp, twilio, voice_gateways, whatsapp
from hotline.channels.gateway import GatewayType
from hotline.channels.gateways import LOG, register
from hotline.channels.voice import VoiceGatewayType
from hotline.fakes import recording_sms

# In this order `hotline config check` lists them ("set it to one of ...").
SMS_GATEWAY_TYPES: tuple[GatewayType, ...] = (
    twilio.GATEWAY,
    kannel.GATEWAY,
    gammu.GATEWAY,
    android.GATEWAY,
    smpp.GATEWAY,
    whatsapp.GATEWAY,
    LOG,
    recording_sms.GATEWAY,
)
# In this order they are tried for voice alerts when HOTLINE_VOICE_ALERTS is not set.
VOICE_GATEWAY_TYPES: tuple[VoiceGatewayType, ...] = (twilio.VOICE, ari.VOICE)


@cache
def wire() -> None:
    for gateway_type in SMS_GATEWAY_TYPES:
        register(gateway_type)
    for voice_type in VOICE_GATEWAY_TYPES:
        voice_gateways.register(voice_type)
    import hotline.jobs.timers  # noqa: F401  plugs its `arm` into hotline.core.deadlines at import
