"""Early warnings in the console (/console/broadcasts): subscribers per desa, drafting a warning (a supervisor),
approving it (another supervisor: two-person rule), cancelling, the live progress bar and the check-in tally per
desa with whom to call. Domain errors (hotline/features/broadcasts/errors.py) are mapped here, once: the page again
with the reason, status 422 (bad input) or 409 (a step the broadcast's state or the two-person rule refuses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hotline.catalog import word
from hotline.core.city import current_config
from hotline.features.broadcasts import checkin, drafting
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.features.broadcasts.errors import BadMessage, BroadcastError, NotAllowed, NotFound
from hotline.features.broadcasts.progress import progress, recent
from hotline.features.broadcasts.subscribers import counts_per_desa
from hotline.features.broadcasts.views import progress_json, tally_json
from hotline.models import Broadcast, BroadcastStatus
from hotline.sms.encoding import measure
from hotline.web.api_schemas import MAX_ID
from hotline.web.console.actions import field
from hotline.web.console.auth import ConsoleUser, FormDep, UserDep, render, require
from hotline.web.console_text import text
from hotline.web.db_session import DbSession, all_or_nothing

router = APIRouter(prefix="/console/broadcasts", include_in_schema=False)
PAGE = "/console/broadcasts"
BroadcastId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _command_center(user: ConsoleUser) -> None:
    if not user.principal.sees_all_agencies:
        raise HTTPException(403, text("forbidden", user.lang))


def _list_context(session: Session) -> dict[str, Any]:
    config = current_config()
    data = broadcast_data(config)
    return {
        "broadcasts": [(b, progress(session, broadcast_id=b.id)) for b in recent(session)],
        "subscribers": counts_per_desa(session),
        "hazards": sorted(data.hazards),
        "desa_names": [d for k in config.areas for d in k.desa],
        "kecamatan_names": [k.name for k in config.areas],
    }


def _page(
    request: Request,
    session: Session,
    user: ConsoleUser,
    *,
    problem: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    context = {**_list_context(session), "problem": problem, "form": form or {}}
    return render(request, "broadcasts.html", context, user=user, status=status)


def _problem(user: ConsoleUser, exc: BroadcastError) -> tuple[str, int]:
    """The domain's reason, in the reader's words around it; 409 for what state or the two-person rule refuse."""
    kind = "not_allowed" if isinstance(exc, NotAllowed) else "bad_input"
    return f"{word('broadcast', kind, user.lang)}: {exc}", 409 if isinstance(exc, NotAllowed) else 422


@router.get("")
def broadcasts_page(request: Request, session: DbSession, user: UserDep) -> Response:
    _command_center(user)
    return _page(request, session, user)


@router.post("")
def draft_broadcast(request: Request, session: DbSession, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_supervise)
    values = {k: field(form, k) for k in ("hazard", "areas", "checkin", "text_id", "text_en")}
    areas = [a.strip() for a in values["areas"].split(",")]
    checkin_raw = values["checkin"].strip()
    texts = {lang: values[f"text_{lang}"] for lang in ("id", "en") if values[f"text_{lang}"].strip()}
    try:
        with all_or_nothing(session):
            minutes = None
            if checkin_raw:
                if not checkin_raw.isdigit():
                    raise BadMessage(f"check-in minutes: {checkin_raw!r} is not a number")
                minutes = int(checkin_raw)
            number = drafting.draft(
                session,
                config=current_config(),
                hazard=values["hazard"],
                areas=areas,
                author=user.principal.username,
                checkin_minutes=minutes,
                texts=texts or None,
            ).id
    except BroadcastError as exc:
        problem, status = _problem(user, exc)
        return _page(request, session, user, problem=problem, status=status, form=values)
    return RedirectResponse(f"{PAGE}/{number}", status_code=303)


def _step(request: Request, session: Session, user: ConsoleUser, number: int, step: Callable[[], object]) -> Response:
    require(user, user.principal.can_supervise)
    try:
        with all_or_nothing(session):
            step()
    except NotFound:
        raise HTTPException(404, text("page_not_found", user.lang)) from None
    except BroadcastError as exc:
        problem, status = _problem(user, exc)
        return _detail(request, session, user, number, problem=problem, status=status)
    return RedirectResponse(f"{PAGE}/{number}", status_code=303)


@router.post("/{number}/approve")
def approve_broadcast(
    request: Request, session: DbSession, user: UserDep, form: FormDep, number: BroadcastId
) -> Response:
    def step() -> None:
        drafting.approve(session, broadcast_id=number, approver=user.principal.username)

    return _step(request, session, user, number, step)


@router.post("/{number}/cancel")
def cancel_broadcast(
    request: Request, session: DbSession, user: UserDep, form: FormDep, number: BroadcastId
) -> Response:
    def step() -> None:
        drafting.cancel(session, broadcast_id=number, actor=user.principal.username)

    return _step(request, session, user, number, step)


def _detail(
    request: Request, session: Session, user: ConsoleUser, number: int, *, problem: str | None = None, status: int = 200
) -> Response:
    config = current_config()
    try:
        p = progress(session, broadcast_id=number)
        b = session.get(Broadcast, number)
        assert b is not None
        bodies = [(lang, body, measure(body)) for lang, body in (("id", b.body_id), ("en", b.body_en))]
        tally = tally_json(session, config=config, broadcast_id=number)
        to_call = checkin.to_call(session, broadcast_id=number)
    except NotFound:
        raise HTTPException(404, text("page_not_found", user.lang)) from None
    context = {
        "p": p,
        "bodies": bodies,
        "tally": tally["desa"],
        "to_call": to_call,
        "problem": problem,
        "may_approve": user.principal.can_supervise
        and p.status == BroadcastStatus.DRAFT
        and p.created_by != user.principal.username,
    }
    return render(request, "broadcast.html", context, user=user, status=status)


@router.get("/{number}")
def broadcast_page(request: Request, session: DbSession, user: UserDep, number: BroadcastId) -> Response:
    _command_center(user)
    return _detail(request, session, user, number)


@router.get("/{number}/progress.json")
def broadcast_progress(session: DbSession, user: UserDep, number: BroadcastId) -> Response:
    """What the page's bar redraws from every 2 s, and the tally per desa (the map's JSON, as the API's)."""
    _command_center(user)
    try:
        body = {
            **progress_json(session, broadcast_id=number),
            "tally": tally_json(session, config=current_config(), broadcast_id=number)["desa"],
        }
    except NotFound:
        raise HTTPException(404, text("page_not_found", user.lang)) from None
    body["state_text"] = word("broadcast", f"state_{body['status']}", user.lang)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
