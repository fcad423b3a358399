"""Agencies, their rapid-response units (URC) and members, mirrored from routing/ data."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.models.base import Base


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sms_name: Mapped[str] = mapped_column(String(40), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    urcs: Mapped[list[Urc]] = relationship(back_populates="agency")


class Urc(Base):
    __tablename__ = "urcs"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    agency: Mapped[Agency] = relationship(back_populates="urcs")
    members: Mapped[list[Member]] = relationship(back_populates="urc")


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("urc_id", "phone", name="uq_members_urc_phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    urc_id: Mapped[int] = mapped_column(ForeignKey("urcs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    role: Mapped[str] = mapped_column(String(32), default="member")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    urc: Mapped[Urc] = relationship(back_populates="members")
