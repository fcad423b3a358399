"""The URC voice alert on Asterisk (issue 16): a city with ARI and no Twilio at all. An escalation step that
calls (`via: [voice]`) originates through ARI into the Stasis app (the fake ARI, strict to Asterisk 22's
models), the ARI app runs the alert flow (tests/city/ivr_flows/urc_alert.yaml) on the real call service and
database, and the member's 1 is their TERIMA; a call nobody answers fails the alert over as a Twilio one does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import select

from hotline import clock
from hotline.core.queue import redis_connection, worker_queues
from hotline.db import unit_of_work
from hotline.fakes.fake_ari import FakeAri, FakeRequest
from hotline.features.calls.calls import call_log
from hotline.jobs import timers
from hotline.jobs.rq_workers import make_worker
from hotline.models import AlertAttempt, AlertDelivery, Call, Ticket, TicketEvent
from hotline.phone import national_digits
from hotline.settings import get_settings
from hotline.spool.store import current_spool
from tests.ari_harness import Line, ari_line, requires_ari_docs, run
from tests.helpers import events, sms_ticket, ticket
from tests.outage import database_unreachable
from tests.suite_city import members

pytestmark = [requires_ari_docs, pytest.mark.usefixtures("real_clock")]

CITIZEN = "+6281234567890"
PMK = members("PMK")
ESC = "escalation"  # the step's alerts (the routing alert went by SMS, with its own failover list)
TWILIO = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_API_BASE")


@pytest.fixture
def asterisk_only(backend: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """No Twilio settings; `configure(fake)` points ARI at the fake once it runs."""
    for name in TWILIO:
        monkeypatch.delenv(name, raising=False)

    def configure(fake: FakeAri) -> None:
        monkeypatch.setenv("ARI_URL", fake.base_url)
        monkeypatch.setenv("ARI_USERNAME", fake.username)
        monkeypatch.setenv("ARI_PASSWORD", fake.password)
        monkeypatch.setenv("ARI_ALERT_CALLER_ID", "0341112")
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()


def endpoint(phone: str) -> str:
    return f"PJSIP/{national_digits(phone)}@trunk"  # ARI_ALERT_ENDPOINT's default


def routed_fire() -> int:
    """A fire report routed to PMK whose first escalation step calls instead of texting."""
    number = sms_ticket(reporter=CITIZEN, text="KEBAKARAN di Jl. Diponegoro 12 Sisir", category="fire")
    with unit_of_work() as s:
        t = s.get(Ticket, number)
        assert t is not None and t.escalation_chain is not None
        chain = dict(t.escalation_chain)
        chain["steps"] = [dict(step, via=["voice"]) for step in chain["steps"]]
        t.escalation_chain = chain
    return number


def run_jobs() -> None:
    """What `drain_queue` does, from a thread (RQ sets its signal handlers only in the main thread): the jobs
    call the fake ARI, which runs in the test's event loop."""
    worker = make_worker(worker_queues(), redis_connection())
    worker._install_signal_handlers = lambda: None  # type: ignore[method-assign]
    worker.death_penalty_class = TimerDeathPenalty  # SIGALRM, too, is the main thread's
    worker.work(burst=True, logging_level="WARNING")


def deadline_passes() -> None:
    clock.advance(timedelta(minutes=6))  # PMK's critical accept deadline is 5 minutes
    timers.reconcile(only=["escalation"])
    run_jobs()  # the step fires (an SMS-less step: voice only), then its calls are placed
    run_jobs()


async def escalate(line: Line) -> list[FakeRequest]:
    """PMK's accept deadline passes: the step fires and its calls are placed through ARI."""
    start = len(line.fake.requests)
    await asyncio.to_thread(deadline_passes)
    await line.settled()
    return [r for r in line.fake.requests[start:] if r.method == "POST" and r.path == "/channels"]


def attempts(phone: str) -> list[tuple[str, str, str | None]]:
    with unit_of_work() as s:
        [delivery] = s.scalars(select(AlertDelivery).where(AlertDelivery.phone == phone, AlertDelivery.purpose == ESC))
        rows = s.scalars(select(AlertAttempt).where(AlertAttempt.delivery_id == delivery.id))
        return [(a.channel, a.status, a.error) for a in rows]


def delivery_status(phone: str) -> str:
    with unit_of_work() as s:
        [delivery] = s.scalars(select(AlertDelivery).where(AlertDelivery.phone == phone, AlertDelivery.purpose == ESC))
        return delivery.status


def test_the_member_presses_1_in_an_alert_call_through_asterisk_and_accepts(asterisk_only: Any) -> None:
    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.far_ends = {endpoint(phone): "ring" for phone in PMK[1:]}  # the leader answers, the others' ring on
        await fake.start()
        asterisk_only(fake)
        try:
            async with ari_line(fake=fake) as line:
                number = await asyncio.to_thread(routed_fire)
                originated = await escalate(line)
                [channel] = line.app.calls
                played = [r.params["media"] for r in line.requests(channel) if r.operation == "play"]
                await line.press(channel, "1")
                after = [r.params["media"] for r in line.requests(channel) if r.operation == "play"][len(played) :]
                with unit_of_work() as s:
                    call = s.scalar(select(Call).where(Call.provider_call_id == channel))
                    assert call is not None
                    path = [(e.node, e.input) for e in call_log(s, call_id=call.id)]
                    flow, status = call.flow_id, call.status
                return {
                    "number": number,
                    "originated": sorted((r.params["endpoint"], r.params["appArgs"][:6]) for r in originated),
                    "caller_id": {r.params.get("callerId") for r in originated},
                    "channel": channel,
                    "played": played,
                    "after": after,
                    "path": path,
                    "flow": flow,
                    "status": status,
                    "hung_up": any(r.method == "DELETE" and r.path == f"/channels/{channel}" for r in fake.requests),
                    "rejected": fake.rejected(),
                }
        finally:
            await fake.stop()

    r = run(scenario())
    assert r["originated"] == sorted((endpoint(phone), "alert,") for phone in PMK)  # the whole team is rung
    assert r["caller_id"] == {"0341112"} and r["rejected"] == []
    sound = "sound:hotline/id/{}".format
    alert = ["alert_report_number", "digit_1", "alert_category_fire", "alert_press_1"]
    assert r["played"] == [[sound(key) for key in alert]]  # one playback: a key stops it all
    assert r["after"] == [[sound(key) for key in ("alert_accepted", "digit_1", "alert_accepted_next")]]
    assert r["flow"] == "urc_alert" and r["status"] == "completed" and r["hung_up"]
    assert ("ask", "1") in r["path"] and ("accept", "accepted") in r["path"]
    t = ticket(r["number"])
    with unit_of_work() as s:
        [accepted] = s.scalars(select(TicketEvent).where(TicketEvent.kind == "accepted"))
        note = accepted.note
        called = s.scalar(select(Call.caller).where(Call.provider_call_id == r["channel"]))
    assert t.status == "accepted" and t.accepted_by_member_id is not None
    assert note == "lewat panggilan suara (tekan 1)" and events(r["number"]).count("accepted") == 1
    assert called == PMK[0] and attempts(called) == [("voice", "answered", None)]  # answered counts as delivered
    assert delivery_status(called) == "delivered"
    assert {delivery_status(p) for p in PMK if p != called} == {"stopped"}  # the others' calls: nothing more


@pytest.mark.parametrize(
    ("far_end", "reason"), [("busy", "busy"), ("no_answer", "no_answer"), ("unreachable", "failed")]
)
def test_an_alert_call_nobody_answers_fails_over_with_asterisks_cause(
    asterisk_only: Any, far_end: str, reason: str
) -> None:
    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.far_ends = {endpoint(phone): far_end for phone in PMK}
        await fake.start()
        asterisk_only(fake)
        try:
            async with ari_line(fake=fake) as line:
                number = await asyncio.to_thread(routed_fire)
                originated = await escalate(line)
                destroyed = [e for e in fake.events if e["type"] == "ChannelDestroyed"]
                return {
                    "number": number,
                    "originated": len(originated),
                    "causes": {e["cause"] for e in destroyed},
                    "in_stasis": list(line.app.calls),
                    "rejected": fake.rejected(),
                }
        finally:
            await fake.stop()

    r = run(scenario())
    assert r["originated"] == len(PMK) and len(r["causes"]) == 1 and r["in_stasis"] == [] and r["rejected"] == []
    for phone in PMK:  # voice was the step's one channel: all channels failed, as the console shows
        assert attempts(phone) == [("voice", "failed", reason)]
        assert delivery_status(phone) == "exhausted"
    with unit_of_work() as s:
        unreachable = list(s.scalars(select(TicketEvent.data).where(TicketEvent.kind == "alert_unreachable")))
    assert sorted(d["phone"] for d in unreachable) == sorted(PMK)
    assert {(d["failed"], d["reason"]) for d in unreachable} == {("voice", reason)}
    assert ticket(r["number"]).status == "routed"  # nobody accepted: escalation goes on


def test_an_alert_call_answered_while_the_app_was_away_is_adopted_as_the_alert(asterisk_only: Any) -> None:
    """The app restarts between placing the call and the member answering (its StasisStart is lost): the new app
    finds the channel in Stasis and runs the alert flow on it, not a citizen's welcome."""

    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.far_ends = {endpoint(phone): "ring" for phone in PMK}
        fake.lose_events_while_down = True
        await fake.start()
        asterisk_only(fake)
        try:
            async with ari_line(fake=fake) as line:
                number = await asyncio.to_thread(routed_fire)
                await escalate(line)
            channel = fake.originated[0]
            fake.answer_originated(channel)  # nobody listening: StasisStart is lost
            start = len(fake.requests)
            async with ari_line(fake=fake) as line:
                await line.settled()
                played = [r.params["media"] for r in line.requests(channel, start) if r.operation == "play"]
                await line.press(channel, "1")
            return {"number": number, "channel": channel, "played": played}
        finally:
            await fake.stop()

    r = run(scenario())
    assert r["played"][0][:2] == ["sound:hotline/id/alert_report_number", "sound:hotline/id/digit_1"]
    with unit_of_work() as s:
        flow = s.scalar(select(Call.flow_id).where(Call.provider_call_id == r["channel"]))
    assert flow == "urc_alert" and ticket(r["number"]).status == "accepted"
    assert attempts(PMK[0]) == [("voice", "answered", None)]


def test_an_alert_sms_with_no_delivery_report_fails_over_to_a_call_through_asterisk(asterisk_only: Any) -> None:
    """PMK's alert channels are [sms, sms_backup, voice]: the routing alert's SMS (the log gateway: no report) times
    out, there is no backup gateway, and the member is called through ARI, as Twilio would call them."""

    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.far_ends = {endpoint(phone): "busy" for phone in PMK}
        await fake.start()
        asterisk_only(fake)

        def delivery_timeout_passes() -> None:
            clock.advance(timedelta(seconds=61))  # PMK's delivery_timeout_seconds: 60
            timers.reconcile(only=["failover"])
            run_jobs()  # the timeouts: on to the next channel
            run_jobs()  # the calls

        try:
            async with ari_line(fake=fake) as line:
                await asyncio.to_thread(routed_fire)
                start = len(fake.requests)
                await asyncio.to_thread(delivery_timeout_passes)
                await line.settled()
                posts = [r for r in fake.requests[start:] if r.method == "POST" and r.path == "/channels"]
                return {"endpoints": sorted(r.params["endpoint"] for r in posts)}
        finally:
            await fake.stop()

    r = run(scenario())
    assert r["endpoints"] == sorted(endpoint(phone) for phone in PMK)
    for phone in PMK:
        with unit_of_work() as s:
            [delivery] = s.scalars(
                select(AlertDelivery).where(AlertDelivery.phone == phone, AlertDelivery.purpose == "alert")
            )
            rows = s.scalars(
                select(AlertAttempt).where(AlertAttempt.delivery_id == delivery.id).order_by(AlertAttempt.position)
            )
            tried = [(a.channel, a.status) for a in rows]
        assert tried == [("sms", "timeout"), ("sms_backup", "unavailable"), ("voice", "failed")]
        assert delivery.status == "exhausted"


def test_an_alert_call_answered_while_the_database_is_down_is_hung_up_not_sent_to_the_citizens_fallback(
    asterisk_only: Any,
) -> None:
    """A citizen's call goes on to the desk phones when the database is gone (tests/test_ari_fallback.py); a member
    answering an alert must not land there, nor be spooled as a citizen's call: the call ends, the alert SMS and
    its failover go on once the database is back."""

    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.far_ends = {endpoint(phone): "ring" for phone in PMK}
        await fake.start()
        asterisk_only(fake)
        try:
            async with ari_line(fake=fake) as line:
                number = await asyncio.to_thread(routed_fire)
                await escalate(line)
                channel = fake.originated[0]
                spooled = current_spool().depth()
                start = len(fake.requests)
                with database_unreachable():
                    fake.answer_originated(channel)
                    await line.settled()
                asked = [(r.method, r.operation) for r in line.requests(channel, start)]
                return {"number": number, "asked": asked, "spooled": current_spool().depth() - spooled}
        finally:
            await fake.stop()

    r = run(scenario())
    assert ("DELETE", "hangup") in r["asked"]
    assert ("POST", "continueInDialplan") not in r["asked"] and r["spooled"] == 0
    assert ticket(r["number"]).status == "routed"
