"""The URC voice alert ("tekan 1 untuk menerima"), whatever the voice gateway: the call placed for an alert
attempt (hotline/jobs/alert_calls.py) runs the city's alert flow (ivr_flows/urc_alert.yaml, `ALERT_FLOW`) on
the one IVR engine, as any call does. The flow reads the ticket to the member and asks for 1, which is their
TERIMA (the `accept_ticket` node, hotline/features/alerts/alert_accept.py).

Transports call `answered` when the member picks up (an answered call counts as delivered: no further channel)
and `not_reached` when the call ended unanswered (busy, no answer, failed: the alert moves on), then feed the
call's events to `continue_call` as for any call."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.channels.voice import NOT_REACHED, CallStatus
from hotline.cityconfig import CityConfig
from hotline.features.alerts import failover
from hotline.features.calls.call_flows import ALERT_FLOW, NoFlow, alert_flow
from hotline.features.calls.calls import UnknownCall, begin_outbound_call
from hotline.ivr import actions as a
from hotline.ivr.turn import Turn
from hotline.models import AlertAttempt, AlertDelivery, Ticket


class UnknownAlertCall(UnknownCall):
    """A call for an alert attempt we have no record of (a forged id, another call's, or the row was removed).
    Transports answer it as any unknown call: hang up."""


def answered(session: Session, *, config: CityConfig, provider: str, provider_call_id: str, attempt_id: int) -> Turn:
    """The member picked up: the alert counts as delivered, and the alert flow starts about its ticket."""
    attempt, delivery, ticket = _load(session, provider, attempt_id, provider_call_id)
    flow = alert_flow(config)
    if flow is None:
        raise NoFlow(f"no {ALERT_FLOW} flow in ivr_flows/: the city has no voice alert to play")
    failover.on_call_status(session, attempt_id=attempt.id, call_sid=provider_call_id, status=CallStatus.ANSWERED)
    _, turn = begin_outbound_call(
        session,
        provider=provider,
        provider_call_id=provider_call_id,
        to=delivery.phone,
        flow=flow,
        about=a.OpenTicket(ticket.id, ticket.status, ticket.category),
        config=config,
    )
    return turn


def not_reached(session: Session, *, attempt_id: int, provider_call_id: str, status: CallStatus) -> None:
    """The call ended without the member on the line: busy, no answer, failed (any other word: no answer, as
    a call that ends before anyone picks up reached nobody)."""
    failover.on_call_status(
        session,
        attempt_id=attempt_id,
        call_sid=provider_call_id,
        status=status if status in NOT_REACHED else CallStatus.NO_ANSWER,
    )


def _load(session: Session, provider: str, attempt_id: int, call_id: str) -> tuple[AlertAttempt, AlertDelivery, Ticket]:
    attempt = session.get(AlertAttempt, attempt_id)
    # A call we placed carries its attempt's id; once the call's id is known, only that call may use it.
    if attempt is None or attempt.channel != "voice" or (attempt.call_sid and attempt.call_sid != call_id):
        raise UnknownAlertCall(provider, call_id)
    delivery = session.get(AlertDelivery, attempt.delivery_id)
    ticket = session.get(Ticket, delivery.ticket_id) if delivery else None
    if delivery is None or ticket is None:
        raise UnknownAlertCall(provider, call_id)
    return attempt, delivery, ticket
