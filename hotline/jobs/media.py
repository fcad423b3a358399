"""Fetch one medium of a stored message (hotline/features/media/media_items.py): the download happens outside
any transaction, through the gateway the message came by (its MediaSource), then the bytes are kept or
refused; a failure (of the source, or of an S3 media store) is tried again with back-off, by a job queued
with a delay."""

from __future__ import annotations

import logging

from hotline.channels.gateway import MediaFetchError
from hotline.channels.gateways import media_max_bytes, media_source
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.media.media_items import fetch_failed, keep, overdue, queue_fetch
from hotline.features.media.media_store import MediaStoreDown
from hotline.logs import log_context
from hotline.models import MediaItem, MediaStatus
from hotline.settings import get_settings

log = logging.getLogger(__name__)


def fetch_media(media_id: int) -> str:
    with log_context(media_id=media_id):
        return _fetch(media_id)


def _fetch(media_id: int) -> str:
    with unit_of_work() as session:
        item = session.get(MediaItem, media_id)
        if item is None or item.status != MediaStatus.PENDING:
            return "not-pending"
        gateway, ref, attempts = item.gateway, item.ref, item.attempts
    source = media_source(gateway)
    try:
        if source is None:
            raise MediaFetchError(f"gateway {gateway!r} is not configured, or cannot fetch media", permanent=False)
        fetched = source.fetch_media(ref, max_bytes=media_max_bytes(gateway))
    except MediaFetchError as exc:
        with unit_of_work() as session:
            delay = fetch_failed(session, media_id=media_id, error=str(exc), permanent=exc.permanent)
        if delay is not None:
            queue_fetch([media_id], delay=delay, attempt=attempts + 1)
            return "retry"
        return "given-up"
    try:
        with unit_of_work() as session:
            return keep(
                session,
                media_id=media_id,
                data=fetched.data,
                claimed=fetched.content_type,
                data_dir=get_settings().data_dir,
                config=current_config(),
            )
    except MediaStoreDown as exc:  # nothing was written: fetched again at the next try (a fresh URL, as above)
        with unit_of_work() as session:
            delay = fetch_failed(session, media_id=media_id, error=f"media store: {exc}", permanent=False)
        if delay is not None:
            queue_fetch([media_id], delay=delay, attempt=attempts + 1)
            return "retry"
        return "given-up"


def queue_overdue() -> int:
    """The sweeper's share: pending media whose job was lost are queued again."""
    with unit_of_work() as session:
        ids = overdue(session)
    if ids:
        log.warning("media %s pending past their time (a lost job): queued again", ids)
        queue_fetch(ids, attempt=0)
    return len(ids)
