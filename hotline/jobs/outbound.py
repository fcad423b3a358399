"""Deliver one outbox row. Claimed atomically, so a duplicate job can never send it twice."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hotline.channels.gateway import OutgoingSms, SendError, SendResult
from hotline.channels.gateways import build_gateway, routing
from hotline.core import gateway_pace, template_cuts
from hotline.core.outbox import EXEMPT_FROM_OPT_OUT, URGENT_PURPOSES, is_opted_out
from hotline.db import rows_changed, unit_of_work
from hotline.features.alerts import failover
from hotline.features.alerts.failover import ALERT_PURPOSES
from hotline.features.sms.sms_intake import namespaced_sid
from hotline.features.sms.sms_routes import RouteStep, is_failing_over, route_for
from hotline.logs import bind, log_context
from hotline.models import OutboundMessage, OutboundStatus, utcnow
from hotline.settings import get_settings
from hotline.sms.encoding import measure

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (10, 30, 120, 600, 1800)  # then the message is marked failed


def send_outbound_sms(message_id: int) -> str:
    with log_context(outbound_id=message_id):
        return _send(message_id)


def validity(purpose: str) -> timedelta:
    settings = get_settings()
    minutes = settings.sms_alert_validity_minutes if purpose in ALERT_PURPOSES else settings.sms_reply_validity_minutes
    return timedelta(minutes=minutes)


def _send(message_id: int) -> str:
    settings = get_settings()
    sms_routing = routing(settings)
    with unit_of_work() as session:
        claimed = rows_changed(
            session,
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == OutboundStatus.QUEUED,
                # RQ may fire a delayed job up to a second early; never send before the backoff ends.
                or_(
                    OutboundMessage.next_attempt_at.is_(None),
                    OutboundMessage.next_attempt_at <= utcnow() + timedelta(seconds=2),
                ),
            )
            .values(status=OutboundStatus.SENDING, attempts=OutboundMessage.attempts + 1, updated_at=utcnow()),
        )
        if not claimed:
            return "not-queued"  # already sent, being sent, or gone: nothing to do
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        if message.purpose not in EXEMPT_FROM_OPT_OUT and is_opted_out(session, message.to_number):
            message.status = OutboundStatus.SUPPRESSED
            return "suppressed"
        bind(ticket_id=message.ticket_id)
        attempts, created_at = message.attempts, message.created_at
        steps = route_for(session, message, sms_routing)
        sms = OutgoingSms(
            message_id=message_id,
            to=message.to_number,
            body=message.body,
            coding=measure(message.body),
            purpose=message.purpose,
            validity=validity(message.purpose),
            created_at=created_at,
            choices=message.choices,
        )
        known_sids = set(_known_sids(session, message.to_number)) if attempts > 1 else set()
    if not steps:  # e.g. an alert's `sms_backup` when every gateway was tried already
        return _failed(message_id, attempts, SendError("no gateway left to send it through", permanent=True))
    errors: list[tuple[RouteStep, SendError]] = []
    result: SendResult | None = None
    for step in steps:
        spec = sms_routing.gateways[step.gateway]
        try:
            gateway = build_gateway(spec, settings)
            attempt = replace(
                sms, sender=step.sender, line=step.line, template=step.template, content_sid=step.content_sid
            )
            if step.template is not None or step.content_sid is not None:  # its text fills a WhatsApp template
                template_cuts.note(f"outbox:{message_id}", purpose=sms.purpose, text=sms.body)
            if attempts > 1:  # an earlier attempt may have reached the gateway before its worker died or timed out
                result = gateway.find_sent(attempt, since=created_at, exclude=_bare(known_sids, step.gateway))
                if result is not None:
                    log.warning(
                        "SMS %s already reached %s (%s); not sending it again", message_id, step.gateway, result
                    )
            if result is None:
                result = gateway.send(attempt)
            break
        except SendError as exc:
            errors.append((step, exc))
            if step is not steps[-1]:
                log.warning(
                    "SMS %s: gateway %s did not take it (%s); trying %s",
                    message_id,
                    step.gateway,
                    exc,
                    steps[steps.index(step) + 1].gateway,
                )
    if result is None:
        permanent = all(exc.permanent for _, exc in errors)
        summary = "; ".join(f"{step.gateway}: {exc}" for step, exc in errors)
        return _failed(message_id, attempts, SendError(summary, code=errors[-1][1].code, permanent=permanent))
    gateway_pace.took(result.gateway)  # the broadcast sender leaves this gateway's TPS to alerts and replies first
    sid = namespaced_sid(result.gateway, result.kind, result.provider_sid)
    with unit_of_work() as session:
        # Conditional UPDATEs, not a read and a write: a delivery report may land between the two (Kannel's come
        # within milliseconds), and it must neither be overwritten nor lose its sid.
        rows_changed(
            session,
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id, OutboundMessage.status == OutboundStatus.SENDING)
            .values(status=OutboundStatus.SENT),
        )
        rows_changed(
            session,
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id, OutboundMessage.provider_sid.is_(None))
            .values(provider_sid=sid),
        )
        done = {"provider": result.kind, "gateway": result.gateway, "sent_at": utcnow(), "updated_at": utcnow()}
        if errors:
            done["last_error"] = "; ".join(f"{step.gateway}: {exc}" for step, exc in errors)
        rows_changed(session, update(OutboundMessage).where(OutboundMessage.id == message_id).values(**done))
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        if message.purpose in ALERT_PURPOSES:
            failover.on_sms_sent(session, message_id=message_id)
    return "sent"


def _bare(sids: set[str], gateway: str) -> set[str]:
    """Our stored ids of one gateway as the gateway knows them (without "<gateway>:")."""
    prefix = f"{gateway}:"
    return {sid.removeprefix(prefix) for sid in sids if ":" not in sid or sid.startswith(prefix)}


def _known_sids(session: Session, to: str) -> list[str]:
    """Provider ids already recorded for other SMS to this number: an earlier delivery found must be none of them."""
    stmt = select(OutboundMessage.provider_sid).where(
        OutboundMessage.to_number == to, OutboundMessage.provider_sid.is_not(None)
    )
    return [sid for sid in session.scalars(stmt) if sid]


def _failed(message_id: int, attempts: int, exc: SendError) -> str:
    from hotline.core.queue import enqueue_outbound

    retry = not exc.permanent and attempts <= len(BACKOFF_SECONDS)
    with unit_of_work() as session:
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        if retry and is_failing_over(session, message) and failover.can_move_on(session, message=message):
            retry = False  # a gateway down: the alert's next channel (another gateway, a call) takes it now
        message.last_error, message.error_code = str(exc), exc.code
        urgent = message.purpose in URGENT_PURPOSES
        if retry:
            delay = timedelta(seconds=BACKOFF_SECONDS[attempts - 1])
            message.status, message.next_attempt_at = OutboundStatus.QUEUED, utcnow() + delay
        else:
            message.status, message.next_attempt_at = OutboundStatus.FAILED, None
            if message.purpose in ALERT_PURPOSES:  # an alert that cannot go this way goes the next way at once
                failover.on_sms_status(session, message=message, status=OutboundStatus.FAILED, reason="send_error")
    if retry:
        log.warning("SMS %s failed (attempt %s), retrying in %ss: %s", message_id, attempts, delay.seconds, exc)
        enqueue_outbound([message_id], delay=delay, attempt=attempts, urgent=urgent)
        return "retry"
    log.error("SMS %s failed for good after %s attempt(s): %s", message_id, attempts, exc)
    return "failed"
