"""Tickets: open, route by the city's rules, move through their states, record every step."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import PRIORITIES
from hotline.core.deadlines import Due
from hotline.core.dispatch import dispatcher
from hotline.core.outbox import queue_sms
from hotline.core.wording import ONE_SMS_LENGTH, fit, length, say, ticket_fields
from hotline.features.alerts import failover
from hotline.features.escalation import escalation
from hotline.features.farming import farm_reports, outbreaks
from hotline.features.tickets.ticket_events import record
from hotline.models import Agency, Member, OutboundPurpose, Ticket, TicketEvent, TicketStatus, Urc, utcnow
from hotline.models.tickets import CLOSED, OPEN
from hotline.router import RouteDecision, RouteFacts, initial_priority, route

OPEN_STATUSES: tuple[TicketStatus, ...] = OPEN
CLOSED_STATUSES: tuple[TicketStatus, ...] = CLOSED
S = TicketStatus
# Which states each state may move to. A member's TIBA or SELESAI on a routed ticket implies TERIMA.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AWAITING_CATEGORY: frozenset({S.ROUTED, S.CANCELLED}),
    S.ROUTED: frozenset({S.ACCEPTED, S.ON_SITE, S.RESOLVED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.ON_SITE, S.RESOLVED, S.CANCELLED}),
    S.ON_SITE: frozenset({S.RESOLVED, S.CANCELLED}),
    S.RESOLVED: frozenset(),
    S.CANCELLED: frozenset(),
}


class TransitionError(ValueError):
    def __init__(self, ticket: Ticket, target: str):
        self.ticket, self.target = ticket, target
        super().__init__(f"ticket {ticket.id} cannot go from {ticket.status} to {target}")


def open_ticket(
    session: Session,
    *,
    config: CityConfig,
    channel: str,
    reporter: str,
    text: str,
    language: str,
    category: str | None,
    urgent: bool = False,
    location: str | None = None,
    desa: str | None = None,
    kecamatan: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    activate: bool = True,
    priority: str | None = None,
) -> Ticket:
    """Store a new report. With a category it is routed at once; without, it waits for the citizen.
    To merge a duplicate into an open ticket instead, call hotline.features.merging.merging.open_or_merge.
    `activate=False`: the deadlines and the URC alert follow in a job (see route_ticket). `priority`: at
    least this urgent whatever the category says (a caller who pressed the emergency key)."""
    starting = initial_priority(config.category(category), urgent)
    ticket = Ticket(
        channel=channel,
        reporter_phone=reporter,
        language=language,
        category=category,
        priority=most_urgent(starting, priority),
        urgent=urgent,
        text=text,
        location_text=location,
        desa=desa,
        kecamatan=kecamatan,
        latitude=latitude,
        longitude=longitude,
        status=TicketStatus.AWAITING_CATEGORY,
    )
    session.add(ticket)
    session.flush()
    record(session, ticket, "created", actor=reporter, channel=channel, category=category, urgent=urgent)
    if category is not None:
        route_ticket(session, config=config, ticket=ticket, activate=activate)
    return ticket


def most_urgent(priority: str, other: str | None) -> str:
    return priority if other is None else min(priority, other, key=PRIORITIES.index)


def set_category(session: Session, *, config: CityConfig, ticket: Ticket, category: str | None, actor: str) -> None:
    """The citizen (or an operator) named the category; route the waiting ticket now."""
    ticket.category = category
    if category is not None:
        ticket.priority = initial_priority(config.category(category), ticket.urgent)
    record(session, ticket, "category_set", actor=actor, category=category)
    route_ticket(session, config=config, ticket=ticket)


ACTIVATION = "activation"  # the timer of a ticket routed with activate=False (hotline/jobs/activation.py)


def route_ticket(session: Session, *, config: CityConfig, ticket: Ticket, activate: bool = True) -> None:
    """Pick the agency and URC by the city's rules, then activate: pin the deadlines and chain, alert the URC.
    `activate=False` (a caller waiting on the line for their number) leaves that half to a timer due at once
    (hotline/jobs/activation.py; its job runs after commit, and again if Redis lost it): the deadlines count
    from `routed_at` either way, so nothing is later or shorter for it."""
    farm = farm_reports.before_route(session, config=config, ticket=ticket)  # may fill the desa from the registry
    decision = route(config.rules, config.agencies, RouteFacts(ticket.category, ticket.priority, ticket.kecamatan))
    if farm is not None and farm.urc is not None:  # the field officers of the farmer's desa (routing/farming.yaml)
        decision = RouteDecision(config.farming.agency, farm.urc, f"{decision.rule}; ppl {ticket.desa}")
    agency = session.scalar(select(Agency).where(Agency.code == decision.agency))
    urc = session.scalar(select(Urc).where(Urc.code == decision.urc))
    if agency is None or urc is None:
        raise LookupError(f"routing/ names {decision.agency}/{decision.urc}, not in the database: sync routing")
    ticket.agency_id, ticket.urc_id, ticket.routing_rule = agency.id, urc.id, decision.rule
    ticket.status, ticket.routed_at = TicketStatus.ROUTED, utcnow()
    record(session, ticket, "routed", rule=decision.rule, agency=agency.code, urc=urc.code, priority=ticket.priority)
    # Later means a deadline due now; a dispatcher that sets none (the simulator's) has it done at once.
    if activate or not dispatcher(session).deadline(session, Due(ACTIVATION, ticket.id), utcnow()):
        activate_ticket(session, config=config, ticket=ticket, agency=agency, urc=urc)
    if farm is not None:
        outbreaks.watch(session, config=config, report=farm.report)


def activate_ticket(session: Session, *, config: CityConfig, ticket: Ticket, agency: Agency, urc: Urc) -> None:
    escalation.pin(session, config=config, ticket=ticket, agency=agency)
    alert_urc(session, config=config, ticket=ticket, urc=urc)


def not_yet_activated() -> Any:
    """SQL: no chain pinned and no URC alert yet. Both, because either alone can be missing from a ticket that
    was activated (pin skips an agency no longer in routing/; tickets made outside the services, such as the
    escalation bench's, have a chain but no 'alerted' event) and activating twice would alert the team twice."""
    alerted = select(TicketEvent.id).where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "alerted")
    return and_(Ticket.escalation_chain.is_(None), ~alerted.exists())


def awaiting_activation(session: Session, ticket: Ticket) -> bool:
    """Routed, but its deadlines and alert have not followed yet (route_ticket with activate=False)."""
    if ticket.status != TicketStatus.ROUTED or ticket.escalation_chain is not None:
        return False
    return bool(session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, not_yet_activated())))


def urc_members(session: Session, urc_id: int) -> list[Member]:
    return list(session.scalars(select(Member).where(Member.urc_id == urc_id, Member.active).order_by(Member.id)))


def message_team(
    session: Session,
    *,
    config: CityConfig,
    ticket: Ticket,
    urc_id: int,
    key: str,
    purpose: str = OutboundPurpose.NOTIFY,
    skip_phone: str | None = None,
    inbound_id: int | None = None,
    **extra: Any,
) -> list[Member]:
    """Send one reply template (in Indonesian: URC staff are local) to every active member of a URC."""
    body = say(config, key, "id", **ticket_fields(session, config, ticket, "id"), **extra)
    members = [m for m in urc_members(session, urc_id) if m.phone != skip_phone]
    for member in members:
        queue_sms(
            session,
            to=member.phone,
            body=body,
            purpose=purpose,
            ticket_id=ticket.id,
            member_id=member.id,
            inbound_id=inbound_id,
        )
    return members


def alert_urc(session: Session, *, config: CityConfig, ticket: Ticket, urc: Urc) -> None:
    """Alert every active member; each alert fails over along the agency's alert channels until it arrives."""
    fields = ticket_fields(session, config, ticket, "id")
    body = say(config, "alert", "id", **fields)
    farmer = farm_reports.farmer_line(session, config=config, ticket=ticket)
    if farmer:  # a registered farmer: the PPL knows whom to call back; the quote shrinks so it stays one SMS
        room = max(ONE_SMS_LENGTH - length(farmer) - 1, 0)
        body = f"{farmer} {fit(config.replies.templates['alert']['id'], fields, limit=room)}"
    members = urc_members(session, urc.id)
    for member in members:
        failover.start(
            session, ticket=ticket, phone=member.phone, body=body, purpose=OutboundPurpose.ALERT, member_id=member.id
        )
    record(session, ticket, "alerted", urc=urc.code, members=[m.phone for m in members])


def transition(
    session: Session, *, ticket: Ticket, target: str, actor: str, note: str | None = None, member: Member | None = None
) -> None:
    if target not in TRANSITIONS[ticket.status]:
        raise TransitionError(ticket, target)
    now = utcnow()
    if target in (TicketStatus.ACCEPTED, TicketStatus.ON_SITE, TicketStatus.RESOLVED) and ticket.accepted_at is None:
        ticket.accepted_at = now
        ticket.accepted_by_member_id = member.id if member else None
    if target == TicketStatus.ON_SITE:
        ticket.on_site_at = now
    elif target == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif target == TicketStatus.CANCELLED:
        ticket.cancelled_at = now
    if target in CLOSED_STATUSES:
        ticket.cancel_requested_at = None  # a reporter's open BATAL request is settled by the close
    previous, ticket.status = ticket.status, target
    ticket.updated_at = now
    record(session, ticket, target, actor=actor, note=note, previous=previous)
    escalation.on_status_change(session, ticket=ticket)


def reopen(session: Session, *, config: CityConfig, ticket: Ticket, actor: str, **data: Any) -> None:
    """The reporter says a resolved ticket is not fixed: it goes back to the team that had it, as accepted
    (no new TERIMA needed), with a fresh finish deadline and chain. Not in TRANSITIONS on purpose: a URC
    command must never reopen a ticket, only the reporter's answer (features/sms/confirmations.py)."""
    if ticket.status != TicketStatus.RESOLVED:
        raise TransitionError(ticket, TicketStatus.ACCEPTED)
    agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
    ticket.status, ticket.resolved_at, ticket.updated_at = TicketStatus.ACCEPTED, None, utcnow()
    if agency is not None:
        escalation.restart_resolve(session, config=config, ticket=ticket, agency=agency)
    record(
        session,
        ticket,
        "reopened",
        actor=actor,
        previous=TicketStatus.RESOLVED,
        chain=escalation.chain_number(ticket),
        resolve_due_at=ticket.resolve_due_at.isoformat() if ticket.resolve_due_at else None,
        **data,
    )
    escalation.on_status_change(session, ticket=ticket)
