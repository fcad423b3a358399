"""The console's form POSTs: take a call, create and edit tickets, reassign, note, SMS, where I answer calls.

Each checks the CSRF token (FormDep), does its work through hotline/features (which write the timeline and the
audit log) in the request's transaction (DbSession: committed before the answer leaves), then redirects (303) back
to a page with a short message. What could not be done is undone (all_or_nothing) and said on the page."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.core.city import current_config
from hotline.features.accounts.audit import audit
from hotline.features.calls.call_takeover import TakeoverError, take_call
from hotline.features.merging.edit_merge import EDITABLE, current_values, plan_edit
from hotline.features.merging.unmerge import split_reporter
from hotline.features.tickets.ticket_actions import (
    ActionError,
    add_note,
    confirm_cancel,
    create_report,
    edit_ticket,
    keep_open,
    reassign,
    send_sms,
)
from hotline.features.tickets.ticket_queries import find_visible_ticket
from hotline.models import Ticket, User
from hotline.web.api_schemas import RowId
from hotline.web.console.auth import ConsoleUser, FormDep, UserDep, render, require
from hotline.web.console.flash import error_url, flash_url
from hotline.web.console.pages import Conflict, ticket_context
from hotline.web.console_text import text
from hotline.web.db_session import DbSession, all_or_nothing

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_FIELD = 5000


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def back(path: str, code: str) -> Response:
    """Back to `path` with one of the console's known messages (FLASH_CODES), by its code."""
    return RedirectResponse(flash_url(path, code), status_code=303)


def back_with_error(path: str, error: ActionError | TakeoverError) -> Response:
    """Back to `path` with what could not be done, said in the reader's language (signed: only the console
    can put an error on its pages)."""
    return RedirectResponse(error_url(path, error.code, error.params), status_code=303)


def on_ticket(
    session: Session,
    user: ConsoleUser,
    number: int,
    work: Callable[[Session, Ticket], None],
    *,
    done: str = "saved",
) -> Response:
    """Run `work` on a ticket this user may see, all or nothing; errors come back as the page's message."""
    try:
        with all_or_nothing(session):
            ticket = find_visible_ticket(session, principal=user.principal, number=number)
            if ticket is None:
                raise LookupError(number)
            work(session, ticket)
    except LookupError:
        raise HTTPException(404, "no such ticket (or not your agency's)") from None
    except PermissionError:
        raise HTTPException(403, text("forbidden", user.lang)) from None
    except ActionError as exc:
        return back_with_error(f"/console/tickets/{number}", exc)
    return back(f"/console/tickets/{number}", done)


@router.post("/tickets")
def create(session: DbSession, user: UserDep, form: FormDep) -> Response:
    try:
        with all_or_nothing(session):
            intake = create_report(
                session,
                config=current_config(),
                actor=user.actor,
                reporter=field(form, "reporter"),
                text=field(form, "text"),
                category=field(form, "category") or None,
                location=field(form, "location"),
                kecamatan=field(form, "kecamatan"),
                urgent=field(form, "urgent") == "on",
                language=user.lang,
                channel="voice" if field(form, "call_id") else "web",
            )
    except PermissionError:
        raise HTTPException(403, text("forbidden", user.lang)) from None
    except ActionError as exc:
        return back_with_error("/console", exc)
    # A duplicate joined an open ticket: the operator lands on it, told so (and can split it there).
    return back(f"/console/tickets/{intake.ticket.id}", "merged_flash" if intake.merged else "saved")


@router.post("/tickets/{number}/reporters/{reporter_id}/split")
def split(session: DbSession, number: RowId, reporter_id: RowId, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_supervise)

    def work(session: Session, ticket: Ticket) -> None:
        split_reporter(session, config=current_config(), actor=user.actor, ticket=ticket, reporter_id=reporter_id)

    return on_ticket(session, user, number, work, done="split_done")


@router.post("/tickets/{number}/edit")
def edit(request: Request, session: DbSession, number: RowId, user: UserDep, form: FormDep) -> Response:
    """Save what the operator changed; if someone changed the same field meanwhile, nothing is saved and the
    page comes back (409) with the operator's values still in the form and what changed listed."""
    wanted = {name: field(form, name) for name in EDITABLE if name in form}
    base = {name: field(form, f"base_{name}") for name in EDITABLE if f"base_{name}" in form}
    version = field(form, "version")
    since = int(version) if version.isdigit() and len(version) < 19 else 0
    try:
        with all_or_nothing(session):
            ticket = find_visible_ticket(session, principal=user.principal, number=number)
            if ticket is None:
                raise LookupError(number)
            session.refresh(ticket, with_for_update=True)  # two saves of one ticket: one after the other
            plan = plan_edit(wanted=wanted, base=base, current=current_values(ticket))
            if not plan.clean:
                conflict = ticket_context(session, user, number, Conflict(wanted, frozenset(plan.conflicts), since))
                return render(request, "ticket.html", conflict, user=user, status=409)
            edit_ticket(
                session,
                config=current_config(),
                actor=user.actor,
                ticket=ticket,
                text=plan.changes.get("text"),
                location=plan.changes.get("location"),
                kecamatan=plan.changes.get("kecamatan"),
                desa=plan.changes.get("desa"),
                category=plan.changes.get("category"),
                status=plan.changes.get("status"),
            )
    except LookupError:
        raise HTTPException(404, "no such ticket (or not your agency's)") from None
    except PermissionError:
        raise HTTPException(403, text("forbidden", user.lang)) from None
    except ActionError as exc:
        return back_with_error(f"/console/tickets/{number}", exc)
    return back(f"/console/tickets/{number}", "saved")


@router.post("/tickets/{number}/cancel-request/confirm")
def cancel_confirm(session: DbSession, number: RowId, user: UserDep, form: FormDep) -> Response:
    """The reporter's BATAL on a ticket a crew had: cancel it and stand the crew down (audited)."""

    def work(session: Session, ticket: Ticket) -> None:
        confirm_cancel(session, config=current_config(), actor=user.actor, ticket=ticket)

    return on_ticket(session, user, number, work, done="cancel_confirmed")


@router.post("/tickets/{number}/cancel-request/keep")
def cancel_keep(session: DbSession, number: RowId, user: UserDep, form: FormDep) -> Response:
    """The reporter's BATAL is not followed: the crew keeps the ticket (audited)."""

    def work(session: Session, ticket: Ticket) -> None:
        keep_open(session, config=current_config(), actor=user.actor, ticket=ticket)

    return on_ticket(session, user, number, work, done="cancel_kept")


@router.post("/tickets/{number}/reassign")
def reassign_ticket(session: DbSession, number: RowId, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_supervise)

    def work(session: Session, ticket: Ticket) -> None:
        reassign(session, config=current_config(), actor=user.actor, ticket=ticket, agency_code=field(form, "agency"))

    return on_ticket(session, user, number, work)


@router.post("/tickets/{number}/note")
def note(session: DbSession, number: RowId, user: UserDep, form: FormDep) -> Response:
    return on_ticket(
        session,
        user,
        number,
        lambda session, ticket: add_note(session, actor=user.actor, ticket=ticket, text=field(form, "note")),
    )


@router.post("/tickets/{number}/sms")
def sms(session: DbSession, number: RowId, user: UserDep, form: FormDep) -> Response:
    def work(session: Session, ticket: Ticket) -> None:
        send_sms(
            session,
            config=current_config(),
            actor=user.actor,
            ticket=ticket,
            to=field(form, "to"),
            body=field(form, "body"),
        )

    return on_ticket(session, user, number, work)


@router.post("/calls/{call_id}/take")
def take(session: DbSession, call_id: RowId, user: UserDep, form: FormDep) -> Response:
    if not user.principal.can_edit_tickets:
        raise HTTPException(403, text("forbidden", user.lang))
    try:
        with all_or_nothing(session):
            take_call(
                session, config=current_config(), actor=user.actor, call_id=call_id, answer_at=user.answer_at or ""
            )
    except TakeoverError as exc:
        return back_with_error("/console", exc)
    return RedirectResponse(flash_url(f"/console?call={call_id}", "call_taken"), status_code=303)


@router.post("/me/answer-at")
def set_answer_at(session: DbSession, user: UserDep, form: FormDep) -> Response:
    value = field(form, "answer_at").strip()[:200]
    row = session.get(User, user.principal.user_id)
    assert row is not None
    row.answer_at = value or None
    audit(
        session,
        actor=user.principal.username,
        action="user.answer_at",
        target_type="user",
        target_id=row.id,
        ip=user.ip,
        answer_at=value,
    )
    return back("/console", "saved")
