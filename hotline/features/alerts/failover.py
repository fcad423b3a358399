"""Alerts that fail over: an alert reported undelivered, refused by its provider, or without a delivery report
within the agency's `delivery_timeout_seconds`, goes out at once on the next of the agency's `alert_channels`
(routing/agencies.yaml, pinned on the ticket when it is routed): another SMS provider, then a voice call,
"tekan 1 untuk menerima", or WhatsApp (an approved template outside the member's 24-hour window; through the Cloud
API, or Twilio's WhatsApp: hotline/channels/gateways.py `whatsapp_alert_gateways`). Escalation
keeps its own timers; this never waits for them.

One `AlertDelivery` per alert per phone, one `AlertAttempt` per channel tried (unique: never the same alert
twice on the same channel). Every step locks the ticket, then the delivery (the order a transition takes
them), so duplicate or out-of-order callbacks, job retries and a TERIMA arriving meanwhile all serialise.
A failover stops when the alert is delivered, the ticket leaves `routed` (accepted by anyone, closed,
re-routed), or the list ends ("all channels failed" on the timeline).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline import clock
from hotline.channels.gateways import whatsapp_alert_gateways
from hotline.channels.voice import ANSWERED, NOT_REACHED, CallStatus
from hotline.channels.voice_gateways import alert_gateway
from hotline.cityconfig.model import DEFAULT_ALERT_CHANNELS, DEFAULT_DELIVERY_TIMEOUT_SECONDS
from hotline.core.city import current_config
from hotline.core.deadlines import Due, FireOutcome
from hotline.core.dispatch import dispatcher
from hotline.core.outbox import queue_sms
from hotline.core.queue import job_id, queue
from hotline.features.calls.call_flows import ALERT_FLOW
from hotline.features.tickets.ticket_events import record
from hotline.models import (
    AlertAttempt,
    AlertAttemptStatus,
    AlertDelivery,
    AlertDeliveryStatus,
    OutboundMessage,
    OutboundPurpose,
    OutboundStatus,
    Ticket,
    TicketStatus,
)
from hotline.models.chain import PinnedChain
from hotline.settings import Settings, get_settings

# SMS that call a team out; replies to citizens never fail over
ALERT_PURPOSES = (OutboundPurpose.ALERT, OutboundPurpose.ESCALATION)
SMS_CHANNELS = ("sms", "sms_backup", "whatsapp")  # sent through the outbox (whatsapp: the WhatsApp gateway)
SMS_DELIVERED = frozenset({OutboundStatus.DELIVERED, "read"})  # "read": a WhatsApp word, should one reach us
SMS_FAILED = frozenset({OutboundStatus.FAILED, OutboundStatus.UNDELIVERED})
# An attempt in one of these has its outcome; later callbacks only may turn it into "delivered".
SETTLED = frozenset(
    {
        AlertAttemptStatus.DELIVERED,
        AlertAttemptStatus.ANSWERED,
        AlertAttemptStatus.FAILED,
        AlertAttemptStatus.TIMEOUT,
        AlertAttemptStatus.UNAVAILABLE,
        AlertAttemptStatus.CANCELLED,
    }
)
TIMER_KIND = "failover"  # each alert waiting on a channel has a timer of this kind (hotline/jobs/alert_timers.py)
CALL_JOB = "hotline.jobs.alert_calls.place_alert_call"  # the RQ job that places a voice alert call
EARLY_SLACK = timedelta(seconds=2)  # a timer may wake a little early (RQ keeps whole seconds)


def available(channel: str, settings: Settings) -> bool:
    """Whether this deployment can send on `channel`; a listed channel that cannot is skipped (and recorded)."""
    if channel == "sms":
        return True
    if (
        channel == "sms_backup"
    ):  # SMS again through another gateway of the alerts list (hotline/features/sms/sms_routes.py)
        return len(settings.sms_routing.routes.get("alerts", ())) >= 2
    if channel == "whatsapp":  # a Cloud API gateway or Twilio's WhatsApp: free text in the member's window, else
        return bool(whatsapp_alert_gateways(settings))  # a template (hotline/features/sms/sms_routes.py)
    if channel == "voice":  # the configured voice gateway says whether it can place calls, and the city has the flow
        return alert_gateway(settings) is not None and ALERT_FLOW in current_config().ivr_flows
    return False


def pinned_channels(ticket: Ticket) -> tuple[list[str], int]:
    """The alert channels and timeout pinned on the ticket when it was routed (features/escalation/)."""
    chain = PinnedChain.load(ticket.escalation_chain)
    pinned = chain.alerts if chain else None
    channels = list((pinned.channels if pinned else ()) or DEFAULT_ALERT_CHANNELS)
    return channels, (pinned.timeout_seconds if pinned else 0) or DEFAULT_DELIVERY_TIMEOUT_SECONDS


def start(
    session: Session,
    *,
    ticket: Ticket,
    phone: str,
    body: str,
    purpose: str,
    member_id: int | None = None,
    channels: Sequence[str] | None = None,
) -> AlertDelivery | None:
    """Send one alert to one phone on the first usable channel of `channels` (default: the ticket's pinned
    list), to fail over along the rest. A ticket no longer waiting for someone to accept it, or a list of
    just SMS, gets a plain SMS as before: there is nothing to fail over to, or nobody left to call out."""
    pinned, timeout = pinned_channels(ticket)
    chain = list(channels) if channels is not None else pinned
    if ticket.status != TicketStatus.ROUTED or not chain or chain == ["sms"]:
        queue_sms(session, to=phone, body=body, purpose=purpose, ticket_id=ticket.id, member_id=member_id)
        return None
    delivery = AlertDelivery(
        ticket_id=ticket.id,
        member_id=member_id,
        phone=phone,
        purpose=purpose,
        body=body,
        channels=chain,
        timeout_seconds=timeout,
        position=-1,
        status=AlertDeliveryStatus.PENDING,
    )
    session.add(delivery)
    session.flush()
    _next_channel(session, ticket=ticket, delivery=delivery, reason=None, failed=None)
    return delivery


def stop(session: Session, *, ticket_id: int) -> None:
    """The ticket was accepted, closed or re-routed: no alert of it fails over any more, and a voice call not
    yet placed is not placed (hotline/jobs/alert_calls.py checks the delivery before dialling)."""
    pending = select(AlertDelivery.id).where(
        AlertDelivery.ticket_id == ticket_id, AlertDelivery.status == AlertDeliveryStatus.PENDING
    )
    session.execute(
        update(AlertAttempt)
        .where(
            AlertAttempt.delivery_id.in_(pending),
            AlertAttempt.status == AlertAttemptStatus.QUEUED,
            AlertAttempt.channel == "voice",
        )
        .values(status=AlertAttemptStatus.CANCELLED, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.ticket_id == ticket_id, AlertDelivery.status == AlertDeliveryStatus.PENDING)
        .values(status=AlertDeliveryStatus.STOPPED, due_at=None, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def unreachable_tickets(session: Session, *, ticket_ids: Sequence[int]) -> set[int]:
    """Of these tickets, those still waiting for someone to accept with a member every channel failed to
    reach (the console board marks them: an operator should phone that member)."""
    if not ticket_ids:
        return set()
    stmt = (
        select(AlertDelivery.ticket_id)
        .join(Ticket, Ticket.id == AlertDelivery.ticket_id)
        .where(AlertDelivery.ticket_id.in_(ticket_ids), AlertDelivery.status == AlertDeliveryStatus.EXHAUSTED)
        .where(Ticket.status == TicketStatus.ROUTED)
    )
    return set(session.scalars(stmt.distinct()))


def on_sms_status(session: Session, *, message: OutboundMessage, status: str, reason: str | None = None) -> None:
    """A delivery report (Twilio status callback, Kannel DLR) or a permanent send error for an alert SMS."""
    if message.purpose not in ALERT_PURPOSES:
        return
    attempt = session.scalar(select(AlertAttempt).where(AlertAttempt.outbound_id == message.id))
    if attempt is None:
        return  # a plain alert SMS (no failover list), or sent before failover existed
    status = status.lower()
    if status in SMS_DELIVERED:
        _delivered(session, attempt)
    elif status in SMS_FAILED:
        _failed(session, attempt, outcome=AlertAttemptStatus.FAILED, reason=reason or status, error=message.error_code)
    elif attempt.status not in SETTLED:
        attempt.status = AlertAttemptStatus.SENT


def can_move_on(session: Session, *, message: OutboundMessage) -> bool:
    """Whether this alert SMS's delivery has another SMS gateway next (a gateway that is down hands its alerts to
    the next gateway at once; a call waits for the delivery timeout, as a retry may still get through)."""
    attempt = session.scalar(select(AlertAttempt).where(AlertAttempt.outbound_id == message.id))
    if attempt is None:
        return False
    delivery = session.get(AlertDelivery, attempt.delivery_id)
    if delivery is None or delivery.status != AlertDeliveryStatus.PENDING or delivery.position != attempt.position:
        return False
    settings = get_settings()
    for channel in delivery.channels[attempt.position + 1 :]:
        if available(channel, settings):
            return channel in SMS_CHANNELS
    return False


def on_sms_sent(session: Session, *, message_id: int) -> None:
    """The provider took the alert SMS: its attempt waits for the delivery report now."""
    session.execute(
        update(AlertAttempt)
        .where(AlertAttempt.outbound_id == message_id, AlertAttempt.status == AlertAttemptStatus.QUEUED)
        .values(status=AlertAttemptStatus.SENT, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def on_call_status(session: Session, *, attempt_id: int, call_sid: str, status: CallStatus) -> None:
    """Where an alert call is (the voice gateway's word for it in ours): answered counts as delivered; busy, no
    answer and failed move the alert on."""
    attempt = session.get(AlertAttempt, attempt_id)
    if attempt is None or attempt.channel != "voice" or (attempt.call_sid and attempt.call_sid != call_sid):
        return
    if attempt.call_sid is None:
        attempt.call_sid = call_sid  # the callback beat the job's own record of the call
    if status in ANSWERED:
        _delivered(session, attempt, as_status=AlertAttemptStatus.ANSWERED)
    elif status in NOT_REACHED:
        _failed(session, attempt, outcome=AlertAttemptStatus.FAILED, reason=status.value, error=None)


def on_call_error(session: Session, *, attempt_id: int, error: str) -> None:
    """The voice gateway refused to place the call for good (a bad number, ...): the next channel, at once."""
    attempt = session.get(AlertAttempt, attempt_id)
    if attempt is not None:
        _failed(session, attempt, outcome=AlertAttemptStatus.FAILED, reason="send_error", error=error)


def on_timeout(session: Session, *, delivery_id: int, position: int) -> str:
    """No delivery report in time for channel number `position`. Safe to call any number of times."""
    found = session.get(AlertDelivery, delivery_id)
    if found is None:
        return FireOutcome.MISSING
    ticket = _lock_ticket(session, found.ticket_id)
    delivery = _lock_delivery(session, delivery_id)
    if delivery.status != AlertDeliveryStatus.PENDING or delivery.position != position:
        return FireOutcome.MOOT
    if delivery.due_at is not None and delivery.due_at > clock.now() + EARLY_SLACK:
        return FireOutcome.EARLY
    attempt = session.scalar(
        select(AlertAttempt).where(AlertAttempt.delivery_id == delivery.id, AlertAttempt.position == position)
    )
    if attempt is not None and attempt.status not in SETTLED:
        attempt.status = AlertAttemptStatus.TIMEOUT
    _next_channel(session, ticket=ticket, delivery=delivery, reason="timeout", failed=attempt)
    return "failed-over"


# ---------------------------------------------------------------------------------------------------


def _delivered(
    session: Session, attempt: AlertAttempt, *, as_status: AlertAttemptStatus = AlertAttemptStatus.DELIVERED
) -> None:
    delivery = _lock_delivery_of(session, attempt)
    attempt.status = as_status
    if delivery.status == AlertDeliveryStatus.PENDING:  # even a late report for an earlier channel: the member has it
        delivery.status, delivery.due_at = AlertDeliveryStatus.DELIVERED, None


def _failed(
    session: Session, attempt: AlertAttempt, *, outcome: AlertAttemptStatus, reason: str, error: str | None
) -> None:
    if attempt.status in SETTLED:
        return  # a repeated or late report: this attempt was dealt with already
    delivery = _lock_delivery_of(session, attempt)
    if attempt.status in SETTLED:  # settled by whoever held the lock before us
        return
    attempt.status, attempt.error = outcome, error or reason
    if delivery.status == AlertDeliveryStatus.PENDING and delivery.position == attempt.position:
        ticket = session.get(Ticket, delivery.ticket_id)
        assert ticket is not None
        _next_channel(session, ticket=ticket, delivery=delivery, reason=reason, failed=attempt)


def _lock_delivery_of(session: Session, attempt: AlertAttempt) -> AlertDelivery:
    found = session.get(AlertDelivery, attempt.delivery_id)
    assert found is not None
    _lock_ticket(session, found.ticket_id)
    delivery = _lock_delivery(session, found.id)
    session.refresh(attempt)  # what the lock's previous holder wrote
    return delivery


def _lock_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
    assert ticket is not None
    return ticket


def _lock_delivery(session: Session, delivery_id: int) -> AlertDelivery:
    delivery = session.get(AlertDelivery, delivery_id, with_for_update=True, populate_existing=True)
    assert delivery is not None
    return delivery


def _next_channel(
    session: Session, *, ticket: Ticket, delivery: AlertDelivery, reason: str | None, failed: AlertAttempt | None
) -> None:
    """Send on the next channel not tried yet that this deployment has; none left: all channels failed."""
    if ticket.status != TicketStatus.ROUTED:
        delivery.status, delivery.due_at = AlertDeliveryStatus.STOPPED, None
        return
    settings = get_settings()
    tried = set(session.scalars(select(AlertAttempt.channel).where(AlertAttempt.delivery_id == delivery.id)))
    skipped: list[str] = []
    failed_channel = failed.channel if failed is not None else None
    for position in range(delivery.position + 1, len(delivery.channels)):
        channel = delivery.channels[position]
        if channel in tried:
            continue
        if not available(channel, settings):
            session.add(
                AlertAttempt(
                    delivery_id=delivery.id,
                    channel=channel,
                    position=position,
                    status=AlertAttemptStatus.UNAVAILABLE,
                    error="not configured on this server",
                )
            )
            skipped.append(channel)
            continue
        _send_on(session, delivery=delivery, channel=channel, position=position)
        if reason is not None:
            record(
                session,
                ticket,
                "alert_failover",
                phone=delivery.phone,
                member_id=delivery.member_id,
                purpose=delivery.purpose,
                failed=failed_channel,
                reason=reason,
                to=channel,
                skipped=skipped,
            )
        return
    delivery.status, delivery.due_at = AlertDeliveryStatus.EXHAUSTED, None
    record(
        session,
        ticket,
        "alert_unreachable",
        phone=delivery.phone,
        member_id=delivery.member_id,
        purpose=delivery.purpose,
        failed=failed_channel,
        reason=reason,
        channels=list(delivery.channels),
        skipped=skipped,
    )


def _send_on(session: Session, *, delivery: AlertDelivery, channel: str, position: int) -> AlertAttempt:
    attempt = AlertAttempt(
        delivery_id=delivery.id, channel=channel, position=position, status=AlertAttemptStatus.QUEUED
    )
    if channel in SMS_CHANNELS:
        message = queue_sms(
            session,
            to=delivery.phone,
            body=delivery.body,
            purpose=delivery.purpose,
            ticket_id=delivery.ticket_id,
            member_id=delivery.member_id,
            channel=None if channel == "sms" else channel,
        )
        attempt.outbound_id = message.id
    session.add(attempt)
    session.flush()
    due = clock.now() + timedelta(seconds=delivery.timeout_seconds)
    delivery.position, delivery.due_at = position, due
    dispatch = dispatcher(session)
    dispatch.deadline(session, Due(TIMER_KIND, delivery.id, position), due)
    if channel == "voice":
        attempt_id = attempt.id

        def call() -> None:
            enqueue_call(attempt_id)

        dispatch.release(session, call)
    return attempt


def enqueue_call(attempt_id: int, delay: timedelta | None = None, retry: int = 0) -> None:
    """Queue the job that places a voice alert call (by its dotted name: the jobs layer runs it)."""
    q = queue()
    options = {"job_id": job_id("alert-call", attempt_id, retry), "result_ttl": 300, "failure_ttl": 7 * 86400}
    if delay is None:
        q.enqueue(CALL_JOB, attempt_id, retry, **options)
    else:
        q.enqueue_in(delay, CALL_JOB, attempt_id, retry, **options)
