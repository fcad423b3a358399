"""Alerts that fail over (issue 8): undelivered or unreported URC alerts go at once to the next channel of the
agency's list (routing/agencies.yaml: PMK has [sms, sms_backup, voice], 60 s). Real database and Redis/RQ;
Twilio and Kannel are the recording fakes, which speak their protocols over HTTP."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline import clock
from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.fakes.kannel import NOT_DELIVERED, SMSC_REJECT, FakeKannel
from hotline.fakes.twilio_rest import FakeCall, FakeMessage
from hotline.features.tickets.tickets import transition
from hotline.jobs import timers
from hotline.jobs.timers import Due
from hotline.models import AlertAttempt, AlertDelivery, Escalation, Ticket, TicketEvent
from hotline.settings import get_settings
from tests.accounts import console_login, make_user
from tests.conftest import AUTH_TOKEN, Phone, drain_queue
from tests.helpers import events, outbound, scrape, ticket
from tests.suite_city import members, prompt, reply

pytestmark = pytest.mark.usefixtures("real_clock")  # these tests move hotline.clock

CITIZEN = "+6281234567890"
PMK = members("PMK")
PMK_TIMEOUT = timedelta(seconds=60)  # routing/agencies.yaml
BACKUP_ENV = {
    "HOTLINE_BACKUP_SMS_USERNAME": "hotline",
    "HOTLINE_BACKUP_SMS_PASSWORD": "kannel-test-password",
    "HOTLINE_BACKUP_SMS_FROM": "HOTLINE",
}


@pytest.fixture(scope="module")
def kannel_server() -> Iterator[FakeKannel]:
    server = FakeKannel(BACKUP_ENV["HOTLINE_BACKUP_SMS_USERNAME"], BACKUP_ENV["HOTLINE_BACKUP_SMS_PASSWORD"]).start()
    yield server
    server.stop()


@pytest.fixture
def kannel(kannel_server: FakeKannel, backend: dict[str, str]) -> Iterator[FakeKannel]:
    """The backup gateway configured (HOTLINE_BACKUP_SMS_*) for this test only."""
    kannel_server.reset()
    env = {**BACKUP_ENV, "HOTLINE_BACKUP_SMS_URL": kannel_server.sendsms_url}
    os.environ.update(env)
    get_settings.cache_clear()
    yield kannel_server
    for name in env:
        os.environ.pop(name, None)
    get_settings.cache_clear()


# --- helpers -----------------------------------------------------------------------------------------------


def _fire(phone: Phone) -> None:
    assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
    drain_queue()


def _alert(fake_twilio: Any, number: str) -> FakeMessage:
    [message] = [m for m in fake_twilio.sent_to(number) if m.body.endswith("Balas TERIMA 1 / TOLAK 1")]
    return message


def _deliveries() -> list[AlertDelivery]:
    with unit_of_work() as s:
        return list(s.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


def _delivery_of(number: str) -> AlertDelivery:
    [delivery] = [d for d in _deliveries() if d.phone == number]
    return delivery


def _attempts(number: str) -> list[tuple[str, str]]:
    delivery = _delivery_of(number)
    with unit_of_work() as s:
        rows = s.scalars(
            select(AlertAttempt).where(AlertAttempt.delivery_id == delivery.id).order_by(AlertAttempt.position)
        )
        return [(a.channel, a.status) for a in rows]


def _failovers() -> list[dict[str, Any]]:
    with unit_of_work() as s:
        return list(
            s.scalars(select(TicketEvent.data).where(TicketEvent.kind == "alert_failover").order_by(TicketEvent.id))
        )


def _past_the_timeout(extra: float = 1.0) -> None:
    """Move the clock past PMK's delivery timeout; the sweeper's reconcile finds what is due; run it."""
    clock.advance(PMK_TIMEOUT + timedelta(seconds=extra))
    timers.reconcile(only=["failover"])
    drain_queue()


def _to_voice(phone: Phone, fake_twilio: Any, kannel: FakeKannel, number: str) -> FakeCall:
    """The SMS undelivered, the backup SMS rejected by the SMSC: the member is called."""
    fake_twilio.report_status(_alert(fake_twilio, number).sid, "undelivered", error_code="30003")
    drain_queue()
    [backup] = kannel.sent_to(number)
    assert kannel.report(backup, SMSC_REJECT).status_code == 200
    drain_queue()
    [call] = fake_twilio.calls_to(number)
    return call


def _turnless(twiml: str) -> str:
    """The TwiML without the turn its action URLs carry (the call's path length: not what is tested here)."""
    return re.sub(r"turn=\d+", "turn=N", twiml)


def _gather_action(twiml: str) -> str:
    found = re.search(r'<Gather action="([^"]+)"', twiml)
    assert found, twiml
    return found.group(1).replace("&amp;", "&")


# --- failing over ------------------------------------------------------------------------------------------


def test_an_undelivered_alert_goes_to_the_backup_gateway_at_once(
    phone: Phone, fake_twilio: Any, kannel: FakeKannel
) -> None:
    _fire(phone)
    alert = _alert(fake_twilio, PMK[0])
    assert fake_twilio.report_status(alert.sid, "undelivered", error_code="30003").status_code == 204
    drain_queue()  # no clock moved: the backup SMS goes now, not at the escalation step
    [backup] = kannel.sent_to(PMK[0])
    assert backup.text == alert.body and backup.from_ == "HOTLINE"
    assert backup.dlr_mask == 31
    assert backup.dlr_url is not None and backup.dlr_url.startswith(f"{phone.base_url}/kannel/dlr?id=")
    assert "status=%d" in backup.dlr_url
    assert kannel.sent_to(PMK[1]) == [] and kannel.sent_to(PMK[2]) == []
    assert _attempts(PMK[0]) == [("sms", "failed"), ("sms_backup", "sent")]
    [event] = _failovers()
    assert (event["phone"], event["failed"], event["reason"], event["to"]) == (
        PMK[0],
        "sms",
        "undelivered",
        "sms_backup",
    )
    with unit_of_work() as s:  # escalation was not touched: its first step is still pending
        assert [e.status for e in s.scalars(select(Escalation))] == ["pending"]


def test_no_delivery_report_within_the_timeout_moves_to_the_next_channel(
    phone: Phone, fake_twilio: Any, kannel: FakeKannel
) -> None:
    _fire(phone)
    clock.advance(PMK_TIMEOUT - timedelta(seconds=5))
    timers.reconcile(only=["failover"])
    drain_queue()
    assert kannel.messages == []  # not yet
    _past_the_timeout(extra=5)
    assert sorted(m.to for m in kannel.messages) == sorted(PMK)
    assert {e["reason"] for e in _failovers()} == {"timeout"}
    assert _attempts(PMK[1]) == [("sms", "timeout"), ("sms_backup", "sent")]
    _past_the_timeout()  # the backup SMS had no report either: everyone is called
    assert sorted(c.to for c in fake_twilio.calls) == sorted(PMK)
    assert _attempts(PMK[1]) == [("sms", "timeout"), ("sms_backup", "timeout"), ("voice", "sent")]


def test_a_permanent_send_error_fails_over_at_once(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    fake_twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    _fire(phone)  # the first SMS out is the alert to the first member
    assert [m.to for m in kannel.messages] == [PMK[0]]
    assert _attempts(PMK[0]) == [("sms", "failed"), ("sms_backup", "sent")]
    assert _failovers()[0]["reason"] == "send_error"


def test_backup_failed_then_the_member_is_called(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    call = _to_voice(phone, fake_twilio, kannel, PMK[0])
    assert call.from_ == "+15005550006"
    delivery = _delivery_of(PMK[0])
    with unit_of_work() as s:
        voice = s.scalar(
            select(AlertAttempt.id).where(AlertAttempt.delivery_id == delivery.id, AlertAttempt.channel == "voice")
        )
    assert call.url == f"{phone.base_url}/twilio/voice/alert?attempt={voice}"
    assert call.status_callback == f"{phone.base_url}/twilio/voice/alert/status?attempt={voice}"
    assert call.params["Timeout"] == "30" and call.params["StatusCallbackMethod"] == "POST"
    assert [(e["failed"], e["reason"], e["to"]) for e in _failovers()] == [
        ("sms", "undelivered", "sms_backup"),
        ("sms_backup", "failed", "voice"),
    ]
    assert _attempts(PMK[0]) == [("sms", "failed"), ("sms_backup", "failed"), ("voice", "sent")]


def test_a_channel_this_server_lacks_is_skipped_and_recorded(phone: Phone, fake_twilio: Any) -> None:
    _fire(phone)  # no HOTLINE_BACKUP_SMS_URL here: from SMS straight to the call
    fake_twilio.report_status(_alert(fake_twilio, PMK[2]).sid, "failed", error_code="30008")
    drain_queue()
    assert [c.to for c in fake_twilio.calls] == [PMK[2]]
    assert _attempts(PMK[2]) == [("sms", "failed"), ("sms_backup", "unavailable"), ("voice", "sent")]
    [event] = _failovers()
    assert (event["to"], event["skipped"]) == ("voice", ["sms_backup"])


def test_no_answer_on_the_last_channel_says_all_channels_failed(
    phone: Phone, fake_twilio: Any, kannel: FakeKannel
) -> None:
    _fire(phone)
    call = _to_voice(phone, fake_twilio, kannel, PMK[0])
    assert fake_twilio.report_call_status(call, "no-answer").status_code == 204
    assert fake_twilio.report_call_status(call, "no-answer").status_code == 204  # a repeat changes nothing
    assert _delivery_of(PMK[0]).status == "exhausted"
    with unit_of_work() as s:
        [data] = s.scalars(select(TicketEvent.data).where(TicketEvent.kind == "alert_unreachable"))
    assert (data["phone"], data["failed"], data["reason"]) == (PMK[0], "voice", "no_answer")  # our word, not Twilio's
    assert data["channels"] == ["sms", "sms_backup", "voice"]
    from hotline.features.tickets.timeline import load_ticket_view

    with unit_of_work() as s:  # what the operator reads on the console's ticket page
        view = load_ticket_view(s, 1)
        assert view is not None
        lines = [line.text for line in view.timeline]
    assert f"SEMUA SALURAN GAGAL: peringatan ke {PMK[0]} tidak sampai (SMS, SMS cadangan, panggilan suara)" in "".join(
        lines
    )
    assert f"peringatan ke {PMK[0]} tidak terkirim lewat SMS -> SMS cadangan" in lines
    make_user("ani", "operator")
    board = console_login(phone.base_url, "ani").get("/console/board").text
    pmk = board[board.index('id="ag-PMK"') : board.index('id="ag-PUPR"')]
    assert '<a href="/console/tickets/1">#1</a> <span class="badge unreachable"' in pmk
    assert "peringatan tak sampai" in pmk


# --- the voice call -----------------------------------------------------------------------------------------


def test_pressing_1_in_the_call_accepts_the_ticket_like_terima(
    phone: Phone, fake_twilio: Any, kannel: FakeKannel
) -> None:
    _fire(phone)
    call = _to_voice(phone, fake_twilio, kannel, PMK[1])
    answered = fake_twilio.answer(call)
    assert answered.status_code == 200 and answered.headers["content-type"].startswith("application/xml")
    say = '<Say language="id-ID" voice="Google.id-ID-Standard-A">'
    # The alert flow (tests/city/ivr_flows/urc_alert.yaml) on the one engine, rendered like any call's turn.
    assert _turnless(answered.text) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Gather action="{phone.base_url}/twilio/voice/gather?turn=N" actionOnEmptyResult="true" finishOnKey="#"'
        ' input="dtmf" numDigits="1" timeout="8">'
        f"{say}{prompt('alert_report_number')}</Say>{say}1</Say>{say}{prompt('alert_category_fire')}</Say>"
        f"{say}{prompt('alert_press_1')}</Say>"
        "</Gather></Response>"
    )
    assert _delivery_of(PMK[1]).status == "delivered"  # answered: no further channel
    fake_twilio.reset()
    pressed = fake_twilio.call_webhook(_gather_action(answered.text), call, Digits="1")
    assert pressed.text == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f"{say}{prompt('alert_accepted')}</Say>{say}1</Say>{say}{prompt('alert_accepted_next')}</Say>"
        "<Hangup /></Response>"
    )
    drain_queue()
    t = ticket(1)
    with unit_of_work() as s:
        member = s.scalar(select(TicketEvent).where(TicketEvent.kind == "accepted"))
        assert member is not None
        accepted_by, note = member.actor, member.note
        escalation_states = [e.status for e in s.scalars(select(Escalation).where(Escalation.phase == "accept"))]
    assert t.status == "accepted" and t.accepted_by_member_id is not None
    assert accepted_by == f"member:{t.accepted_by_member_id}" and note == "lewat panggilan suara (tekan 1)"
    assert escalation_states == ["cancelled"]  # the escalation timer stops, as with TERIMA by SMS
    sent = {m.to: m.body for m in fake_twilio.messages}
    assert sent[PMK[1]] == reply("member_accepted", number=1)  # the member's usual SMS confirmation
    assert sent[CITIZEN] == reply("citizen_accepted", number=1, agency="Damkar Kota Batu")  # the reporter hears it
    assert sent[PMK[0]].startswith("No. 1 Kebakaran sudah diterima")  # and the team
    assert {d.status for d in _deliveries() if d.phone != PMK[1]} == {"stopped"}
    again = fake_twilio.call_webhook(_gather_action(answered.text), call, Digits="1")  # Twilio retries
    # The call has ended (as any call's late webhook): nothing more is said, and the member accepted once.
    assert again.text.endswith("<Hangup /></Response>") and events(1).count("accepted") == 1


def test_the_call_repeats_the_alert_then_says_goodbye(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    call = _to_voice(phone, fake_twilio, kannel, PMK[0])
    first = fake_twilio.answer(call)
    silence = fake_twilio.call_webhook(_gather_action(first.text), call, Digits="")
    assert _turnless(silence.text) == _turnless(first.text)  # the whole alert again
    wrong = fake_twilio.call_webhook(_gather_action(silence.text), call, Digits="7")
    assert "<Gather" not in wrong.text and wrong.text.endswith("<Hangup /></Response>")
    assert f"{prompt('alert_goodbye')}</Say>" in wrong.text and ">1</Say>" in wrong.text  # TERIMA 1 by SMS
    assert ticket(1).status == "routed"


def test_the_call_webhooks_check_the_signature(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    call = _to_voice(phone, fake_twilio, kannel, PMK[0])
    form = {"CallSid": call.sid, "From": call.from_, "To": call.to, "Digits": "1"}
    for url in (call.url, _gather_action(fake_twilio.answer(call).text), call.status_callback or ""):
        path = url.removeprefix(phone.base_url)
        assert phone.post(path, form, signature="forged").status_code == 403
        assert phone.post(path, form, token="another-account-token").status_code == 403
        assert phone.post(path, form, signature="").status_code == 403
    assert ticket(1).status == "routed"
    stranger = phone.post(call.url.removeprefix(phone.base_url), {**form, "CallSid": "CAforeign"}, token=AUTH_TOKEN)
    assert stranger.text.endswith("<Hangup /></Response>")  # a call that is not this attempt's: nothing said


# --- stopping ------------------------------------------------------------------------------------------------


def test_a_delivered_alert_does_not_fail_over(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    for number in PMK:
        fake_twilio.report_status(_alert(fake_twilio, number).sid, "delivered")
    _past_the_timeout()
    assert kannel.messages == [] and fake_twilio.calls == []
    assert {d.status for d in _deliveries()} == {"delivered"}
    assert "alert_failover" not in events(1)


def test_accepted_by_another_member_cancels_pending_failovers(phone: Phone, fake_twilio: Any) -> None:
    _fire(phone)
    fake_twilio.report_status(_alert(fake_twilio, PMK[0]).sid, "undelivered")  # a call is queued for PMK[0]...
    with unit_of_work() as s:  # ...when PMK[2] accepts (TERIMA 1), before the call job runs
        t = s.get(Ticket, 1, with_for_update=True)
        assert t is not None
        transition(s, ticket=t, target="accepted", actor="member:3")
    drain_queue()
    assert fake_twilio.calls == []  # the queued call was never placed
    assert _attempts(PMK[0])[-1] == ("voice", "cancelled")
    _past_the_timeout()
    assert fake_twilio.calls == [] and {d.status for d in _deliveries()} == {"stopped"}
    fake_twilio.report_status(_alert(fake_twilio, PMK[1]).sid, "undelivered")  # a late failure: nothing follows
    drain_queue()
    assert fake_twilio.calls == [] and len(_failovers()) == 1


# --- idempotent ----------------------------------------------------------------------------------------------


def test_duplicate_and_out_of_order_callbacks_send_once(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    first = _alert(fake_twilio, PMK[0])
    for status in ("undelivered", "undelivered", "sent", "failed"):  # repeated, late and out of order
        assert fake_twilio.report_status(first.sid, status).status_code == 204
    second = _alert(fake_twilio, PMK[1])
    for status in ("delivered", "undelivered"):  # delivered overtaken by a stale failure
        fake_twilio.report_status(second.sid, status)
    drain_queue()
    assert [m.to for m in kannel.messages] == [PMK[0]]
    [backup] = kannel.messages
    for report in (NOT_DELIVERED, NOT_DELIVERED):  # Kannel repeats a report
        assert kannel.report(backup, report).status_code == 200
    drain_queue()
    assert [c.to for c in fake_twilio.calls] == [PMK[0]]
    delivery = _delivery_of(PMK[0])
    for _ in range(2):  # a timer job that runs again, or late, finds nothing to do
        assert timers.fire_timer("failover", delivery.id, 0) == "moot"
    _past_the_timeout(extra=-30)  # the reconciler re-queues nothing that is not due
    assert [c.to for c in fake_twilio.calls] == [PMK[0]] and len(kannel.messages) == 1
    assert [(e["failed"], e["to"]) for e in _failovers()] == [("sms", "sms_backup"), ("sms_backup", "voice")]


def test_a_forged_kannel_report_is_refused(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    fake_twilio.report_status(_alert(fake_twilio, PMK[0]).sid, "undelivered")
    drain_queue()
    [backup] = kannel.messages
    url = kannel.expand(backup, NOT_DELIVERED)
    forged = re.sub(r"token=[0-9a-f]+", "token=" + "0" * 32, url)
    assert httpx.get(forged).status_code == 403
    other = url.replace(f"id={_attempt_outbound(PMK[0])}", f"id={_attempt_outbound(PMK[0]) + 1}")
    assert httpx.get(other).status_code == 403  # a token is good for its own message only
    assert fake_twilio.calls == []
    assert httpx.get(url).status_code == 200
    drain_queue()
    assert [c.to for c in fake_twilio.calls] == [PMK[0]]


def _attempt_outbound(number: str) -> int:
    delivery = _delivery_of(number)
    with unit_of_work() as s:
        outbound_id = s.scalar(
            select(AlertAttempt.outbound_id).where(
                AlertAttempt.delivery_id == delivery.id, AlertAttempt.channel == "sms_backup"
            )
        )
    assert outbound_id is not None
    return outbound_id


def test_a_delivered_kannel_report_stops_the_failover(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    kannel.auto_report = 1  # the gateway reports delivery by itself
    _fire(phone)
    fake_twilio.report_status(_alert(fake_twilio, PMK[0]).sid, "undelivered")
    drain_queue()
    for _ in range(100):  # the report arrives from Kannel's side, asynchronously
        if _delivery_of(PMK[0]).status == "delivered":
            break
        time.sleep(0.05)
    assert _delivery_of(PMK[0]).status == "delivered"
    [row] = [m for m in outbound() if m.channel == "sms_backup"]
    assert (row.status, row.provider) == ("delivered", "kannel")
    _past_the_timeout()
    assert fake_twilio.calls_to(PMK[0]) == []


# --- restarts ------------------------------------------------------------------------------------------------


def test_redis_flushed_a_pending_failover_still_fires(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    redis_connection().flushdb()  # every timer and job gone (a Redis restart without AOF, a killed worker)
    _past_the_timeout()
    assert sorted(m.to for m in kannel.messages) == sorted(PMK)


def test_the_releaser_fires_due_timers(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    clock.advance(PMK_TIMEOUT + timedelta(seconds=1))
    redis = redis_connection()
    for delivery in _deliveries():  # as the releaser sees them once their moment has come
        assert delivery.due_at is not None
        redis.zadd(
            timers.timers_key(), {Due("failover", delivery.id, delivery.position).member: delivery.due_at.timestamp()}
        )
    claimed = timers.claim_due(redis)
    assert len(claimed) == 3
    assert timers.claim_due(redis) == []  # claimed once: another releaser finds nothing
    assert timers.fire_claimed(claimed, redis) == {"queued": 3}  # a job each, which a worker runs
    drain_queue()
    assert sorted(m.to for m in kannel.messages) == sorted(PMK)


# --- metrics --------------------------------------------------------------------------------------------------


def test_metrics_count_failovers_per_channel(server: str, phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    _to_voice(phone, fake_twilio, kannel, PMK[0])
    text = scrape(server)
    assert 'hotline_alert_failovers{channel="sms_backup"} 1.0' in text
    assert 'hotline_alert_failovers{channel="voice"} 1.0' in text
    assert 'hotline_alert_attempts{channel="sms",status="failed"} 1.0' in text
    assert 'hotline_alert_deliveries{status="pending"} 3.0' in text


def test_a_backup_gateway_refusal_goes_to_the_call_at_once(phone: Phone, fake_twilio: Any, kannel: FakeKannel) -> None:
    _fire(phone)
    kannel.fail_next(status=400, body="Missing receiver number")  # smsbox refuses: sending again cannot help
    fake_twilio.report_status(_alert(fake_twilio, PMK[0]).sid, "undelivered")
    drain_queue()
    assert kannel.messages == [] and [c.to for c in fake_twilio.calls] == [PMK[0]]
    [row] = [m for m in outbound() if m.channel == "sms_backup"]
    assert (row.status, row.error_code, row.attempts) == ("failed", "400", 1)
    assert _failovers()[-1]["reason"] == "send_error"
