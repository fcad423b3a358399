"""How an escalation step reaches people: one sender per channel named in the step's `via`, all at once.

    sms    the alert SMS, failing over along the agency's `alert_channels` (hotline/features/alerts/failover.py)
    voice  an automated call, "tekan 1 untuk menerima": the flow ivr_flows/urc_alert.yaml (voice_alerts.py)

`via: [sms, voice]` in routing/escalation.yaml calls and texts together; the SMS's failover then skips the
voice channel, so nobody is called twice for one step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from hotline.core.outbox import queue_sms
from hotline.features.alerts import failover
from hotline.models import OutboundPurpose, Ticket, TicketStatus


@dataclass(frozen=True)
class Alert:
    ticket_id: int
    phones: tuple[str, ...]
    body: str
    purpose: str = OutboundPurpose.ESCALATION
    via: tuple[str, ...] = ()  # every channel this alert goes out on at once (set by send_alert)


AlertSender = Callable[[Session, Alert], None]


def _by_sms(session: Session, alert: Alert) -> None:
    ticket = session.get(Ticket, alert.ticket_id)
    for phone in alert.phones:  # through the outbox: sent after commit, retried, never lost
        if ticket is None:
            queue_sms(session, to=phone, body=alert.body, purpose=alert.purpose, ticket_id=alert.ticket_id)
            continue
        channels, _ = failover.pinned_channels(ticket)
        also = set(alert.via) - {"sms"}  # sent on those at once already: not again as a failover
        failover.start(
            session,
            ticket=ticket,
            phone=phone,
            body=alert.body,
            purpose=alert.purpose,
            channels=[c for c in channels if c not in also],
        )


def _by_voice(session: Session, alert: Alert) -> None:
    ticket = session.get(Ticket, alert.ticket_id)
    if ticket is None or ticket.status != TicketStatus.ROUTED:
        return  # the call asks to accept: once someone has, nothing to ask
    for phone in alert.phones:
        failover.start(session, ticket=ticket, phone=phone, body=alert.body, purpose=alert.purpose, channels=["voice"])


# One sender per channel a step's `via` may name (a provider is chosen below them: failover.py, the gateways).
_SENDERS: dict[str, AlertSender] = {"sms": _by_sms, "voice": _by_voice}


def send_alert(session: Session, via: Sequence[str], alert: Alert) -> list[str]:
    """Send on every channel of `via` that has a sender; SMS when none does, so no step goes unheard.
    Returns the channels used."""
    used = [channel for channel in dict.fromkeys(via) if channel in _SENDERS] or ["sms"]
    alert = replace(alert, via=tuple(used))
    for channel in used:
        _SENDERS[channel](session, alert)
    return used
