"""The second half of routing a ticket a caller is waiting on: pin its deadlines and chain, alert its URC.

The call's turn routes the ticket and tells the caller the number; a timer of this kind (`activation:<ticket
id>`, due at once: hotline/features/tickets/tickets.py route_ticket with activate=False) does the rest right after that
commit, and the timer core's reconciler does it again if Redis lost the job. Idempotent: a ticket already
activated, or no longer waiting for it (accepted, cancelled, re-routed meanwhile), is left as it is."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.core.city import current_config
from hotline.core.deadlines import Due
from hotline.db import unit_of_work
from hotline.features.tickets.tickets import ACTIVATION, activate_ticket, awaiting_activation
from hotline.jobs.timer_kind import Outcome, TimerKind
from hotline.logs import log_context
from hotline.models import Agency, Ticket, Urc


def activate_routed_ticket(ticket_id: int) -> str:
    with unit_of_work() as session:
        return activate(session, ticket_id)


def activate(session: Session, ticket_id: int) -> str:
    with log_context(ticket_id=ticket_id):
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None or not awaiting_activation(session, ticket):
            return "nothing to do"
        agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
        urc = session.get(Urc, ticket.urc_id) if ticket.urc_id else None
        if agency is None or urc is None:
            raise LookupError(f"ticket {ticket_id} is routed to an agency or URC that is not in the database")
        activate_ticket(session, config=current_config(), ticket=ticket, agency=agency, urc=urc)
        return "activated"


def fire_activations(session: Session, pieces: list[Due]) -> list[Outcome]:
    return [(activate(session, due.ref), None) for due in pieces]


KIND = TimerKind(ACTIVATION, fire_activations, job_prefix="activate")
