"""Phone calls (one row per call, whatever the transport) and the path each call took through its flow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.models.base import Base, UTCDateTime, utcnow


class CallRecordStatus(StrEnum):
    """A call row's `status`, what operators filter on (features/calls/calls.py call_status derives it from the
    engine's phase). Stored as the word. Not the voice gateway's CallStatus (channels/voice.py): that one is what
    the provider says of a call we placed."""

    RINGING = "ringing"
    IN_PROGRESS = "in-progress"  # in the flow
    QUEUED = "queued"  # waiting for an operator
    WITH_OPERATOR = "with-operator"
    COMPLETED = "completed"


class Call(Base):
    """A call and where it stands. `state` is the engine's `CallState` (pinned flow version included);
    the other columns copy what operators filter on, so nobody has to read the JSON."""

    __tablename__ = "calls"
    # Webhooks are idempotent on the provider's id (Twilio CallSid, ARI channel id).
    __table_args__ = (UniqueConstraint("provider", "provider_call_id", name="uq_calls_provider_call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))  # twilio | asterisk | console
    provider_call_id: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(32), index=True)  # E.164, or the raw id ("anonymous")
    called: Mapped[str] = mapped_column(String(64), default="")
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[str] = mapped_column(String(32))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)  # CallState.to_dict()
    # The media of the last turn, so a retried webhook gets the same answer without stepping again.
    last_media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)  # CallRecordStatus
    outcome: Mapped[str | None] = mapped_column(String(16))  # completed | hung_up | operator
    stopped_at: Mapped[str | None] = mapped_column(String(64))  # the node where the call ended
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    recording_url: Mapped[str | None] = mapped_column(String(1000))
    recording_seconds: Mapped[float | None] = mapped_column(Float)
    recording_transcript: Mapped[str | None] = mapped_column(Text)  # when the transport knows the words
    # The operator queue (hotline/features/calls/call_queue.py): the last Enqueue's priority (emergency, normal,
    # silent, screened) and when the call first joined the queue (kept when it leaves and comes back).
    queue_priority: Mapped[str | None] = mapped_column(String(16))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.seq", cascade="all, delete-orphan"
    )


class CallEvent(Base):
    """One step of the call's path: a node entered (`input` None) or what the caller did there
    ('4', 'no_input', 'invalid:8', 'recorded', 'hangup', 'ticket:12', ...; see hotline/ivr/state.py)."""

    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "seq", name="uq_call_events_call_id_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    seq: Mapped[int] = mapped_column(Integer)  # position in the call's path, from 0
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    node: Mapped[str] = mapped_column(String(64))
    input: Mapped[str | None] = mapped_column(String(64))

    call: Mapped[Call] = relationship(back_populates="events")
