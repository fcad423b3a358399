"""Deadlines and escalation chains: pinned when a ticket is routed, fired from the database at most once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline import clock
from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import DEFAULT_DELIVERY_TIMEOUT_SECONDS, EscalationStep
from hotline.core.deadlines import Due, FireOutcome
from hotline.core.dispatch import dispatcher
from hotline.core.wording import clock_time, say, ticket_fields
from hotline.features.alerts import failover
from hotline.features.alerts.alerts import Alert, send_alert
from hotline.features.farming.farm_reports import farm_sla
from hotline.features.tickets import stale
from hotline.models import (
    Agency,
    Escalation,
    EscalationPhase,
    EscalationStatus,
    Member,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urc,
)
from hotline.models.chain import AlertPolicy, PinnedChain, PinnedStep
from hotline.models.tickets import CLOSED
from hotline.sms.replies import ROLE_SUFFIX

TIMER_KIND = "escalation"  # each pending row has a timer of this kind (hotline/jobs/escalation.py fires it)
PHASE_STATUS: dict[str, tuple[TicketStatus, ...]] = {
    EscalationPhase.ACCEPT: (TicketStatus.ROUTED,),
    EscalationPhase.RESOLVE: (TicketStatus.ACCEPTED, TicketStatus.ON_SITE),
}


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


# When one phone is notified under several roles, the first of these decides what it reads: a member of the
# ticket's own team can answer TERIMA (even a command-center desk, for a ticket routed to it); a head cannot.
ROLE_ORDER = ("urc_leader", "urc", "agency_head", "command_center")
CREW_ROLES = frozenset({"urc", "urc_leader"})


def _phones_for(
    session: Session, config: CityConfig, ticket: Ticket, agency: Agency, roles: list[str]
) -> dict[str, str]:
    """Phone -> the role it is notified as (see ROLE_ORDER), in the order the roles list them."""
    found: dict[str, str] = {}
    for role in roles:
        phones: list[str] = []
        if role in CREW_ROLES and ticket.urc_id:
            stmt = select(Member.phone).where(Member.urc_id == ticket.urc_id, Member.active).order_by(Member.id)
            if role == "urc_leader":
                stmt = stmt.where(Member.role == "leader")
            phones = list(session.scalars(stmt))
        elif role == "agency_head":
            spec = config.agency(agency.code)
            phones = [h.phone for h in spec.heads] if spec else []
        elif role == "ppl_coordinator":
            # the kecamatan's PPL coordinator supervises like a head: reads the head's text, cannot TERIMA
            phones = [c.phone for c in config.farming.coordinators.get(ticket.kecamatan or "", ())]
            role = "agency_head"
        elif role == "command_center":
            stmt = (
                select(Member.phone)
                .join(Urc)
                .join(Agency)
                .where(Agency.is_default, Urc.active, Member.active)
                .order_by(Member.id)
            )
            phones = list(session.scalars(stmt))
        for phone in phones:
            if phone not in found or ROLE_ORDER.index(role) < ROLE_ORDER.index(found[phone]):
                found[phone] = role
    return found


def _fallback_role(notify: tuple[str, ...]) -> str:
    """The role for a chain pinned before roles were pinned per phone: crew text only when the step
    notified nobody but the crew; otherwise the text that asks no one to answer TERIMA."""
    if notify and set(notify) <= CREW_ROLES:
        return "urc_leader" if notify == ("urc_leader",) else "urc"
    return "command_center" if "command_center" in notify else "agency_head"


def recipients(step: PinnedStep) -> dict[str, list[str]]:
    """A pinned step's phones grouped by the role each reads its text as, in ROLE_ORDER."""
    fallback = _fallback_role(step.notify)
    groups: dict[str, list[str]] = {}
    for phone in step.phones:
        groups.setdefault(step.roles.get(phone) or fallback, []).append(phone)
    return {role: groups[role] for role in sorted(groups, key=ROLE_ORDER.index)}


def pin(session: Session, *, config: CityConfig, ticket: Ticket, agency: Agency) -> None:
    """Copy the agency's SLA and chain (with the phone numbers as they are now) onto the ticket."""
    spec = config.agency(agency.code)
    if spec is None or ticket.routed_at is None:
        return
    sla = farm_sla(session, config=config, ticket=ticket) or spec.sla.get(ticket.priority) or spec.sla["normal"]
    ticket.sla_accept_minutes, ticket.sla_resolve_minutes = sla.accept_minutes, sla.resolve_minutes
    ticket.accept_due_at = ticket.routed_at + minutes(sla.accept_minutes)
    ticket.resolve_due_at = ticket.routed_at + minutes(sla.resolve_minutes)
    number = _pin_fresh_chain(session, config=config, ticket=ticket, agency=agency)
    schedule(
        session,
        ticket_id=ticket.id,
        chain=number,
        phase=EscalationPhase.ACCEPT,
        step=0,
        round_=0,
        due=ticket.accept_due_at,
    )


def _pin_fresh_chain(session: Session, *, config: CityConfig, ticket: Ticket, agency: Agency) -> int:
    """Cancel what is pending and pin the agency's chain as it is now under the next chain number."""
    chain = config.escalation[agency.code]
    spec = config.agency(agency.code)
    cancel_pending(session, ticket_id=ticket.id)  # a re-routed (or reopened) ticket starts a fresh chain
    failover.stop(session, ticket_id=ticket.id)  # and the old team's alerts stop failing over
    previous = session.scalar(select(func.max(Escalation.chain)).where(Escalation.ticket_id == ticket.id))
    number = 0 if previous is None else previous + 1
    ticket.escalation_chain = PinnedChain(
        number=number,
        agency=agency.code,
        repeat_minutes=chain.repeat_minutes,
        steps=tuple(_pinned_step(session, config, ticket, agency, s) for s in chain.steps),
        # How each alert reaches a person, in failover order (hotline/features/alerts/failover.py).
        alerts=AlertPolicy(
            channels=tuple(spec.alert_channels) if spec else ("sms",),
            timeout_seconds=spec.delivery_timeout_seconds if spec else DEFAULT_DELIVERY_TIMEOUT_SECONDS,
        ),
    ).dump()
    return number


def _pinned_step(
    session: Session, config: CityConfig, ticket: Ticket, agency: Agency, step: EscalationStep
) -> PinnedStep:
    roles = _phones_for(session, config, ticket, agency, list(step.notify))
    return PinnedStep(
        after_minutes=step.after_minutes,
        notify=tuple(step.notify),
        via=tuple(step.via),
        phones=tuple(roles),
        roles=roles,  # what each phone reads: the crew is asked for TERIMA, a head never is
    )


def restart_resolve(session: Session, *, config: CityConfig, ticket: Ticket, agency: Agency) -> None:
    """A reopened ticket (the reporter said it is not fixed) gets a fresh finish deadline, its pinned resolve
    SLA from now, and a fresh chain; `on_status_change` then schedules the chain's resolve phase. A ticket
    without a pinned SLA (made before deadlines existed) or whose agency left routing/ gets neither."""
    if ticket.sla_resolve_minutes is None or config.agency(agency.code) is None:
        return
    ticket.resolve_due_at = clock.now() + minutes(ticket.sla_resolve_minutes)
    _pin_fresh_chain(session, config=config, ticket=ticket, agency=agency)


def chain_number(ticket: Ticket) -> int:
    chain = PinnedChain.load(ticket.escalation_chain)
    return chain.number if chain else 0


def schedule(
    session: Session, *, ticket_id: int, chain: int, phase: str, step: int, round_: int, due: datetime
) -> Escalation:
    row = Escalation(
        ticket_id=ticket_id,
        chain=chain,
        phase=phase,
        step=step,
        round=round_,
        due_at=due,
        status=EscalationStatus.PENDING,
    )
    session.add(row)
    session.flush()
    # through the session's dispatcher, as every deadline: the simulator's sets none (none may wake the real workers)
    dispatcher(session).deadline(session, Due(TIMER_KIND, row.id), due)
    return row


def cancel_pending(session: Session, *, ticket_id: int, phase: str | None = None) -> None:
    stmt = update(Escalation).where(Escalation.ticket_id == ticket_id, Escalation.status == EscalationStatus.PENDING)
    if phase:
        stmt = stmt.where(Escalation.phase == phase)
    session.execute(stmt.values(status=EscalationStatus.CANCELLED))


def on_status_change(session: Session, *, ticket: Ticket) -> None:
    """Accepting stops the accept chain and starts the resolve deadline; closing stops everything. Either way
    no alert of the ticket fails over any more: someone has it."""
    if ticket.status != TicketStatus.ROUTED:
        failover.stop(session, ticket_id=ticket.id)
    if ticket.status in (TicketStatus.ACCEPTED, TicketStatus.ON_SITE):
        cancel_pending(session, ticket_id=ticket.id, phase=EscalationPhase.ACCEPT)
        number = chain_number(ticket)
        started = session.scalar(
            select(Escalation.id)
            .where(
                Escalation.ticket_id == ticket.id,
                Escalation.chain == number,
                Escalation.phase == EscalationPhase.RESOLVE,
            )
            .limit(1)
        )
        if started is None and ticket.resolve_due_at is not None and ticket.escalation_chain:
            schedule(
                session,
                ticket_id=ticket.id,
                chain=number,
                phase=EscalationPhase.RESOLVE,
                step=0,
                round_=0,
                due=ticket.resolve_due_at,
            )
    elif ticket.status in CLOSED:
        cancel_pending(session, ticket_id=ticket.id)


def fire(session: Session, *, escalation_id: int, config: CityConfig) -> tuple[str, datetime | None]:
    """Fire one due step. Returns (outcome, due_at). Safe to call any number of times: it fires once."""
    return fire_many(session, escalation_ids=[escalation_id], config=config)[0]


@dataclass
class _Fired:
    row: Escalation
    ticket: Ticket
    chain: PinnedChain
    step: PinnedStep
    via: list[str]
    phase_due: datetime
    at: datetime


def fire_many(
    session: Session, *, escalation_ids: Sequence[int], config: CityConfig
) -> list[tuple[str, datetime | None]]:
    """Fire due steps, each at most once however often it is asked. Returns (outcome, due_at) per id.

    Many at once cost little more than one (the releaser fires 167 a second in bench/escalation.py): one
    query locks every ticket, one every row, and the events and row updates are written together at the
    end. Lock order is ticket -> escalation, tickets by id, as every transition takes them (one ticket),
    so none of them deadlock."""
    if not escalation_ids:
        return []
    # The agencies are only kept alive by this name (the identity map holds them weakly): see _lock().
    tickets, rows, urcs, _agencies = _lock(session, escalation_ids)
    results: list[tuple[str, datetime | None]] = []
    fired: list[_Fired] = []
    for escalation_id in escalation_ids:
        row = rows.get(escalation_id)
        ticket = tickets.get(row.ticket_id) if row is not None else None
        now = clock.now()
        chain = PinnedChain.load(ticket.escalation_chain) if ticket is not None else None
        if row is None or ticket is None:
            results.append((FireOutcome.MISSING, None))
        elif row.status != EscalationStatus.PENDING or any(f.row is row for f in fired):  # or asked twice in this call
            results.append((FireOutcome.NOT_PENDING, row.due_at))
        elif row.due_at > now:
            results.append((FireOutcome.EARLY, row.due_at))
        elif ticket.status not in PHASE_STATUS[row.phase] or chain is None or not chain.steps:
            row.status = EscalationStatus.CANCELLED
            results.append((FireOutcome.MOOT, row.due_at))
        else:
            phase_due = ticket.accept_due_at if row.phase == EscalationPhase.ACCEPT else ticket.resolve_due_at
            assert phase_due is not None
            step = chain.step(row.step)
            via = _send_step(session, config, row, ticket, step, phase_due, now, urcs)
            fired.append(_Fired(row, ticket, chain, step, via, phase_due, now))
            results.append((FireOutcome.FIRED, row.due_at))
    # Written last, all together: until here each alert's flush carried only its own SMS.
    for done in fired:
        _record(session, done)
    for done in fired:
        _schedule_next(session, config, done)
    return results


def _lock(
    session: Session, escalation_ids: Sequence[int]
) -> tuple[dict[int, Ticket], dict[int, Escalation], dict[int, Urc], Sequence[Agency]]:
    """Lock the rows' tickets (by id), then the rows; load their URCs and agencies in one query each."""
    tickets = {
        t.id: t
        for t in session.scalars(
            select(Ticket)
            .where(Ticket.id.in_(select(Escalation.ticket_id).where(Escalation.id.in_(escalation_ids))))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket)
            .execution_options(populate_existing=True)
        )
    }
    rows = {
        r.id: r
        for r in session.scalars(
            select(Escalation)
            .where(Escalation.id.in_(escalation_ids))
            .order_by(Escalation.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    # ticket_fields() looks each ticket's agency up with session.get(): loaded here in one query (and kept
    # alive by the caller, the identity map holds them weakly), those lookups cost no query per row.
    agencies = session.scalars(
        select(Agency).where(Agency.id.in_({t.agency_id for t in tickets.values() if t.agency_id is not None}))
    ).all()
    urcs = {
        u.id: u
        for u in session.scalars(select(Urc).where(Urc.id.in_({t.urc_id for t in tickets.values() if t.urc_id})))
    }
    return tickets, rows, urcs, agencies


def _send_step(
    session: Session,
    config: CityConfig,
    row: Escalation,
    ticket: Ticket,
    step: PinnedStep,
    phase_due: datetime,
    now: datetime,
    urcs: dict[int, Urc],
) -> list[str]:
    """Alert everyone the step notifies, each with the text for their role; returns the channels used."""
    fields = {
        **ticket_fields(session, config, ticket, "id"),
        "overdue": max(0, int((now - phase_due).total_seconds() // 60)),
        "deadline": clock_time(phase_due, now),
    }
    fields["urc"] = urcs[ticket.urc_id].name if ticket.urc_id in urcs else fields["agency"]
    via: list[str] = []
    for role, phones in recipients(step).items():
        body = say(config, f"escalation_{row.phase}{ROLE_SUFFIX[role]}", "id", **fields)
        channels = list(step.via or ("sms",))
        if role not in CREW_ROLES:  # the alert call asks to press 1 to accept: only a crew can
            channels = [c for c in channels if c != "voice"] or ["sms"]
        used = send_alert(session, channels, Alert(ticket.id, tuple(phones), body))
        via += [c for c in used if c not in via]
    return via


def _record(session: Session, done: _Fired) -> None:
    row, step = done.row, done.step
    row.status, row.fired_at, row.notified = EscalationStatus.FIRED, done.at, list(step.phones)
    session.add(
        TicketEvent(
            ticket_id=done.ticket.id,
            kind="escalated",
            actor="system",
            data={
                "phase": row.phase,
                "step": row.step,
                "round": row.round,
                "notify": list(step.notify),
                "phones": list(step.phones),
                "via": done.via,
                "late_seconds": round((done.at - row.due_at).total_seconds(), 3),
            },
        )
    )


def _schedule_next(session: Session, config: CityConfig, done: _Fired) -> None:
    row, chain = done.row, done.chain
    if row.step + 1 < len(chain.steps):  # the next step, counted from the phase's deadline
        step_no, round_no = row.step + 1, row.round
        due = done.phase_due + minutes(chain.steps[step_no].after_minutes)
    elif chain.repeat_minutes and stale.is_stale(config, phase_due=done.phase_due, now=done.at):
        # open long past its deadline: out of the repeat loop, into the daily digest (features/tickets/stale.py)
        stale.leave_repeat_loop(session, config=config, ticket_id=done.ticket.id, phase=row.phase)
        return
    elif chain.repeat_minutes:  # the last step again, until someone answers
        step_no, round_no = row.step, row.round + 1
        due = row.due_at + minutes(chain.repeat_minutes)
    else:
        return
    schedule(
        session, ticket_id=done.ticket.id, chain=row.chain, phase=row.phase, step=step_no, round_=round_no, due=due
    )
