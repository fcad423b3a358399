"""Media of a stored message: a row per photo, voice note or document, tied to the ticket the message made or
joined, fetched by a job after commit (`hotline.jobs.media.fetch_media`, queued by name) and kept when it is
what it claims and not too big. A fetch that fails is tried again with back-off; the report never waits for it
(the ticket exists without its photo, and gets it when it comes)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from redis import RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.catalog import say
from hotline.cityconfig import CityConfig
from hotline.core.outbox import queue_sms
from hotline.db import after_commit
from hotline.features.media import exif_gps, media_store, public_link
from hotline.features.media.location import PHOTO_GPS, locate
from hotline.features.media.sniff import sniff, why_refused
from hotline.features.tickets.place import alerted_members
from hotline.features.tickets.tickets import record
from hotline.models import InboundMessage, MediaItem, MediaStatus, OutboundPurpose, Ticket, utcnow
from hotline.settings import get_settings

log = logging.getLogger(__name__)

FETCH_JOB = "hotline.jobs.media.fetch_media"
BACKOFF_SECONDS = (15, 60, 300, 1800, 3 * 3600, 12 * 3600)  # then failed (WhatsApp keeps media for 30 days)
ADOPT_WINDOW = timedelta(hours=1)  # a photo sent before the words of its report joins the report made within this


def media_of(payload: Mapping[str, object] | None) -> list[tuple[str, str, str]]:
    """(ref, claimed content type, kind) of each medium a stored message carried."""
    payload = payload or {}
    count = payload.get("media_count")
    found = []
    for i in range(count if isinstance(count, int) else 0):
        ref = payload.get(f"media_{i}_ref")
        if isinstance(ref, str) and ref:
            found.append(
                (ref, str(payload.get(f"media_{i}_type") or ""), str(payload.get(f"media_{i}_kind") or "image"))
            )
    return found


def register(
    session: Session, *, message: InboundMessage, ticket_id: int | None, role: str = "report"
) -> list[MediaItem]:
    """A row for each medium of the message (once), queued to be fetched after commit."""
    wanted = media_of(message.payload)
    if not wanted or session.scalar(select(MediaItem.id).where(MediaItem.inbound_id == message.id).limit(1)):
        return []
    rows = [
        MediaItem(
            inbound_id=message.id,
            ticket_id=ticket_id,
            sender=message.from_e164,
            role=role,
            gateway=message.provider,
            ref=ref,
            kind=kind,
            claimed_type=claimed[:100],
            status=MediaStatus.PENDING,
            attempts=0,
        )
        for ref, claimed, kind in wanted
    ]
    session.add_all(rows)
    session.flush()
    ids = [row.id for row in rows]
    after_commit(session, lambda: queue_fetch(ids))
    return rows


def queue_fetch(ids: list[int], delay: timedelta | None = None, attempt: int = 0) -> None:
    from hotline.core.queue import RedisNotConfigured, job_id, queue

    try:
        q = queue()
        for media_id in ids:
            options = {"job_id": job_id("media", media_id, attempt), "result_ttl": 60, "failure_ttl": 7 * 86400}
            if delay is None:
                q.enqueue(FETCH_JOB, media_id, **options)
            else:
                q.enqueue_in(delay, FETCH_JOB, media_id, **options)
    except (RedisError, RedisNotConfigured):  # kept as pending: the sweeper queues it once Redis is back
        log.warning("could not queue the fetch of media %s; the sweeper will", ids, exc_info=True)


def adopt(session: Session, *, sender: str, ticket_id: int, role: str = "report") -> int:
    """Media the sender sent shortly before, with no ticket yet (a photo, then the words): theirs now."""
    result = session.execute(
        update(MediaItem)
        .where(
            MediaItem.sender == sender,
            MediaItem.ticket_id.is_(None),
            MediaItem.role == role,
            MediaItem.created_at > utcnow() - ADOPT_WINDOW,
        )
        .values(ticket_id=ticket_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def pending_point(session: Session, *, sender: str, before_id: int) -> tuple[float, float] | None:
    """The place the sender shared (a location message) shortly before this message and no ticket took yet."""
    from hotline.features.media.location import coordinates_of

    stmt = (
        select(InboundMessage.payload)
        .where(
            InboundMessage.from_e164 == sender,
            InboundMessage.id < before_id,
            InboundMessage.ticket_id.is_(None),
            InboundMessage.received_at > utcnow() - ADOPT_WINDOW,
        )
        .order_by(InboundMessage.id.desc())
        .limit(5)
    )
    for payload in session.scalars(stmt):
        point = coordinates_of(payload)
        if point is not None:
            return point
    return None


def keep(session: Session, *, media_id: int, data: bytes, claimed: str, data_dir: Path, config: CityConfig) -> str:
    """What was fetched: stored (and its EXIF place given to a ticket without one), or refused. Returns the
    outcome (stored | refused | not-pending)."""
    item = session.get(MediaItem, media_id, with_for_update=True)
    if item is None or item.status != MediaStatus.PENDING:
        return "not-pending"
    sniffed = sniff(data)
    item.attempts += 1
    item.size = len(data)
    refused = why_refused(item.kind, claimed or item.claimed_type, sniffed)
    if refused is not None:
        item.status, item.error, item.next_attempt_at = MediaStatus.REFUSED, refused, None
        log.warning("media %s from %s refused: %s", media_id, item.sender, refused)
        _tell_ticket(session, item, "media_refused", reason=refused)
        return MediaStatus.REFUSED
    assert sniffed is not None
    item.content_type, item.sha256 = sniffed, hashlib.sha256(data).hexdigest()
    item.path = media_store.save(data_dir, data=data, sha256=item.sha256, content_type=sniffed, when=item.created_at)
    item.status, item.stored_at, item.error, item.next_attempt_at = MediaStatus.STORED, utcnow(), None, None
    point = exif_gps.gps_of(data) if sniffed == "image/jpeg" else None
    if point is not None:
        item.latitude, item.longitude = point
    ticket = session.get(Ticket, item.ticket_id, with_for_update=True) if item.ticket_id else None
    if ticket is not None:
        record(
            session, ticket, "media_received", actor=item.sender, media_kind=item.kind, media_id=item.id, role=item.role
        )
        if point is not None and item.role == "report":  # a fallback: a shared location was set before, and wins
            locate(session, config=config, ticket=ticket, point=point, actor=item.sender, source=PHOTO_GPS)
        if sniffed.startswith("image/"):
            _share(session, ticket=ticket, item=item)
    return MediaStatus.STORED


def _share(session: Session, *, ticket: Ticket, item: MediaItem) -> None:
    """The first photo of a report goes to the crew alerted for it, the crew's "after" photo to the citizen: a
    signed, expiring link (an SMS can carry nothing else; WhatsApp shows the photo itself)."""
    settings = get_settings()
    if not settings.public_url:
        log.warning("HOTLINE_PUBLIC_URL is not set: photo %s of ticket %s is shared with nobody", item.id, ticket.id)
        return
    earlier = session.scalar(
        select(MediaItem.id)
        .where(
            MediaItem.ticket_id == ticket.id,
            MediaItem.role == item.role,
            MediaItem.status == MediaStatus.STORED,
            MediaItem.content_type.like("image/%"),
            MediaItem.id != item.id,
        )
        .limit(1)
    )
    if earlier is not None:
        return  # one link per ticket and side: it shows every photo there is when opened
    url = public_link.link(settings.public_url, public_link.make_token(settings.secret_key, ticket.id))
    choices = {"kind": "image", "url": f"{url}/media/{item.id}"}
    if item.role == "after":
        if ticket.reporter_phone.startswith("+"):
            body = say("sms", "after_photo", ticket.language, {"number": ticket.id, "url": url})
            queue_sms(
                session,
                to=ticket.reporter_phone,
                body=body,
                purpose=OutboundPurpose.NOTIFY,
                ticket_id=ticket.id,
                choices=choices,
            )
        return
    body = say("sms", "crew_photo", "id", {"number": ticket.id, "url": url})
    for member in alerted_members(session, ticket):
        queue_sms(
            session,
            to=member.phone,
            body=body,
            purpose=OutboundPurpose.NOTIFY,
            ticket_id=ticket.id,
            member_id=member.id,
            choices=choices,
        )


def fetch_failed(session: Session, *, media_id: int, error: str, permanent: bool) -> timedelta | None:
    """A fetch that did not work: the delay before the next try, or None when it is given up."""
    item = session.get(MediaItem, media_id, with_for_update=True)
    if item is None or item.status != MediaStatus.PENDING:
        return None
    item.attempts += 1
    item.error = error[:2000]
    if permanent or item.attempts > len(BACKOFF_SECONDS):
        item.status, item.next_attempt_at = (MediaStatus.REFUSED if permanent else MediaStatus.FAILED), None
        log.error("media %s from %s given up after %s attempt(s): %s", media_id, item.sender, item.attempts, error)
        _tell_ticket(session, item, "media_refused", reason=error[:200])
        return None
    delay = timedelta(seconds=BACKOFF_SECONDS[item.attempts - 1])
    item.next_attempt_at = utcnow() + delay
    log.warning("media %s: fetch failed (attempt %s), again in %ss: %s", media_id, item.attempts, delay.seconds, error)
    return delay


def overdue(session: Session, *, limit: int = 100) -> list[int]:
    """Pending media whose next try is past (its job lost with Redis, a worker killed): for the sweeper."""
    stmt = (
        select(MediaItem.id)
        .where(
            MediaItem.status == MediaStatus.PENDING,
            (MediaItem.next_attempt_at.is_(None) & (MediaItem.created_at < utcnow() - timedelta(minutes=2)))
            | (MediaItem.next_attempt_at < utcnow() - timedelta(minutes=2)),
        )
        .order_by(MediaItem.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _tell_ticket(session: Session, item: MediaItem, kind: str, **data: Any) -> None:
    ticket = session.get(Ticket, item.ticket_id) if item.ticket_id else None
    if ticket is not None:
        record(session, ticket, kind, actor=item.sender, media_id=item.id, **data)


def of_ticket(session: Session, *, ticket_id: int) -> list[MediaItem]:
    """A ticket's media, oldest first (the console's ticket page)."""
    return list(session.scalars(select(MediaItem).where(MediaItem.ticket_id == ticket_id).order_by(MediaItem.id)))


def stored_item(session: Session, *, ticket_id: int, media_id: int) -> MediaItem | None:
    item = session.get(MediaItem, media_id)
    return item if item is not None and item.ticket_id == ticket_id and item.status == MediaStatus.STORED else None
