"""Photos, voice notes and documents that came with a message (WhatsApp media, Twilio MMS), fetched after the
message was stored (their URLs expire: WhatsApp's within minutes of asking) and kept under the data dir."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class MediaStatus(StrEnum):
    """A media item's `status` (stored as the word)."""

    PENDING = "pending"  # to fetch (again, after a failure: next_attempt_at)
    STORED = "stored"  # kept under the data dir (or the media store)
    REFUSED = "refused"  # too big, or not what it claims to be
    FAILED = "failed"  # gave up fetching it


class MediaItem(Base):
    __tablename__ = "media_items"
    __table_args__ = (Index("ix_media_items_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    sender: Mapped[str] = mapped_column(String(32), index=True)  # E.164 of who sent it
    role: Mapped[str] = mapped_column(String(16), default="report")  # report | after (a crew's SELESAI photo)
    gateway: Mapped[str] = mapped_column(String(16))  # the configured gateway that fetches it
    ref: Mapped[str] = mapped_column(Text)  # WhatsApp media id, Twilio MediaUrl
    kind: Mapped[str] = mapped_column(String(16))  # image | voice | audio | video | document | sticker
    claimed_type: Mapped[str] = mapped_column(String(100))  # what the gateway said it is
    content_type: Mapped[str | None] = mapped_column(String(100))  # what the bytes are (sniffed)
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(String(300))  # under HOTLINE_DATA_DIR/media/
    status: Mapped[str] = mapped_column(String(16), default=MediaStatus.PENDING)  # MediaStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)  # the photo's own EXIF GPS, when it had one
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
