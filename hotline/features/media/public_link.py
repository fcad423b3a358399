"""A short, signed, expiring link to a ticket's photos and place, for those who cannot sign in to the console:
the crew (in the SMS that follows their alert) and the citizen (the crew's "after" photo). Anyone holding the
link sees that ticket's photos, stripped of their metadata, and its place, until it expires; nothing else.

    <HOTLINE_PUBLIC_URL>/p/<token>     token = base64url(ticket id, expiry, 12-byte HMAC-SHA256 under the secret key)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from datetime import timedelta

LINK_LIFETIME = timedelta(hours=72)  # long enough for a crew's shift and the citizen's look, short enough to go stale
_MAC = 12


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(f"media-link:{secret}".encode(), payload, hashlib.sha256).digest()[:_MAC]


def make_token(secret: str, ticket_id: int, *, now: float | None = None, lifetime: timedelta = LINK_LIFETIME) -> str:
    expires = int((now if now is not None else time.time()) + lifetime.total_seconds())
    payload = struct.pack(">II", ticket_id, expires)
    return base64.urlsafe_b64encode(payload + _mac(secret, payload)).decode().rstrip("=")


def read_token(secret: str, token: str, *, now: float | None = None) -> int | None:
    """The ticket the token opens, or None: forged, cut, or past its time."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 8 + _MAC or not hmac.compare_digest(raw[8:], _mac(secret, raw[:8])):
        return None
    ticket_id, expires = struct.unpack(">II", raw[:8])
    return ticket_id if (now if now is not None else time.time()) <= expires else None


def link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/p/{token}"


def map_link(latitude: float, longitude: float) -> str:
    return (
        f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}#map=17/{latitude:.5f}/{longitude:.5f}"
    )
