"""A ticket's timeline: every step is one ticket event. Below tickets, alerts and failover, which all record."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.models import Ticket, TicketEvent


def record(
    session: Session, ticket: Ticket, kind: str, *, actor: str = "system", note: str | None = None, **data: Any
) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, note=note or None, data=data)
    session.add(event)
    return event
