"""Who gets early warnings: subscribe (SMS, WhatsApp, a CSV the city imports), leave, counts per desa."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline.features.accounts.audit import audit
from hotline.models import OptOut, Subscriber, utcnow

# whatsapp: the Cloud API's (a WhatsApp gateway); twilio_whatsapp: WhatsApp through a Twilio gateway (`whatsapp:`)
CHANNELS = ("sms", "whatsapp", "twilio_whatsapp")


def subscribe(
    session: Session,
    *,
    phone: str,
    desa: str,
    kecamatan: str,
    language: str,
    channel: str,
    source: str,
    consent: str,
) -> Subscriber:
    """Subscribe, or move a subscriber to another desa. Subscribing again lifts an earlier BERHENTI: it is the
    person asking, by their own SMS (or the city's import with their recorded consent)."""
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r}: one of {', '.join(CHANNELS)}")
    subscriber = session.scalar(select(Subscriber).where(Subscriber.phone == phone).with_for_update())
    if subscriber is None:
        subscriber = Subscriber(phone=phone)
        session.add(subscriber)
    subscriber.desa, subscriber.kecamatan, subscriber.language = desa, kecamatan, language
    subscriber.channel, subscriber.source, subscriber.consent = channel, source, consent
    subscriber.active, subscriber.updated_at = True, utcnow()
    if source != "csv":  # a list cannot lift someone's own BERHENTI; their own DAFTAR can
        session.query(OptOut).filter(OptOut.phone == phone).delete()
    session.flush()
    audit(
        session,
        actor=phone if source != "csv" else "csv",
        action="subscriber.subscribe",
        target_type="subscriber",
        target_id=subscriber.id,
        desa=desa,
        source=source,
    )
    return subscriber


def unsubscribe(session: Session, *, phone: str) -> bool:
    changed = session.execute(
        update(Subscriber).where(Subscriber.phone == phone, Subscriber.active).values(active=False, updated_at=utcnow())
    )
    return bool(getattr(changed, "rowcount", 0))


def counts_per_desa(session: Session) -> dict[str, int]:
    """Active subscribers per desa, opt-outs left out (they would get nothing)."""
    stmt = (
        select(Subscriber.desa, func.count())
        .where(Subscriber.active, ~select(OptOut.phone).where(OptOut.phone == Subscriber.phone).exists())
        .group_by(Subscriber.desa)
        .order_by(Subscriber.desa)
    )
    return {desa: int(n) for desa, n in session.execute(stmt)}
