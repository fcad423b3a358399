"""Place one voice-call alert ("tekan 1 untuk menerima") through the configured voice gateway
(hotline/channels/voice_gateways.py `alert_gateway`). Claimed atomically, so a repeated job never rings twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update

from hotline.channels.voice import CallError, OutboundCall
from hotline.channels.voice_gateways import alert_gateway
from hotline.db import rows_changed, unit_of_work
from hotline.features.alerts import failover
from hotline.models import AlertAttempt, AlertAttemptStatus, AlertDelivery, AlertDeliveryStatus, Ticket, TicketStatus

log = logging.getLogger(__name__)
RETRY_DELAYS = (5, 15)  # seconds; then the call counts as failed (the delivery timeout would move on anyway)


def place_alert_call(attempt_id: int, retry: int = 0) -> str:
    with unit_of_work() as session:
        claimed = rows_changed(
            session,
            update(AlertAttempt)
            .where(AlertAttempt.id == attempt_id, AlertAttempt.status == AlertAttemptStatus.QUEUED)
            .values(status=AlertAttemptStatus.CALLING),
        )
        if not claimed:
            return "not-queued"  # placed, cancelled, or timed out already
        attempt = session.get(AlertAttempt, attempt_id)
        assert attempt is not None
        delivery = session.get(AlertDelivery, attempt.delivery_id)
        ticket = session.get(Ticket, delivery.ticket_id) if delivery else None
        if (
            delivery is None
            or ticket is None
            or delivery.status != AlertDeliveryStatus.PENDING
            or ticket.status != TicketStatus.ROUTED
        ):
            attempt.status = AlertAttemptStatus.CANCELLED  # accepted (or delivered) while the call waited: do not ring
            return "moot"
        phone = delivery.phone
    gateway = alert_gateway()
    try:
        if gateway is None:  # the settings changed since the channel was chosen
            raise CallError("no voice gateway can place calls", permanent=True)
        sid = gateway.place_call(OutboundCall(attempt_id=attempt_id, to=phone))
    except CallError as exc:
        return _failed(attempt_id, retry, exc)
    with unit_of_work() as session:
        # Compare and set, in the database: the call may be answered (or refused) and settled by the gateway's
        # callback or the ARI app before this runs; a value read first and written back would undo that.
        session.execute(
            update(AlertAttempt)
            .where(AlertAttempt.id == attempt_id, AlertAttempt.call_sid.is_(None))
            .values(call_sid=sid)
        )
        session.execute(
            update(AlertAttempt)
            .where(AlertAttempt.id == attempt_id, AlertAttempt.status == AlertAttemptStatus.CALLING)
            .values(status=AlertAttemptStatus.SENT)
        )
    return "called"


def _failed(attempt_id: int, retry: int, exc: CallError) -> str:
    from hotline.jobs.alert_timers import enqueue_call

    again = not exc.permanent and retry < len(RETRY_DELAYS)
    with unit_of_work() as session:
        if again:
            session.execute(
                update(AlertAttempt)
                .where(AlertAttempt.id == attempt_id, AlertAttempt.status == AlertAttemptStatus.CALLING)
                .values(status=AlertAttemptStatus.QUEUED, error=str(exc))
            )
        else:
            failover.on_call_error(session, attempt_id=attempt_id, error=str(exc))
    if again:
        log.warning("alert call %s failed (%s), trying again in %ss", attempt_id, exc, RETRY_DELAYS[retry])
        enqueue_call(attempt_id, delay=timedelta(seconds=RETRY_DELAYS[retry]), retry=retry + 1)
        return "retry"
    log.error("alert call %s failed for good: %s", attempt_id, exc)
    return "failed"
