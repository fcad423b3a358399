"""An SMPP link's settings (HOTLINE_GATEWAY_<NAME>_<KEY>, type smpp), read and checked.

HOTLINE_GATEWAY_TELCO_TYPE=smpp
HOTLINE_GATEWAY_TELCO_HOST=smpp.aggregator.example   HOTLINE_GATEWAY_TELCO_PORT=2775
HOTLINE_GATEWAY_TELCO_SYSTEM_ID=kotabatu             HOTLINE_GATEWAY_TELCO_PASSWORD=...   (at most 8)
HOTLINE_GATEWAY_TELCO_FROM=1500112                   # the short code or number citizens text
HOTLINE_GATEWAY_TELCO_TPS=10  HOTLINE_GATEWAY_TELCO_WINDOW=10  HOTLINE_GATEWAY_TELCO_CONCAT=udh
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.core.gateway_config import GatewaySpec

KEYS: dict[str, str] = {
    "HOST": "the SMSC's host name or address",
    "PORT": "its port (default 2775)",
    "SYSTEM_ID": "the system_id of the account (at most 15 characters)",
    "PASSWORD": "its password (at most 8 characters)",
    "SYSTEM_TYPE": "the system_type the SMSC wants (often empty; at most 12 characters)",
    "FROM": "the source address: the short code, number or sender name citizens see",
    "TPS": "submit_sm a second the contract allows (default 10)",
    "WINDOW": "submit_sm sent before their responses come back (default 10)",
    "CONCAT": "how long SMS are joined: udh (a header in the text, the default) or sar (TLVs)",
    "ENQUIRE_SECONDS": "enquire_link every this many seconds (default 30)",
    "TIMEOUT_SECONDS": "how long a response may take before the bind is dropped and made again (default 10)",
}
REQUIRED = ("HOST", "SYSTEM_ID", "PASSWORD")
CONCATS = ("udh", "sar")


@dataclass(frozen=True)
class LinkConfig:
    name: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    source: str = ""
    tps: float = 10.0
    window: int = 10
    concat: str = "udh"
    enquire_seconds: float = 30.0
    timeout_seconds: float = 10.0


def _number(spec: GatewaySpec, key: str, default: float, low: float, high: float, problems: list[str]) -> float:
    raw = spec.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        problems.append(f"settings: {spec.env(key)}: {raw!r} must be a number from {low:g} to {high:g}")
        return default
    return value


def read(spec: GatewaySpec) -> tuple[LinkConfig, list[str]]:
    """The link's settings, and every one that cannot work as a line (`hotline config check`)."""
    problems: list[str] = []
    for key in sorted(set(spec.options) - set(KEYS)):
        problems.append(
            f"settings: {spec.env(key)}: no such setting for a gateway of type smpp; it reads {', '.join(KEYS)}"
        )
    for key in REQUIRED:
        if not spec.get(key):
            problems.append(f"settings: {spec.env(key)}: missing; {KEYS[key]}")
    host = spec.get("HOST") or ""
    if host and not re.match(r"^[A-Za-z0-9.:\[\]_-]+$", host):
        problems.append(f"settings: {spec.env('HOST')}: {host!r} is not a host name or address (no scheme, no port)")
    port = int(_number(spec, "PORT", 2775, 1, 65535, problems))
    for key, limit in (("SYSTEM_ID", 15), ("PASSWORD", 8), ("SYSTEM_TYPE", 12)):
        value = spec.get(key) or ""
        if len(value.encode("latin-1", "replace")) > limit:
            problems.append(f"settings: {spec.env(key)}: longer than the {limit} characters SMPP 3.4 allows")
    source = spec.get("FROM") or ""
    if source and not source.lstrip("+").isdigit() and len(source) > 11:
        problems.append(f"settings: {spec.env('FROM')}: a sender name is at most 11 characters ({source!r})")
    concat = (spec.get("CONCAT") or "udh").lower()
    if concat not in CONCATS:
        problems.append(f"settings: {spec.env('CONCAT')}: {concat!r} must be udh or sar")
        concat = "udh"
    config = LinkConfig(
        name=spec.name,
        host=host,
        port=port,
        system_id=spec.get("SYSTEM_ID") or "",
        password=spec.get("PASSWORD") or "",
        system_type=spec.get("SYSTEM_TYPE") or "",
        source=source,
        tps=_number(spec, "TPS", 10, 0.1, 10000, problems),
        window=int(_number(spec, "WINDOW", 10, 1, 1000, problems)),
        concat=concat,
        enquire_seconds=_number(spec, "ENQUIRE_SECONDS", 30, 1, 3600, problems),
        timeout_seconds=_number(spec, "TIMEOUT_SECONDS", 10, 0.5, 300, problems),
    )
    return config, problems


def address(value: str) -> tuple[int, int, str]:
    """(ton, npi, address) as SMPP wants them: +E.164 international, short digits a short code, else a name."""
    digits = value.lstrip("+")
    if value.startswith("+") and digits.isdigit():
        return 1, 1, digits  # international, E.164
    if digits.isdigit():
        return (3, 0, digits) if len(digits) <= 8 else (0, 1, digits)  # network specific (short code) / unknown
    return 5, 0, value  # alphanumeric
