"""The message a console page shows after a form (the banner). `?flash=` takes only the codes below, shown
in the user's language; anything else shows nothing, so a link cannot put its own words in the console's
banner. What could not be done travels signed in `?error=` (a code of hotline/catalog's `error` section and
its values, valid 10 minutes) and shows in the error style, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hotline.catalog import has, say, word
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
# The admin screens' messages (hotline/catalog `admin`): user_added, password_reset, ...
ADMIN_FLASH_CODES = frozenset({"user_added", "password_reset", "role_changed", "token_revoked"})
# The kiosk screens' (hotline/catalog `map`).
MAP_FLASH_CODES = frozenset({"kiosk_revoked"})
ERROR_MAX_AGE = 600
STATUS_PARAMS = frozenset({"current", "target", "status"})  # an error's ticket statuses, said in words


@dataclass(frozen=True)
class Banner:
    text: str
    error: bool  # shown as an error (role=alert), not as a success


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="hotline-console-error")


def flash_url(path: str, code: str) -> str:
    assert code in FLASH_CODES or code in ADMIN_FLASH_CODES or code in MAP_FLASH_CODES, code
    return f"{path}{'&' if '?' in path else '?'}flash={code}"


def error_url(path: str, code: str, params: dict[str, Any] | None = None) -> str:
    values = {k: str(v)[:300] for k, v in (params or {}).items()}
    return f"{path}{'&' if '?' in path else '?'}error={quote(_signer().dumps({'code': code, 'params': values}))}"


def banner(request: Request, lang: str) -> Banner | None:
    code = request.query_params.get("flash")
    if code in FLASH_CODES:
        return Banner(text(code, lang), error=False)
    if code in ADMIN_FLASH_CODES:
        return Banner(word("admin", code, lang), error=False)
    if code in MAP_FLASH_CODES:
        return Banner(word("map", code, lang), error=False)
    signed = request.query_params.get("error")
    if not signed:
        return None
    try:
        error = _signer().loads(signed, max_age=ERROR_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(error, dict):
        return None
    # The admin screens' errors have a section of their own (hotline/catalog `admin_error`).
    section = next((s for s in ("error", "admin_error") if has(s, str(error.get("code")), lang)), None)
    if section is None:
        return None
    params = error.get("params")
    values: dict[str, object] = params if isinstance(params, dict) else {}
    words = {k: word("status", str(v), lang) if k in STATUS_PARAMS else v for k, v in values.items()}
    return Banner(say(section, str(error["code"]), lang, words), error=True)
