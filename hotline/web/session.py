"""The console's session: a signed cookie (itsdangerous, HOTLINE_SECRET_KEY) holding the user id and a
CSRF token. Every form POST carries the token in a hidden field; `check_csrf` compares it."""

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
    uid = data.get("uid")
    return SessionData(uid if isinstance(uid, int) else None, data["csrf"])


def write_session(response: Response, request: Request, data: SessionData) -> None:
    response.set_cookie(
        COOKIE,
        _serializer().dumps({"uid": data.user_id, "csrf": data.csrf}),
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def new_session(user_id: int | None = None) -> SessionData:
    return SessionData(user_id, secrets.token_urlsafe(24))


def csrf_ok(session: SessionData | None, submitted: str | None) -> bool:
    return session is not None and bool(submitted) and same_secret(session.csrf, submitted or "")


def language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE) or LANGUAGES[0]
    return chosen if chosen in LANGUAGES else LANGUAGES[0]
