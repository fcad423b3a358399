"""The timer core (hotline/jobs/timers.py): a kind registered beside escalation, failover and activation gets
the same guarantees from the table of due work, the releaser and the reconciler, with the clock moved forward."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.core.queue import queue, redis_connection
from hotline.db import unit_of_work
from hotline.jobs import timers
from hotline.jobs.timers import Due, Outcome, TimerKind, add, reconcile
from hotline.models import Timer
from hotline.models.chain import PinnedChain
from tests.conftest import drain_queue

PROBE = "probe"


def test_a_timer_is_named_the_same_way_in_redis_and_back() -> None:
    for due in (Due("escalation", 12), Due("failover", 3, 1), Due("activation", 7, 0)):
        assert Due.parse(due.member) == due and Due.parse(due.member.encode()) == due
    assert Due("failover", 3, 1).member == "failover:3:1" and Due("escalation", 12).member == "escalation:12"


def test_a_kind_whose_names_cannot_be_told_apart_is_refused() -> None:
    with pytest.raises(ValueError, match="no ':' in the name"):
        timers.register(TimerKind("a:b", lambda _session, pieces: []))
    with pytest.raises(ValueError, match="no '-' in the job prefix"):
        timers.register(TimerKind("retry", lambda _session, pieces: [], job_prefix="re-try"))
    assert "a:b" not in timers.kinds() and "retry" not in timers.kinds()
    assert {"escalation", "failover", "activation"} <= set(timers.kinds())  # wired in hotline/jobs/timer_kinds.py


def test_a_chain_pinned_before_roles_and_alerts_loads_with_their_defaults() -> None:
    old = {
        "agency": "PMK",
        "repeat_minutes": 5,
        "steps": [{"after_minutes": 0, "notify": ["urc"], "phones": ["+62811"]}],
    }
    chain = PinnedChain.load(old)
    assert chain is not None
    assert (chain.number, chain.alerts, chain.step(3).phones, chain.step(0).roles) == (0, None, ("+62811",), {})
    assert PinnedChain.load(None) is None and PinnedChain.load({}) is None
    now = {
        "number": 1,
        "agency": "PMK",
        "repeat_minutes": None,
        "steps": [
            {"after_minutes": 0, "notify": ["urc"], "via": ["sms"], "phones": ["+62811"], "roles": {"+62811": "urc"}}
        ],
        "alerts": {"channels": ["sms", "voice"], "timeout_seconds": 60},
    }
    loaded = PinnedChain.load(now)
    assert loaded is not None and loaded.dump() == now  # the JSON keeps its shape


@pytest.fixture
def probe(backend: dict[str, str], real_clock: None) -> Iterator[list[int]]:
    """A kind registered for this test only: it records what it fired, once per ref, never before its moment."""
    fired: list[int] = []

    def fire(session: Session, pieces: list[Due]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for due in pieces:
            at = session.scalar(select(Timer.due_at).where(Timer.kind == PROBE, Timer.ref == due.ref))
            if at is not None and at > clock.now():
                outcomes.append(("early", at))
            elif due.ref in fired:
                outcomes.append(("not-pending", None))
            else:
                fired.append(due.ref)
                outcomes.append(("fired", None))
        return outcomes

    timers.register(TimerKind(PROBE, fire, batch=10))
    yield fired
    timers.kinds().pop(PROBE)


def _probe_rows() -> list[int]:
    with unit_of_work() as s:
        return list(s.scalars(select(Timer.ref).where(Timer.kind == PROBE)))


def test_a_new_kind_fires_once_on_time_through_redis_loss(probe: list[int]) -> None:
    with unit_of_work() as s:
        add(s, Due(PROBE, 7), clock.now() + timedelta(minutes=10))
        add(s, Due(PROBE, 7), clock.now() + timedelta(minutes=10))  # written twice: one deadline
    assert _probe_rows() == [7]
    assert reconcile(only=[PROBE]).requeued == 0  # beyond the horizon: no timer yet
    clock.advance(timedelta(minutes=9))
    assert reconcile(only=[PROBE]).requeued == 1  # within it: a timer
    assert reconcile(only=[PROBE]).requeued == 0  # which it now has
    redis_connection().flushdb()  # Redis restarted without AOF
    assert reconcile(only=[PROBE]).requeued == 1  # the row is still there: the timer again
    assert timers.fire_timer(PROBE, 7) == "early" and probe == []  # woken before its moment: nothing done
    clock.advance(timedelta(minutes=1, seconds=1))
    assert timers.claim_due(redis_connection()) == [Due(PROBE, 7)]  # due now, claimed by a releaser...
    assert reconcile(only=[PROBE]).requeued == 0  # ...a moment ago: it is being fired
    assert timers.fire_claimed([Due(PROBE, 7)]) == {"queued": 1}  # not fired in the releaser: a job for a worker
    assert reconcile(only=[PROBE]).requeued == 0  # which is live: nothing more
    drain_queue()
    assert probe == [7] and _probe_rows() == []  # fired, and gone from the table of due work
    assert timers.fire_timer(PROBE, 7) == "not-pending"  # a second firing does nothing
    assert reconcile(only=[PROBE]).pending_in_horizon == 0
    drain_queue()
    assert probe == [7]


def test_a_kind_fired_in_the_releaser_is_fired_there_batch_by_batch(probe: list[int]) -> None:
    timers.register(TimerKind(PROBE, timers.kinds()[PROBE].fire, in_releaser=True, batch=2))
    with unit_of_work() as s:
        for ref in (1, 2, 3):
            add(s, Due(PROBE, ref), clock.now() + timedelta(seconds=30))
    clock.advance(timedelta(seconds=31))
    claimed = timers.claim_due(redis_connection())
    assert sorted(claimed) == [Due(PROBE, 1), Due(PROBE, 2), Due(PROBE, 3)]
    assert timers.fire_claimed(claimed) == {"fired": 3}
    assert sorted(probe) == [1, 2, 3] and _probe_rows() == [] and len(queue()) == 0  # no RQ job


def test_a_due_timer_with_no_releaser_becomes_one_job(probe: list[int]) -> None:
    with unit_of_work() as s:
        add(s, Due(PROBE, 1), clock.now() + timedelta(seconds=30))
        add(s, Due(PROBE, 2, 1), clock.now() + timedelta(seconds=30))
    clock.advance(timedelta(minutes=1))
    assert reconcile(only=[PROBE]).requeued == 2  # due, no releaser's heartbeat: RQ jobs
    assert reconcile(only=[PROBE]).requeued == 0  # queued once
    assert sorted(job.id for job in queue().get_jobs()) == ["probe-1", "probe-2-1"]
    drain_queue()
    assert sorted(probe) == [1, 2] and _probe_rows() == []
