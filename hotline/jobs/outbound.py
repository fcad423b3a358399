"""Deliver one outbox row. Claimed atomically, so a duplicate job can never send it twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hotline.channels.kannel.sms_client import dlr_url
from hotline.channels.providers import sms_provider
from hotline.channels.sms_provider import SendError
from hotline.db import rows_changed, unit_of_work
from hotline.logs import bind, log_context
from hotline.models import OutboundMessage, utcnow
from hotline.services import failover
from hotline.services.failover import ALERT_PURPOSES
from hotline.services.outbox import EXEMPT_FROM_OPT_OUT, is_opted_out
from hotline.settings import get_settings

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (10, 30, 120, 600, 1800)  # then the message is marked failed


def status_callback_url(message_id: int, channel: str | None = None) -> str | None:
    settings = get_settings()
    base = settings.public_url
    if not base:
        return None
    if channel == "sms_backup":
        return dlr_url(base, settings.secret_key, message_id)
    return f"{base.rstrip('/')}/twilio/sms/status?id={message_id}"


def send_outbound_sms(message_id: int) -> str:
    with log_context(outbound_id=message_id):
        return _send(message_id)


def _send(message_id: int) -> str:
    with unit_of_work() as session:
        claimed = rows_changed(
            session,
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == "queued",
                # RQ may fire a delayed job up to a second early; never send before the backoff ends.
                or_(
                    OutboundMessage.next_attempt_at.is_(None),
                    OutboundMessage.next_attempt_at <= utcnow() + timedelta(seconds=2),
                ),
            )
            .values(status="sending", attempts=OutboundMessage.attempts + 1, updated_at=utcnow()),
        )
        if not claimed:
            return "not-queued"  # already sent, being sent, or gone: nothing to do
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        if message.purpose not in EXEMPT_FROM_OPT_OUT and is_opted_out(session, message.to_number):
            message.status = "suppressed"
            return "suppressed"
        bind(ticket_id=message.ticket_id)
        to, body, attempts, created_at = message.to_number, message.body, message.attempts, message.created_at
        channel = message.channel
        known_sids = set(_known_sids(session, to)) if attempts > 1 else set()
    try:
        provider = sms_provider(get_settings(), channel)
    except RuntimeError as exc:  # the backup gateway was unset after this SMS was queued for it
        return _failed(message_id, attempts, SendError(str(exc), permanent=True))
    try:
        result = None
        if attempts > 1:  # an earlier attempt may have reached the provider before its worker died or timed out
            result = provider.find_sent(to=to, body=body, since=created_at, exclude=known_sids)
            if result is not None:
                log.warning("SMS %s already reached the provider (%s); not sending it again", message_id, result)
        if result is None:
            result = provider.send(to=to, body=body, status_callback=status_callback_url(message_id, channel))
    except SendError as exc:
        return _failed(message_id, attempts, exc)
    with unit_of_work() as session:
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        if message.status == "sending":  # a fast delivery callback may already have moved it further
            message.status = "sent"
        message.provider, message.provider_sid = result.provider, message.provider_sid or result.provider_sid
        message.sent_at = utcnow()
        if message.purpose in ALERT_PURPOSES:
            failover.on_sms_sent(session, message_id=message_id)
    return "sent"


def _known_sids(session: Session, to: str) -> list[str]:
    """Provider ids already recorded for other SMS to this number: an earlier delivery found must be none of them."""
    stmt = select(OutboundMessage.provider_sid).where(
        OutboundMessage.to_number == to, OutboundMessage.provider_sid.is_not(None)
    )
    return [sid for sid in session.scalars(stmt) if sid]


def _failed(message_id: int, attempts: int, exc: SendError) -> str:
    from hotline.jobs.queue import enqueue_outbound

    retry = not exc.permanent and attempts <= len(BACKOFF_SECONDS)
    with unit_of_work() as session:
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        message.last_error, message.error_code = str(exc), exc.code
        if retry:
            delay = timedelta(seconds=BACKOFF_SECONDS[attempts - 1])
            message.status, message.next_attempt_at = "queued", utcnow() + delay
        else:
            message.status, message.next_attempt_at = "failed", None
            if message.purpose in ALERT_PURPOSES:  # an alert that cannot go this way goes the next way at once
                failover.on_sms_status(session, message=message, status="failed", reason="send_error")
    if retry:
        log.warning("SMS %s failed (attempt %s), retrying in %ss: %s", message_id, attempts, delay.seconds, exc)
        enqueue_outbound([message_id], delay=delay, attempt=attempts)
        return "retry"
    log.error("SMS %s failed for good after %s attempt(s): %s", message_id, attempts, exc)
    return "failed"
