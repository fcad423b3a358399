"""Provider delivery reports (queued, sent, delivered, failed...) applied to the outbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import OutboundMessage, utcnow
from hotline.services import failover

# Callbacks arrive out of order; a status never moves back down this ladder.
RANK = {
    "queued": 0,
    "accepted": 0,
    "sending": 1,
    "sent": 2,
    "receiving": 2,
    "received": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


def record_delivery_status(
    session: Session, *, message_id: int | None, provider_sid: str, status: str, error_code: str | None
) -> bool:
    message = session.get(OutboundMessage, message_id, with_for_update=True) if message_id else None
    if message is None or (message.provider_sid and message.provider_sid != provider_sid):
        message = session.scalar(
            select(OutboundMessage).where(OutboundMessage.provider_sid == provider_sid).with_for_update()
        )
    if message is None:
        return False
    if message.provider_sid is None:
        message.provider_sid = provider_sid  # the callback beat our own record of the send
    status = status.lower()
    if RANK.get(status, -1) >= RANK.get(message.status, 0):
        message.status = status
        if error_code:
            message.error_code = error_code
        message.updated_at = utcnow()
    # Every report, even one the ladder keeps out: a late 'delivered' still stops an alert's failover.
    failover.on_sms_status(session, message=message, status=status)
    return True
