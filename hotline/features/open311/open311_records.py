"""What Open311 partner apps sent with a ticket, for the console (never for /open311/v2): who filed it through
which app, the reporter's name and contacts, the answers to the service's attributes, media URLs and the photos
kept with the ticket; and the citizens' updates the apps posted later (hotline/features/open311/partner_updates.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hotline.models import Open311Submission, PartnerKey, TicketAttachment, TicketEvent


@dataclass(frozen=True)
class Photo:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Filing:
    at: datetime
    partner: str
    name: str
    email: str | None
    phone: str | None
    device_id: str | None
    account_id: str | None
    address_id: str | None
    attributes: dict[str, Any]
    media_urls: list[str]
    photos: list[Photo]


def filings(session: Session, *, ticket_id: int) -> list[Filing]:
    rows = session.execute(
        select(Open311Submission, PartnerKey.name)
        .join(PartnerKey, PartnerKey.id == Open311Submission.partner_key_id)
        .where(Open311Submission.ticket_id == ticket_id)
        .order_by(Open311Submission.id)
    )
    photos: dict[int | None, list[Photo]] = {}
    attachments = select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id).order_by(TicketAttachment.id)
    for a in session.scalars(attachments):
        photos.setdefault(a.submission_id, []).append(Photo(a.id, a.filename, a.content_type, a.size))
    return [
        Filing(
            at=sub.created_at,
            partner=partner,
            name=" ".join(p for p in (sub.first_name, sub.last_name) if p),
            email=sub.email,
            phone=sub.phone,
            device_id=sub.device_id,
            account_id=sub.account_id,
            address_id=sub.address_id,
            attributes=dict(sub.attributes or {}),
            media_urls=list(sub.media_urls or []),
            photos=photos.get(sub.id, []),
        )
        for sub, partner in rows
    ]


@dataclass(frozen=True)
class PartnerUpdate:
    at: datetime
    partner: str
    text: str | None
    name: str | None  # who wrote it, as the app says (another user of the app may add to a report)
    email: str | None
    phone: str | None
    their_status: str | None  # the app's own state of the report (FixMyStreet: OPEN, FIXED...)
    media_urls: list[str]


def partner_update_steps(ticket_ids: Collection[int]) -> Select[TicketEvent]:
    """The tickets' updates from partner apps (hotline/features/open311/partner_updates.py): the `info_added` steps
    a partner app wrote, oldest first."""
    return (
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.kind == "info_added")
        .where(TicketEvent.actor.like("open311:%"))
        .order_by(TicketEvent.id)
    )


def partner_updates(session: Session, *, ticket_id: int) -> list[PartnerUpdate]:
    """The updates partner apps posted on the ticket, oldest first."""
    return [_partner_update(e) for e in session.scalars(partner_update_steps([ticket_id]))]


def _partner_update(event: TicketEvent) -> PartnerUpdate:
    data = event.data or {}
    return PartnerUpdate(
        at=event.at,
        partner=event.actor.removeprefix("open311:"),
        text=event.note,
        name=data.get("name"),
        email=data.get("email"),
        phone=data.get("phone"),
        their_status=data.get("partner_status"),
        media_urls=list(data.get("media_urls") or []),
    )


def attachment_of(session: Session, *, ticket_id: int, attachment_id: int) -> TicketAttachment | None:
    row = session.get(TicketAttachment, attachment_id)
    return row if row is not None and row.ticket_id == ticket_id else None
