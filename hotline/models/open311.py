"""Open311 partner apps: their API keys, what each report they filed carried, the photos they sent, and the
updates they posted on their reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class PartnerKey(Base):
    """An Open311 `api_key` of one partner app (not a person): it files and reads requests on /open311/v2 and
    opens nothing else. Only its SHA-256 is stored; the key is shown once when made."""

    __tablename__ = "partner_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # the app, e.g. "batt-app"
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    per_minute: Mapped[int] = mapped_column(Integer, default=30)  # requests filed a minute before 429
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Open311Submission(Base):
    """One POST requests.{fmt}: the ticket it made or joined, the partner, and the fields GeoReport carries that a
    ticket has no column for (kept for the console, never shown on /open311/v2). `token` answers tokens/{id}."""

    __tablename__ = "open311_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    partner_key_id: Mapped[int] = mapped_column(ForeignKey("partner_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))
    address_id: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # code -> value or [values]
    media_urls: Mapped[list[str]] = mapped_column(JSON, default=list)


class TicketAttachment(Base):
    """A file that came with a report (an Open311 `media` upload). In the database, so every API replica and a
    backup have it; the size is capped when it is received (HOTLINE_OPEN311_MEDIA_BYTES)."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("open311_submissions.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Open311UpdateReceipt(Base):
    """An update a partner posted on one of its reports (POST servicerequestupdates), by the partner's own id for
    it (FixMyStreet's comment id), and the ticket event it became. The same id again (FixMyStreet posts again when
    it did not get the answer) is answered with the same event, never added twice."""

    __tablename__ = "open311_update_receipts"
    __table_args__ = (UniqueConstraint("partner_key_id", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_key_id: Mapped[int] = mapped_column(ForeignKey("partner_keys.id"))
    update_id: Mapped[str] = mapped_column(String(100))
    ticket_event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
