"""Escalation steps as a kind of timer (hotline/jobs/timers.py): `escalation:<id>` fires row `id` of the
`escalations` table (hotline/features/escalation/escalation.py `fire_many`: at most once, whatever runs it how often).

Many steps fall due together (a city-wide storm): the releaser fires them itself (no RQ job each),
FIRE_CHUNK per transaction, one commit for many rows, few ticket locks held at a time; `fire_many` takes the
locks in one order, so chunks never deadlock."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.core.city import current_config
from hotline.core.deadlines import Due
from hotline.features.escalation.escalation import TIMER_KIND, fire_many
from hotline.jobs.timer_kind import Outcome, TimerKind

FIRE_CHUNK = 25


def fire_steps(session: Session, pieces: list[Due]) -> list[Outcome]:
    return fire_many(session, escalation_ids=[due.ref for due in pieces], config=current_config())


KIND = TimerKind(TIMER_KIND, fire_steps, in_releaser=True, batch=FIRE_CHUNK, job_prefix="esc")
