"""Signing in and out of the console, who is signed in, and the CSRF check every form POST goes through.

A signed-in session lives on the server (console_sessions): logout, a password change, disabling the user or
`hotline user revoke` end it at once, whatever the cookie says. A successful sign-in also leaves a long-lived
known-device cookie (signed, the username only), which exempts this browser from the per-account login budget
(hotline/features/accounts/login_limit.py): guessing from elsewhere cannot lock the user out of their own browser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from anyio.to_thread import run_sync
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData

from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.features.accounts import login_limit
from hotline.features.accounts.accounts import (
    Principal,
    authenticate,
    end_session,
    open_session,
    principal_of,
    user_for_session,
)
from hotline.features.accounts.audit import audit
from hotline.features.accounts.user_list import no_user_yet
from hotline.features.tickets.ticket_actions import Actor
from hotline.settings import get_settings
from hotline.web.console.flash import banner
from hotline.web.console_text import text
from hotline.web.db_session import DbSession
from hotline.web.session import (
    COOKIE,
    LANGUAGE_COOKIE,
    LANGUAGES,
    SessionData,
    cookie_secure,
    csrf_ok,
    language,
    new_session,
    read_session,
    write_session,
)
from hotline.web.templating import templates

router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_PATH = "/console/login"
DEVICE_COOKIE = "hotline_device"
DEVICE_MAX_AGE = 90 * 86400


@dataclass(frozen=True)
class ConsoleUser:
    principal: Principal
    session: SessionData
    lang: str
    answer_at: str | None
    ip: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.principal, self.ip)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _load_user(user_id: int, key: str) -> tuple[Principal, str | None] | None:
    # Its own short transaction, as the API's token check (api_auth.py): who is signed in is settled before the
    # endpoint's transaction opens, also for endpoints that keep none open (the live stream, a recording's fetch).
    with unit_of_work() as session:
        user = user_for_session(session, user_id=user_id, key=key)
        return (principal_of(user), user.answer_at) if user is not None else None


async def console_user(request: Request) -> ConsoleUser:
    data = read_session(request)
    found = await run_sync(_load_user, data.user_id, data.key) if data and data.user_id and data.key else None
    if data is None or found is None:
        # A 303 with Location: the browser goes to the login page (FastAPI keeps the header).
        raise HTTPException(303, "sign in first", headers={"Location": LOGIN_PATH})
    principal, answer_at = found
    return ConsoleUser(principal, data, language(request), answer_at, _ip(request))


UserDep = Annotated[ConsoleUser, Depends(console_user)]


async def checked_form(request: Request, user: UserDep) -> FormData:
    """The POSTed form, once its CSRF token matched the session's; 403 otherwise."""
    form = await request.form()
    submitted = form.get("csrf")
    if not csrf_ok(user.session, submitted if isinstance(submitted, str) else None):
        raise HTTPException(403, "form_expired")  # the console's 403 page says it in words
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def require(user: ConsoleUser, allowed: bool) -> None:
    """403 (in the user's language) unless the user's role allows it."""
    if not allowed:
        raise HTTPException(403, text("forbidden", user.lang))


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="hotline-known-device")


def known_device(request: Request, username: str) -> bool:
    """This browser signed in as `username` before (within DEVICE_MAX_AGE)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return False
    try:
        data = _device_serializer().loads(raw, max_age=DEVICE_MAX_AGE)
    except BadSignature:
        return False
    return isinstance(data, dict) and data.get("user") == username.strip().lower()


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: ConsoleUser | None,
    status: int = 200,
    session: SessionData | None = None,
) -> Response:
    session = session or (user.session if user else read_session(request))
    lang = language(request)
    base = {"lang": lang, "user": user, "csrf": session.csrf if session else "", "flash": banner(request, lang)}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


@router.get("/login")
def login_page(request: Request, session: DbSession) -> Response:
    known = read_session(request)
    visit = known or new_session()
    # A fresh install: the page says how to create the first user (nothing else can sign in).
    context = {"error": None, "first_run": no_user_yet(session)}
    response = render(request, "login.html", context, user=None, session=visit)
    response.headers["Cache-Control"] = "no-store"
    if known is None:
        write_session(response, request, visit)
    return response


def _check_login(username: str, password: str, ip: str, device: bool) -> tuple[str, int | None, str]:
    """("ok", user id, session key) | ("locked", None, "") | ("failed", None, ""); each is in the audit log.
    Its own transactions, not the request's: a refused sign-in is answered with an error (401, 429), and its
    audit line is committed whatever the answer, before the failure is counted in Redis."""
    redis = redis_connection()
    if login_limit.is_locked(redis, username=username, ip=ip, known_device=device):
        with unit_of_work() as session:  # committed although the answer is a 429
            audit(session, actor=username[:64] or "anonymous", action="login.locked", ip=ip)
        return "locked", None, ""
    with unit_of_work() as session:  # committed before Redis counts the failure, although the answer is a 401
        user = authenticate(session, username=username, password=password)
        if user is None:
            audit(session, actor=username[:64] or "anonymous", action="login.failed", ip=ip)
            user_id, key = None, ""
        else:
            audit(session, actor=user.username, action="login", target_type="user", target_id=user.id, ip=ip)
            user_id, (key, _) = user.id, open_session(session, user=user, ip=ip)
    if user_id is None:
        login_limit.note_failure(redis, username=username, ip=ip)
        return "failed", None, ""
    login_limit.clear(redis, username=username, ip=ip)
    return "ok", user_id, key


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    session = read_session(request)
    if not csrf_ok(session, csrf):
        raise HTTPException(403, "form_expired")  # the console's 403 page says it in words
    device = known_device(request, username)
    outcome, user_id, key = await run_sync(_check_login, username, password, _ip(request) or "?", device)
    if outcome != "ok":
        error, status = ("login_locked", 429) if outcome == "locked" else ("login_failed", 401)
        return render(request, "login.html", {"error": error, "username": username}, user=None, status=status)
    response = RedirectResponse("/console", status_code=303)
    write_session(response, request, new_session(user_id, key))  # a fresh CSRF token for the signed-in session
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps({"user": username.strip().lower()}),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path=LOGIN_PATH,
    )
    return response


@router.post("/logout")
def logout(session: DbSession, user: UserDep, form: FormDep) -> Response:
    end_session(session, key=user.session.key)
    audit(
        session,
        actor=user.principal.username,
        action="logout",
        target_type="user",
        target_id=user.principal.user_id,
        ip=user.ip,
    )
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    back = request.headers.get("referer") or "/console"
    if not back.startswith(str(request.base_url)):
        back = "/console"  # only ever back into this site
    response = RedirectResponse(back, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response
