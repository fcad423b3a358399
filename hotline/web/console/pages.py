"""The console's pages (GET): call queue and new ticket, ticket list, ticket page, board (scorecard: charts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hotline import clock
from hotline.catalog import say
from hotline.core.city import current_config
from hotline.features.calls.call_queries import ticket_calls
from hotline.features.calls.call_queue import WaitingCall, waiting_calls
from hotline.features.calls.queue_urgency import urgency
from hotline.features.farming.access import may_see_farmers
from hotline.features.farming.ticket_facts import farm_facts
from hotline.features.media import media_items
from hotline.features.merging import reporters
from hotline.features.merging.edit_merge import current_values
from hotline.features.open311.open311_records import filings, partner_updates
from hotline.features.shield.shield_report import pending_callbacks
from hotline.features.tickets import cancel_requests
from hotline.features.tickets.board import agency_loads
from hotline.features.tickets.correspondence import ticket_messages
from hotline.features.tickets.ticket_queries import (
    STATUSES,
    TicketFilter,
    agency_codes,
    find_visible_ticket,
    list_tickets,
    visible_agencies,
)
from hotline.features.tickets.timeline import OPEN_PHASE, load_ticket_view
from hotline.models import Agency, Call, CallScreening, Ticket
from hotline.web.api_schemas import MAX_ID, RowId
from hotline.web.console.auth import ConsoleUser, UserDep, render, require
from hotline.web.console.recordings import console_recording_url
from hotline.web.console.ticket_filters import FilterError, ListQueryDep
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/console", include_in_schema=False)
CONSOLE_PAGE = 50  # tickets per page of the list


def running_deadline(ticket: Ticket) -> datetime | None:
    return {"routed": ticket.accept_due_at, "accepted": ticket.resolve_due_at, "on_site": ticket.resolve_due_at}.get(
        ticket.status
    )


def form_choices(lang: str) -> dict[str, Any]:
    config = current_config()
    return {
        "categories": [(c.code, c.name(lang)) for c in config.categories],
        "category_names": {c.code: c.name(lang) for c in config.categories},
        "phases": OPEN_PHASE,  # which deadline runs in a status: accept or resolve
        "kecamatans": sorted(k.name for k in config.areas),
        "desas": sorted(d for k in config.areas for d in k.desa),
        "agencies": [(a.code, a.name) for a in config.agencies],
        "statuses": STATUSES,
        "status_choices": ["open", "closed", *STATUSES],
    }


def queue_view(waiting: list[WaitingCall], callbacks: list[CallScreening], lang: str) -> dict[str, Any]:
    """What _queue.html shows, from the rows read once (the live stream shares them between open tabs)."""
    config = current_config()
    names = {c.code: c.name(lang) for c in config.categories}
    levels = {c.code: c.priority for c in config.categories}
    return {
        "waiting": waiting,
        "callbacks": callbacks,
        "category_names": names,
        "urgency": {w.call_id: urgency(w, levels) for w in waiting},  # the row's colour and words
        "now": clock.now(),
    }


def queue_context(session: Session, user: ConsoleUser) -> dict[str, Any]:
    waiting = waiting_calls(session)
    callbacks = pending_callbacks(session)  # the junk-call shield's: confirmed emergencies first
    return queue_view(waiting, callbacks, user.lang)


@router.get("")
def calls_page(
    request: Request,
    session: DbSession,
    user: UserDep,
    call: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    if not user.principal.can_edit_tickets:
        return RedirectResponse("/console/tickets", status_code=303)
    row = session.get(Call, call) if call is not None else None
    prefill = {"reporter": row.caller, "call_id": row.id} if row else None
    context = {**queue_context(session, user), **form_choices(user.lang), "prefill": prefill}
    return render(request, "calls.html", context, user=user)


@router.get("/queue")
def queue_fragment(request: Request, session: DbSession, user: UserDep) -> Response:
    """The queue table alone: what the live updates swap in. Callers' numbers: the command center's only."""
    require(user, user.principal.can_edit_tickets)
    return render(request, "_queue.html", queue_context(session, user), user=user)


@router.get("/tickets")
def tickets_page(request: Request, session: DbSession, user: UserDep, given: ListQueryDep) -> Response:
    """One page of CONSOLE_PAGE tickets, newest first; "next" pages by number (keyset), never by offset."""
    error = None
    try:
        filters = given.filter(CONSOLE_PAGE)
    except FilterError as exc:  # say which value is unknown rather than list nothing
        error, filters = exc.words(user.lang), TicketFilter(limit=CONSOLE_PAGE)
    now = clock.now()
    codes = agency_codes(session)
    rows = [
        (t, codes.get(t.agency_id or 0), running_deadline(t))
        for t in list_tickets(session, principal=user.principal, filters=filters, now=now)
        if error is None  # an unknown value lists nothing: no page passed off as filtered
    ]
    query = {k: "true" if v is True else v for k, v in given.given().items()}
    next_page = None
    if len(rows) == CONSOLE_PAGE:  # maybe more: the next page starts below this page's last number
        next_page = f"/console/tickets?{urlencode({**query, 'before': rows[-1][0].id})}"
    first_page = f"/console/tickets?{urlencode(query)}" if given.before is not None else None
    context = {
        **form_choices(user.lang),
        "rows": rows,
        "filters": filters,
        "now": now,
        "next_page": next_page,
        "first_page": first_page,
        "export_href": None if error else f"/console/tickets.csv?{urlencode(query)}",  # every page, not this one
        "error": error,
    }
    return render(request, "tickets.html", context, user=user)


@dataclass(frozen=True)
class Conflict:
    """A save that met changes made since its form was shown: the operator's values stay in the form."""

    typed: dict[str, str]  # what the operator sent, shown again
    fields: frozenset[str]  # the fields someone else changed too
    since: int  # the version (last event id) the form was made on: what changed after it is listed


def ticket_context(
    session: Session, user: ConsoleUser, number: int, conflict: Conflict | None = None
) -> dict[str, Any]:
    """Everything the ticket page shows. LookupError when this user may not see the ticket."""
    ticket = find_visible_ticket(session, principal=user.principal, number=number)
    if ticket is None:
        raise LookupError(number)
    view = load_ticket_view(session, number, user.lang)
    assert view is not None
    agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
    calls = ticket_calls(session, number=number)
    linked = reporters.all_rows(session, number)
    open311 = filings(session, ticket_id=number)
    config = current_config()
    sees_farmers = may_see_farmers(user.principal, config.farming)
    mask = say("agri", "farmer_hidden", user.lang)
    messages = ticket_messages(session, config=config, principal=user.principal, number=number, mask=mask)
    base = current_values(ticket)
    version = max((line.event_id for line in view.timeline), default=0)
    changed = [line for line in view.timeline if conflict and line.event_id > conflict.since]
    farm = farm_facts(  # the farmer who sent it: for those who may see farmers only (the farmers page's check)
        session, config=config, ticket_id=number, lang=user.lang, with_farmer=sees_farmers
    )
    return {
        **form_choices(user.lang),
        "ticket": ticket,
        "view": view,
        "agency": agency,
        "messages": messages,
        "recordings": [c for c in calls if c.recording_url],
        "recording_src": {c.id: console_recording_url(c) for c in calls},  # Asterisk's: through the hotline
        "linked": linked,
        "open311": open311,
        "open311_updates": partner_updates(session, ticket_id=number),
        "media": media_items.of_ticket(session, ticket_id=number),  # WhatsApp / MMS photos and voice notes
        "farm": farm,
        "deadline": running_deadline(ticket),
        "cancel_requested": cancel_requests.is_open(ticket),
        "base": base,
        "version": version,
        "shown": {**base, **(conflict.typed if conflict else {})},
        "conflict": {"fields": conflict.fields, "lines": changed} if conflict else None,
    }


@router.get("/tickets/{number}")
def ticket_page(request: Request, session: DbSession, user: UserDep, number: RowId) -> Response:
    try:
        context = ticket_context(session, user, number)
    except LookupError:
        raise HTTPException(404, "no such ticket (or not your agency's)") from None
    return render(request, "ticket.html", context, user=user)


@router.get("/board")
def board_page(request: Request, session: DbSession, user: UserDep) -> Response:
    """Per agency: open, late and unreachable counts and the BOARD_ROWS most urgent tickets (bounded at any size)."""
    now = clock.now()
    config = current_config()
    agencies = visible_agencies(session, principal=user.principal)
    loads, unreachable = agency_loads(session, agency_ids=[a.id for a in agencies], now=now)
    board = [(agency, loads[agency.id]) for agency in agencies]
    names = {c.code: c.name(user.lang) for c in config.categories}
    context = {"board": board, "now": now, "category_names": names, "unreachable": unreachable}
    return render(request, "board.html", context, user=user)
