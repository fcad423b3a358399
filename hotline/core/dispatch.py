"""Where a transaction's work for the workers goes: the one choice the edge makes about dispatching.

The domain writes its rows (an outbox SMS, an alert attempt, a ticket) and hands what should follow to the
session's dispatcher: jobs to release once the transaction commits, deadlines for the timer core. The default,
QUEUE, gives them to the workers. `hotline simulate sms|call` wires QUIET (hotline/simulate.py): the rows are
kept, nothing is sent, queued or timed, and a deadline that would fire at once is done now by the caller. So no
domain code asks whether it runs in a simulator; it asks its dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from hotline.core import deadlines
from hotline.core.deadlines import Due
from hotline.db import after_commit

_KEY = "hotline_dispatcher"  # session.info: the dispatcher the edge wired for this session


class Dispatcher(Protocol):
    def release(self, session: Session, job: Callable[[], None]) -> None:
        """Hand `job` (enqueue work for the workers) over once the transaction has committed."""

    def deadline(self, session: Session, due: Due, at: datetime) -> bool:
        """Set a deadline in the transaction; False: it will never fire, so the caller does now what it must."""


class QueueDispatcher:
    """The workers': jobs after commit, deadlines in the timer core (hotline/jobs/timers.py fires them)."""

    def release(self, session: Session, job: Callable[[], None]) -> None:
        after_commit(session, job)

    def deadline(self, session: Session, due: Due, at: datetime) -> bool:
        deadlines.add(session, due, at)
        return True


class QuietDispatcher:
    """The simulator's: keeps the rows, releases nothing, sets no deadline (none may wake the real workers)."""

    def release(self, session: Session, job: Callable[[], None]) -> None:
        return None

    def deadline(self, session: Session, due: Due, at: datetime) -> bool:
        return False


QUEUE = QueueDispatcher()
QUIET = QuietDispatcher()


def use(session: Session, dispatcher: Dispatcher) -> None:
    """Wire `dispatcher` for this session (the edge does, before the domain runs)."""
    session.info[_KEY] = dispatcher


def dispatcher(session: Session) -> Dispatcher:
    found: Dispatcher = session.info.get(_KEY, QUEUE)
    return found
