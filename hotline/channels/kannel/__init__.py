"""Kannel: the backup SMS gateway (HTTP sendsms out, delivery reports back to our dlr-url).

`GATEWAY` is the SMS gateway type `kannel` (hotline/channels/gateway.py `GatewayType`)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from hotline.channels.gateway import GatewayType, SmsGateway
from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings

if TYPE_CHECKING:
    from hotline.settings import Settings


def _build(spec: GatewaySpec, settings: Settings) -> SmsGateway:
    from hotline.channels.kannel.sms_client import KannelSmsProvider

    return KannelSmsProvider(
        name=spec.name,
        url=spec.get("URL") or "",
        username=spec.get("USERNAME") or "",
        password=spec.get("PASSWORD") or "",
        from_number=spec.get("FROM"),
        smsc=spec.get("SMSC"),
        public_url=settings.public_url,
        secret_key=settings.secret_key,
    )


def _check(spec: GatewaySpec, settings: GatewaySettings) -> Findings:
    found = Findings()
    for entry in (spec.get("ALLOW") or "").split(","):
        if entry.strip():
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                found.problems.append(
                    f"settings: {spec.env('ALLOW')}: {entry.strip()!r} is not an address or network "
                    "(e.g. 127.0.0.1 or 10.0.0.0/8)"
                )
    if not spec.get("SECRET"):
        found.notes.append(
            f"{spec.name} (kannel): no {spec.env('SECRET')}, so POST /kannel/sms refuses its SMS (sending works)"
        )
    return found


GATEWAY = GatewayType(
    name="kannel",
    build=_build,
    keys={
        "URL": "smsbox's sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms",
        "USERNAME": "the sendsms-user's username",
        "PASSWORD": "the sendsms-user's password",
        "FROM": "the sender number or name",
        "SMSC": "the smsc-id to send through (default: the one the citizen's SMS came in on, else Kannel's routing)",
        "SECRET": "the secret Kannel's post-url carries (secret=...) for POST /kannel/sms",
        "ALLOW": "addresses allowed to post SMS and reports, e.g. 127.0.0.1,10.0.0.0/8 (default: any)",
    },
    required=("URL", "USERNAME", "PASSWORD"),
    check=_check,
    router="hotline.channels.kannel.webhooks:router",
)
