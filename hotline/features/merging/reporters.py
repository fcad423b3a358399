"""Everyone who reported a ticket: its first reporter (`Ticket.reporter_phone`) and the linked ones
(`ticket_reporters`, from duplicate merging). Updates go to all of them, each in their own language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import queue_sms
from hotline.core.wording import say, ticket_fields
from hotline.features.tickets.tickets import OPEN_STATUSES
from hotline.models import OptOut, OutboundPurpose, ReporterStatus, Ticket, TicketReporter


@dataclass(frozen=True)
class Recipient:
    phone: str
    language: str


def linked(session: Session, ticket_id: int) -> list[TicketReporter]:
    """The linked reporters still on the ticket, in the order they reported."""
    stmt = select(TicketReporter).where(
        TicketReporter.ticket_id == ticket_id, TicketReporter.status == ReporterStatus.LINKED
    )
    return list(session.scalars(stmt.order_by(TicketReporter.id)))


def all_rows(session: Session, ticket_id: int) -> list[TicketReporter]:
    """Every merged report of the ticket, split and withdrawn ones too (for the console and the API)."""
    stmt = select(TicketReporter).where(TicketReporter.ticket_id == ticket_id).order_by(TicketReporter.id)
    return list(session.scalars(stmt))


def linked_row(session: Session, *, ticket_id: int, phone: str) -> TicketReporter | None:
    stmt = select(TicketReporter).where(
        TicketReporter.ticket_id == ticket_id,
        TicketReporter.phone == phone,
        TicketReporter.status == ReporterStatus.LINKED,
    )
    return session.scalar(stmt.order_by(TicketReporter.id).limit(1))


def is_reporter(session: Session, ticket: Ticket, phone: str) -> bool:
    return ticket.reporter_phone == phone or linked_row(session, ticket_id=ticket.id, phone=phone) is not None


def recent_linked_row(session: Session, *, phone: str, since: datetime) -> TicketReporter | None:
    """The phone's latest report merged since `since` into a ticket that is still open."""
    stmt = (
        select(TicketReporter)
        .join(Ticket, Ticket.id == TicketReporter.ticket_id)
        .where(
            TicketReporter.phone == phone,
            TicketReporter.status == ReporterStatus.LINKED,
            TicketReporter.merged_at >= since,
            Ticket.status.in_(OPEN_STATUSES),
        )
        .order_by(TicketReporter.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def latest_linked_ticket_id(session: Session, phone: str) -> int | None:
    stmt = select(TicketReporter.ticket_id).where(
        TicketReporter.phone == phone, TicketReporter.status == ReporterStatus.LINKED
    )
    return session.scalar(stmt.order_by(TicketReporter.id.desc()).limit(1))


def textable(phones: Iterable[Recipient], session: Session) -> list[Recipient]:
    """Those an SMS can reach and who did not opt out, each number once."""
    unique = {r.phone: r for r in reversed(list(phones)) if r.phone.startswith("+")}
    if not unique:
        return []
    opted_out = set(session.scalars(select(OptOut.phone).where(OptOut.phone.in_(unique))))
    return [r for phone, r in reversed(unique.items()) if phone not in opted_out]


def linked_recipients(session: Session, ticket: Ticket) -> list[Recipient]:
    """The linked reporters an update can reach (not the first reporter: callers tell them as before)."""
    rows = [Recipient(r.phone, r.language) for r in linked(session, ticket.id) if r.phone != ticket.reporter_phone]
    return textable(rows, session)


def tell_linked(
    session: Session,
    *,
    config: CityConfig,
    ticket: Ticket,
    key: str,
    inbound_id: int | None = None,
    purpose: str = OutboundPurpose.NOTIFY,
    **extra: Any,
) -> list[str]:
    """Send reply `key` about the ticket to every linked reporter, each in their language; returns the phones."""
    sent: list[str] = []
    fields: dict[str, dict[str, Any]] = {}
    for recipient in linked_recipients(session, ticket):
        if recipient.language not in fields:
            fields[recipient.language] = ticket_fields(session, config, ticket, recipient.language)
        body = say(config, key, recipient.language, **fields[recipient.language], **extra)
        queue_sms(session, to=recipient.phone, body=body, purpose=purpose, ticket_id=ticket.id, inbound_id=inbound_id)
        sent.append(recipient.phone)
    return sent
