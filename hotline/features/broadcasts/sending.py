"""The sender's bookkeeping, in the database: claim a batch, record what the gateway took, retry, resume.

A recipient is claimed (`sending`, committed) before any gateway sees it and marked `sent` after; a sender
killed in between leaves it `sending`, and the next sender asks the gateway (`find_sent`) before sending it
again (hotline/jobs/broadcast_sender.py): none skipped, none doubled where the gateway can tell.

An SMS of a broadcast reaches a gateway as `OutgoingSms.message_id = -recipient_id`: never an outbox id, so a
delivery report that carries it comes back here (`recipient_for_report`), not to an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, column, exists, select, update, values
from sqlalchemy.orm import Session

from hotline.features.sms.sms_routes import ORIGIN_WINDOW, WHATSAPP_WINDOW
from hotline.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    InboundMessage,
    OptOut,
    RecipientStatus,
    utcnow,
)

# whatsapp: through a WhatsApp gateway first, twilio_whatsapp: through Twilio's (hotline/jobs/broadcast_sender.py)
SENDABLE_CHANNELS = ("sms", "whatsapp", "twilio_whatsapp")
BACKOFF_SECONDS = (10, 30, 120, 600)  # a gateway that did not take it; then `failed`


@dataclass(frozen=True)
class Claimed:
    recipient_id: int
    broadcast_id: int
    phone: str
    body: str
    attempts: int
    claimed_at: datetime
    channel: str = "sms"  # the subscriber's: sms | whatsapp | twilio_whatsapp

    @property
    def message_id(self) -> int:
        return -self.recipient_id


def _bodies(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    rows = session.execute(select(Broadcast.id, Broadcast.body_id, Broadcast.body_en).where(Broadcast.id.in_(ids)))
    return {bid: (body_id, body_en) for bid, body_id, body_en in rows}


def _claimed(session: Session, rows: list[Any], now: datetime) -> list[Claimed]:
    bodies = _bodies(session, {r.broadcast_id for r in rows})
    return [
        Claimed(
            r.id,
            r.broadcast_id,
            r.phone,
            bodies[r.broadcast_id][1 if r.language == "en" else 0],
            r.attempts,
            now,
            r.channel,
        )
        for r in rows
    ]


def claim(session: Session, *, limit: int) -> list[Claimed]:
    """Up to `limit` recipients due now, oldest first, marked `sending` (commit before sending them). Opted-out
    numbers are marked `skipped` on the way: BERHENTI after approval still counts."""
    if limit <= 0:
        return []
    now = utcnow()
    r = BroadcastRecipient
    due = (
        select(r.id, r.broadcast_id, r.phone, r.language, r.attempts, r.channel)
        .join(Broadcast, Broadcast.id == r.broadcast_id)
        .where(
            r.status == RecipientStatus.QUEUED,
            r.next_attempt_at <= now,
            r.channel.in_(SENDABLE_CHANNELS),
            Broadcast.status == BroadcastStatus.SENDING,
        )
        .order_by(r.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=r, skip_locked=True)
    rows = list(session.execute(due))
    if not rows:
        return []
    ids = [row.id for row in rows]
    opted = set(session.scalars(select(OptOut.phone).where(OptOut.phone.in_({row.phone for row in rows}))))
    if opted:
        session.execute(
            update(r)
            .where(r.id.in_(ids), r.phone.in_(opted))
            .values(status=RecipientStatus.SKIPPED, last_error="opted out")
        )
        rows = [row for row in rows if row.phone not in opted]
        ids = [row.id for row in rows]
    if ids:
        session.execute(
            update(r)
            .where(r.id.in_(ids))
            .values(status=RecipientStatus.SENDING, attempts=r.attempts + 1, claimed_at=now)
        )
    return _claimed(session, rows, now)


def left_sending(session: Session) -> list[Claimed]:
    """Recipients a sender claimed and never finished (it was killed, or lost its lease): ask the gateway."""
    r = BroadcastRecipient
    rows = list(
        session.execute(
            select(r.id, r.broadcast_id, r.phone, r.language, r.attempts, r.claimed_at, r.channel)
            .where(r.status == RecipientStatus.SENDING)
            .order_by(r.id)
        )
    )
    bodies = _bodies(session, {row.broadcast_id for row in rows})
    return [
        Claimed(
            row.id,
            row.broadcast_id,
            row.phone,
            bodies[row.broadcast_id][1 if row.language == "en" else 0],
            row.attempts,
            row.claimed_at or utcnow(),
            row.channel,
        )
        for row in rows
    ]


def whatsapp_windows(session: Session, phones: set[str], gateways: list[str]) -> set[str]:
    """Which of these numbers wrote to one of these WhatsApp gateways within the 24-hour window: they may be sent
    free text; the others only an approved template (hotline/features/sms/sms_routes.py, the same rule)."""
    if not phones or not gateways:
        return set()
    since = utcnow() - WHATSAPP_WINDOW
    stmt = select(InboundMessage.from_e164).where(
        InboundMessage.from_e164.in_(phones), InboundMessage.provider.in_(gateways), InboundMessage.received_at > since
    )
    return set(session.scalars(stmt.distinct()))


@dataclass(frozen=True)
class TwilioWhatsApp:
    """Where a subscriber on WhatsApp through Twilio last wrote: that gateway and our number there, and when."""

    gateway: str
    our_number: str | None
    last_at: datetime

    @property
    def window_open(self) -> bool:
        return self.last_at > utcnow() - WHATSAPP_WINDOW


def twilio_whatsapp_of(session: Session, phones: set[str], gateways: list[str]) -> dict[str, TwilioWhatsApp]:
    """Each number's latest WhatsApp message through one of these Twilio gateways, within 30 days (none: the
    gateway's own WHATSAPP_FROM names the sender, and the window is closed)."""
    if not phones or not gateways:
        return {}
    stmt = (
        select(
            InboundMessage.from_e164,
            InboundMessage.provider,
            InboundMessage.to_number,
            InboundMessage.received_at,
            InboundMessage.payload,
        )
        .where(
            InboundMessage.from_e164.in_(phones),
            InboundMessage.provider.in_(gateways),
            InboundMessage.received_at > utcnow() - ORIGIN_WINDOW,
        )
        .order_by(InboundMessage.id.desc())
    )
    found: dict[str, TwilioWhatsApp] = {}
    for phone, gateway, to_number, received_at, payload in session.execute(stmt):
        if phone not in found and (payload or {}).get("twilio_channel") == "whatsapp":
            found[phone] = TwilioWhatsApp(gateway, to_number or None, received_at)
    return found


def mark_sent(session: Session, sent: list[tuple[int, str, str]]) -> None:
    """(recipient id, gateway, namespaced sid) of each SMS a gateway took."""
    if not sent:
        return
    now = utcnow()
    r = BroadcastRecipient
    if session.get_bind().dialect.name == "postgresql":
        # One UPDATE ... FROM (VALUES ...) for the batch: an UPDATE per row was the sender's largest cost.
        rows = values(column("rid", Integer), column("gw", String), column("sid", String), name="v").data(sent)
        session.execute(
            update(r)
            .where(r.id == rows.c.rid, r.status == RecipientStatus.SENDING)
            .values(status=RecipientStatus.SENT, gateway=rows.c.gw, provider_sid=rows.c.sid, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return
    session.execute(
        update(r).where(r.status == RecipientStatus.SENDING),
        [
            {"id": rid, "status": RecipientStatus.SENT, "gateway": gw, "provider_sid": sid, "sent_at": now}
            for rid, gw, sid in sent
        ],
        execution_options={"synchronize_session": False},
    )


def requeue(session: Session, ids: list[int]) -> None:
    """Claimed but (the gateway says) never sent: back in line, the attempt not counted."""
    if ids:
        r = BroadcastRecipient
        session.execute(
            update(r)
            .where(r.id.in_(ids), r.status == RecipientStatus.SENDING)
            .values(status=RecipientStatus.QUEUED, attempts=r.attempts - 1)
        )


def mark_failed(session: Session, failed: list[tuple[Claimed, str, bool]]) -> None:
    """(recipient, error, permanent): retried with back-off unless permanent or out of attempts."""
    now = utcnow()
    for item, error, permanent in failed:
        retry = not permanent and item.attempts <= len(BACKOFF_SECONDS)
        values: dict[str, Any] = {"last_error": error[:500]}
        if retry:
            values.update(
                status=RecipientStatus.QUEUED,
                next_attempt_at=now + timedelta(seconds=BACKOFF_SECONDS[item.attempts - 1]),
            )
        else:
            values.update(status=RecipientStatus.FAILED)
        session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.id == item.recipient_id, BroadcastRecipient.status == RecipientStatus.SENDING)
            .values(**values)
        )


def finish(session: Session) -> list[int]:
    """Broadcasts with nothing left to send (SMS and WhatsApp) become `done`."""
    r = BroadcastRecipient
    pending = exists().where(
        and_(
            r.broadcast_id == Broadcast.id,
            r.status.in_((RecipientStatus.QUEUED, RecipientStatus.SENDING)),
            r.channel.in_(SENDABLE_CHANNELS),
        )
    )
    ids = list(session.scalars(select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING, ~pending)))
    if ids:
        session.execute(
            update(Broadcast).where(Broadcast.id.in_(ids)).values(status=BroadcastStatus.DONE, finished_at=utcnow())
        )
    return ids


def apply_report(session: Session, *, message_id: int | None, sid: str | None, status: str) -> bool:
    """A gateway's delivery report of a broadcast SMS (message id -recipient id, or its sid). True if ours."""
    r = BroadcastRecipient
    if message_id is not None and message_id < 0:
        where = r.id == -message_id
    elif sid is not None:
        where = r.provider_sid == sid
    else:
        return False
    ours = session.scalar(select(r.id).where(where))
    if ours is None:
        return False
    # the report's words (hotline/channels/gateway.py DeliveryStatus) -> ours
    ours_status = {
        "delivered": RecipientStatus.DELIVERED,
        "undelivered": RecipientStatus.FAILED,
        "failed": RecipientStatus.FAILED,
    }.get(status)
    if ours_status is not None:  # a final word; queued/sent reports change nothing we show
        session.execute(
            update(r)
            .where(r.id == ours, r.status.in_((RecipientStatus.SENT, RecipientStatus.SENDING)))
            .values(status=ours_status)
        )
    return True
