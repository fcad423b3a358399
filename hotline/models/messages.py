"""Inbound and outbound SMS, and citizens who opted out."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class InboundStatus(StrEnum):
    """An inbound SMS's `status`: whether it has been turned into work yet (stored as the word)."""

    RECEIVED = "received"  # stored, its job not done yet (the sweeper queues it again after INBOUND_GRACE)
    PROCESSED = "processed"  # handled: `outcome` says how
    FAILED = "failed"  # its handler raised: `error` says why


class InboundMessage(Base):
    """Stored before anything else happens; `status` says whether it has been turned into work yet."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))  # the gateway's configured name (twilio, kannel, modem1...)
    # The gateway's id for it, as "<gateway>:<id>" (Twilio's bare): hotline/features/sms/sms_intake.py namespaced_sid
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_raw: Mapped[str] = mapped_column(String(64))
    from_e164: Mapped[str] = mapped_column(String(32), index=True)
    to_number: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=InboundStatus.RECEIVED)  # InboundStatus
    outcome: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboundStatus(StrEnum):
    """An outbox row's `status`. A member is its word (equal, hashed and stored as the string), so rows written
    before read the same. The delivery-report words are the gateways' reports in our words
    (hotline/channels/gateway.py DeliveryStatus; features/alerts/delivery.py RANK keeps them from moving back)."""

    QUEUED = "queued"  # waiting for its job (again, after a retryable error)
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"  # a gateway took it
    SUPPRESSED = "suppressed"  # the recipient opted out: never sent
    FAILED = "failed"  # for good (or reported failed)
    SIMULATED = "simulated"  # made by `hotline simulate`: kept, never sent
    ACCEPTED = "accepted"  # delivery reports from here on
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


class OutboundPurpose(StrEnum):
    """What an outbox row is for (`purpose`): the gateways' list it takes (features/sms/sms_routes.py), its queue
    lane (core/outbox.py), whether it fails over (features/alerts/failover.py) and its WhatsApp template."""

    REPLY = "reply"  # an answer to a citizen's SMS or call
    NOTIFY = "notify"  # news of their ticket to a citizen
    OPERATOR = "operator"  # an operator's message from the console
    ADVICE = "advice"  # a field officer's advice to a farmer (SARAN)
    OPTOUT_ACK = "optout_ack"  # the one SMS an opted-out number still gets
    ALERT = "alert"  # a URC team called out
    ESCALATION = "escalation"  # an escalation step's alert
    BROADCAST = "broadcast"  # an early warning
    FARM_OUTBREAK = "farm_outbreak"  # the heads told of an outbreak
    DIGEST = "digest"  # the daily stale-ticket digest


class OutboundMessage(Base):
    """The outbox: a row per SMS we owe someone; jobs deliver it after the transaction commits."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_status_next", "status", "next_attempt_at"),
        # The daily stale-ticket digest: was today's sent? (hotline/features/tickets/stale.py, migration 0013)
        Index(
            "ix_outbound_digest_created",
            "created_at",
            postgresql_where=text("purpose = 'digest'"),
            sqlite_where=text("purpose = 'digest'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_number: Mapped[str] = mapped_column(String(32), index=True)
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(24))  # OutboundPurpose
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboundStatus.QUEUED)  # OutboundStatus
    provider: Mapped[str | None] = mapped_column(String(16))  # the type of gateway that took it (twilio, kannel...)
    gateway: Mapped[str | None] = mapped_column(String(16))  # the configured gateway that took it
    # None: along its purpose's gateways; "sms_backup": an alert failing over, along the gateways not tried yet.
    channel: Mapped[str | None] = mapped_column(String(16))
    # "<gateway>:<the gateway's id>": a Gammu outbox file name is up to 67 characters, a gateway name 16 (0013)
    provider_sid: Mapped[str | None] = mapped_column(String(128), unique=True)
    # What a channel with buttons may offer besides the text (hotline/core/outbox.py Choices): WhatsApp shows
    # a list, reply buttons or a location request; SMS gateways send the text, which says the same.
    choices: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OptOut(Base):
    __tablename__ = "opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
