"""Open311 GeoReport v2 at /open311/v2 (JSON only), for the city's mobile app and national complaint systems.

services = the categories in routing/categories.yaml; requests = tickets. Status: open while the ticket
is open, closed once resolved or cancelled. POST requests.json needs `api_key` (an API token of an
operator, supervisor or admin) and creates a real ticket, routed and alerted like an SMS report, or joins
an open one it duplicates (routing/merging.yaml; `lat`/`long` feed the near-GPS rule and are kept).
Reading is public and never shows the reporter's phone number."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.models import Agency, Ticket
from hotline.services.city import current_config
from hotline.services.ticket_actions import ActionError, create_report
from hotline.services.tickets import CLOSED_STATUSES
from hotline.web.api_auth import actor_for, token_principal
from hotline.web.api_schemas import MAX_ID, RowId

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_REQUESTS = 1000  # GeoReport v2's own limit per answer


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str  # open | closed
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Created(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def open311_status(ticket_status: str) -> str:
    return "closed" if ticket_status in CLOSED_STATUSES else "open"


@router.get("/services.json", response_model=list[Service])
def services(request: Request) -> list[Service]:
    language = "en" if request.query_params.get("jurisdiction_id", "").endswith(":en") else "id"
    return [
        Service(
            service_code=c.code,
            service_name=c.name(language),
            description=c.name(language),
            metadata=False,
            type="realtime",
            keywords=", ".join(sorted({c.code, *c.names.values()})),
            group=c.priority,
        )
        for c in current_config().categories
    ]


def _request_of(ticket: Ticket, agency_names: dict[int, str]) -> ServiceRequest:
    config = current_config()
    category = config.category(ticket.category)
    expected = ticket.resolve_due_at if ticket.status not in CLOSED_STATUSES else None
    return ServiceRequest(
        service_request_id=str(ticket.id),
        status=open311_status(ticket.status),
        status_notes=ticket.status,
        service_name=category.name("id") if category else None,
        service_code=ticket.category,
        description=ticket.text,
        agency_responsible=agency_names.get(ticket.agency_id or 0),
        service_notice=None,
        requested_datetime=ticket.created_at,
        updated_datetime=ticket.updated_at,
        expected_datetime=expected,
        address=ticket.location_text,
        address_id=None,
        zipcode=None,
        lat=ticket.latitude,
        long=ticket.longitude,
        media_url=None,
    )


def _agency_names(session: Any) -> dict[int, str]:
    return {a.id: a.name for a in session.scalars(select(Agency))}


@router.get("/requests.json", response_model=list[ServiceRequest], responses={400: {"description": "bad query"}})
def requests_list(
    service_request_id: Annotated[str | None, Query(max_length=2000, description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed or both comma-separated")] = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> Any:
    stmt = select(Ticket)
    if service_request_id:
        try:
            ids = [int(part) for part in service_request_id.split(",") if part.strip()]
        except ValueError:
            return _error(400, "service_request_id: comma-separated numbers")
        stmt = stmt.where(Ticket.id.in_([i for i in ids if 1 <= i <= MAX_ID]))  # others cannot exist
    else:
        if service_code:
            stmt = stmt.where(Ticket.category == service_code)
        if status:
            wanted = {s.strip() for s in status.split(",")}
            if not wanted <= {"open", "closed"}:
                return _error(400, "status: open, closed, or open,closed")
            if wanted == {"open"}:
                stmt = stmt.where(Ticket.status.not_in(CLOSED_STATUSES))
            elif wanted == {"closed"}:
                stmt = stmt.where(Ticket.status.in_(CLOSED_STATUSES))
        for value in (start_date, end_date):
            if value is not None and value.tzinfo is None:
                return _error(400, "start_date/end_date: w3c format with a timezone, e.g. 2026-03-01T00:00:00+07:00")
        try:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC: OverflowError, once a 500
            start_utc, end_utc = (v.astimezone(UTC) if v is not None else None for v in (start_date, end_date))
        except OverflowError:
            return _error(400, "start_date/end_date: outside the years 1-9999 once in UTC")
        if start_utc:
            stmt = stmt.where(Ticket.created_at >= start_utc)
        if end_utc:
            stmt = stmt.where(Ticket.created_at <= end_utc)
    with unit_of_work() as session:
        names = _agency_names(session)
        rows = session.scalars(stmt.order_by(Ticket.id.desc()).limit(MAX_REQUESTS))
        return [_request_of(t, names) for t in rows]


@router.get(
    "/requests/{service_request_id}.json",
    response_model=list[ServiceRequest],
    responses={404: {"description": "no such request"}},
)
def request_one(service_request_id: RowId) -> Any:
    with unit_of_work() as session:
        ticket = session.get(Ticket, service_request_id)
        if ticket is None:
            return _error(404, f"no service request {service_request_id}")
        return [_request_of(ticket, _agency_names(session))]


@router.post(
    "/requests.json",
    response_model=list[Created],
    status_code=201,
    responses={400: {"description": "bad field"}, 403: {"description": "bad api_key"}},
)
def request_create(
    request: Request,
    api_key: Annotated[str, Form(max_length=200)],
    service_code: Annotated[str, Form(max_length=32)],
    description: Annotated[str, Form(max_length=4000)] = "",
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[str | None, Form(max_length=500)] = None,
    phone: Annotated[str | None, Form(max_length=64)] = None,
    first_name: Annotated[str | None, Form(max_length=100)] = None,
    last_name: Annotated[str | None, Form(max_length=100)] = None,
) -> Any:
    principal = token_principal(api_key)
    if principal is None or not principal.can_edit_tickets:
        return _error(403, "api_key is not valid for creating requests")
    if current_config().category(service_code) is None:
        return _error(400, f"unknown service_code {service_code!r}; see services.json")
    if not (address_string and address_string.strip()) and (lat is None or long is None):
        return _error(400, "a location is required: lat and long, or address_string")
    location = (address_string or "").strip() or f"{lat:.6f},{long:.6f}"
    name = " ".join(p for p in (first_name, last_name) if p)
    text = (description or "").strip() or "(tanpa keterangan)"
    if name:
        text = f"{text}\n-- {name}"
    try:
        with unit_of_work() as session:
            intake = create_report(
                session,
                config=current_config(),
                actor=actor_for(principal, request),
                reporter=phone or "",
                text=text,
                category=service_code,
                location=location,
                latitude=lat if long is not None else None,
                longitude=long if lat is not None else None,
                channel="open311",
            )
            # A duplicate of an open request joins it: the answer names that request (GeoReport's notice).
            notice = f"merged into open request {intake.ticket.id} ({intake.match.reason})" if intake.match else None
            return JSONResponse(
                [{"service_request_id": str(intake.ticket.id), "service_notice": notice, "account_id": None}],
                status_code=201,
            )
    except ActionError as exc:
        return _error(400, str(exc))
