"""Gammu SMSD (a GSM modem, Debian `gammu-smsd`) through its files service.

`GATEWAY` is the SMS gateway type `gammu` (hotline/channels/gateway.py `GatewayType`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hotline.channels.gateway import GatewayType, SmsGateway
from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings

if TYPE_CHECKING:
    from hotline.settings import Settings

KEYS = {
    "OUTBOX": "gammu-smsd's OutboxPath (files service)",
    "SENT": "its SentSMSPath",
    "ERROR": "its ErrorSMSPath",
    "INBOX": "its InboxPath (read by `hotline sms gammu-receive` and the sweeper)",
}


def _build(spec: GatewaySpec, settings: Settings) -> SmsGateway:
    from hotline.channels.gammu.gateway import GammuGateway

    return GammuGateway.from_spec(spec)


def _check(spec: GatewaySpec, settings: GatewaySettings) -> Findings:
    found = Findings()
    for key in ("OUTBOX", "SENT", "ERROR", "INBOX"):
        folder = spec.get(key)
        if folder and not Path(folder).is_dir():
            found.problems.append(f"settings: {spec.env(key)}: {folder} is not a folder (gammu-smsd's {KEYS[key]})")
    return found


GATEWAY = GatewayType(name="gammu", build=_build, keys=KEYS, required=("OUTBOX", "SENT", "ERROR"), check=_check)
