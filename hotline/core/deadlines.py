"""Writing a deadline: the one thing a feature needs from the timer core (hotline/jobs/timers.py fires them).

A feature decides a deadline in its own transaction with `add(session, Due(kind, ref, seq), at)`: a row of
`timers` (hotline/models/timers.py). After commit, a row due within HORIZON must be armed in Redis; that is the
jobs layer's work, so it is a port here: hotline/jobs/timers.py plugs its `arm` in when it is imported, and the
composition root (hotline/wiring.py) imports it in every process. Features never import hotline.jobs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from hotline import clock
from hotline.db import after_commit, dialect_insert, transaction_state
from hotline.models import Timer

HORIZON = timedelta(seconds=90)  # rows due this soon get a Redis timer; the reconciler wakes the rest as they near


@dataclass(frozen=True, order=True)
class Due:
    """One piece of due work: row `ref` of kind `kind` (and `seq`, for a row with several deadlines)."""

    kind: str
    ref: int
    seq: int = 0

    @property
    def member(self) -> str:
        """Its name in Redis."""
        return f"{self.kind}:{self.ref}:{self.seq}" if self.seq else f"{self.kind}:{self.ref}"

    @classmethod
    def parse(cls, member: bytes | str) -> Due:
        kind, ref, *seq = (member.decode() if isinstance(member, bytes) else member).split(":")
        return cls(kind, int(ref), int(seq[0]) if seq else 0)


class FireOutcome(StrEnum):
    """What firing a piece of due work did (hotline/jobs/timer_kind.py Outcome): the words the timer core and
    every kind share. A kind may say more in its own words (failover's "failed-over", activation's "activated")."""

    EARLY = "early"  # not due yet: kept, and woken again at its moment (the one word the core acts on)
    FIRED = "fired"  # done, once
    MOOT = "moot"  # no longer needed: the ticket or the alert moved on first
    NOT_PENDING = "not-pending"  # fired or cancelled already: a second firing does nothing
    MISSING = "missing"  # its row is gone
    QUEUED = "queued"  # the releaser queued an RQ job that fires it (a kind not fired in the releaser)


Arm = Callable[[Sequence[tuple[Due, datetime]]], None]
_arm: list[Arm] = []  # the timer core's `arm`, plugged in by hotline/jobs/timers.py


def plug_arm(arm: Arm) -> None:
    """The timer core says how deadlines are armed after commit (hotline/jobs/timers.py, at import)."""
    _arm[:] = [arm]


def _arm_after_commit(timers: Sequence[tuple[Due, datetime]]) -> None:
    if not _arm:
        # A process that writes deadlines without the composition root (hotline/wiring.py): the reconciler
        # arms them at its next sweep; say so instead of losing the moment silently.
        raise RuntimeError("no timer core plugged in (hotline.wiring.wire() was not called in this process)")
    _arm[0](timers)


_ARM = "hotline_timers_to_arm"  # transaction_state key: timers to set in Redis once the transaction commits


_INSERTS: dict[str, Any] = {}  # dialect name -> the one INSERT ... ON CONFLICT DO NOTHING of a timers row


def _insert(dialect: str) -> Any:
    """Built once per dialect, on the table: a statement built per call with its values (values(), ON CONFLICT,
    its cache key) cost more CPU than the INSERT's round trip (docs/benchmarks.md, escalation: CPU per step)."""
    statement = _INSERTS.get(dialect)
    if statement is None:
        statement = _INSERTS[dialect] = dialect_insert(dialect, cast(Table, Timer.__table__)).on_conflict_do_nothing()
    return statement


def add(session: Session, due: Due, at: datetime) -> None:
    """Write a deadline in the caller's transaction (again: nothing changes). Due within HORIZON, its timer is
    set after commit, all of one transaction's in one round trip to Redis; later ones the reconciler wakes."""
    values = {"kind": due.kind, "ref": due.ref, "seq": due.seq, "due_at": at, "created_at": clock.now()}
    # No autoflush (Session.execute flushes first, Core statements too): the row names its work by an id already
    # flushed, so the caller's pending changes need not go first; the flush cost one more per deadline written.
    with session.no_autoflush:
        session.execute(_insert(session.get_bind().dialect.name), values)
    if at > clock.now() + HORIZON:
        return
    state = transaction_state(session)
    pending: list[tuple[Due, datetime]] | None = state.get(_ARM)
    if pending is None:
        pending = state[_ARM] = []
        arm_these = pending
        after_commit(session, lambda: _arm_after_commit(arm_these))
    pending.append((due, at))
