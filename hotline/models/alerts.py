"""Alerts that fail over: one row per alert to one person, one row per channel it was tried on."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class AlertDeliveryStatus(StrEnum):
    """An alert delivery's `status` (stored as the word, like every StrEnum here)."""

    PENDING = "pending"  # waiting on channels[position]
    DELIVERED = "delivered"
    STOPPED = "stopped"  # the ticket was accepted, closed or re-routed first
    EXHAUSTED = "exhausted"  # every channel failed


class AlertAttemptStatus(StrEnum):
    """An alert attempt's `status`: the alert on one channel."""

    QUEUED = "queued"  # made; its SMS or call not out yet
    CALLING = "calling"  # a voice alert's call being placed
    SENT = "sent"  # the SMS left, or the call was placed
    DELIVERED = "delivered"  # settled from here on (SETTLED in features/alerts/failover.py)
    ANSWERED = "answered"  # a voice alert picked up
    FAILED = "failed"
    TIMEOUT = "timeout"  # no delivery report within the agency's timeout
    UNAVAILABLE = "unavailable"  # this deployment cannot send on the channel
    CANCELLED = "cancelled"  # a queued voice alert no longer needed


EXHAUSTED_WHERE = f"status = '{AlertDeliveryStatus.EXHAUSTED}'"  # the partial index's condition


class AlertDelivery(Base):
    """An alert (a ticket's URC alert, or one escalation step) to one phone, and where its failover stands.

    `channels` is the agency's list as pinned on the ticket; `position` the channel now being waited on;
    `due_at` the moment that channel counts as failed without a delivery report (None once settled).
    The database is the truth: Redis timers only wake the workers (hotline/jobs/alert_failover.py)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index("ix_alert_deliveries_status_due", "status", "due_at"),
        # The board's "not reached" count: exhausted deliveries only (migration 0013).
        Index(
            "ix_alert_deliveries_exhausted",
            "ticket_id",
            postgresql_where=text(EXHAUSTED_WHERE),
            sqlite_where=text(EXHAUSTED_WHERE),
        ),
        # The settled deliveries /metrics has not folded into its counts yet (hotline/alert_counts.py, 0024).
        Index(
            "ix_alert_deliveries_not_counted",
            "id",
            postgresql_where=text("NOT counted"),
            sqlite_where=text("NOT counted"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    phone: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(24))  # alert | escalation
    body: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=AlertDeliveryStatus.PENDING)  # AlertDeliveryStatus
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Folded into /metrics' counts once settled (hotline/alert_counts.py): never read again by the refresher.
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AlertAttempt(Base):
    """The alert on one channel. Unique per (delivery, channel): a member never gets the same alert twice on
    the same channel, however often a callback or a job is repeated."""

    __tablename__ = "alert_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "channel", name="uq_alert_attempts_delivery_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("alert_deliveries.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | sms_backup | voice
    position: Mapped[int] = mapped_column(Integer)
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"), unique=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AlertAttemptStatus.QUEUED)  # AlertAttemptStatus
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
