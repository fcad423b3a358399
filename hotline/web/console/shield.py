"""The junk-call shield in the console (/console/shield): what it decided, who is flagged, whom to call
back, the month's false blocks; and what an operator may do about a number: clear it, mark a prank call,
mark a callback made. Each POST checks CSRF and writes the audit log in the same unit of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline import clock
from hotline.catalog import say
from hotline.core.city import current_config
from hotline.features.accounts.audit import audit
from hotline.features.scorecard import Month, MonthError, city_timezone
from hotline.features.shield import shield
from hotline.features.shield.shield_report import (
    SHIELD_PAGE,
    false_block_report,
    flagged_numbers,
    pending_callbacks,
    recent_decisions,
)
from hotline.models import CallScreening
from hotline.phone import to_e164
from hotline.settings import get_settings
from hotline.web.api_schemas import MAX_ID, RowId
from hotline.web.console.actions import field
from hotline.web.console.auth import ConsoleUser, FormDep, UserDep, render, require
from hotline.web.console.flash import error_url, flash_url
from hotline.web.console_text import text
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/console/shield", include_in_schema=False)
PAGE = "/console/shield"


def _operator(user: ConsoleUser) -> None:
    if not user.principal.can_edit_tickets:  # agency staff see their tickets, not citizens' numbers
        raise HTTPException(403, text("forbidden", user.lang))


def _back(code: str) -> Response:
    return RedirectResponse(flash_url(PAGE, code), status_code=303)


@router.get("")
def shield_page(
    request: Request,
    session: DbSession,
    user: UserDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Each list one page (SHIELD_PAGE rows); the decisions page back by `before` (the last row's id)."""
    _operator(user)
    tz = city_timezone()
    error = None
    chosen = Month.containing(clock.now(), tz)
    if month:
        try:
            chosen = Month.parse(month)
        except MonthError:
            error = say("error", "bad_month", user.lang, {"month": month})
    number = to_e164(phone, get_settings().default_region) if phone else None
    decisions = recent_decisions(session, limit=SHIELD_PAGE + 1, phone=number or (phone or None), before=before)
    context = {
        "decisions": decisions[:SHIELD_PAGE],
        "flagged": flagged_numbers(session),
        "callbacks": pending_callbacks(session),
        "report": false_block_report(session, month=chosen, tz=tz),
    }
    query = {k: v for k, v in (("month", month), ("phone", phone)) if v}
    pages = {
        "older_page": f"{PAGE}?{urlencode({**query, 'before': decisions[SHIELD_PAGE - 1].id})}#decisions-h"
        if len(decisions) > SHIELD_PAGE
        else None,
        "newest_page": f"{PAGE}?{urlencode(query)}#decisions-h" if before is not None else None,
    }
    return render(request, "shield.html", {**context, **pages, "error": error, "phone": phone or ""}, user=user)


@router.post("/clear")
def clear_number(session: DbSession, user: UserDep, form: FormDep) -> Response:
    return _judge_number(session, user, form, "shield.clear", shield.clear) or _back("shield_cleared")


@router.post("/prank")
def mark_prank(session: DbSession, user: UserDep, form: FormDep) -> Response:
    def prank(session: Session, *, phone: str, actor: str, note: str) -> CallScreening:
        return shield.mark_prank(session, config=current_config(), phone=phone, actor=actor, note=note)

    return _judge_number(session, user, form, "shield.prank", prank) or _back("saved")


def _judge_number(
    session: Session, user: ConsoleUser, form: FormData, action: str, decide: Callable[..., CallScreening]
) -> Response | None:
    """A supervisor's decision about a number (clear it, mark it a prank), with its audit entry; the page
    again with an error when the number is not one."""
    require(user, user.principal.can_supervise)
    number = to_e164(field(form, "phone"), get_settings().default_region)
    if number is None:
        return RedirectResponse(error_url(PAGE, "bad_number"), status_code=303)
    known: str = number
    note = field(form, "note").strip()[:200]

    row = decide(session, phone=known, actor=user.principal.username, note=note)
    audit(
        session,
        actor=user.principal.username,
        action=action,
        target_type="phone",
        target_id=known,
        ip=user.ip,
        detail=note or None,
        screening_id=row.id,
    )
    return None


@router.post("/callbacks/{callback_id}/done")
def callback_done(session: DbSession, user: UserDep, form: FormDep, callback_id: RowId) -> Response:
    _operator(user)
    row = shield.called_back(session, callback_id=callback_id, actor=user.principal.username)
    if row is None:
        raise HTTPException(404, "no such pending callback")
    audit(
        session,
        actor=user.principal.username,
        action="shield.called_back",
        target_type="phone",
        target_id=row.phone,
        ip=user.ip,
        callback_id=callback_id,
    )
    return _back("saved")
