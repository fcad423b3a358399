"""Agriculture: the farmer registry (personal data: Dinas Pertanian staff and admins only), the farm facts of a
ticket, and the outbreaks the watch raised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base, UTCDateTime, utcnow


class Farmer(Base):
    """One farmer of the city's registry, known by the phone number they call or text from."""

    __tablename__ = "farmers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164: the number is the farmer's key
    name: Mapped[str] = mapped_column(String(200))
    desa: Mapped[str] = mapped_column(String(100), index=True)
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    kelompok_tani: Mapped[str] = mapped_column(String(200), default="")
    commodities: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of routing/farming.yaml
    land_area_ha: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="import")  # "import" or the console user


class FarmReport(Base):
    """The farm facts of one ticket, fixed when it was routed: who reported (when registered), what and where."""

    __tablename__ = "farm_reports"
    __table_args__ = (Index("ix_farm_reports_sub_created", "subcategory", "created_at"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmers.id"), index=True)
    farmer_name: Mapped[str | None] = mapped_column(String(200))
    kelompok_tani: Mapped[str | None] = mapped_column(String(200))
    subcategory: Mapped[str | None] = mapped_column(String(32))
    commodity: Mapped[str | None] = mapped_column(String(32))
    desa: Mapped[str | None] = mapped_column(String(100))
    kecamatan: Mapped[str | None] = mapped_column(String(100))
    outbreak_id: Mapped[int | None] = mapped_column(ForeignKey("farm_outbreaks.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FarmOutbreak(Base):
    """N reports of one sub-category (and commodity) from neighbouring desa within the window (farming.yaml)."""

    __tablename__ = "farm_outbreaks"

    id: Mapped[int] = mapped_column(primary_key=True)
    subcategory: Mapped[str] = mapped_column(String(32))
    commodity: Mapped[str | None] = mapped_column(String(32))
    desa: Mapped[list[str]] = mapped_column(JSON, default=list)  # the desa of its reports
    places: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # desa -> {count, lat, lon}: its map
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_report_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
