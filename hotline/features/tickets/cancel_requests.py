"""Crew protection: a reporter's BATAL never stands down a crew that may be on its way on its own.

A reporter can cancel their report while nobody is moving yet. Once a crew accepted it (or is on site),
or when it is critical (a crew may be on the road before anyone sends TERIMA), BATAL only *asks*: the
ticket stays open, the command center (every member of the default agency) gets `cancel_requested` and
the timeline a `cancel_requested` event, the console shows "the reporter asked to cancel: confirm or
keep", and the reporter hears it was passed on (`cancel_passed_on`). An operator's confirmation (an
audited action, hotline/features/tickets/ticket_actions.py) cancels the ticket and stands the crew down; keeping
it tells the reporter so. A false or mistaken BATAL (a prank, a neighbour's phone) cannot call a fire
crew back from a real fire.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import is_opted_out, queue_sms
from hotline.core.wording import say, ticket_fields
from hotline.features.tickets.tickets import message_team, record
from hotline.models import Agency, OutboundPurpose, Ticket, TicketStatus, utcnow

MOVING = (TicketStatus.ACCEPTED, TicketStatus.ON_SITE)


def protects_crew(ticket: Ticket) -> bool:
    """Whether the reporter's BATAL must wait for an operator: a crew has it, or may be on its way."""
    if ticket.urc_id is None:
        return False
    return ticket.status in MOVING or (ticket.status == TicketStatus.ROUTED and ticket.priority == "critical")


def is_open(ticket: Ticket) -> bool:
    return ticket.cancel_requested_at is not None and ticket.status in (TicketStatus.ROUTED, *MOVING)


def request(session: Session, *, config: CityConfig, ticket: Ticket, phone: str, inbound_id: int | None) -> bool:
    """Record the reporter's request and ask the command center; False when one is open already (asked
    once: a reporter sending BATAL three times does not text the desk three times)."""
    if is_open(ticket):
        return False
    ticket.cancel_requested_at = ticket.updated_at = utcnow()
    desks = session.scalars(select(Agency).where(Agency.is_default)).first()
    told: list[str] = []
    for urc in desks.urcs if desks else []:
        if urc.active:
            members = message_team(
                session,
                config=config,
                ticket=ticket,
                urc_id=urc.id,
                key="cancel_requested",
                purpose=OutboundPurpose.ALERT,
                inbound_id=inbound_id,
            )
            told += [m.phone for m in members]
    record(session, ticket, "cancel_requested", actor=phone, status=ticket.status, priority=ticket.priority, told=told)
    return True


def stand_down(
    session: Session, *, config: CityConfig, ticket: Ticket, key: str, inbound_id: int | None = None
) -> None:
    """Tell the ticket's crew it is cancelled (`key` names who cancelled it; the text names the place)."""
    if ticket.urc_id is not None:
        message_team(session, config=config, ticket=ticket, urc_id=ticket.urc_id, key=key, inbound_id=inbound_id)


def tell_reporter(session: Session, *, config: CityConfig, ticket: Ticket, key: str, **extra: Any) -> bool:
    """One SMS to the ticket's (first) reporter in their language, when a phone can get it."""
    phone = ticket.reporter_phone
    if not phone.startswith("+") or is_opted_out(session, phone):
        return False
    body = say(config, key, ticket.language, **ticket_fields(session, config, ticket, ticket.language), **extra)
    queue_sms(session, to=phone, body=body, purpose=OutboundPurpose.NOTIFY, ticket_id=ticket.id)
    return True
