"""'Are you safe?': AMAN and BANTU answers to a broadcast, tallied per desa; BANTU becomes a critical ticket
routed like any report (merged per the merging rules); who has not answered in N minutes is listed to call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.features.merging.merging import open_or_merge
from hotline.models import Broadcast, BroadcastRecipient, RecipientStatus, utcnow

ANSWER_WINDOW = timedelta(hours=24)  # an AMAN/BANTU this long after the warning answers nothing
REACHED = (RecipientStatus.SENT, RecipientStatus.DELIVERED)  # a gateway took the warning


@dataclass(frozen=True)
class Answered:
    outcome: str  # checkin_safe | checkin_help
    recipient_id: int
    ticket_id: int | None
    language: str


def open_question(session: Session, *, phone: str) -> BroadcastRecipient | None:
    """This phone's latest broadcast that asked AMAN/BANTU and was sent to it within the window."""
    r = BroadcastRecipient
    stmt = (
        select(r)
        .join(Broadcast, Broadcast.id == r.broadcast_id)
        .where(
            r.phone == phone,
            r.status.in_(REACHED),
            Broadcast.checkin_minutes.is_not(None),
            r.sent_at >= utcnow() - ANSWER_WINDOW,
        )
        .order_by(r.id.desc())
        .limit(1)
        .with_for_update()
    )
    return session.scalar(stmt)


def answer(
    session: Session,
    *,
    config: CityConfig,
    phone: str,
    word: str,
    text: str,
    inbound_id: int | None,
    channel: str = "sms",
) -> Answered | None:
    """None when the phone has no open check-in (the SMS is then handled as any other)."""
    data = broadcast_data(config)
    meaning, language = data.words.get(word.upper(), (None, "id"))
    if meaning not in ("safe", "help"):
        return None
    recipient = open_question(session, phone=phone)
    if recipient is None:
        return None
    language = recipient.language
    # BANTU wins over an earlier AMAN (things change); AMAN after BANTU keeps the ticket and says safe.
    recipient.reply, recipient.replied_at = ("bantu" if meaning == "help" else "aman"), utcnow()
    if meaning == "safe":
        return Answered("checkin_safe", recipient.id, recipient.ticket_id, language)
    if recipient.ticket_id is not None:
        return Answered("checkin_help", recipient.id, recipient.ticket_id, language)
    broadcast = session.get(Broadcast, recipient.broadcast_id)
    assert broadcast is not None
    hazard = data.hazards.get(broadcast.hazard)
    kecamatan = config.kecamatan_of(recipient.desa)
    intake = open_or_merge(
        session,
        config=config,
        channel=channel,  # where the BANTU came from: sms | whatsapp
        reporter=phone,
        text=f"{text.strip()} (BANTU: peringatan No. {broadcast.id}, {recipient.desa})",
        language=language,
        category=hazard.category if hazard else None,
        urgent=True,
        desa=recipient.desa,
        kecamatan=kecamatan,
        location=recipient.desa,
        inbound_id=inbound_id,
        priority="critical",
    )
    recipient.ticket_id = intake.ticket.id
    return Answered("checkin_help", recipient.id, intake.ticket.id, language)


@dataclass(frozen=True)
class DesaTally:
    desa: str
    recipients: int
    sent: int
    aman: int
    bantu: int
    silent: int  # sent and not answered


def tally(session: Session, *, broadcast_id: int) -> list[DesaTally]:
    r = BroadcastRecipient
    reached = r.status.in_(REACHED)
    stmt = (
        select(
            r.desa,
            func.count(),
            func.sum(case((reached, 1), else_=0)),
            func.sum(case((r.reply == "aman", 1), else_=0)),
            func.sum(case((r.reply == "bantu", 1), else_=0)),
            func.sum(case((reached & r.reply.is_(None), 1), else_=0)),
        )
        .where(r.broadcast_id == broadcast_id)
        .group_by(r.desa)
        .order_by(r.desa)
    )
    return [
        DesaTally(d, int(n), int(s or 0), int(a or 0), int(b or 0), int(q or 0))
        for d, n, s, a, b, q in session.execute(stmt)
    ]


def to_call(session: Session, *, broadcast_id: int) -> list[tuple[str, str]]:
    """(desa, phone) of those sent the question longer than its N minutes ago who have not answered, and those
    who asked for help: whom the command center calls."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.checkin_minutes is None:
        return []
    r = BroadcastRecipient
    cutoff = utcnow() - timedelta(minutes=broadcast.checkin_minutes)
    stmt = (
        select(r.desa, r.phone)
        .where(
            r.broadcast_id == broadcast_id,
            ((r.status.in_(REACHED)) & r.reply.is_(None) & (r.sent_at <= cutoff)) | (r.reply == "bantu"),
        )
        .order_by(r.desa, r.phone)
    )
    return [(d, p) for d, p in session.execute(stmt)]
