"""Subscribers of early warnings, broadcasts to desa and each recipient's way through the sender (issue 21)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class Subscriber(Base):
    """One phone that wants early warnings for one desa. BERHENTI (opt_outs) still wins at every send."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    desa: Mapped[str] = mapped_column(String(64), index=True)
    kecamatan: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="id")
    channel: Mapped[str] = mapped_column(String(16), default="sms")  # sms | whatsapp (sent by the lead's merge)
    source: Mapped[str] = mapped_column(String(16))  # sms | whatsapp | csv
    consent: Mapped[str] = mapped_column(Text)  # how the person agreed: their SMS, or the CSV's consent column
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BroadcastStatus(StrEnum):
    """A broadcast's `status` (stored as the word, like every StrEnum beside a model)."""

    DRAFT = "draft"  # waiting for a second person's approval
    SENDING = "sending"  # approved: its recipients listed, the sender at work
    DONE = "done"  # no recipient left to send to
    CANCELLED = "cancelled"


class RecipientStatus(StrEnum):
    """A broadcast recipient's `status`: its SMS's way through the sender (BroadcastRecipient)."""

    QUEUED = "queued"  # waiting for the sender (again, after a retryable error)
    SENDING = "sending"  # claimed, committed before the gateway sees it
    SENT = "sent"  # a gateway took it
    DELIVERED = "delivered"  # the gateway's delivery report
    FAILED = "failed"  # for good (or reported undelivered)
    SKIPPED = "skipped"  # opted out (BERHENTI) by the time it was claimed
    CANCELLED = "cancelled"  # the broadcast was cancelled before it was sent


class Broadcast(Base):
    """A warning to one or more desa: drafted by one person, approved by another, then sent by the sender."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard: Mapped[str] = mapped_column(String(32))
    desa: Mapped[list[str]] = mapped_column(JSON)  # the desa it goes to (kecamatan chosen are expanded)
    body_id: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    checkin_minutes: Mapped[int | None] = mapped_column(Integer)  # None: no AMAN/BANTU asked
    # draft -> sending (approved: recipients listed) -> done | cancelled
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.DRAFT)  # BroadcastStatus
    created_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BroadcastRecipient(Base):
    """One SMS of a broadcast: queued -> sending (claimed, committed before the gateway sees it) -> sent ->
    delivered | failed; or skipped (opted out) / cancelled. A row left `sending` by a killed sender is asked of
    the gateway (find_sent) before it is sent again: none skipped, none doubled."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "phone"),
        Index("ix_broadcast_recipients_status", "status", "next_attempt_at", "id"),
        Index("ix_broadcast_recipients_phone", "phone", "broadcast_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id"))
    phone: Mapped[str] = mapped_column(String(32))
    desa: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="id")
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    status: Mapped[str] = mapped_column(String(16), default=RecipientStatus.QUEUED)  # RecipientStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    gateway: Mapped[str | None] = mapped_column(String(16))
    provider_sid: Mapped[str | None] = mapped_column(String(128), unique=True)  # "<gateway>:<id>" as the outbox
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(String(8))  # aman | bantu
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
