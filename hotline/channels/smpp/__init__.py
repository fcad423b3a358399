"""Direct SMPP 3.4 to an operator or aggregator (docs/sms-gateways.md, "SMPP with an aggregator").

`hotline smpp` (hotline/channels/smpp/holder.py) holds one transceiver bind per link; the worker sends through
it with `SmppGateway` (gateway.py), and /readyz and /metrics read each link's state (`link_states`).
The PDUs (pdu.py) and the session (session.py) are our own, on asyncio: see docs/sms-gateways.md for why no
library was used.

`GATEWAY` is the SMS gateway type `smpp` (hotline/channels/gateway.py `GatewayType`); it reads and checks its own
keys (config.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hotline.channels.gateway import GatewayType
from hotline.channels.smpp.config import LinkConfig, read
from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings

if TYPE_CHECKING:
    from hotline.channels.smpp.gateway import SmppGateway
    from hotline.settings import Settings


def check(spec: GatewaySpec) -> list[str]:
    """Each setting of this link that cannot work, one line each (`hotline config check`)."""
    return read(spec)[1]


def build_gateway(spec: GatewaySpec, settings: Settings | None = None) -> SmppGateway:
    from hotline.channels.smpp.gateway import SmppGateway

    return SmppGateway(read(spec)[0])


def _check(spec: GatewaySpec, settings: GatewaySettings) -> Findings:
    return Findings(problems=check(spec))


GATEWAY = GatewayType(name="smpp", build=build_gateway, check=_check)


def links(settings: Settings) -> list[LinkConfig]:
    return [read(spec)[0] for spec in settings.sms_routing.of_kind("smpp")]


def link_states(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each SMPP link's state as its holder last published it ("down" when nobody holds it). Raises the Redis
    error when Redis cannot be asked."""
    names = [spec.name for spec in settings.sms_routing.of_kind("smpp")]
    if not names:
        return {}
    from hotline.channels.smpp import keys
    from hotline.core.queue import redis_connection

    raw = redis_connection().mget([keys.key(name, "state") for name in names])
    return {name: keys.read_state(value) for name, value in zip(names, raw, strict=True)}
