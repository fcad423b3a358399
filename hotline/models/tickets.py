"""Tickets (one citizen report) and their timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.models.base import Base, UTCDateTime, utcnow


class TicketStatus(StrEnum):
    """A ticket's state, `tickets.status` (the moves allowed: features/tickets/tickets.py TRANSITIONS). A member is
    its word: it equals, hashes and is stored as the string, so rows and JSON written before read the same."""

    NEW = "new"  # a row being made, before it is routed or waits for a category
    AWAITING_CATEGORY = "awaiting_category"  # the command center sorts it
    ROUTED = "routed"  # an agency's URC alerted, nobody accepted yet
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


OPEN = (TicketStatus.AWAITING_CATEGORY, TicketStatus.ROUTED, TicketStatus.ACCEPTED, TicketStatus.ON_SITE)
CLOSED = (TicketStatus.RESOLVED, TicketStatus.CANCELLED)
WORKING = (TicketStatus.ACCEPTED, TicketStatus.ON_SITE)  # a crew has it: the resolve deadline runs


def _in(states: tuple[TicketStatus, ...]) -> str:
    return f"status IN ({', '.join(repr(str(s)) for s in states)})"


OPEN_WHERE = _in(OPEN)  # the partial indexes' conditions
ROUTED_WHERE = f"status = '{TicketStatus.ROUTED}'"
WORKING_WHERE = _in(WORKING)


def _partial(name: str, columns: list[str], where: str) -> Index:
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


class Ticket(Base):
    """The ticket's id is its human-friendly number: short enough to type as `TERIMA 123`."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_reporter_status", "reporter_phone", "status"),
        Index("ix_tickets_status_created", "status", "created_at"),
        # The duplicate lookup (hotline/features/merging/merging.py): open tickets of one category, newest first.
        Index("ix_tickets_category_status_created", "category", "status", "created_at"),
        # The same when the report names a desa: that desa's tickets and those with none, not the whole category.
        Index("ix_tickets_category_desa_created", "category", "desa", "created_at"),
        # Open tickets only (2 % of the rows after years): lists of open tickets, the board, the stale digest
        # (migration 0013). The WHERE must stay the same as OPEN_STATUSES for the planner to use them.
        # The page of numbers of an "open" list comes from this index alone (features/tickets/ticket_queries.py).
        _partial(
            "ix_tickets_open",
            ["id", "agency_id", "status", "accept_due_at", "resolve_due_at", "category", "kecamatan"],
            OPEN_WHERE,
        ),
        # The console map (features/map/markers.py, migration 0019): every column it reads of an open ticket, so
        # its counts per desa and its markers come from this small index, not from heap pages across the history.
        _partial(
            "ix_tickets_open_map",
            [
                *("priority", "desa", "latitude", "longitude", "id", "agency_id", "category", "status"),
                *("kecamatan", "accept_due_at", "resolve_due_at"),
            ],
            OPEN_WHERE,
        ),
        _partial("ix_tickets_routed_due", ["agency_id", "accept_due_at"], ROUTED_WHERE),
        _partial("ix_tickets_working_due", ["agency_id", "resolve_due_at"], WORKING_WHERE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | voice | web
    reporter_phone: Mapped[str] = mapped_column(String(32))  # E.164, or a raw sender id
    language: Mapped[str] = mapped_column(String(8), default="id")
    category: Mapped[str | None] = mapped_column(String(32), index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    location_text: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(24), default=TicketStatus.NEW)  # a TicketStatus
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    urc_id: Mapped[int | None] = mapped_column(ForeignKey("urcs.id"))
    routing_rule: Mapped[str | None] = mapped_column(String(100))
    desa: Mapped[str | None] = mapped_column(String(100))
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    accepted_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    category_prompts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_site_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # index: the wallboard's "finished today" (migration 0019) reads today's rows only
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reporter sent BATAL while a crew may be on its way (accepted, on site, or critical): the ticket stays
    # open until an operator confirms or keeps it (hotline/features/tickets/cancel_requests.py). None: no request open.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Pinned when routed, so editing routing/ never changes a live ticket's deadlines or chain.
    sla_accept_minutes: Mapped[float | None] = mapped_column(Float)
    sla_resolve_minutes: Mapped[float | None] = mapped_column(Float)
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_chain: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A report the citizen did not finish (hung up mid-call, or went to the operator): the node where
    # they stopped, so an operator knows what is missing and can call back.
    partial: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    partial_node: Mapped[str | None] = mapped_column(String(64))
    # Where it happened, when the report came with GPS (Open311, the API): the near-GPS duplicate rule uses it.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # The first reporter plus the linked ones still on the ticket (ticket_reporters): what raises priority.
    reporter_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> int:
        return self.id


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    # The scorecard's "reopened" EXISTS: one kind of one ticket (migration 0013).
    # Open311's updates poll a window of time across every ticket (hotline/features/open311/updates.py, 0025).
    __table_args__ = (Index("ix_ticket_events_kind_ticket", "kind", "ticket_id"), Index("ix_ticket_events_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class EscalationStatus(StrEnum):
    """An escalation step's `status` (stored as the word)."""

    PENDING = "pending"  # its timer set
    FIRED = "fired"  # its people told (at most once)
    CANCELLED = "cancelled"  # the ticket moved on first


class EscalationPhase(StrEnum):
    """What a step of an escalation chain waits for: `escalations.phase` (stored as the word)."""

    ACCEPT = "accept"  # someone to accept a routed ticket (the accept deadline)
    RESOLVE = "resolve"  # an accepted ticket to be resolved (the resolve deadline)


class Escalation(Base):
    """One timer: step `step` (round `round`) of a ticket's pinned chain for one phase (accept|resolve).

    The database is the truth; RQ scheduled jobs only wake the workers. A row fires at most once."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint(
            "ticket_id", "chain", "phase", "step", "round", name="uq_escalations_ticket_chain_phase_step_round"
        ),
        Index("ix_escalations_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    # 0 for the chain pinned when the ticket was first routed, 1 after a re-route, ...: each routing
    # starts its steps afresh, and the rows of an earlier chain stay as history.
    chain: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    phase: Mapped[str] = mapped_column(String(16))  # EscalationPhase
    step: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.PENDING)  # EscalationStatus
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
