"""The junk-call shield's log: one row per decision about a caller's number (hotline/features/shield/shield.py).

Append-only except for `done_at`, which closes a row that waits for something: a verification SMS
(answered "1"), a callback (an operator called the number back) or a flag (an operator cleared it).
Counting calls per number for the rate limits reads this table by (phone, at): one `allowed`,
`rate_limited` or `queued_last` row per call, so no scan of `calls`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class CallScreening(Base):
    __tablename__ = "call_screening"
    __table_args__ = (
        Index("ix_call_screening_phone_at", "phone", "at"),
        Index("ix_call_screening_decision_at", "decision", "at"),
        # the console's lists, newest first, paged by (at, id) (hotline/features/shield/shield_report.py)
        Index("ix_call_screening_at_id", "at", "id"),
        Index(
            "ix_call_screening_held_at_id",
            "at",
            "id",
            postgresql_where=text("decision <> 'allowed'"),
            sqlite_where=text("decision <> 'allowed'"),
        ),
        Index(
            "ix_call_screening_flag_until",
            "until",
            postgresql_where=text("decision = 'flagged' AND done_at IS NULL"),
            sqlite_where=text("decision = 'flagged' AND done_at IS NULL"),
        ),
        Index(
            "ix_call_screening_callback_at_id",
            "at",
            "id",
            postgresql_where=text("decision = 'callback_queued' AND done_at IS NULL"),
            sqlite_where=text("decision = 'callback_queued' AND done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    phone: Mapped[str] = mapped_column(String(32))  # E.164, or the raw caller id
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    # allowed | silent | rate_limited | flagged | queued_last | verification_sent | callback_queued |
    # confirmed | cleared | called_back | prank (hotline/features/shield/shield.py DECISIONS)
    decision: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(200), default="")
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the limit values that applied
    actor: Mapped[str] = mapped_column(String(64), default="system")  # system, an operator, the caller's number
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a flag's or a verification's end
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # answered / called back / cleared
