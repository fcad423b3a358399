"""/api/v1 tickets, agencies, messages and calls, for other systems (token auth, see api_auth.py).

Agency staff tokens see only their agency's tickets and no calls; reading needs any token, writing an
operator's, supervisor's or admin's."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from hotline import clock
from hotline.catalog import language, say
from hotline.core.city import current_config
from hotline.features.calls.call_queries import recent_calls
from hotline.features.calls.call_queue import queued_calls
from hotline.features.merging import reporters
from hotline.features.merging.unmerge import split_reporter
from hotline.features.tickets import correspondence
from hotline.features.tickets.ticket_actions import confirm_cancel, create_report, edit_ticket, keep_open
from hotline.features.tickets.ticket_queries import (
    STATUSES,
    TicketFilter,
    agency_codes,
    find_visible_ticket,
    list_tickets,
    open_tickets_per_agency,
    visible_agencies,
)
from hotline.features.tickets.timeline import load_ticket_view
from hotline.web.api_auth import EditorDep, PrincipalDep, SupervisorDep, actor_for
from hotline.web.api_schemas import (
    MAX_ID,
    AgencyOut,
    CallOut,
    LinkedReporterOut,
    MessageOut,
    RowId,
    TicketCreated,
    TicketDetail,
    TicketIn,
    TicketList,
    TicketOut,
    TicketPatch,
    TimelineEntry,
)
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/api/v1", tags=["api"])
StatusFilter = Literal["open", "closed", *STATUSES]  # type: ignore[valid-type]  # STATUSES unpacked at run time
NOT_FOUND = "no such ticket (or not your agency's)"


@router.get("/tickets", response_model=TicketList)
def tickets(
    session: DbSession,
    principal: PrincipalDep,
    status: Annotated[StatusFilter | None, Query(description="a status, or open / closed")] = None,
    agency: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    kecamatan: Annotated[str | None, Query(max_length=100)] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only tickets numbered below this: the next page, at any depth")
    ] = None,
) -> TicketList:
    """Tickets, newest first, filtered. Page with `before` = the last number of the page before (costs the same
    at any depth; `offset` reads every row it skips)."""
    now = clock.now()
    unknown = unknown_filter(agency=agency, category=category, kecamatan=kecamatan)
    if unknown:  # an empty list would read as "none there", not as a typo
        raise HTTPException(422, unknown)
    filters = TicketFilter(status, agency, category, kecamatan, overdue, limit, offset, before)
    codes = agency_codes(session)
    rows = list_tickets(session, principal=principal, filters=filters, now=now)
    return TicketList(tickets=[TicketOut.of(t, codes.get(t.agency_id or 0), now) for t in rows])


def unknown_filter(*, agency: str | None, category: str | None, kecamatan: str | None) -> str | None:
    """The first filter value the city does not know, said in a sentence; None when all are known."""
    config = current_config()
    known = {
        "agency": {a.code for a in config.agencies},
        "category": {c.code for c in config.categories},
        "kecamatan": {k.name for k in config.areas},
    }
    for field, value in (("agency", agency), ("category", category), ("kecamatan", kecamatan)):
        if value and value not in known[field]:
            return f"unknown {field} {value!r}: use one of {', '.join(sorted(known[field]))}"
    return None


@router.get("/tickets/{number}", response_model=TicketDetail, responses={404: {"description": NOT_FOUND}})
def ticket(session: DbSession, number: RowId, principal: PrincipalDep) -> TicketDetail:
    """One ticket with its timeline."""
    now = clock.now()
    row = find_visible_ticket(session, principal=principal, number=number)
    if row is None:
        raise HTTPException(404, NOT_FOUND)
    view = load_ticket_view(session, number)
    assert view is not None
    base = TicketOut.of(row, agency_codes(session).get(row.agency_id or 0), now)
    timeline = [TimelineEntry(at=t.at, kind=t.kind, actor=t.actor, text=t.text, note=t.note) for t in view.timeline]
    linked = [LinkedReporterOut.of(r) for r in reporters.all_rows(session, number)]
    return TicketDetail(**base.model_dump(), timeline=timeline, linked_reporters=linked)


@router.post("/tickets", response_model=TicketCreated, status_code=201, responses={422: {"description": "bad field"}})
def new_ticket(session: DbSession, body: TicketIn, principal: EditorDep, request: Request) -> TicketCreated:
    """Open a ticket; with a category it is routed and the URC alerted at once, as an SMS report would be.
    A duplicate of an open ticket (routing/merging.yaml) joins it instead: `merged` is true and the answer
    is that ticket, with its reporter count."""
    now = clock.now()
    intake = create_report(
        session,
        config=current_config(),
        actor=actor_for(principal, request),
        reporter=body.reporter,
        text=body.text,
        category=body.category,
        location=body.location,
        kecamatan=body.kecamatan,
        desa=body.desa,
        latitude=body.latitude,
        longitude=body.longitude,
        urgent=body.urgent,
        language=body.language,
        channel="api",
        merge=body.merge,
    )
    row = intake.ticket
    base = TicketOut.of(row, agency_codes(session).get(row.agency_id or 0), now)
    match = intake.match
    return TicketCreated(
        **base.model_dump(),
        merged=match is not None,
        merge_rule=match.rule if match else None,
        merge_score=match.score if match else None,
    )


@router.patch(
    "/tickets/{number}",
    response_model=TicketOut,
    responses={
        403: {"description": "agency staff"},
        404: {"description": NOT_FOUND},
        422: {"description": "bad field"},
    },
)
def edit(session: DbSession, number: RowId, body: TicketPatch, principal: EditorDep, request: Request) -> TicketOut:
    """Change a ticket's text, place, category or status. A place given or corrected after the URC was
    alerted reaches every alerted member by SMS at once; status `cancelled` stands the crew down by SMS."""
    now = clock.now()
    row = find_visible_ticket(session, principal=principal, number=number, for_update=True)
    if row is None:
        raise HTTPException(404, NOT_FOUND)
    edit_ticket(
        session,
        config=current_config(),
        actor=actor_for(principal, request),
        ticket=row,
        text=body.text,
        location=body.location,
        kecamatan=body.kecamatan,
        desa=body.desa,
        category=body.category,
        status=body.status,
        source="api",
    )
    return TicketOut.of(row, agency_codes(session).get(row.agency_id or 0), now)


@router.post(
    "/tickets/{number}/cancel-request/{decision}",
    response_model=TicketOut,
    responses={404: {"description": NOT_FOUND}, 422: {"description": "no open cancel request"}},
)
def decide_cancel_request(
    session: DbSession, number: RowId, decision: Literal["confirm", "keep"], principal: EditorDep, request: Request
) -> TicketOut:
    """The reporter's BATAL on a ticket a crew had waits for an operator: `confirm` cancels it and stands the
    crew down, `keep` leaves it with the crew; the reporter is told either way."""
    now = clock.now()
    row = find_visible_ticket(session, principal=principal, number=number, for_update=True)
    if row is None:
        raise HTTPException(404, NOT_FOUND)
    decide = confirm_cancel if decision == "confirm" else keep_open
    decide(session, config=current_config(), actor=actor_for(principal, request), ticket=row)
    return TicketOut.of(row, agency_codes(session).get(row.agency_id or 0), now)


@router.post(
    "/tickets/{number}/reporters/{reporter_id}/split",
    response_model=TicketOut,
    status_code=201,
    responses={
        403: {"description": "not a supervisor or admin"},
        404: {"description": NOT_FOUND},
        422: {"description": "not a linked reporter of this ticket"},
    },
)
def split(
    session: DbSession, number: RowId, reporter_id: RowId, principal: SupervisorDep, request: Request
) -> TicketOut:
    """Undo a wrong merge: the linked report becomes its own ticket (routed and alerted; its reporter is told
    the new number). Answers the new ticket."""
    now = clock.now()
    row = find_visible_ticket(session, principal=principal, number=number, for_update=True)
    if row is None:
        raise HTTPException(404, NOT_FOUND)
    new = split_reporter(
        session,
        config=current_config(),
        actor=actor_for(principal, request),
        ticket=row,
        reporter_id=reporter_id,
    )
    return TicketOut.of(new, agency_codes(session).get(new.agency_id or 0), now)


@router.get("/tickets/{number}/messages", response_model=list[MessageOut], responses={404: {"description": NOT_FOUND}})
def ticket_messages(session: DbSession, number: RowId, principal: PrincipalDep) -> list[MessageOut]:
    """Every SMS in and out about the ticket, oldest first."""
    if find_visible_ticket(session, principal=principal, number=number) is None:
        raise HTTPException(404, NOT_FOUND)
    mask = say("agri", "farmer_hidden", language(None))  # the PPL's alert names the farmer: as on the ticket page
    lines = correspondence.ticket_messages(
        session, config=current_config(), principal=principal, number=number, mask=mask
    )
    return [MessageOut.of(m) for m in lines]


@router.get("/agencies", response_model=list[AgencyOut])
def agencies(session: DbSession, principal: PrincipalDep) -> list[AgencyOut]:
    """The agencies from routing/, with their open tickets (agency staff: their own agency only)."""
    open_counts = open_tickets_per_agency(session)
    return [
        AgencyOut(code=a.code, name=a.name, is_default=a.is_default, open_tickets=open_counts.get(a.id, 0))
        for a in visible_agencies(session, principal=principal)
    ]


@router.get("/calls", response_model=list[CallOut], responses={403: {"description": "agency staff"}})
def calls(
    session: DbSession,
    principal: PrincipalDep,
    status: Annotated[Literal["queued", "active", "all"], Query(description="queued: waiting for an operator")] = "all",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CallOut]:
    """Calls, newest first; `status=queued` is the operator queue, oldest waiting first."""
    if not principal.sees_all_agencies:
        raise HTTPException(403, "calls are for the command center")
    if status == "queued":
        return [CallOut.of(call, w.category, w.waiting_since) for call, w in queued_calls(session)[:limit]]
    return [CallOut.of(c, None, None) for c in recent_calls(session, active_only=status == "active", limit=limit)]
