"""The table of due work: one row per deadline some job must act on (hotline/jobs/timers.py fires them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class Timer(Base):
    """Work of kind `kind` (a registered handler: escalation, failover, activation, ...) on row `ref` of that
    kind's own table, with `seq` telling apart several deadlines of one row (an alert's channel position).

    The row is the truth; Redis only wakes a releaser at `due_at`. It is deleted in the transaction that
    fires it (or finds there is nothing left to do), so what is here is exactly what is still due."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("kind", "ref", "seq", name="uq_timers_kind_ref_seq"),
        Index("ix_timers_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
