"""Queue an SMS in the outbox; delivery jobs are released only after the transaction commits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.dispatch import dispatcher
from hotline.db import transaction_state
from hotline.models import OptOut, OutboundMessage, OutboundPurpose
from hotline.sms.encoding import fold

_PENDING = "hotline_outbox_pending"
CREATED = "hotline_outbox_created"  # transaction_state key: ids queued in this transaction
EXEMPT_FROM_OPT_OUT = frozenset({OutboundPurpose.OPTOUT_ACK})
# Lanes: SMS that call a crew out (features/alerts/failover.py ALERT_PURPOSES) go to the alert queue, which workers
# take first (hotline/core/queue.py); replies to the usual one; broadcasts to neither (jobs/broadcast_sender.py).
URGENT_PURPOSES = frozenset({OutboundPurpose.ALERT, OutboundPurpose.ESCALATION})
_PENDING_URGENT = "hotline_outbox_pending_urgent"

# What a channel with buttons may offer with a message whose text already says it all (SMS sends the text):
#   {"kind": "list", "button": "Pilih", "options": [["3", "Banjir"], ...]}   pick one (the id is what they "type")
#   {"kind": "buttons", "options": [["1", "Ya, sudah beres"], ["2", "Belum"]]}
#   {"kind": "location"}                                                      share your place
Choices = Mapping[str, Any]


def queue_sms(
    session: Session,
    *,
    to: str,
    body: str,
    purpose: str,
    ticket_id: int | None = None,
    member_id: int | None = None,
    inbound_id: int | None = None,
    channel: str | None = None,
    choices: Choices | None = None,
) -> OutboundMessage:
    message = OutboundMessage(
        to_number=to,
        # Every SMS we send is folded into GSM-7: one "…" or curly quote (ours, or a citizen's words quoted in
        # an alert) would make the whole message UCS-2, 70 characters a part instead of 160. Only letters of
        # another script (a name) are kept, and cost UCS-2: crew texts fold even those (core/wording.py).
        body=fold(body, keep_other_scripts=True),
        purpose=purpose,
        ticket_id=ticket_id,
        member_id=member_id,
        inbound_id=inbound_id,
        channel=channel,
        choices=dict(choices) if choices else None,
    )
    session.add(message)
    session.flush()
    state = transaction_state(session)
    state.setdefault(CREATED, []).append(message.id)
    urgent = purpose in URGENT_PURPOSES
    key = _PENDING_URGENT if urgent else _PENDING
    pending: list[int] | None = state.get(key)
    if pending is None:
        pending = state[key] = []
        ids = pending

        def release() -> None:
            from hotline.core.queue import enqueue_outbound

            enqueue_outbound(ids, urgent=urgent)

        dispatcher(session).release(session, release)  # the workers' queue (the simulator: nowhere)
    pending.append(message.id)
    return message


def is_opted_out(session: Session, phone: str) -> bool:
    return session.scalar(select(OptOut.phone).where(OptOut.phone == phone)) is not None
