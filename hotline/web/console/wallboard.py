"""The wallboard (/console/wallboard): the command center's big screen.

Opened by a supervisor or admin signed in, or by a read-only kiosk token (`hotline kiosk add`): the screen
opens /console/wallboard?kiosk=TOKEN once, the token moves into a cookie sent to the wallboard's paths only
(and out of the address bar), and it never times out. The token opens these three routes and nothing else
(the console's sign-in reads its own session cookie only); every request looks it up, so a revoked token
stops at the screen's next poll.

The screen polls /console/wallboard/panel?since=VERSION every POLL_SECONDS: unchanged, a 204 costs the token
check and two index reads (hotline/features/wallboard/board.py `version`); changed, the panel's HTML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from anyio.to_thread import run_sync
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hotline import clock
from hotline.catalog import word
from hotline.core.city import current_config
from hotline.features.accounts.audit import audit
from hotline.features.wallboard.board import Wallboard, version, wallboard
from hotline.features.wallboard.kiosk import kiosk_for_token
from hotline.localtime import city_zone, local
from hotline.settings import get_settings
from hotline.web.console.auth import ConsoleUser, console_user
from hotline.web.db_session import DbSession
from hotline.web.session import LANGUAGE_COOKIE, LANGUAGES, cookie_secure, language
from hotline.web.templating import templates

router = APIRouter(prefix="/console/wallboard", include_in_schema=False)
KIOSK_COOKIE = "hotline_kiosk"
KIOSK_MAX_AGE = 400 * 86400  # the longest a browser keeps a cookie: the screen is set up once
POLL_SECONDS = 3
KIOSK_REFUSED = "kiosk_refused"


@dataclass(frozen=True)
class Viewer:
    lang: str
    kiosk: str | None  # the kiosk's name, or None for a signed-in supervisor
    username: str | None


def _kiosk(session: Session, token: str | None) -> str | None:
    row = kiosk_for_token(session, token)
    return row.name if row else None


async def viewer(request: Request, session: Session) -> Viewer:
    """Who looks: a kiosk with a live token, else a signed-in supervisor or admin; 403 / sign-in otherwise."""
    lang = language(request)
    token = request.cookies.get(KIOSK_COOKIE)
    if token:
        name = await run_sync(_kiosk, session, token)
        if name is not None:
            return Viewer(lang, name, None)
    try:
        user: ConsoleUser = await console_user(request)
    except HTTPException:
        if token:  # a screen whose token was revoked: it says so, and never falls back to a sign-in form
            raise HTTPException(403, KIOSK_REFUSED) from None
        raise
    if not user.principal.can_supervise:
        raise HTTPException(403, "forbidden")
    return Viewer(user.lang, None, user.principal.username)


def _board(session: Session, known: str | None = None) -> tuple[Wallboard, str]:
    """The board and its version (`known` when the caller just read it)."""
    board = wallboard(session, config=current_config(), now=clock.now(), tz=city_zone())
    return board, known or version(session)


def _render(request: Request, name: str, viewer: Viewer, board: Wallboard, stamp: str, status: int = 200) -> Response:
    config = current_config()
    context = {
        "lang": viewer.lang,
        "viewer": viewer,
        "board": board,
        "version": stamp,
        "now": clock.now(),
        "poll": POLL_SECONDS,
        "tz": get_settings().timezone,  # the screen's clock in the city's time, whatever the TV's own zone
        "category_names": {c.code: c.name(viewer.lang) for c in config.categories},
    }
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _open_kiosk(session: Session, token: str, ip: str | None) -> str | None:
    """The kiosk's name when the token is live (its opening audited), else None."""
    row = kiosk_for_token(session, token)
    if row is None:
        return None
    audit(session, actor=f"kiosk:{row.name}", action="kiosk.open", target_type="kiosk", target_id=row.name, ip=ip)
    return row.name


def refused(request: Request) -> Response:
    """A screen with a wrong or revoked token: a sentence on the screen, no sign-in form."""
    context = {"lang": language(request)}
    return templates.TemplateResponse(request, "wallboard_refused.html", context, status_code=403)


@router.get("")
async def wallboard_page(
    request: Request, session: DbSession, kiosk: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    if kiosk is not None:
        if await run_sync(_open_kiosk, session, kiosk, request.client.host if request.client else None) is None:
            return refused(request)
        response = RedirectResponse("/console/wallboard", status_code=303)  # the token leaves the address bar
        response.set_cookie(
            KIOSK_COOKIE,
            kiosk,
            max_age=KIOSK_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request),
            path="/console/wallboard",
        )
        if request.query_params.get("lang") in LANGUAGES:  # a kiosk link with &lang=en: the screen in English
            response.set_cookie(LANGUAGE_COOKIE, request.query_params["lang"], max_age=KIOSK_MAX_AGE, samesite="lax")
        return response
    try:
        who = await viewer(request, session)
    except HTTPException as exc:
        if exc.detail == KIOSK_REFUSED:
            return refused(request)
        raise
    board, stamp = await run_sync(_board, session)
    return _render(request, "wallboard.html", who, board, stamp)


@router.get("/panel")
async def wallboard_panel(
    request: Request, session: DbSession, since: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    """The panel's HTML when anything changed since `since`; 204 when nothing did."""
    who = await viewer(request, session)
    current = await run_sync(version, session) if since else None
    if since and since == current:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    board, stamp = await run_sync(_board, session, current)
    return _render(request, "_wallboard_panel.html", who, board, stamp)


def board_json(board: Wallboard, stamp: str, lang: str) -> dict[str, Any]:
    names = {c.code: c.name(lang) for c in current_config().categories}
    return {
        "version": stamp,
        "month": board.month,
        "new_today": board.new_today,
        "finished_today": board.finished_today,
        "calls_waiting": board.calls_waiting,
        "red": board.red,
        "agencies": [
            {
                "code": a.code,
                "name": a.name,
                "open": a.load.open,
                "late": a.load.late,
                "red": a.red,
                "tickets": [
                    {
                        "id": t.id,
                        "status": word("status", t.status, lang),
                        "category": names.get(t.category or "", word("map", "no_category", lang)),
                        "desa": t.desa,
                        "due": due.isoformat() if due else None,
                        "due_local": local(due, "%H:%M") if due else None,
                    }
                    for t, due in a.load.urgent
                ],
            }
            for a in board.agencies
        ],
    }


@router.get("/data.json")
async def wallboard_data(request: Request, session: DbSession) -> JSONResponse:
    who = await viewer(request, session)
    board, stamp = await run_sync(_board, session)
    return JSONResponse(board_json(board, stamp, who.lang), headers={"Cache-Control": "no-store"})
