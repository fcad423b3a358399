"""Alert failover as a kind of timer (hotline/jobs/timers.py): `failover:<delivery id>:<position>` is "no
delivery report within N seconds" for the alert waiting on its channel number `position`. Firing it is
idempotent (hotline/features/alerts/failover.py `on_timeout`), so a timer fired twice fails the alert over once.

Also here: the job that places a voice alert call, and the sweep that queues again a call whose job Redis lost."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.core.deadlines import Due, FireOutcome
from hotline.db import unit_of_work
from hotline.features.alerts import failover
from hotline.features.alerts.failover import enqueue_call
from hotline.jobs.timer_kind import Outcome, TimerKind
from hotline.models import AlertAttempt, AlertAttemptStatus, AlertDelivery, AlertDeliveryStatus

log = logging.getLogger(__name__)
CALL_STUCK = timedelta(seconds=30)  # a call still queued this long lost its job (Redis flushed): queue it again


def fire_timeouts(session: Session, pieces: list[Due]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for due in pieces:
        outcome = failover.on_timeout(session, delivery_id=due.ref, position=due.seq)
        found = session.get(AlertDelivery, due.ref) if outcome == FireOutcome.EARLY else None
        outcomes.append((outcome, found.due_at if found else None))
    return outcomes


def requeue_stuck_calls() -> int:
    """A voice call still queued CALL_STUCK after it was asked for lost its job: queue it again (the job claims
    the attempt atomically, so a second one does nothing)."""
    now = clock.now()
    with unit_of_work() as session:
        stuck_calls = list(
            session.scalars(
                select(AlertAttempt.id)
                .join(AlertDelivery, AlertDelivery.id == AlertAttempt.delivery_id)
                .where(
                    AlertDelivery.status == AlertDeliveryStatus.PENDING,
                    AlertAttempt.channel == "voice",
                    AlertAttempt.status == AlertAttemptStatus.QUEUED,
                    AlertAttempt.updated_at < now - CALL_STUCK,
                )
            )
        )
    for attempt_id in stuck_calls:
        enqueue_call(attempt_id, retry=int(now.timestamp()))
    if stuck_calls:
        log.warning("failover sweep queued %s alert call(s) again", len(stuck_calls))
    return len(stuck_calls)


# An RQ job per timeout (a worker fires it, not the releaser), one transaction each: on_timeout locks its ticket
# then its delivery, as every delivery report does.
KIND = TimerKind(failover.TIMER_KIND, fire_timeouts, sweep=requeue_stuck_calls)
