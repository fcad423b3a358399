"""Signing in and out of the console, who is signed in, and the CSRF check every form POST goes through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from anyio.to_thread import run_sync
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from hotline.db import unit_of_work
from hotline.jobs.queue import redis_connection
from hotline.models import User
from hotline.services import login_limit
from hotline.services.accounts import Principal, authenticate, principal_of
from hotline.services.audit import audit
from hotline.services.ticket_actions import Actor
from hotline.web.session import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    SessionData,
    csrf_ok,
    language,
    new_session,
    read_session,
    write_session,
)
from hotline.web.templating import templates

router = APIRouter(prefix="/console", include_in_schema=False)
LOGIN_PATH = "/console/login"


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


def _load_user(user_id: int) -> tuple[Principal, str | None] | None:
    with unit_of_work() as session:
        user = session.get(User, user_id)
        return (principal_of(user), user.answer_at) if user is not None and user.active else None


async def console_user(request: Request) -> ConsoleUser:
    data = read_session(request)
    found = await run_sync(_load_user, data.user_id) if data and data.user_id else None
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
        raise HTTPException(403, "the form expired or did not come from the console; reload the page")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


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
    base = {"lang": language(request), "user": user, "csrf": session.csrf if session else ""}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


@router.get("/login")
def login_page(request: Request) -> Response:
    known = read_session(request)
    session = known or new_session()
    response = render(request, "login.html", {"error": None}, user=None, session=session)
    response.headers["Cache-Control"] = "no-store"
    if known is None:
        write_session(response, request, session)
    return response


def _check_login(username: str, password: str, ip: str) -> tuple[str, int | None]:
    """("ok", user id) | ("locked", None) | ("failed", None); every outcome is in the audit log."""
    redis = redis_connection()
    if login_limit.is_locked(redis, username=username, ip=ip):
        with unit_of_work() as session:
            audit(session, actor=username[:64] or "anonymous", action="login.locked", ip=ip)
        return "locked", None
    with unit_of_work() as session:
        user = authenticate(session, username=username, password=password)
        if user is None:
            audit(session, actor=username[:64] or "anonymous", action="login.failed", ip=ip)
        else:
            audit(session, actor=user.username, action="login", target_type="user", target_id=user.id, ip=ip)
    if user is None:
        login_limit.note_failure(redis, username=username, ip=ip)
        return "failed", None
    login_limit.clear(redis, username=username, ip=ip)
    return "ok", user.id


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    session = read_session(request)
    if not csrf_ok(session, csrf):
        raise HTTPException(403, "the form expired; reload the sign-in page")
    outcome, user_id = await run_sync(_check_login, username, password, _ip(request) or "?")
    if outcome != "ok":
        key, status = ("login_locked", 429) if outcome == "locked" else ("login_failed", 401)
        return render(request, "login.html", {"error": key, "username": username}, user=None, status=status)
    response = RedirectResponse("/console", status_code=303)
    write_session(response, request, new_session(user_id))  # a fresh CSRF token for the signed-in session
    return response


@router.post("/logout")
async def logout(user: UserDep, form: FormDep) -> Response:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie("hotline_session", path="/")
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
