"""The message a console page shows after a form (the banner). `?flash=` takes only the codes below, shown
in the user's language; anything else shows nothing, so a link cannot put its own words in the console's
banner. A service's own error (e.g. "unknown agency 'X'") travels signed in `?error=`, valid 10 minutes."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hotline.settings import get_settings
from hotline.web.console_text import text

FLASH_CODES = frozenset(
    {
        "saved",
        "merged_flash",
        "split_done",
        "cancel_confirmed",
        "cancel_kept",
        "call_taken",
        "shield_cleared",
        "user_disabled",
        "user_enabled",
        "user_signed_out",
        "partner_revoked",
    }
)
ERROR_MAX_AGE = 600


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="hotline-console-error")


def flash_url(path: str, code: str) -> str:
    assert code in FLASH_CODES, code
    return f"{path}{'&' if '?' in path else '?'}flash={code}"


def error_url(path: str, message: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}error={quote(_signer().dumps(message[:500]))}"


def flash_message(request: Request, lang: str) -> str | None:
    code = request.query_params.get("flash")
    if code in FLASH_CODES:
        return text(code, lang)
    signed = request.query_params.get("error")
    if signed:
        try:
            message = _signer().loads(signed, max_age=ERROR_MAX_AGE)
        except BadSignature:
            return None
        return message if isinstance(message, str) else None
    return None
