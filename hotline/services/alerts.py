"""How an escalation step reaches people: one sender per channel named in the step's `via`.

Only SMS exists today. A voice-call alert ("tekan 1 untuk menerima") plugs in with
`register("voice", sender)` and `via: [sms, voice]` in routing/escalation.yaml once the config accepts it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hotline.services.outbox import queue_sms


@dataclass(frozen=True)
class Alert:
    ticket_id: int
    phones: tuple[str, ...]
    body: str
    purpose: str = "escalation"


AlertSender = Callable[[Session, Alert], None]


def _by_sms(session: Session, alert: Alert) -> None:
    for phone in alert.phones:  # through the outbox: sent after commit, retried, never lost
        queue_sms(session, to=phone, body=alert.body, purpose=alert.purpose, ticket_id=alert.ticket_id)


_SENDERS: dict[str, AlertSender] = {"sms": _by_sms}


def register(channel: str, sender: AlertSender) -> None:
    _SENDERS[channel] = sender


def unregister(channel: str) -> None:
    if channel != "sms":
        _SENDERS.pop(channel, None)


def send_alert(session: Session, via: Sequence[str], alert: Alert) -> list[str]:
    """Send on every channel of `via` that has a sender; SMS when none does, so no step goes unheard.
    Returns the channels used."""
    used = [channel for channel in dict.fromkeys(via) if channel in _SENDERS] or ["sms"]
    for channel in used:
        _SENDERS[channel](session, alert)
    return used
