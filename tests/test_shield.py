"""The junk-call shield on the real database and Redis: silent calls (Twilio and Asterisk), per-number rate
limits, verification by SMS or callback, repeat offenders queued last, a bare "1" next to close-the-loop,
the console page, the API, the false-block report and the config check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cityconfig import load_city_config
from hotline.cli import app
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.calls.call_queue import waiting_calls
from hotline.features.shield import shield
from hotline.features.shield.shield_report import Held, Vindication, summarize
from hotline.features.sms import confirmations
from hotline.features.tickets.tickets import open_ticket, transition
from hotline.models import AuditEntry, Call, CallEvent, CallScreening, InboundMessage, Ticket, TicketEvent, utcnow
from tests.accounts import console_login, csrf_of, make_token, make_user
from tests.ari_harness import ari_line, requires_ari_docs, run
from tests.city_files import config_errors, copy_city, edit
from tests.conftest import Caller, Phone, drain_queue
from tests.helpers import count, events, outbound, scrape
from tests.suite_city import prompt, reply

pytestmark = pytest.mark.usefixtures("backend")

CITIZEN = "+6281234567890"
OTHER = "+6285712345678"
LANDLINE = "+62341512345"
SILENCE_HELLO = prompt("silence_hello")
ASK_CATEGORY = prompt("ask_category")
WELCOME = prompt("welcome")
runner = CliRunner()


def decisions(phone: str) -> list[str]:
    with unit_of_work() as session:
        stmt = select(CallScreening.decision).where(CallScreening.phone == phone).order_by(CallScreening.id)
        return list(session.scalars(stmt))


def screening_rows(phone: str, decision: str) -> list[CallScreening]:
    with unit_of_work() as session:
        stmt = select(CallScreening).where(CallScreening.phone == phone, CallScreening.decision == decision)
        return list(session.scalars(stmt.order_by(CallScreening.id)))


def call_row(sid: str) -> Call:
    with unit_of_work() as session:
        found = session.scalar(select(Call).where(Call.provider_call_id == sid))
        assert found is not None
        return found


def path(sid: str) -> list[tuple[str, str | None]]:
    with unit_of_work() as session:
        call = session.scalar(select(Call).where(Call.provider_call_id == sid))
        assert call is not None
        stmt = select(CallEvent.node, CallEvent.input).where(CallEvent.call_id == call.id).order_by(CallEvent.seq)
        return [(node, value) for node, value in session.execute(stmt)]


def sms_to(number: str) -> list[str]:
    return [m.body for m in outbound() if m.to_number == number]


def silent(caller: Caller) -> httpx.Response:
    """A listening <Gather> ended with no key and no speech: Twilio calls the action with nothing in it."""
    return caller.phone.post("/twilio/voice/gather?listen=1", caller.payload("gather_empty"))


def spoke(caller: Caller) -> httpx.Response:
    """A listening <Gather> heard words (SpeechResult, Confidence) but no key."""
    return caller.phone.post("/twilio/voice/gather?listen=1", caller.payload("gather_speech"))


def used_up_the_hour(phone: str) -> None:
    """The number already made as many calls this hour as routing/shield.yaml allows."""
    earlier = utcnow() - timedelta(minutes=20)
    with unit_of_work() as session:
        for _ in range(current_config().shield.calls_per_hour):
            shield.log_decision(session, phone=phone, decision="allowed", at=earlier)


def silent_before(phone: str) -> None:
    """A silent call from the number an hour ago (a first one: it was put through to an operator)."""
    with unit_of_work() as session:
        shield.log_decision(session, phone=phone, decision="silent_queued", at=utcnow() - timedelta(hours=1))


def flag(phone: str) -> None:
    now = utcnow()
    with unit_of_work() as session:
        shield.log_decision(
            session, phone=phone, decision="flagged", at=now - timedelta(hours=1), until=now + timedelta(days=1)
        )


# --- silent calls through Twilio ---------------------------------------------------------------------


def test_a_first_silent_twilio_call_is_put_through_to_an_operator_with_no_ticket_and_no_sms(phone: Phone) -> None:
    caller = Caller(phone, CITIZEN)
    first = caller.dial()
    assert 'input="dtmf speech"' in first.text and "listen=1" in first.text and 'speechTimeout="auto"' in first.text
    queued = silent(caller)
    assert prompt("please_hold") in queued.text and "<Enqueue" in queued.text
    row = call_row(caller.sid)
    assert (row.status, row.queue_priority, row.ticket_id) == ("queued", "silent", None)
    assert decisions(CITIZEN) == ["allowed", "silent_queued"]  # logged, no flag, no verification
    [logged] = screening_rows(CITIZEN, "silent_queued")
    assert logged.call_id == row.id and logged.reason == "no key, no voice: put through to an operator"
    drain_queue()
    assert count(Ticket) == 0 and sms_to(CITIZEN) == []  # no report, no crew alert, no text


def test_a_repeat_silent_twilio_call_is_asked_once_more_then_logged_and_ended_without_a_ticket(phone: Phone) -> None:
    silent_before(CITIZEN)
    caller = Caller(phone, CITIZEN)
    caller.dial()
    hello = silent(caller)
    assert SILENCE_HELLO in hello.text and 'input="dtmf speech"' in hello.text
    goodbye = silent(caller)
    assert prompt("silent_goodbye") in goodbye.text and "<Hangup />" in goodbye.text

    row = call_row(caller.sid)
    assert (row.status, row.outcome, row.stopped_at, row.ticket_id) == (
        "completed",
        "completed",
        "silent_goodbye",
        None,
    )
    assert ("welcome", "silence") in path(caller.sid) and ("hello", "silence") in path(caller.sid)
    assert count(Ticket) == 0  # silence never becomes a report
    assert decisions(CITIZEN) == ["silent_queued", "allowed", "silent", "verification_sent"]
    [silent_row] = screening_rows(CITIZEN, "silent")
    assert silent_row.call_id == row.id and silent_row.reason == "no key, no voice"
    [text] = sms_to(CITIZEN)  # someone who cannot speak can still ask for help
    assert text == reply("shield_verify_silent", yes=1) and len(text) <= 160


def test_a_caller_who_speaks_but_presses_nothing_is_not_silent(phone: Phone) -> None:
    caller = Caller(phone, CITIZEN)
    caller.dial()
    queued = spoke(caller)
    assert prompt("please_hold") in queued.text and "<Enqueue" in queued.text  # an operator answers them
    assert ("welcome", "speech") in path(caller.sid)
    assert decisions(CITIZEN) == ["allowed"]
    assert sms_to(CITIZEN) == []


def test_a_voice_after_the_re_prompt_reaches_an_operator_and_1_is_the_emergency(phone: Phone) -> None:
    silent_before(CITIZEN)
    silent_before(OTHER)
    talker, presser = Caller(phone, CITIZEN), Caller(phone, OTHER)
    talker.dial()
    silent(talker)
    assert "<Enqueue" in spoke(talker).text
    presser.dial()
    silent(presser)
    queued = presser.press("1")
    assert prompt("emergency_hold") in queued.text and "<Enqueue" in queued.text
    assert (call_row(presser.sid).status, call_row(presser.sid).queue_priority) == ("queued", "emergency")
    assert "silent" not in decisions(CITIZEN) + decisions(OTHER)
    [emergency] = _tickets()
    assert (emergency.reporter_phone, emergency.priority) == (OTHER, "critical")


# --- rate limits and verification ----------------------------------------------------------------------


def test_over_the_limit_the_caller_is_verified_by_sms_and_a_1_puts_them_in_the_callback_list(
    phone: Phone, server: str
) -> None:
    for _ in range(current_config().shield.calls_per_hour):  # real calls that used up the hour
        caller = Caller(phone, CITIZEN)
        caller.dial()
        caller.hang_up()
    limited = Caller(phone, CITIZEN)
    answer = limited.dial()
    assert prompt("over_limit_sms") in answer.text
    [held] = screening_rows(CITIZEN, "rate_limited")
    assert held.call_id == call_row(limited.sid).id
    assert held.rule["calls_per_hour"] == 5 and held.reason == "6 calls within an hour (limit 5)"
    bye = limited.silence()  # no 1 pressed: a polite goodbye, the SMS is the way back
    assert prompt("goodbye") in bye.text and "<Hangup />" in bye.text
    again = Caller(phone, CITIZEN)
    again.dial()  # still over the limit: no second SMS while the first can be answered
    drain_queue()
    [verify] = sms_to(CITIZEN)
    assert verify == reply("shield_verify", yes=1)
    assert count(Ticket) == 0

    assert phone.sms(CITIZEN, "1").status_code == 200
    drain_queue()
    with unit_of_work() as session:
        message = session.scalar(select(InboundMessage).where(InboundMessage.from_e164 == CITIZEN))
        assert message is not None and message.outcome == "shield_confirmed"
    assert count(Ticket) == 0  # a "1" here is an answer, never a fire report
    assert sms_to(CITIZEN)[-1].startswith("Terima kasih. Petugas Hotline Kota Batu akan segera menelepon Anda.")
    [callback] = screening_rows(CITIZEN, "callback_queued")
    assert callback.rule == {"priority": "normal"} and callback.done_at is None
    assert screening_rows(CITIZEN, "verification_sent")[0].done_at is not None
    assert Caller(phone, CITIZEN).dial().text.count(WELCOME) == 1  # confirmed: served normally
    assert decisions(CITIZEN)[-1] == "allowed"

    make_user("ani", "operator")
    console = console_login(server, "ani")
    assert f'data-callback="{callback.id}"' in console.get("/console/queue").text
    page = console.get("/console/shield")
    assert page.status_code == 200 and CITIZEN in page.text
    done = console.post(f"/console/shield/callbacks/{callback.id}/done", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303
    assert screening_rows(CITIZEN, "callback_queued")[0].done_at is not None
    assert decisions(CITIZEN)[-1] == "called_back"
    with unit_of_work() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "shield.called_back"))
        assert entry is not None and (entry.actor, entry.target_id) == ("ani", CITIZEN)


def test_a_landline_over_the_limit_is_called_back_instead(phone: Phone) -> None:
    used_up_the_hour(LANDLINE)
    caller = Caller(phone, LANDLINE)
    answer = caller.dial()
    assert prompt("over_limit_callback") in answer.text
    assert decisions(LANDLINE)[-2:] == ["callback_queued", "rate_limited"]
    assert screening_rows(LANDLINE, "callback_queued")[0].rule == {"priority": "normal"}
    assert sms_to(LANDLINE) == []
    assert "<Enqueue" in caller.press("1").text  # an emergency now still reaches a person


def test_a_number_with_an_open_report_is_never_limited(phone: Phone) -> None:
    with unit_of_work() as session:
        open_ticket(
            session,
            config=current_config(),
            channel="sms",
            reporter=CITIZEN,
            text="LONGSOR",
            language="id",
            category="landslide",
        )
    used_up_the_hour(CITIZEN)
    Caller(phone, CITIZEN).dial()
    [last] = screening_rows(CITIZEN, "allowed")[-1:]
    assert last.reason.startswith("open ticket #1")


# --- repeat offenders ------------------------------------------------------------------------------------


def test_three_silent_calls_flag_the_number_and_its_next_call_waits_behind_everyone(phone: Phone) -> None:
    first = Caller(phone, CITIZEN)
    first.dial()
    silent(first)  # the first: put through to an operator; nobody answered before the caller hung up
    first.hang_up()
    for _ in range(current_config().shield.offender_silent_calls - 1):  # the repeats: the shield's silent calls
        caller = Caller(phone, CITIZEN)
        caller.dial()
        silent(caller)
        silent(caller)
    [flagged] = screening_rows(CITIZEN, "flagged")
    assert flagged.reason == "3 silent/prank calls within 24 h" and flagged.until is not None
    assert len(sms_to(CITIZEN)) == 1  # one verification at a time, and none for the first silent call

    offender = Caller(phone, CITIZEN)
    welcome = offender.dial()
    assert WELCOME in welcome.text  # the normal flow: nothing said about the number
    assert decisions(CITIZEN)[-1] == "queued_last"
    spoke(offender)  # to the operator queue first...
    other = Caller(phone, OTHER)
    other.dial()
    spoke(other)  # ...and someone else after
    with unit_of_work() as session:
        waiting = waiting_calls(session)
    assert [(w.caller, w.last, w.priority) for w in waiting] == [
        (OTHER, False, "normal"),
        (CITIZEN, True, "screened"),
    ]  # last, never dropped


def test_a_report_from_a_held_back_caller_says_so_in_its_timeline(phone: Phone) -> None:
    flag(CITIZEN)
    caller = Caller(phone, CITIZEN)
    caller.dial()
    caller.press("1")  # the emergency key: a ticket at once
    [number] = [t.id for t in _tickets()]
    assert "caller_screened" in events(number)
    with unit_of_work() as session:
        event = session.scalar(select(TicketEvent).where(TicketEvent.kind == "caller_screened"))
        assert event is not None and event.data["decision"] == "queued_last"


def _tickets() -> list[Ticket]:
    with unit_of_work() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


# --- a bare "1": the most recent open question decides ----------------------------------------------------


def _resolved_and_asked(at: datetime) -> int:
    with unit_of_work() as session:
        config = current_config()
        ticket = open_ticket(
            session, config=config, channel="sms", reporter=CITIZEN, text="SAMPAH", language="id", category="waste"
        )
        for status in ("accepted", "on_site", "resolved"):
            transition(session, ticket=ticket, target=status, actor="test")
        assert confirmations.ask(session, config=config, ticket=ticket, inbound_id=None)
        session.flush()
        asked = session.scalar(select(TicketEvent).where(TicketEvent.kind == "confirmation_asked"))
        assert asked is not None
        asked.at = at
        return ticket.id


def _verification_sent(at: datetime) -> None:
    with unit_of_work() as session:
        shield.log_decision(session, phone=CITIZEN, decision="verification_sent", at=at, until=at + timedelta(hours=24))


@pytest.mark.parametrize("order", ["verification_then_question", "question_then_verification"])
def test_a_bare_1_answers_the_question_asked_last(phone: Phone, order: str) -> None:
    now = utcnow()
    earlier, later = now - timedelta(minutes=30), now - timedelta(minutes=5)
    if order == "verification_then_question":
        _verification_sent(earlier)
        number = _resolved_and_asked(later)
    else:
        number = _resolved_and_asked(earlier)
        _verification_sent(later)
    assert phone.sms(CITIZEN, "1").status_code == 200
    drain_queue()
    with unit_of_work() as session:
        outcome = session.scalar(select(InboundMessage.outcome).where(InboundMessage.from_e164 == CITIZEN))
    if order == "verification_then_question":
        assert outcome == "confirmed" and "confirmed" in events(number)  # "sudah beres"
        assert screening_rows(CITIZEN, "verification_sent")[0].done_at is None  # still open
    else:
        assert outcome == "shield_confirmed" and "confirmed" not in events(number)
        assert decisions(CITIZEN)[-2:] == ["confirmed", "callback_queued"]
    assert count(Ticket) == 1  # never a new report


def test_a_2_never_answers_the_verification(phone: Phone) -> None:
    _verification_sent(utcnow() - timedelta(minutes=1))
    assert phone.sms(CITIZEN, "2").status_code == 200
    drain_queue()
    assert "confirmed" not in decisions(CITIZEN)


# --- Asterisk: TALK_DETECT ---------------------------------------------------------------------------------


@requires_ari_docs
def test_asterisk_sets_talk_detect_and_tells_a_silent_call_from_a_caller_who_speaks() -> None:
    silent_before(CITIZEN)  # asked once more: a silent call from this number before

    async def scenario() -> tuple[list[str], list[str], str, str]:
        async with ari_line() as line:
            quiet = await line.dial(CITIZEN)
            await line.quiet(quiet)  # the welcome: nothing
            await line.quiet(quiet)  # "Halo? ...": nothing again
            speaker = await line.dial(OTHER)
            assert await line.fake.talk(speaker, 900)
            await line.settled()
            await line.quiet(speaker)  # no key, but a voice
            asked = [r.operation for r in line.requests(quiet)]
            sent = [e["type"] for e in line.fake.events if e["type"].startswith("ChannelTalking")]
            return asked, sent, line.call(speaker).phase if speaker in line.app.calls else "gone", quiet

    asked, sent, speaker_phase, quiet = run(scenario())
    assert asked.count("setChannelVar") == 1 and asked[-1] == "hangup"
    assert sent == ["ChannelTalkingStarted", "ChannelTalkingFinished"]  # validated against events.json
    assert speaker_phase == "queue"  # a caller who talks: an operator
    assert ("welcome", "silence") in path(quiet) and ("hello", "silence") in path(quiet)
    assert decisions(CITIZEN) == ["silent_queued", "allowed", "silent", "verification_sent"]
    assert decisions(OTHER) == ["allowed"]
    assert count(Ticket) == 0


# --- the console and the API ---------------------------------------------------------------------------------


def test_a_supervisor_clears_a_flagged_number_from_the_console(phone: Phone, server: str) -> None:
    flag(CITIZEN)
    make_user("op", "operator")  # an operator sees the shield and makes callbacks; a supervisor judges numbers
    operator = console_login(server, "op")
    seen = operator.get("/console/shield")
    assert seen.status_code == 200 and f'data-flag="{CITIZEN}"' in seen.text
    assert 'action="/console/shield/clear"' not in seen.text
    denied = operator.post("/console/shield/clear", data={"phone": CITIZEN, "csrf": csrf_of(seen.text)})
    assert denied.status_code == 403 and decisions(CITIZEN) == ["flagged"]
    make_user("ani", "supervisor")
    console = console_login(server, "ani")
    page = console.get("/console/shield")
    assert page.status_code == 200 and f'data-flag="{CITIZEN}"' in page.text
    refused = console.post("/console/shield/clear", data={"phone": CITIZEN, "csrf": "forged"})
    assert refused.status_code == 403 and decisions(CITIZEN) == ["flagged"]
    cleared = console.post(
        "/console/shield/clear",
        data={"phone": "0812-3456-7890", "note": "ibu tua, HP rusak", "csrf": csrf_of(page.text)},
    )
    assert cleared.status_code == 303
    assert screening_rows(CITIZEN, "flagged")[0].done_at is not None
    [row] = screening_rows(CITIZEN, "cleared")
    assert (row.actor, row.reason) == ("ani", "ibu tua, HP rusak")
    with unit_of_work() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "shield.clear"))
        assert entry is not None and (entry.target_id, entry.detail) == (CITIZEN, "ibu tua, HP rusak")
    assert f'data-flag="{CITIZEN}"' not in console.get("/console/shield").text
    assert WELCOME in Caller(phone, CITIZEN).dial().text
    assert decisions(CITIZEN)[-1] == "allowed"

    make_user("pupr1", "agency_staff", "PUPR")
    assert console_login(server, "pupr1").get("/console/shield").status_code == 403


def test_the_api_lists_decisions_and_clears_numbers_for_the_command_center(server: str) -> None:
    flag(CITIZEN)
    with unit_of_work() as session:
        shield.log_decision(session, phone=OTHER, decision="allowed")
    headers = {"Authorization": f"Bearer {make_token('api-op', 'operator')}"}
    with httpx.Client(base_url=server, headers=headers, timeout=10) as api:
        assert api.post(f"/api/v1/shield/numbers/{CITIZEN}/clear", json={}).status_code == 403  # a supervisor's
        api.headers["Authorization"] = f"Bearer {make_token('api-sup', 'supervisor')}"
        listed = api.get("/api/v1/shield/decisions").json()
        assert [(d["phone"], d["decision"]) for d in listed] == [(CITIZEN, "flagged")]  # allowed left out
        assert len(api.get("/api/v1/shield/decisions", params={"include_allowed": "true"}).json()) == 2
        assert [f["phone"] for f in api.get("/api/v1/shield/flagged").json()] == [CITIZEN]
        cleared = api.post(f"/api/v1/shield/numbers/{CITIZEN}/clear", json={"note": "dicek"})
        assert cleared.status_code == 200 and cleared.json()["decision"] == "cleared"
        assert api.get("/api/v1/shield/flagged").json() == []
        assert api.post("/api/v1/shield/numbers/not-a-number/clear").status_code == 422
        assert api.get("/api/v1/shield/report", params={"month": "2026-13"}).status_code == 422
    staff = {"Authorization": f"Bearer {make_token('api-pupr', 'agency_staff', 'PUPR')}"}
    assert httpx.get(f"{server}/api/v1/shield/decisions", headers=staff).status_code == 403


def test_metrics_count_decisions_by_kind(server: str) -> None:
    with unit_of_work() as session:
        for decision in ("allowed", "allowed", "silent"):
            shield.log_decision(session, phone=CITIZEN, decision=decision)
    body = scrape(server)
    assert 'hotline_call_screening{decision="allowed"} 2.0' in body
    assert 'hotline_call_screening{decision="silent"} 1.0' in body


# --- the false-block report ----------------------------------------------------------------------------------

OCT = datetime(2026, 10, 10, 3, 0, tzinfo=UTC)


def _seed_october() -> dict[str, int]:
    """Six numbers held back in October 2026 (one more in September, one anonymous), three of them real."""
    a, b, c, d, e, g = (f"+62812000000{n}" for n in range(1, 7))
    rows = [
        (a, "silent", OCT),
        (a, "silent", OCT + timedelta(hours=1)),
        (a, "confirmed", OCT + timedelta(hours=2)),  # replied 1: a false block
        (b, "rate_limited", OCT),  # later a routed report: a false block
        (c, "flagged", OCT),
        (c, "queued_last", OCT + timedelta(days=1)),
        (c, "cleared", OCT + timedelta(days=2)),  # an operator cleared it: a false block
        (d, "silent", OCT),
        (d, "silent", OCT),
        (d, "silent", OCT),
        (d, "flagged", OCT),  # nothing since: a real junk caller
        (e, "prank", OCT),  # its report was cancelled: not real
        (g, "confirmed", OCT - timedelta(days=5)),  # confirmed before it was held back: does not count
        (g, "rate_limited", OCT),
        ("+6281200000009", "rate_limited", datetime(2026, 9, 15, tzinfo=UTC)),  # another month
        ("anonymous", "silent", OCT),  # a withheld number cannot be confirmed
    ]
    with unit_of_work() as session:
        for number, decision, at in rows:
            shield.log_decision(
                session, phone=number, decision=decision, at=at, actor="op1" if decision == "cleared" else "system"
            )
        config = current_config()
        real = open_ticket(
            session, config=config, channel="sms", reporter=b, text="LONGSOR", language="id", category="landslide"
        )
        real.created_at = OCT + timedelta(days=3)
        junk = open_ticket(
            session, config=config, channel="sms", reporter=e, text="KEBAKARAN", language="id", category="fire"
        )
        junk.created_at = OCT + timedelta(days=3)
        transition(session, ticket=junk, target="cancelled", actor="test")
        return {"b_ticket": real.id}


def test_the_false_block_report_for_a_seeded_month(server: str) -> None:
    seeded = _seed_october()
    result = runner.invoke(app, ["shield", "report", "--month", "2026-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["held_numbers"], report["false_blocks"], report["false_block_rate"]) == (6, 3, 0.5)
    by = {r["decision"]: (r["numbers"], r["false_blocks"]) for r in report["by_decision"]}
    assert by == {"silent": (2, 1), "rate_limited": (2, 1), "flagged": (2, 1), "queued_last": (1, 1), "prank": (1, 0)}
    confirmed = {n["phone"][-1]: n["confirmed_by"] for n in report["numbers"]}
    assert confirmed == {
        "1": "replied 1",
        "2": f"ticket #{seeded['b_ticket']}",
        "3": "cleared by op1",
        "4": None,
        "5": None,
        "6": None,
    }
    assert report["decision_counts"]["silent"] == 6  # every silent row of October, the anonymous one too

    rows = runner.invoke(app, ["shield", "report", "--month", "2026-10", "--format", "csv"]).output.splitlines()
    assert rows[0].startswith("month,phone,first_held_at") and len(rows) == 7
    table = runner.invoke(app, ["shield", "report", "--month", "2026-10"])
    assert (
        table.exit_code == 0
        and "6 nomor ditahan / numbers held back, 3 salah blokir / false blocks (50%)" in table.output
    )
    assert runner.invoke(app, ["shield", "report", "--month", "2026-1"]).exit_code == 2

    make_user("ani", "operator")
    page = console_login(server, "ani").get("/console/shield", params={"month": "2026-10"}).text
    assert "<strong>6</strong>" in page and "<strong>3</strong>" in page and "(50 %)" in page
    headers = {"Authorization": f"Bearer {make_token('api-op', 'operator')}"}
    api = httpx.get(f"{server}/api/v1/shield/report", params={"month": "2026-10"}, headers=headers).json()
    assert (api["held_numbers"], api["false_blocks"]) == (6, 3)


T = datetime(2026, 10, 1, tzinfo=UTC)
SUMMARIES = [
    ("nothing held back", [], [], (0, 0, None)),
    ("held, never confirmed", [Held("+1", "silent", T)], [], (1, 0, 0.0)),
    (
        "confirmed after",
        [Held("+1", "silent", T)],
        [Vindication("+1", T + timedelta(hours=1), "replied 1")],
        (1, 1, 1.0),
    ),
    (
        "confirmed before only",
        [Held("+1", "silent", T)],
        [Vindication("+1", T - timedelta(hours=1), "replied 1")],
        (1, 0, 0.0),
    ),
    ("another number's proof", [Held("+1", "prank", T)], [Vindication("+2", T, "ticket #4")], (1, 0, 0.0)),
    (
        "two numbers, one real",
        [Held("+1", "rate_limited", T), Held("+2", "silent", T), Held("+2", "flagged", T)],
        [Vindication("+2", T, "cleared by ani")],
        (2, 1, 0.5),
    ),
]


@pytest.mark.parametrize(("held", "proofs", "expected"), [s[1:] for s in SUMMARIES], ids=[s[0] for s in SUMMARIES])
def test_summarize(held: list[Held], proofs: list[Vindication], expected: tuple[int, int, float | None]) -> None:
    report = summarize("2026-10", held, proofs, {})
    assert (report.held_numbers, report.false_blocks, report.false_block_rate) == expected


# --- the config ------------------------------------------------------------------------------------------------


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return copy_city(tmp_path, ("routing", "sms", "ivr_flows"))


def test_the_shipped_shield_settings(city: Path) -> None:
    rules = load_city_config(city).shield
    assert (rules.enabled, rules.calls_per_hour, rules.calls_per_day, rules.offender_silent_calls) == (True, 5, 12, 3)
    (city / "routing" / "shield.yaml").unlink()
    assert load_city_config(city).shield.enabled is False  # no file: limits off, decisions still logged


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "routing/shield.yaml",
            "calls_per_hour: 5 ",
            "calls_per_hour: 50",
            "routing/shield.yaml:8: calls_per_hour (50) is above calls_per_day (12)",
        ),
        ("routing/shield.yaml", "silent_calls: 3 ", "silent_calls: 0 ", "routing/shield.yaml:11:"),
        (
            "routing/shield.yaml",
            "exempt: []",
            'exempt: ["12ab"]',
            "routing/shield.yaml:17: '12ab' is not a valid phone",
        ),
        ("routing/shield.yaml", "limits:", "limit:", "routing/shield.yaml:7:"),
        (
            "ivr_flows/kota_batu.yaml",
            "rate_limited: over_limit ",
            "rate_limited: over_limits",
            "screening rate_limited: 'over_limits' is not a node",
        ),
        (
            "ivr_flows/kota_batu.yaml",
            "on_silence: silent_check",
            "on_silence: silent_chek",
            "'silent_chek' is not a node",
        ),
        ("ivr_flows/kota_batu.yaml", "decision: silent", "decision: loud", "ivr_flows/kota_batu.yaml:"),
    ],
)
def test_config_errors_name_the_file_the_line_and_the_fix(
    city: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(city / file, old, new)
    found = config_errors(city)
    assert any(expected in line for line in found), found


def test_config_check_reports_shield_errors(city: Path) -> None:
    edit(city / "routing" / "shield.yaml", "calls_per_hour: 5 ", "calls_per_hour: 50")
    result = runner.invoke(app, ["config", "check", str(city)])
    assert result.exit_code == 1
    assert "routing/shield.yaml:8: calls_per_hour (50) is above calls_per_day (12)" in result.output
    assert "make calls_per_day at least calls_per_hour" in result.output
