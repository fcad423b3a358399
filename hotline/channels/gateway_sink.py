"""Where every gateway adapter hands what it received (hotline/channels/gateway.py): an inbound SMS is stored
through the one idempotent path (unique provider sid) and queued; a delivery report goes to the one delivery
service. Synchronous: async code calls these in a thread (`run_sync`), limited by `database_slots`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Literal

from redis import RedisError
from sqlalchemy.orm import Session

from hotline.channels.gateway import DeliveryReport, InboundSms
from hotline.clock import now
from hotline.core.gateway_config import GatewaySpec
from hotline.db import DATABASE_UNAVAILABLE, get_engine, retry_if_disconnected, unit_of_work
from hotline.features.alerts.delivery import ReportOutcome, apply_report
from hotline.features.broadcasts import sending as broadcast_sending
from hotline.features.sms.sms_intake import insert_inbound, namespaced_sid, row_for_gateway_sms
from hotline.settings import get_settings

log = logging.getLogger(__name__)

SID_COLUMN = 64  # inbound_messages.provider_sid, which holds "<gateway>:<id>"


class InboundRefused(ValueError):
    """What a gateway sent cannot be stored as an SMS (said to the gateway as a 4xx, nothing stored)."""


def _kind(gateway: str) -> str:
    spec = get_settings().sms_routing.gateways.get(gateway)
    return spec.kind if spec is not None else "unknown"


def gateways_named(kind: str, name: str | None = None) -> list[GatewaySpec]:
    """The configured gateways of this type that `name` picks: the one so called, or all of them when `name` is
    None. One is the answer; none or several are for the caller to explain (a 404, a 400, an exit code)."""
    found = get_settings().sms_routing.of_kind(kind)
    return [g for g in found if g.name == name] if name is not None else found


def gateway_of_kind(kind: str, name: str | None = None) -> str | None:
    """The configured gateway of this type called `name`, or the only one when `name` is None."""
    found = gateways_named(kind, name)
    return found[0].name if len(found) == 1 else None


def check_inbound(sms: InboundSms, *, kind: str) -> None:
    """Raise InboundRefused for what can never be stored as an SMS (so it is never spooled either)."""
    longest = SID_COLUMN if kind == "twilio" else SID_COLUMN - len(sms.gateway) - 1
    if not sms.gateway_id or len(sms.gateway_id) > longest:  # cutting one could merge two reports
        raise InboundRefused(f"the gateway's message id must be 1-{longest} characters")
    if not sms.sender.strip():
        raise InboundRefused("the sender is missing")


def take_inbound(sms: InboundSms, *, queue: bool = True, kind: str | None = None) -> int | None:
    """Store one inbound SMS and queue its processing. Returns the new row's id, or None when it was stored
    already (a gateway redelivering it). Raises InboundRefused for what cannot be an SMS, and the database's
    errors when it is down (`take_or_spool` keeps the SMS in the spool then)."""
    kind = kind or _kind(sms.gateway)
    check_inbound(sms, kind=kind)
    row = row_for_gateway_sms(sms, kind=kind, region=get_settings().default_region)

    def store() -> int | None:
        with get_engine().begin() as conn:
            return insert_inbound(conn, row)

    new_id = retry_if_disconnected(store)
    if new_id is not None and queue:
        from hotline.core.queue import RedisNotConfigured, enqueue_inbound

        try:
            enqueue_inbound(new_id)
        except (RedisError, RedisNotConfigured):  # stored is what matters; the sweeper queues it once Redis is back
            log.warning("could not queue inbound SMS %s; the sweeper will", new_id, exc_info=True)
    return new_id


def spool_sms(sms: InboundSms, *, kind: str | None = None) -> Path:
    """Keep the SMS in the local spool (fsync'd before this returns) for the replayer to store later. Raises
    InboundRefused as take_inbound would, OSError when the spool cannot be written."""
    from hotline.spool.records import sms_record
    from hotline.spool.store import current_spool

    kind = kind or _kind(sms.gateway)
    check_inbound(sms, kind=kind)
    arrived = now()
    record = sms_record(replace(sms, received_at=sms.received_at or arrived), kind=kind, arrived_at=arrived)
    return current_spool().append(record)


Taken = Literal["stored", "repeat", "spooled"]


def take_or_spool(sms: InboundSms, *, kind: str | None = None) -> Taken:
    """`take_inbound`, and when the database cannot be reached, the local spool instead (hotline/spool/): the
    report is on disk, fsync'd, before this returns, so the gateway may be told 200. The spool's replayer
    stores it through `take_inbound` once the database is back. InboundRefused still raises (nothing is
    spooled that could never be stored); so does the database's error if the spool cannot be written."""
    try:
        return "stored" if take_inbound(sms, kind=kind) is not None else "repeat"
    except DATABASE_UNAVAILABLE as down:
        try:
            path = spool_sms(sms, kind=kind)
        except OSError:
            log.exception("the database is down AND the spool cannot be written: SMS %s not kept", sms.gateway_id)
            raise down from None
        log.warning(
            "database unavailable (%s): SMS %s from %s spooled as %s",
            type(down).__name__,
            sms.gateway_id,
            sms.gateway,
            path.name,
        )
        return "spooled"


def take_report(report: DeliveryReport) -> ReportOutcome:
    """Apply one delivery report (outbox status, alert failover). Idempotent."""
    kind = _kind(report.gateway)

    def apply() -> ReportOutcome:
        with unit_of_work() as session:  # its own: every gateway calls this, in a request or not (SMPP, polling)
            return apply_any_report(session, report, kind=kind)

    outcome = retry_if_disconnected(apply)
    if outcome != "applied":
        log.info(
            "%s report %s for message id=%s sid=%s: %s",
            report.gateway,
            report.status,
            report.message_id,
            report.provider_sid,
            outcome,
        )
    return outcome


def apply_any_report(session: Session, report: DeliveryReport, *, kind: str) -> ReportOutcome:
    """An outbox row's report (alerts fail over on it), else an early warning's (features/broadcasts/sending.py)."""
    outcome = apply_report(session, report, kind=kind)
    if outcome == "unknown" and _broadcast_report(session, report, kind):
        return "applied"
    return outcome


def _broadcast_report(session: Session, report: DeliveryReport, kind: str) -> bool:
    """A report of an early warning's SMS (message id -recipient id, or its sid): not an outbox row."""
    sid = namespaced_sid(report.gateway, kind, report.provider_sid) if report.provider_sid else None
    return broadcast_sending.apply_report(session, message_id=report.message_id, sid=sid, status=report.status)
