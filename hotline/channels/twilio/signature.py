"""X-Twilio-Signature checks against the public URL Twilio called."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from twilio.request_validator import RequestValidator

from hotline.settings import Settings


def public_url(request: Request, settings: Settings) -> str:
    """The URL as Twilio saw it: behind a proxy only HOTLINE_PUBLIC_URL knows the scheme and host."""
    if not settings.public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return settings.public_url.rstrip("/") + request.url.path + query


def is_valid(request: Request, settings: Settings, params: Mapping[str, str]) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.twilio_auth_token
    if not signature or not token:
        return False
    return RequestValidator(token).validate(public_url(request, settings), dict(params), signature)
