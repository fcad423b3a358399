"""Escalation on real PostgreSQL/SQLite and Redis/RQ, with the clock moved forward instead of sleeping."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hotline import clock
from hotline.core.queue import queue, redis_connection, worker_queues
from hotline.db import unit_of_work
from hotline.jobs import timers
from hotline.jobs.sweeper import sweep_once
from hotline.jobs.timers import STALE_START, Due, claim_due, fire_claimed, heartbeat_key, inflight_key, timers_key
from hotline.models import AlertDelivery, Escalation, Ticket, TicketEvent, Timer
from tests.clocked import tick
from tests.conftest import Phone, drain_queue
from tests.helpers import events, outbound, ticket
from tests.suite_city import heads, members

pytestmark = pytest.mark.usefixtures("real_clock")  # these tests move hotline.clock

CITIZEN = "+6281234567890"
PMK_URC = members("PMK")
PMK_HEAD = heads("PMK")[0]
COMMAND = members("COMMAND")


def step(row: Escalation) -> Due:
    """The row's timer (hotline/jobs/escalation.py)."""
    return Due("escalation", row.id)


def reconcile() -> timers.ReconcileResult:
    return timers.reconcile(only=["escalation"])


def fire_escalation(escalation_id: int) -> str:
    """What the RQ job of one step runs."""
    return timers.fire_timer("escalation", escalation_id)


def enqueue_escalations(rows: list[tuple[int, Any]]) -> None:
    timers.arm([(Due("escalation", escalation_id), due) for escalation_id, due in rows])


def escalation_timers() -> list[str]:
    """The escalation steps' timers in Redis (the alerts' failover timers share the set)."""
    members = [m.decode() for m in redis_connection().zrange(timers_key(), 0, -1)]
    return [m for m in members if m.startswith("escalation:")]


def escalations() -> list[Escalation]:
    with unit_of_work() as s:
        return list(s.scalars(select(Escalation).order_by(Escalation.id)))


def escalation_sms(fake_twilio: Any) -> list[tuple[str, str]]:
    """The escalation SMS that reached the (fake) provider, in order, whatever their wording."""
    sids = {m.provider_sid for m in outbound() if m.purpose == "escalation"}
    return [(m.to, m.body) for m in fake_twilio.messages if m.sid in sids]


DEADLINE = re.compile(r"(batas|target) (\d\d/\d\d )?\d\d:\d\d")  # when it was due, in the city's time


def _fire_report(phone: Phone) -> None:
    phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()


def test_deadlines_and_chain_are_pinned_when_routed(phone: Phone) -> None:
    _fire_report(phone)
    t = ticket(1)
    assert (t.sla_accept_minutes, t.sla_resolve_minutes) == (5, 120)
    assert t.accept_due_at == t.routed_at + timedelta(minutes=5)
    assert t.resolve_due_at == t.routed_at + timedelta(minutes=120)
    chain = t.escalation_chain
    assert chain is not None and chain["repeat_minutes"] == 5
    assert chain["steps"][0]["phones"] == PMK_URC
    assert chain["steps"][1]["phones"] == [PMK_HEAD, *COMMAND]
    [row] = escalations()
    assert (row.phase, row.step, row.round, row.status, row.due_at) == ("accept", 0, 0, "pending", t.accept_due_at)


def test_nobody_accepts_the_chain_runs_and_repeats(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    fake_twilio.reset()
    tick(4.9)
    assert escalation_sms(fake_twilio) == []  # not yet due: nothing early
    tick(0.2)
    sent = dict(escalation_sms(fake_twilio))
    assert sorted(sent) == sorted(PMK_URC)
    leader, *crew = PMK_URC  # the first member is the team's leader (tests/city/routing/agencies.yaml)
    place = "Jl. Diponegoro 12 Sisir, Kec. Batu"
    for member in crew:  # the crew is asked to accept, told when it was due (never "0 minutes late")
        assert sent[member].startswith(f"TERLAMBAT No. 1 Kebakaran KRITIS, {place}: belum diterima, batas ")
        assert sent[member].endswith("Pelapor 081234567890. Balas TERIMA 1") and DEADLINE.search(sent[member])
    assert "belum ada yang menerima" in sent[leader] and sent[leader].endswith("balas TERIMA 1")
    tick(3)
    later = dict(escalation_sms(fake_twilio)[3:])
    assert sorted(later) == sorted([PMK_HEAD, *COMMAND])
    # heads and the command center cannot accept: they are asked to get the team moving, never to TERIMA
    assert later[PMK_HEAD].startswith(f"PERHATIAN No. 1 Kebakaran KRITIS, {place}: tim belum menerima (batas ")
    assert later[PMK_HEAD].endswith("Mohon pastikan tim merespons.")
    for desk in COMMAND:
        assert later[desk].startswith(f"ESKALASI No. 1 Kebakaran KRITIS, {place}: tim Damkar Kota Batu belum menerima")
        assert later[desk].endswith("Telepon tim.")
    assert all("TERIMA" not in body for body in later.values())
    tick(5)  # repeat of the last step
    assert len(escalation_sms(fake_twilio)) == 9
    assert all(len(body) <= 160 for _, body in escalation_sms(fake_twilio))
    rows = escalations()
    assert [(r.step, r.round, r.status) for r in rows] == [
        (0, 0, "fired"),
        (1, 0, "fired"),
        (1, 1, "fired"),
        (1, 2, "pending"),
    ]
    assert events(1).count("escalated") == 3


def test_accept_stops_the_chain_and_starts_the_resolve_deadline(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    tick(5.1)
    phone.sms(PMK_URC[1], "TERIMA 1")
    drain_queue()
    fake_twilio.reset()
    tick(30)
    assert escalation_sms(fake_twilio) == []
    rows = escalations()
    assert [(r.phase, r.step, r.status) for r in rows] == [
        ("accept", 0, "fired"),
        ("accept", 1, "cancelled"),
        ("resolve", 0, "pending"),
    ]
    tick(85.4)  # 120.5 minutes after routing: the resolve deadline just passed
    sent = escalation_sms(fake_twilio)
    assert sorted(to for to, _ in sent) == sorted(PMK_URC)
    assert all("belum selesai" in body and "SELESAI 1" in body and DEADLINE.search(body) for _, body in sent)
    phone.sms(PMK_URC[1], "SELESAI 1")
    drain_queue()
    fake_twilio.reset()
    tick(60)
    assert escalation_sms(fake_twilio) == []
    assert all(r.status in ("fired", "cancelled") for r in escalations())


def test_a_step_fires_once_however_often_its_job_runs(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    clock.advance(timedelta(minutes=6))
    [row] = escalations()
    assert fire_escalation(row.id) == "fired"
    assert fire_escalation(row.id) == "not-pending"
    enqueue_escalations([(row.id, row.due_at)])
    enqueue_escalations([(row.id, row.due_at)])
    drain_queue()
    assert len(escalation_sms(fake_twilio)) == 3
    assert events(1).count("escalated") == 1


def test_a_job_woken_early_goes_back_to_sleep(phone: Phone) -> None:
    _fire_report(phone)
    [row] = escalations()
    assert fire_escalation(row.id) == "early"
    assert escalation_timers() == [step(row).member]
    assert escalations()[0].status == "pending"


def test_redis_flushed_with_deadlines_pending_loses_nothing(phone: Phone, fake_twilio: Any) -> None:
    # five fires in five desa: one text from five numbers would be one fire (routing/merging.yaml)
    for n, desa in enumerate(("Sisir", "Temas", "Ngaglik", "Songgokerto", "Pesanggrahan")):
        phone.sms(f"+62812345678{n:02d}", f"KEBAKARAN di {desa}")
    drain_queue()
    clock.advance(timedelta(minutes=4.5))
    assert reconcile().requeued == 5  # due within the horizon: timers created
    assert len(escalation_timers()) == 5
    redis_connection().flushdb()  # Redis restarted without AOF: every timer is gone
    tick(1)
    fired = [r for r in escalations() if r.status == "fired"]
    assert len(fired) == 5 and {r.step for r in fired} == {0}
    assert len(escalation_sms(fake_twilio)) == 15
    assert reconcile().requeued == 0  # the next steps are far away: nothing to wake yet
    drain_queue()
    assert len(escalation_sms(fake_twilio)) == 15


def test_a_job_taken_by_a_worker_that_died_before_starting_it_is_run_again(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    clock.advance(timedelta(minutes=6))
    [row] = escalations()
    enqueue_escalations([(row.id, row.due_at)])
    q = queue()
    # What RQ's dequeue does (BLMOVE to the intermediate list) before the worker is SIGKILLed:
    # the job's status still says 'queued', but it is in no queue any worker reads.
    assert redis_connection().lmove(q.key, q.intermediate_queue_key) == f"esc-{row.id}".encode()
    assert q.fetch_job(f"esc-{row.id}").get_status() == "queued"
    assert reconcile().requeued == 0  # first sighting: it may be a live worker about to start it
    first_seen = q.intermediate_queue.get_first_seen_key(f"esc-{row.id}")
    redis_connection().set(first_seen, time.time() - STALE_START - 1)  # ...as seen that long ago
    assert reconcile().requeued == 1
    assert q.intermediate_queue.get_job_ids() == []
    drain_queue()
    assert escalations()[0].status == "fired"
    assert len(escalation_sms(fake_twilio)) == 3


def _due_in(seconds: float) -> Escalation:
    """Move the one pending row's deadline to `seconds` from now, on the real clock."""
    with unit_of_work() as s:
        row = s.scalars(select(Escalation).where(Escalation.status == "pending")).one()
        t = s.get(Ticket, row.ticket_id)
        assert t is not None
        row.due_at = t.accept_due_at = clock.now() + timedelta(seconds=seconds)
        # the table of due work moves with it (hotline/jobs/timers.py)
        s.execute(update(Timer).where(Timer.kind == "escalation", Timer.ref == row.id).values(due_at=row.due_at))
    return row


def test_the_releaser_fires_a_timer_at_its_moment_not_at_the_next_whole_second(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    row = _due_in(0.3)
    enqueue_escalations([(row.id, row.due_at)])
    redis = redis_connection()
    # The exact moment, not RQ's whole seconds (truncated: up to 1 s early).
    assert redis.zscore(timers_key(), step(row).member) == pytest.approx(row.due_at.timestamp(), abs=1e-3)
    assert claim_due(redis) == []  # not yet
    time.sleep(max(0.0, row.due_at.timestamp() - time.time()) + 0.01)
    assert claim_due(redis) == [step(row)]
    assert claim_due(redis) == []  # one claimant only
    assert fire_claimed([step(row)], redis) == {"fired": 1}
    fired = escalations()[0]
    assert fired.status == "fired" and fired.fired_at is not None and fired.fired_at >= fired.due_at
    assert reconcile().requeued == 0  # fired: nothing in flight is left behind
    drain_queue()
    assert len(escalation_sms(fake_twilio)) == 3
    assert fire_claimed([step(row)], redis) == {"not-pending": 1}  # a second claimant changes nothing
    drain_queue()
    assert len(escalation_sms(fake_twilio)) == 3


def test_a_timer_claimed_by_a_releaser_that_died_is_fired_by_the_reconciler(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    row = _due_in(0.2)
    enqueue_escalations([(row.id, row.due_at)])
    time.sleep(0.25)
    redis = redis_connection()
    assert claim_due(redis) == [step(row)]  # ...and the releaser's process is killed before firing it
    assert reconcile().requeued == 0  # claimed a moment ago: being fired
    inflight = inflight_key()
    redis.zadd(inflight, {step(row).member: time.time() - STALE_START - 1})  # ...claimed that long ago
    assert reconcile().requeued == 1
    assert redis.zcard(inflight) == 0
    drain_queue()
    assert escalations()[0].status == "fired"
    assert len(escalation_sms(fake_twilio)) == 3
    redis.zadd(inflight, {step(row).member: time.time() - STALE_START - 1})  # fired, then its claimant died
    assert reconcile().requeued == 0
    assert redis.zcard(inflight) == 0  # not left there forever


def test_due_timers_are_left_to_a_running_releaser(phone: Phone) -> None:
    _fire_report(phone)
    row = _due_in(0.1)
    enqueue_escalations([(row.id, row.due_at)])
    time.sleep(0.15)
    redis = redis_connection()
    redis.set(heartbeat_key(), 1, px=5000)
    assert reconcile().requeued == 0  # a releaser is alive: it fires due timers in order, sooner than RQ would
    assert len(queue()) == 0
    redis.delete(heartbeat_key())
    assert reconcile().requeued == 1  # none is: an RQ job instead
    assert queue().job_ids == [f"esc-{row.id}"]


def test_alerts_waiting_behind_a_backlog_are_not_queued_twice_by_the_sweeper(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    clock.advance(timedelta(minutes=6))
    [row] = escalations()
    assert fire_escalation(row.id) == "fired"  # three alerts, their delivery jobs queued (not run yet)
    clock.advance(timedelta(minutes=1))  # older than the sweeper's grace: a backlog, or lost?
    waiting = len(queue())
    assert sweep_once().outbound == 0  # their jobs are still in the queue: late, not lost
    assert len(queue()) == waiting
    redis_connection().flushdb()  # now they are lost
    assert sweep_once().outbound == 3
    drain_queue()
    assert len(escalation_sms(fake_twilio)) == 3


def test_an_alert_job_a_killed_worker_took_off_the_queue_is_queued_again_by_the_sweeper(
    phone: Phone, fake_twilio: Any
) -> None:
    """A worker takes a job off its lane's list (BLPOP) before it marks it started: killed in between, the job
    still says "queued" and is in no list (tests/test_escalation_faults.py saw it). Lost, not waiting."""
    _fire_report(phone)
    clock.advance(timedelta(minutes=6))
    [row] = escalations()
    assert fire_escalation(row.id) == "fired"
    lanes = [q for q in worker_queues() if len(q)]
    taken = redis_connection().lpop(lanes[0].key)  # what the killed worker's BLPOP did
    assert taken is not None and redis_connection().hget(f"rq:job:{taken.decode()}", "status") == b"queued"
    clock.advance(timedelta(minutes=1))  # older than the sweeper's grace
    assert sweep_once().outbound == 1  # the one taken; the others are still in the queue
    drain_queue()
    assert len(escalation_sms(fake_twilio)) == 3


def test_reassigning_is_not_a_live_edit_the_pinned_chain_is_used(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    with unit_of_work() as s:  # the pinned copy is what fires, whatever routing/ says later
        t = s.get(Ticket, 1)
        assert t is not None and t.escalation_chain is not None
        chain = dict(t.escalation_chain)
        chain["steps"] = [dict(chain["steps"][0], phones=["+6281299990000"]), *chain["steps"][1:]]
        t.escalation_chain = chain
    tick(5.1)
    assert [to for to, _ in escalation_sms(fake_twilio)] == ["+6281299990000"]


def test_a_voice_alert_goes_beside_sms(phone: Phone, fake_twilio: Any) -> None:
    _fire_report(phone)
    with unit_of_work() as s:  # a chain pinned with `via: [sms, voice]`
        t = s.get(Ticket, 1)
        assert t is not None and t.escalation_chain is not None
        chain = dict(t.escalation_chain)
        chain["steps"] = [dict(step, via=["sms", "voice"]) for step in chain["steps"]]
        t.escalation_chain = chain
    tick(6)
    with unit_of_work() as s:  # the built-in voice sender: one voice-only alert delivery per phone of the step
        calls = s.scalars(select(AlertDelivery).where(AlertDelivery.purpose == "escalation")).all()
        voice = [(d.phone, d.ticket_id, "TERIMA 1" in d.body) for d in calls if d.channels == ["voice"]]
    assert sorted(voice) == sorted((p, 1, True) for p in PMK_URC)  # the leader's text is its own
    assert len(escalation_sms(fake_twilio)) == 3  # SMS went out as well
    with unit_of_work() as s:
        data = s.scalars(select(TicketEvent.data).where(TicketEvent.kind == "escalated")).one()
    assert data["via"] == ["sms", "voice"]


def test_a_rerouted_ticket_starts_a_new_chain_and_keeps_the_old_one_as_history(phone: Phone) -> None:
    from hotline.core.city import current_config
    from hotline.features.escalation import escalation
    from hotline.models import Agency

    _fire_report(phone)
    tick(6)  # PMK's step 0 fired
    phone.sms(PMK_URC[0], "TERIMA 1")
    drain_queue()  # accepted: the resolve deadline of chain 0 is pending
    with unit_of_work() as s:  # the command center sends it to BPBD: routed afresh there
        t = s.get(Ticket, 1)
        bpbd = s.scalar(select(Agency).where(Agency.code == "BPBD"))
        assert t is not None and bpbd is not None
        t.agency_id, t.status, t.routed_at, t.accepted_at = bpbd.id, "routed", clock.now(), None
        escalation.pin(s, config=current_config(), ticket=t, agency=bpbd)
    rows = [(r.chain, r.phase, r.step, r.status) for r in escalations()]
    assert rows[:3] == [(0, "accept", 0, "fired"), (0, "accept", 1, "cancelled"), (0, "resolve", 0, "cancelled")]
    assert rows[3:] == [(1, "accept", 0, "pending")]  # (accept, 0, 0) again, beside the old one
    with unit_of_work() as s:  # BPBD accepts: its own resolve deadline starts, though chain 0 had one
        t = s.get(Ticket, 1)
        assert t is not None
        t.status, t.accepted_at = "accepted", clock.now()
        escalation.on_status_change(s, ticket=t)
    assert [(r.chain, r.phase, r.status) for r in escalations()][3:] == [
        (1, "accept", "cancelled"),
        (1, "resolve", "pending"),
    ]


def test_the_releaser_reports_a_redis_outage_now_and_then_not_at_every_tick(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging
    import os
    import socket
    import threading

    from hotline.settings import get_settings

    with socket.socket() as s:  # a port nobody listens on: every tick fails at once
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    before = os.environ.get("HOTLINE_REDIS_URL")
    os.environ["HOTLINE_REDIS_URL"] = dead
    get_settings.cache_clear()
    monkeypatch.setattr(timers, "FAILURE_REPORT_EVERY", 0.1)
    stop = threading.Event()
    threading.Timer(0.6, stop.set).start()
    try:
        with caplog.at_level(logging.ERROR, logger="hotline.jobs.timers"):
            timers.run_releaser(stop, tick=0.005)  # ~100 failing ticks in 0.6 s
    finally:
        if before is None:
            os.environ.pop("HOTLINE_REDIS_URL", None)
        else:
            os.environ["HOTLINE_REDIS_URL"] = before
        get_settings.cache_clear()
    failures = [r for r in caplog.records if "releaser failed" in r.getMessage()]
    assert 2 <= len(failures) <= 7, len(failures)  # it kept trying, and said so every 0.1 s, not every tick
    assert all(r.exc_info is not None for r in failures)
