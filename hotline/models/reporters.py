"""The extra reporters of a ticket: later reports of the same incident, merged instead of opening their own."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class ReporterStatus(StrEnum):
    """A merged report's `status` (TicketReporter; stored as the word)."""

    LINKED = "linked"  # on the ticket, told every update
    SPLIT = "split"  # an operator made it its own ticket (split_into_ticket_id)
    WITHDRAWN = "withdrawn"  # the reporter sent BATAL for it
    PRIMARY = "primary"  # became the ticket's reporter when the first one withdrew


class TicketReporter(Base):
    """One merged report, kept whole: who, by which channel, what they said and where, and why it was merged."""

    __tablename__ = "ticket_reporters"
    __table_args__ = (
        Index("ix_ticket_reporters_ticket_status", "ticket_id", "status"),
        Index("ix_ticket_reporters_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    phone: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="id")
    text: Mapped[str] = mapped_column(Text, default="")
    location_text: Mapped[str | None] = mapped_column(String(500))
    desa: Mapped[str | None] = mapped_column(String(100))
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    urgent: Mapped[bool] = mapped_column(default=False)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rule: Mapped[str] = mapped_column(String(16))  # near_gps | same_desa | similar_text (hotline/duplicates.py)
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=ReporterStatus.LINKED)  # ReporterStatus
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # split, withdrawn or made primary
    split_into_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
