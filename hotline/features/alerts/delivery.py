"""Delivery reports from every gateway, in our words, applied to the outbox and fed to alert failover.

One way in (`apply_report`), whatever the gateway: a Twilio status callback, a Kannel DLR, an Android
sms:sent/delivered/failed event, a file in Gammu's sent or error folder, an SMPP delivery receipt.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.channels.gateway import DeliveryReport
from hotline.features.alerts import failover
from hotline.features.sms.sms_intake import namespaced_sid
from hotline.models import OutboundMessage, OutboundStatus, utcnow

# Callbacks arrive out of order; a status never moves back down this ladder.
# ("receiving", "received", "read": Twilio's and WhatsApp's words, mapped to ours at the edge today; kept ranked
# should a row hold one.)
RANK: dict[str, int] = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.ACCEPTED: 0,
    OutboundStatus.SENDING: 1,
    OutboundStatus.SENT: 2,
    "receiving": 2,
    "received": 3,
    OutboundStatus.DELIVERED: 4,
    OutboundStatus.UNDELIVERED: 4,
    OutboundStatus.FAILED: 4,
    "read": 5,
}

ReportOutcome = Literal["applied", "unknown", "mismatch"]


def apply_report(session: Session, report: DeliveryReport, *, kind: str) -> ReportOutcome:
    """`unknown`: no such message of ours (answer the gateway 200 all the same: it cannot do better).
    `mismatch`: the report names our message by its id, but another send of it (or another message) by its
    gateway id; it changes nothing: an id is never a way to reach a message the sid does not belong to."""
    sid = namespaced_sid(report.gateway, kind, report.provider_sid) if report.provider_sid else None
    if report.message_id is not None:
        message = session.get(OutboundMessage, report.message_id, with_for_update=True)
        if message is None:
            return "unknown"
        if sid is not None and message.provider_sid is not None and message.provider_sid != sid:
            return "mismatch"
    elif sid is not None:
        message = session.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid).with_for_update())
        if message is None:
            return "unknown"
    else:
        return "unknown"
    if message.provider_sid is None and sid is not None:  # the report beat our own record of the send
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message.id, OutboundMessage.provider_sid.is_(None))
            .values(provider_sid=sid)
            .execution_options(synchronize_session=False)
        )
    status = report.status
    # One conditional UPDATE: two reports of one SMS at once (Kannel sends 8 then 1 in the same millisecond)
    # never let the lower one win, even where the database has no row locks (SQLite).
    lower = [name for name, rank in RANK.items() if rank <= RANK[status]]
    values: dict[str, object] = {"status": status, "updated_at": utcnow()}
    if report.error_code:
        values["error_code"] = report.error_code[:16]
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message.id, OutboundMessage.status.in_(lower))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(message)
    # Every report, even one the ladder keeps out: a late 'delivered' still stops an alert's failover.
    failover.on_sms_status(session, message=message, status=status)
    return "applied"
