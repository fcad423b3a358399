"""SMS Gateway for Android (sms-gate.app): a phone with a SIM as the hotline's SMS gateway, the day-one setup.

`GATEWAY` is the SMS gateway type `android` (hotline/channels/gateway.py `GatewayType`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.channels.gateway import GatewayType, SmsGateway
from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings

if TYPE_CHECKING:
    from hotline.settings import Settings


def _build(spec: GatewaySpec, settings: Settings) -> SmsGateway:
    from hotline.channels.android.client import AndroidSmsGateway

    sim = spec.get("SIM")
    return AndroidSmsGateway(
        name=spec.name,
        url=spec.get("URL") or "",
        username=spec.get("USERNAME"),
        password=spec.get("PASSWORD") or "",
        sim=int(sim) if sim and sim.isdigit() else None,
    )


def _check(spec: GatewaySpec, settings: GatewaySettings) -> Findings:
    found = Findings()
    sim = spec.get("SIM")
    if sim and sim not in ("1", "2", "3"):
        found.problems.append(f"settings: {spec.env('SIM')}: {sim!r} must be 1, 2 or 3")
    if not spec.get("SIGNING_KEY"):
        found.notes.append(
            f"{spec.name} (android): no {spec.env('SIGNING_KEY')}, so POST /android-sms/webhook refuses its "
            "events (sending works)"
        )
    return found


GATEWAY = GatewayType(
    name="android",
    build=_build,
    keys={
        "URL": "the app's API, e.g. http://192.168.1.20:8080 (local) or https://api.sms-gate.app/3rdparty/v1",
        "USERNAME": "the app's username (empty: PASSWORD is a bearer token)",
        "PASSWORD": "the app's password",
        "SIGNING_KEY": "the webhook signing key (Settings > Webhooks) that POST /android-sms/webhook checks",
        "SIM": "the SIM (1-3) to send from when the citizen's SIM is not known",
    },
    required=("URL", "PASSWORD"),
    check=_check,
    router="hotline.channels.android.webhook:router",
)
