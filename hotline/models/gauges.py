"""Counts the database keeps of itself for /metrics (hotline/gauge_triggers.py writes, hotline/gauges.py reads)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base


class GaugeCount(Base):
    """A family's count for one set of labels (a JSON array text), as of the last fold of the deltas."""

    __tablename__ = "gauge_counts"
    __table_args__ = (PrimaryKeyConstraint("family", "labels", name="pk_gauge_counts"),)

    family: Mapped[str] = mapped_column(String(48))
    labels: Mapped[str] = mapped_column(String(400))
    n: Mapped[int] = mapped_column(BigInteger)


class GaugeDelta(Base):
    """+1 or -1 for a family's labels, appended by a trigger in the transaction that inserted, deleted or changed
    a counted row; folded into gauge_counts by the metrics refresher."""

    __tablename__ = "gauge_deltas"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    family: Mapped[str] = mapped_column(String(48))
    labels: Mapped[str] = mapped_column(String(400))
    delta: Mapped[int] = mapped_column(Integer)
