"""Draft, approve (a second person: two-person rule, audited), cancel. Approving lists the recipients."""

from __future__ import annotations

from sqlalchemy import Integer, String, func, insert, literal, select, update
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import LANGUAGES
from hotline.core import broadcast_wake
from hotline.features.accounts.audit import audit
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.features.broadcasts.errors import BadMessage, NotAllowed, NotFound
from hotline.features.broadcasts.places import expand
from hotline.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    OptOut,
    RecipientStatus,
    Subscriber,
    UTCDateTime,
    utcnow,
)
from hotline.sms.encoding import fold, measure

MAX_CHECKIN_MINUTES = 24 * 60


def compose(
    config: CityConfig, *, hazard: str, desa: list[str], checkin: bool, texts: dict[str, str] | None = None
) -> dict[str, str]:
    """The warning per language: the hazard's template (or the supervisor's own text) and the check-in ask."""
    data = broadcast_data(config)
    if hazard not in data.hazards:
        raise BadMessage(f"unknown hazard {hazard!r}: one of {', '.join(sorted(data.hazards))} (sms/broadcasts.yaml)")
    bodies: dict[str, str] = {}
    for lang in LANGUAGES:
        own = (texts or {}).get(lang)
        body = own.strip() if own is not None else data.hazards[hazard].texts[lang].format(desa=", ".join(desa))
        if not body:
            raise BadMessage(f"the {lang} text is empty")
        if checkin:
            body = f"{body} {data.checkin[lang]}"
        bodies[lang] = fold(body, keep_other_scripts=True)
        size = measure(bodies[lang])
        if size.segments > data.max_segments:
            raise BadMessage(
                f"the {lang} text takes {size.segments} SMS parts ({size.length} characters, {size.encoding}); "
                f"at most {data.max_segments} (sms/broadcasts.yaml max_segments): shorten it"
            )
    return bodies


def draft(
    session: Session,
    *,
    config: CityConfig,
    hazard: str,
    areas: list[str],
    author: str,
    checkin_minutes: int | None = None,
    texts: dict[str, str] | None = None,
) -> Broadcast:
    if checkin_minutes is not None and not 1 <= checkin_minutes <= MAX_CHECKIN_MINUTES:
        raise BadMessage(f"check-in minutes must be 1..{MAX_CHECKIN_MINUTES}")
    desa = expand(config, areas)
    bodies = compose(config, hazard=hazard, desa=desa, checkin=checkin_minutes is not None, texts=texts)
    broadcast = Broadcast(
        hazard=hazard,
        desa=desa,
        body_id=bodies["id"],
        body_en=bodies["en"],
        checkin_minutes=checkin_minutes,
        status=BroadcastStatus.DRAFT,
        created_by=author,
        data={},
    )
    session.add(broadcast)
    session.flush()
    audit(
        session,
        actor=author,
        action="broadcast.draft",
        target_type="broadcast",
        target_id=broadcast.id,
        hazard=hazard,
        desa=desa,
    )
    return broadcast


def _locked(session: Session, broadcast_id: int) -> Broadcast:
    broadcast = session.get(Broadcast, broadcast_id, with_for_update=True)
    if broadcast is None:
        raise NotFound(f"no broadcast {broadcast_id}")
    return broadcast


def approve(session: Session, *, broadcast_id: int, approver: str) -> int:
    """A second person approves: the recipients are listed (active subscribers of its desa, opted-out numbers
    left out) and the sender takes it. Returns the number of recipients."""
    broadcast = _locked(session, broadcast_id)
    if not approver.strip():
        raise NotAllowed("a broadcast needs an approver")
    if broadcast.status != BroadcastStatus.DRAFT:
        raise NotAllowed(f"broadcast {broadcast_id} is {broadcast.status}, not a draft: nothing to approve")
    if approver == broadcast.created_by:
        raise NotAllowed(f"{approver} drafted broadcast {broadcast_id}: another person must approve it")
    opted_out = select(OptOut.phone).where(OptOut.phone == Subscriber.phone).exists()
    now = utcnow()
    # One INSERT ... SELECT in the database: 50,000 recipients listed in a second, not fetched and sent back.
    chosen = select(
        literal(broadcast.id, Integer),
        Subscriber.id,
        Subscriber.phone,
        Subscriber.desa,
        Subscriber.language,
        Subscriber.channel,
        literal(RecipientStatus.QUEUED, String),
        literal(0, Integer),
        literal(now, UTCDateTime()),
    ).where(Subscriber.active, Subscriber.desa.in_(broadcast.desa), ~opted_out)
    r = BroadcastRecipient
    columns = [
        "broadcast_id",
        "subscriber_id",
        "phone",
        "desa",
        "language",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
    ]
    session.execute(insert(r).from_select(columns, chosen))
    count = session.scalar(select(func.count()).select_from(r).where(r.broadcast_id == broadcast.id)) or 0
    broadcast.status, broadcast.approved_by, broadcast.approved_at = BroadcastStatus.SENDING, approver, now
    if not count:
        broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, now
    broadcast_wake.ring(session)
    audit(
        session,
        actor=approver,
        action="broadcast.approve",
        target_type="broadcast",
        target_id=broadcast.id,
        recipients=count,
        drafted_by=broadcast.created_by,
    )
    return count


def cancel(session: Session, *, broadcast_id: int, actor: str) -> int:
    """Stop it where it is: SMS not yet handed to a gateway are cancelled; returns how many."""
    broadcast = _locked(session, broadcast_id)
    if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        raise NotAllowed(f"broadcast {broadcast_id} is already {broadcast.status}")
    result = session.execute(
        update(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status == RecipientStatus.QUEUED)
        .values(status=RecipientStatus.CANCELLED)
    )
    broadcast.status, broadcast.cancelled_by, broadcast.finished_at = BroadcastStatus.CANCELLED, actor, utcnow()
    count = int(getattr(result, "rowcount", 0) or 0)
    audit(
        session,
        actor=actor,
        action="broadcast.cancel",
        target_type="broadcast",
        target_id=broadcast_id,
        cancelled=count,
    )
    return count
