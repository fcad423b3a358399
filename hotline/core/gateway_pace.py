"""How many SMS each gateway was handed by the outbox (alerts, replies), so the broadcast sender can leave
them the room: a gateway's TPS is shared, alerts never wait for it, broadcasts take what is left.

One Redis counter per gateway, only ever increased; the broadcast sender reads the difference."""

from __future__ import annotations

import logging

from hotline.core.queue import redis_connection
from hotline.settings import get_settings

log = logging.getLogger(__name__)


def _key(gateway: str) -> str:
    return f"hotline:gateway-sent:{get_settings().queue_name}:{gateway}"


def took(gateway: str, count: int = 1) -> None:
    """The outbox handed `count` SMS to `gateway`. Never raises: an alert is sent whatever Redis does."""
    try:
        redis_connection().incrby(_key(gateway), count)
    except Exception:  # broad: the SMS is sent already; a raise here would leave it `sending`, to be sent twice
        log.warning("could not count an SMS sent through %s", gateway, exc_info=True)


def sent_so_far(gateways: list[str]) -> dict[str, int]:
    if not gateways:
        return {}
    values = redis_connection().mget([_key(g) for g in gateways])
    return {g: int(v or 0) for g, v in zip(gateways, values, strict=True)}


def parse_tps(raw: str | None, gateways: list[str]) -> dict[str, float | None]:
    """HOTLINE_BROADCAST_TPS: "100" (every gateway) or "modem=10,phone=1" (others unlimited). None: no limit."""
    limits: dict[str, float | None] = dict.fromkeys(gateways)
    text = (raw or "").strip()
    if not text:
        return limits
    for part in text.split(","):
        name, _, value = part.strip().rpartition("=")
        rate = float(value)
        if rate <= 0:
            raise ValueError(f"HOTLINE_BROADCAST_TPS: {part!r}: a rate must be above 0")
        if not name:
            limits = dict.fromkeys(gateways, rate)
        elif name in limits:
            limits[name] = rate
        else:
            raise ValueError(f"HOTLINE_BROADCAST_TPS: {name!r} is not a configured gateway")
    return limits
