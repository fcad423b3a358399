"""Re-queue from the database whatever Redis lost: the database, not Redis, is the source of truth. Deadlines
(escalation steps, alert failover, activation) are the timer core's (hotline/jobs/timers.py): each sweep runs
its reconciler, and the sweeper keeps the core's releaser process running."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from dataclasses import dataclass
from datetime import timedelta

from redis import RedisError
from sqlalchemy import select, update

from hotline.core.outbox import URGENT_PURPOSES
from hotline.core.queue import (
    RedisNotConfigured,
    enqueue_inbound,
    enqueue_outbound,
    outbound_job_id,
    redis_connection,
    worker_queues,
)
from hotline.db import unit_of_work
from hotline.jobs import broadcast_sender, timers
from hotline.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus, utcnow
from hotline.settings import get_settings

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
            .where(InboundMessage.status == InboundStatus.RECEIVED, InboundMessage.received_at < now - INBOUND_GRACE)
            .order_by(InboundMessage.id)
            .limit(BATCH)
        ).all()
        # A worker killed between claiming and recording a send leaves 'sending'; send it again
        # (a possible duplicate is better than a lost alert), in this sweep: its job died with the worker.
        unstuck = session.scalars(
            update(OutboundMessage)
            .where(OutboundMessage.status == OutboundStatus.SENDING, OutboundMessage.updated_at < now - SENDING_STUCK)
            .values(
                status=OutboundStatus.QUEUED, next_attempt_at=now, last_error="worker stopped mid-send; sending again"
            )
            .returning(OutboundMessage.id)
        ).all()
        result.unstuck = len(unstuck)
        late = session.scalars(
            select(OutboundMessage.id)
            .where(
                OutboundMessage.status == OutboundStatus.QUEUED, OutboundMessage.next_attempt_at < now - OUTBOUND_GRACE
            )
            .order_by(OutboundMessage.id)
            .limit(BATCH)
        ).all()
        waiting = _still_waiting(list(late))
        outbound_ids = sorted({*unstuck, *(i for i in late if i not in waiting)})
        urgent = (
            set(  # alerts go back to their own lane (hotline/core/queue.py)
                session.scalars(
                    select(OutboundMessage.id).where(
                        OutboundMessage.id.in_(outbound_ids), OutboundMessage.purpose.in_(URGENT_PURPOSES)
                    )
                )
            )
            if outbound_ids
            else set()
        )
    for inbound_id in inbound_ids:
        enqueue_inbound(inbound_id)
    attempt = int(now.timestamp())
    enqueue_outbound([i for i in outbound_ids if i in urgent], attempt=attempt, urgent=True)
    enqueue_outbound([i for i in outbound_ids if i not in urgent], attempt=attempt)
    result.inbound, result.outbound = len(inbound_ids), len(outbound_ids)
    if result.inbound or result.outbound or result.unstuck:
        log.warning("sweeper re-queued %s", result)
    try:  # media whose fetch job was lost (Redis lost, a worker killed): hotline/jobs/media.py
        from hotline.jobs.media import queue_overdue

        queue_overdue()
    except Exception:  # broad: one step of the sweep; whatever fails, the gateways below are still looked at
        log.warning("re-queueing overdue media failed; next sweep", exc_info=True)
    try:  # gateways learnt about by looking (Gammu SMSD's folders)
        from hotline.channels.gateway_polling import poll_gateways

        poll_gateways()
    except Exception:  # broad: one step of the sweep; whatever fails, the sweep's result still goes back
        log.warning("polling the SMS gateways failed; next sweep", exc_info=True)
    return result


def _still_waiting(message_ids: list[int]) -> set[int]:
    """Rows whose first delivery job (`outbound-<id>-0`, jobs/queue.py) is still queued in RQ: late behind
    a backlog, not lost. Queueing them again only made the backlog longer (docs/benchmarks.md,
    escalation). Queued means in a lane's list: a worker takes a job off the list (BLPOP) before it marks it
    started, so a worker killed in between leaves a job that says "queued" and is in no list, lost (seen in
    tests/test_escalation_faults.py). A job in RQ's intermediate list may belong to a worker that died: not
    counted as waiting either."""
    if not message_ids:
        return set()
    lanes = worker_queues()
    listed = {job for q in lanes for job in q.get_job_ids()}
    popped = {job for q in lanes for job in q.intermediate_queue.get_job_ids()}
    with lanes[0].connection.pipeline(transaction=False) as pipe:
        for message_id in message_ids:
            pipe.hget(f"rq:job:{outbound_job_id(message_id)}", "status")
        statuses = pipe.execute()
    waiting = set()
    for message_id, status in zip(message_ids, statuses, strict=True):
        job = outbound_job_id(message_id)
        if status == b"deferred" or (status == b"queued" and job in listed and job not in popped):
            waiting.add(message_id)
    return waiting


def _my_turn(interval: float) -> bool:
    """One sweep per interval across all workers: the same sweep twice finds the same rows, and creating
    thousands of escalation timers twice is CPU the machine needs for firing them (docs/benchmarks.md,
    escalation). Without Redis the sweep runs (and says what failed)."""
    try:
        key = f"hotline:sweep-turn:{get_settings().queue_name}"
        return bool(redis_connection().set(key, os.getpid(), nx=True, px=max(200, int(interval * 900))))
    except (RedisError, RedisNotConfigured):  # the sweep that follows says what failed
        return True


def run_forever(stop: threading.Event, interval: float = 30.0) -> None:
    """Runs at worker start and then every `interval` seconds: lost messages and lost timers come back.
    Also keeps the timer releaser process running, which fires due timers within a tick of their moment."""
    timers.kinds()  # the kinds' modules load now, before the releaser starts, not in the middle of a first sweep
    releaser = timers.start_releaser()
    # Early warnings, off the RQ queue (one sends: a Redis lease); HOTLINE_BROADCAST_SENDER=off leaves it to
    # `hotline broadcast sender` (or to nobody).
    with_sender = get_settings().broadcast_sender == "worker"
    sender = broadcast_sender.start_sender() if with_sender else None
    try:
        while not stop.is_set():
            if releaser.poll() is not None:
                log.error("timer releaser exited (%s); starting it again", releaser.returncode)
                releaser = timers.start_releaser()
            if sender is not None and sender.poll() is not None:
                log.error("broadcast sender exited (%s); starting it again", sender.returncode)
                sender = broadcast_sender.start_sender()
            if _my_turn(interval):
                _sweep(interval)
            stop.wait(interval)
    finally:
        processes = [p for p in (releaser, sender) if p is not None]
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _sweep(interval: float) -> None:
    try:
        sweep_once()
    except Exception:  # broad: the sweeper's loop must outlive any one failed sweep (the next one tries again)
        log.exception("sweep failed; trying again in %ss", interval)
    try:
        result = timers.reconcile()
        # One line per sweep: how long rebuilding the timers takes is what bounds the sweep interval
        # (bench/escalation.py reads it).
        log.info(
            "timer reconcile: %s due within the horizon, %s timers set or re-queued, %s swept, %.3f s",
            result.pending_in_horizon,
            result.requeued,
            result.swept,
            result.seconds,
        )
    except Exception:  # broad: the sweeper's loop must outlive any one failed reconcile
        log.exception("timer reconcile failed; trying again in %ss", interval)
    try:  # once a day, the command center's digest of tickets left open long past their deadline
        from hotline.features.tickets.stale import send_daily_digest

        send_daily_digest()
    except Exception:  # broad: the sweeper's loop must outlive any one failed digest
        log.exception("stale-ticket digest failed; trying again in %ss", interval)
