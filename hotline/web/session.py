"""The console's session: a signed cookie (itsdangerous, HOTLINE_SECRET_KEY) holding the user id, the key of
the server-side session (console_sessions: ended by logout, a password change, a disabled user) and a CSRF
token. Every form POST carries the token in a hidden field; `csrf_ok` compares it.

The cookie is `Secure` whenever HOTLINE_PUBLIC_URL is https, in production, or the request came over https."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hotline.settings import get_settings
from hotline.web.safe import same_secret

COOKIE = "hotline_session"
MAX_AGE_SECONDS = 12 * 3600  # one shift
LANGUAGE_COOKIE = "hotline_lang"
LANGUAGES = ("id", "en")


@dataclass(frozen=True)
class SessionData:
    user_id: int | None
    csrf: str
    key: str = ""  # the server-side session's key (signed-in sessions only)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="hotline-console-session")


def read_session(request: Request) -> SessionData | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
        return None
    uid, key = data.get("uid"), data.get("key")
    if not isinstance(uid, int) or not isinstance(key, str):
        uid, key = None, ""  # a cookie of before (no server-side session): signed out
    return SessionData(uid, data["csrf"], key)


def cookie_secure(request: Request) -> bool:
    settings = get_settings()
    public = (settings.public_url or "").lower()
    return public.startswith("https://") or settings.env == "production" or request.url.scheme == "https"


def write_session(response: Response, request: Request, data: SessionData) -> None:
    response.set_cookie(
        COOKIE,
        _serializer().dumps({"uid": data.user_id, "key": data.key, "csrf": data.csrf}),
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def new_session(user_id: int | None = None, key: str = "") -> SessionData:
    return SessionData(user_id, secrets.token_urlsafe(24), key)


def csrf_ok(session: SessionData | None, submitted: str | None) -> bool:
    return session is not None and bool(submitted) and same_secret(session.csrf, submitted or "")


def language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE) or LANGUAGES[0]
    return chosen if chosen in LANGUAGES else LANGUAGES[0]
