"""One decision for every channel: does a new categorised report open a ticket, or join an open one?

The rules are the city's (routing/merging.yaml), the matching is pure (hotline/duplicates.py). Here: one
indexed query for the candidates (open tickets of the category created within the window), and what a
merge does. A merged report is never lost: it becomes a `ticket_reporters` row with its own words and
place, and a `merged` timeline event with the rule and score. It calls no team out; but when the reporters
pile up to a `priority_at` step the priority rises (never falls), which is written on the timeline and,
while no one has accepted the ticket yet, sent to its URC once per rise ("N laporan").

The pinned deadlines do not change with the priority: the agency is judged on what it was given when it
was alerted (DESIGN habit 7), and the urgency alert tells the team the rest.

On PostgreSQL the decision holds a transaction-scoped advisory lock per category, so two workers taking
two reports of the same landslide at the same moment cannot both open a ticket.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import PRIORITIES, MergeRule
from hotline.duplicates import Candidate, Match, NewReport, Place, find_duplicate, priority_for
from hotline.features.merging.reporters import linked_row
from hotline.features.tickets.place import fill_missing
from hotline.features.tickets.tickets import OPEN_STATUSES, message_team, open_ticket, record
from hotline.models import OutboundPurpose, ReporterStatus, Ticket, TicketReporter, TicketStatus, utcnow
from hotline.router import initial_priority

MAX_CANDIDATES = 500  # newest first; in a disaster more than this in one category and window is one city-wide event
LOCK_NAMESPACE = 0x4D455247  # "MERG": the first key of pg_advisory_xact_lock(int, int)


@dataclass(frozen=True)
class Intake:
    """What became of a report: its own new ticket, or `ticket` is the open one it joined."""

    ticket: Ticket
    match: Match | None = None
    reporter: TicketReporter | None = None  # the linked row; None for a new ticket or a repeat
    repeat: bool = False  # someone already on the ticket reported it again: their words were added

    @property
    def merged(self) -> bool:
        return self.match is not None


def candidate_query(
    *, category: str, rule: MergeRule, report: NewReport
) -> Select[int, str, str | None, str | None, float | None, float | None, datetime]:
    """Open tickets of the category created within the window, newest first (ix_tickets_category_status_created).
    A ticket in another desa or kecamatan is left out here already: the matcher would rule it out anyway."""
    since = report.at - timedelta(minutes=rule.window_minutes)
    stmt = (
        select(
            Ticket.id,
            Ticket.text,
            Ticket.desa,
            Ticket.kecamatan,
            Ticket.latitude,
            Ticket.longitude,
            Ticket.created_at,
        )
        .where(Ticket.category == category, Ticket.status.in_(OPEN_STATUSES), Ticket.created_at >= since)
        .order_by(Ticket.created_at.desc())
        .limit(MAX_CANDIDATES)
    )
    # Every channel stores the desa and kecamatan names of routing/areas.yaml as they are written there, so
    # plain equality (ix_tickets_category_desa_created) finds them.
    for column, value in ((Ticket.desa, report.place.desa), (Ticket.kecamatan, report.place.kecamatan)):
        if value:
            stmt = stmt.where(or_(column.is_(None), column == value))
    return stmt


def candidates(session: Session, *, category: str, rule: MergeRule, report: NewReport) -> list[Candidate]:
    stmt = candidate_query(category=category, rule=rule, report=report)
    return [
        Candidate(row.id, row.text or "", Place(row.desa, row.kecamatan, row.latitude, row.longitude), row.created_at)
        for row in session.execute(stmt)
    ]


def lock_category(session: Session, category: str) -> None:
    """Serialise duplicate decisions per category until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(category.encode()) - 2**31  # into int4
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": key})


def find_match(session: Session, *, config: CityConfig, category: str, report: NewReport) -> Match | None:
    rule = config.merging.for_category(category)
    if not rule.enabled:
        return None
    lock_category(session, category)
    return find_duplicate(report, candidates(session, category=category, rule=rule, report=report), rule)


def open_or_merge(
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
    inbound_id: int | None = None,
    call_id: int | None = None,
    merge: bool = True,
    activate: bool = True,
    priority: str | None = None,
) -> Intake:
    """Join the open ticket this report duplicates, or open (and route) a new one. `merge=False` always opens;
    `activate=False` leaves a new ticket's deadlines and URC alert to a job (tickets.route_ticket)."""
    place = Place(desa, kecamatan, latitude, longitude)
    if merge and category is not None:
        match = find_match(session, config=config, category=category, report=NewReport(text, place, utcnow()))
        ticket = session.get(Ticket, match.ticket_id, with_for_update=True) if match else None
        if match and ticket is not None and ticket.status in OPEN_STATUSES:
            return _merge(
                session,
                config=config,
                ticket=ticket,
                match=match,
                row=TicketReporter(
                    ticket_id=ticket.id,
                    phone=reporter,
                    channel=channel,
                    language=language,
                    text=text,
                    location_text=location,
                    desa=desa,
                    kecamatan=kecamatan,
                    latitude=latitude,
                    longitude=longitude,
                    urgent=urgent,
                    inbound_id=inbound_id,
                    call_id=call_id,
                    rule=match.rule,
                    score=match.score,
                ),
            )
    ticket = open_ticket(
        session,
        config=config,
        channel=channel,
        reporter=reporter,
        text=text,
        language=language,
        category=category,
        urgent=urgent,
        location=location,
        desa=desa,
        kecamatan=kecamatan,
        latitude=latitude,
        longitude=longitude,
        activate=activate,
        priority=priority,
    )
    return Intake(ticket)


def _merge(session: Session, *, config: CityConfig, ticket: Ticket, match: Match, row: TicketReporter) -> Intake:
    now = utcnow()
    ticket.updated_at = now
    if row.phone.startswith("+") and (
        row.phone == ticket.reporter_phone or linked_row(session, ticket_id=ticket.id, phone=row.phone)
    ):
        # The same person again: their words join the ticket, they are not counted twice.
        if row.text.strip():
            ticket.text = f"{ticket.text}\n{row.text.strip()}".strip()
        record(session, ticket, "info_added", actor=row.phone, note=row.text or None, rule=match.rule, repeat=True)
        _fill_place(session, config=config, ticket=ticket, row=row)  # "KEBAKARAN", then "KEBAKARAN di Jl. ..."
        return Intake(ticket, match, repeat=True)
    session.add(row)
    session.flush()
    ticket.reporter_count = count_reporters(session, ticket.id)
    record(
        session,
        ticket,
        "merged",
        actor=row.phone,
        note=row.text or None,
        rule=match.rule,
        score=match.score,
        reason=match.reason,
        channel=row.channel,
        reporter_id=row.id,
        reporters=ticket.reporter_count,
    )
    _fill_place(session, config=config, ticket=ticket, row=row)
    raise_priority(session, config=config, ticket=ticket, urgent=row.urgent, actor=row.phone)
    return Intake(ticket, match, reporter=row)


def count_reporters(session: Session, ticket_id: int) -> int:
    linked = session.scalar(
        select(func.count())
        .select_from(TicketReporter)
        .where(TicketReporter.ticket_id == ticket_id, TicketReporter.status == ReporterStatus.LINKED)
    )
    return 1 + (linked or 0)


def _fill_place(session: Session, *, config: CityConfig, ticket: Ticket, row: TicketReporter) -> None:
    """A later reporter may know more of the place than the first: fill only what the ticket lacks (and the
    crew, alerted already, hears the place it lacked)."""
    if ticket.latitude is None and row.latitude is not None and row.longitude is not None:
        ticket.latitude, ticket.longitude = row.latitude, row.longitude
    fill_missing(
        session,
        config=config,
        ticket=ticket,
        actor=row.phone,
        source="merge",
        location=row.location_text,
        desa=row.desa,
        kecamatan=row.kecamatan,
        inbound_id=row.inbound_id,
    )


def raise_priority(session: Session, *, config: CityConfig, ticket: Ticket, urgent: bool, actor: str) -> bool:
    """Raise the priority to what the reporter count (or a merged report's urgent words) asks; never lower it.
    True when it rose. A ticket nobody accepted yet gets one alert to its URC per rise."""
    rule = config.merging.for_category(ticket.category)
    wanted = priority_for(ticket.reporter_count, ticket.priority, rule.priority_at, PRIORITIES)
    if urgent:
        by_words = initial_priority(config.category(ticket.category), True)
        wanted = min(wanted, by_words, key=PRIORITIES.index)
    if wanted == ticket.priority:
        return False
    previous, ticket.priority = ticket.priority, wanted
    record(
        session,
        ticket,
        "priority_raised",
        actor=actor,
        previous=previous,
        priority=wanted,
        reporters=ticket.reporter_count,
    )
    if ticket.status == TicketStatus.ROUTED and ticket.urc_id is not None:
        members = message_team(
            session,
            config=config,
            ticket=ticket,
            urc_id=ticket.urc_id,
            key="more_reports",
            purpose=OutboundPurpose.ALERT,
            reporters=ticket.reporter_count,
        )
        record(session, ticket, "urgency_alerted", members=[m.phone for m in members], priority=wanted)
    return True
