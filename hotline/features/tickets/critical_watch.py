"""Tickets that just became critical (opened critical, routed into a critical category, raised by reports): what
the console's live stream announces to operators with a sound and a desktop notification."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.features.tickets.tickets import OPEN_STATUSES
from hotline.models import Agency, AuditEntry, Ticket, TicketEvent

# The timeline events after which a ticket may be critical for the first time.
BECOMING = ("created", "routed", "priority_raised")


@dataclass(frozen=True)
class CriticalTicket:
    number: int
    category: str | None
    agency_code: str | None  # who may see it: agency staff only their agency's
    place: str | None
    opened_by: str | None  # the console user who wrote it down (no alert for their own report), else None


def last_event_id(session: Session) -> int:
    return session.scalar(select(func.max(TicketEvent.id))) or 0


def became_critical(
    session: Session, *, after_event: int, upto_event: int, announced: Collection[int] = ()
) -> list[CriticalTicket]:
    """Open critical tickets with a BECOMING event in (after_event, upto_event], oldest first, less `announced`."""
    touched = select(TicketEvent.ticket_id).where(
        TicketEvent.id > after_event, TicketEvent.id <= upto_event, TicketEvent.kind.in_(BECOMING)
    )
    rows = session.execute(
        select(Ticket, Agency.code)
        .outerjoin(Agency, Agency.id == Ticket.agency_id)
        .where(Ticket.id.in_(touched), Ticket.priority == "critical", Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id)
    ).all()
    found = [(t, code) for t, code in rows if t.id not in announced]
    if not found:
        return []
    openers = dict(
        session.execute(
            select(AuditEntry.target_id, AuditEntry.actor).where(
                AuditEntry.action == "ticket.create",
                AuditEntry.target_type == "ticket",
                AuditEntry.target_id.in_([str(t.id) for t, _ in found]),
            )
        ).all()
    )
    return [
        CriticalTicket(
            number=t.id,
            category=t.category,
            agency_code=code,
            place=t.location_text or ", ".join(p for p in (t.desa, t.kecamatan) if p) or None,
            opened_by=openers.get(str(t.id)),
        )
        for t, code in found
    ]
