"""What every request and response goes through at the edge: who the client really is (behind the proxies
of HOTLINE_TRUSTED_PROXIES, and only those), and the browser-side defences on every answer.

Pure ASGI middleware (BaseHTTPMiddleware costs a task per request)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.settings import get_settings

Network = IPv4Network | IPv6Network

# The console serves its own script and stylesheet only: no inline script, no other origin, never in a frame.
# Media may come over https from elsewhere: a Twilio call's recording plays from api.twilio.com.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' https:; "
    "connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
MAP_PAGE = "/console/map"  # its tiles come from the tile server of HOTLINE_MAP_TILES_URL, when one is set


def map_csp(tile_source: str | None) -> str:
    """The console's policy with the tile server allowed as an image source (the map page only)."""
    if not tile_source:
        return CONSOLE_CSP
    return CONSOLE_CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {tile_source};")


# /docs and /redoc (development) load Swagger UI / ReDoc from a CDN with an inline script: only no framing.
DOCS_CSP = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")


def _address(text: str) -> IPv4Address | IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:5060
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address | None, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_behind(peer: str, forwarded_for: list[str], networks: tuple[Network, ...]) -> str:
    """The client's address: `peer` unless it is a trusted proxy; then X-Forwarded-For read from the right,
    skipping trusted proxies, up to the first address that is not one (what a proxy of ours saw). Entries to
    the left of that were written by the client and are never believed."""
    if not _trusted(_address(peer), networks):
        return peer
    client = peer
    hops = [h.strip() for header in forwarded_for for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage: what lies left of it cannot be trusted either
        client = str(address)
        if not _trusted(address, networks):
            break
    return client


class ClientAddress:
    """Sets the request's client (and scheme, from X-Forwarded-Proto) from a trusted proxy's headers
    (HOTLINE_TRUSTED_PROXIES, read from the settings of the moment)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        networks = get_settings().proxy_networks
        if scope["type"] in ("http", "websocket") and networks and scope.get("client"):
            peer, port = scope["client"]
            if _trusted(_address(peer), networks):
                headers = [(k.lower(), v.decode("latin-1")) for k, v in scope["headers"]]
                forwarded = [v for k, v in headers if k == b"x-forwarded-for"]
                scope = dict(scope)
                scope["client"] = (client_behind(peer, forwarded, networks), port)
                proto = [v for k, v in headers if k == b"x-forwarded-proto"]
                if proto:
                    last = proto[-1].split(",")[-1].strip().lower()
                    if last in ("http", "https"):
                        scope["scheme"] = last if scope["type"] == "http" else {"http": "ws", "https": "wss"}[last]
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Content-Security-Policy, X-Frame-Options, nosniff and a same-origin referrer on every answer."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in DOCS_PATHS:
            csp = DOCS_CSP
        elif path == MAP_PAGE:
            csp = map_csp(get_settings().map_tiles_source)
        else:
            csp = CONSOLE_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in (
                    (b"content-security-policy", csp),
                    (b"x-frame-options", "DENY"),
                    (b"x-content-type-options", "nosniff"),
                    (b"referrer-policy", "same-origin"),
                ):
                    if name not in present:
                        headers.append((name, value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
