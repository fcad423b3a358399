"""Re-queue from the database whatever Redis lost: the database, not Redis, is the source of truth."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from hotline.db import unit_of_work
from hotline.jobs.queue import enqueue_inbound, enqueue_outbound
from hotline.models import InboundMessage, OutboundMessage, utcnow

log = logging.getLogger(__name__)

INBOUND_GRACE = timedelta(seconds=15)
OUTBOUND_GRACE = timedelta(seconds=30)
SENDING_STUCK = timedelta(minutes=10)
BATCH = 500


@dataclass
class SweepResult:
    inbound: int = 0
    outbound: int = 0
    unstuck: int = 0


def sweep_once() -> SweepResult:
    now = utcnow()
    result = SweepResult()
    with unit_of_work() as session:
        inbound_ids = session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.status == "received", InboundMessage.received_at < now - INBOUND_GRACE)
            .order_by(InboundMessage.id)
            .limit(BATCH)
        ).all()
        # A worker killed between claiming and recording a send leaves 'sending'; send it again
        # (a possible duplicate is better than a lost alert).
        result.unstuck = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "sending", OutboundMessage.updated_at < now - SENDING_STUCK)
            .values(status="queued", next_attempt_at=now, last_error="worker stopped mid-send; sending again")
        ).rowcount
        outbound_ids = session.scalars(
            select(OutboundMessage.id)
            .where(OutboundMessage.status == "queued", OutboundMessage.next_attempt_at < now - OUTBOUND_GRACE)
            .order_by(OutboundMessage.id)
            .limit(BATCH)
        ).all()
    for inbound_id in inbound_ids:
        enqueue_inbound(inbound_id)
    enqueue_outbound(list(outbound_ids), attempt=int(now.timestamp()))
    result.inbound, result.outbound = len(inbound_ids), len(outbound_ids)
    if result.inbound or result.outbound or result.unstuck:
        log.warning("sweeper re-queued %s", result)
    return result


def run_forever(stop: threading.Event, interval: float = 30.0) -> None:
    """Runs at worker start and then every `interval` seconds: lost messages and lost timers come back."""
    from hotline.jobs.escalation import reconcile

    while not stop.is_set():
        for name, task in (("sweep", sweep_once), ("escalation reconcile", reconcile)):
            try:
                task()
            except Exception:
                log.exception("%s failed; trying again in %ss", name, interval)
        stop.wait(interval)
