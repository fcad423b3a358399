"""What a kind of deadline is (hotline/jobs/timers.py fires them; hotline/jobs/timer_kinds.py lists them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hotline.core.deadlines import Due

Outcome = tuple[str, datetime | None]  # what firing did (a FireOutcome or the kind's own word), the moment if EARLY


@dataclass(frozen=True)
class TimerKind:
    """A kind of deadline. `fire(session, pieces)` acts on pieces of this kind, in the transaction given, and
    returns one Outcome each, in order: FireOutcome.EARLY (with its moment) for one not due yet, which is kept and
    woken again then; anything else ends it. Firing twice must do nothing the second time."""

    name: str
    fire: Callable[[Session, list[Due]], list[Outcome]]
    # Fired by the releaser process itself, `batch` per transaction: for a kind whose lateness matters and
    # that fires cheaply in batches (escalation steps). Otherwise the releaser queues an RQ job at the moment
    # and a worker fires it: the releaser's time stays with the kinds that need it.
    in_releaser: bool = False
    batch: int = 1  # pieces fired in one transaction (locks held together: only a kind that orders them)
    job_prefix: str = ""  # its RQ jobs are `<job_prefix>-<ref>[-<seq>]` (default: the name)
    sweep: Callable[[], int] | None = None  # more to rebuild after Redis loss, run by each reconcile

    @property
    def prefix(self) -> str:
        return self.job_prefix or self.name
