"""What anyone may read of a ticket on /open311/v2: safe by default.

Never the reporter's name, number or e-mail (they are not in the view at all); the description and address
pass through `redaction.redact` (phones, e-mails, NIK-like numbers, the names the reporters gave to Open311 or
showed as their WhatsApp profile); a private
category (routing/open311.yaml) has its GPS rounded to `private_gps_decimals`, its address cut to the desa
and kecamatan, and no photo published. The console shows everything."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.open311.open311_records import partner_update_steps
from hotline.features.open311.redaction import number_forms, redact
from hotline.features.tickets.tickets import CLOSED_STATUSES
from hotline.models import (
    Agency,
    InboundMessage,
    Open311Submission,
    Ticket,
    TicketAttachment,
    TicketReporter,
)


@dataclass(frozen=True)
class PublicRequest:
    service_request_id: str
    status: str  # open | closed
    status_notes: str
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


def open311_status(ticket_status: str) -> str:
    return "closed" if ticket_status in CLOSED_STATUSES else "open"


@dataclass(frozen=True)
class ReporterDetails:
    names: list[str]
    numbers: list[str]
    media_urls: list[str]
    attachment_ids: list[int]


def reporter_details(session: Session, tickets: list[Ticket]) -> dict[int, ReporterDetails]:
    """Per ticket: its reporters' names (given to Open311, shown on WhatsApp, or by a partner's update) and numbers
    (to hide), its media URLs and photos (to publish)."""
    ids = [t.id for t in tickets]
    names: dict[int, list[str]] = defaultdict(list)
    numbers: dict[int, list[str]] = defaultdict(list)
    urls: dict[int, list[str]] = defaultdict(list)
    photos: dict[int, list[int]] = defaultdict(list)
    for t in tickets:
        numbers[t.id] += number_forms(t.reporter_phone)
    if ids:
        linked = select(TicketReporter.ticket_id, TicketReporter.phone).where(TicketReporter.ticket_id.in_(ids))
        for ticket_id, phone in session.execute(linked):
            numbers[ticket_id] += number_forms(phone)
        profile = InboundMessage.payload["profile_name"].as_string()  # the name a WhatsApp sender shows
        named = select(InboundMessage.ticket_id, profile).where(InboundMessage.ticket_id.in_(ids), profile.is_not(None))
        for ticket_id, name in session.execute(named):
            names[ticket_id].append(name)
        for sub in session.scalars(select(Open311Submission).where(Open311Submission.ticket_id.in_(ids))):
            names[sub.ticket_id] += [n for n in (sub.first_name, sub.last_name) if n]
            urls[sub.ticket_id] += list(sub.media_urls or [])
        for step in session.scalars(partner_update_steps(ids)):  # who wrote a partner's update
            data = step.data or {}
            names[step.ticket_id] += [data["name"]] if data.get("name") else []
            numbers[step.ticket_id] += number_forms(data["phone_e164"]) if data.get("phone_e164") else []
        rows = session.execute(
            select(TicketAttachment.ticket_id, TicketAttachment.id)
            .where(TicketAttachment.ticket_id.in_(ids))
            .order_by(TicketAttachment.id)
        )
        for ticket_id, attachment_id in rows:
            photos[ticket_id].append(attachment_id)
    return {i: ReporterDetails(names[i], numbers[i], urls[i], photos[i]) for i in ids}


def _place(ticket: Ticket, private: bool, decimals: int) -> tuple[str | None, float | None, float | None]:
    lat, long = ticket.latitude, ticket.longitude
    if not private:
        return ticket.location_text, lat, long
    rounded = (round(lat, decimals), round(long, decimals)) if lat is not None and long is not None else (None, None)
    area = ", ".join(p for p in (ticket.desa, ticket.kecamatan) if p) or None
    return area, *rounded


def public_requests(
    session: Session, *, config: CityConfig, tickets: list[Ticket], media_base: str, language: str = "id"
) -> list[PublicRequest]:
    """`media_base` + attachment id is where a published photo is served (hotline/web/open311/); `language` names
    the services (as services.{fmt} does for the same jurisdiction_id)."""
    agencies = {a.id: a.name for a in session.scalars(select(Agency))}
    extras = reporter_details(session, tickets)
    return [_view(config, t, agencies, extras[t.id], media_base, language) for t in tickets]


def _view(
    config: CityConfig, ticket: Ticket, agencies: dict[int, str], extra: ReporterDetails, media_base: str, language: str
) -> PublicRequest:
    category = config.category(ticket.category)
    private = config.open311.service(ticket.category or "").private
    address, lat, long = _place(ticket, private, config.open311.private_gps_decimals)
    media = None
    if not private:
        if extra.attachment_ids:
            media = f"{media_base}{extra.attachment_ids[0]}"
        elif extra.media_urls:
            media = extra.media_urls[0]
    return PublicRequest(
        service_request_id=str(ticket.id),
        status=open311_status(ticket.status),
        status_notes=ticket.status,
        service_name=category.name(language) if category else None,
        service_code=ticket.category,
        description=redact(ticket.text, names=extra.names, numbers=extra.numbers),
        agency_responsible=agencies.get(ticket.agency_id or 0),
        service_notice=None,
        requested_datetime=ticket.created_at,
        updated_datetime=ticket.updated_at,
        expected_datetime=ticket.resolve_due_at if ticket.status not in CLOSED_STATUSES else None,
        address=redact(address, names=extra.names, numbers=extra.numbers) if address else None,
        address_id=None,
        zipcode=None,
        lat=lat,
        long=long,
        media_url=media,
    )


def publishable_photo(session: Session, *, config: CityConfig, attachment_id: int) -> TicketAttachment | None:
    """A photo anyone may see: one of a ticket whose category is not private."""
    row = session.get(TicketAttachment, attachment_id)
    if row is None:
        return None
    ticket = session.get(Ticket, row.ticket_id)
    if ticket is None or config.open311.service(ticket.category or "").private:
        return None
    return row
