"""POST /twilio/voice and its follow-ups, against the real app served by uvicorn on the real database and
Redis: signed webhooks replayed from the captured payloads, exact TwiML where it matters, and what the
call leaves behind (the ticket, its recording, the URC alert and the caller's SMS, the call's path)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from twilio.request_validator import RequestValidator

from hotline.db import unit_of_work
from hotline.features.calls.calls import call_log
from hotline.models import Call, OutboundMessage, Ticket, TicketEvent
from hotline.settings import get_settings
from tests.conftest import AUTH_TOKEN, FIXTURES, HOTLINE_NUMBER, Caller, Phone, drain_queue
from tests.helpers import count, events, outbound, sms_ticket, ticket
from tests.suite_city import choice, members, prompt
from tests.test_prompt_serving import write_wav

CITIZEN = "+6281234567890"
PUPR = members("PUPR")
PMK = members("PMK")
DESK = members("COMMAND")
HEAD = '<?xml version="1.0" encoding="UTF-8"?><Response>'
TAIL = "</Response>"


def say(text: str, language: str = "id-ID") -> str:
    voice = ' voice="Google.id-ID-Standard-A"' if language == "id-ID" else ""  # Twilio's default cannot speak id
    return f'<Say language="{language}"{voice}>{text}</Say>'


# The suite's prompts (tests/city/ivr_flows/prompts/id.yaml), as Twilio speaks them when no audio file was built.
WELCOME = prompt("welcome")
ASK_CATEGORY = prompt("ask_category")
ASK_KECAMATAN = prompt("ask_kecamatan")
ASK_DESA = prompt("ask_desa")
ASK_DESCRIPTION = prompt("ask_description")
INVALID = prompt("invalid_choice")
NO_INPUT = prompt("no_input")
APOLOGY = prompt("technical_problem")
PLEASE_HOLD = prompt("please_hold")
EMERGENCY_HOLD = prompt("emergency_hold")
READ_BACK = say(prompt("your_number_is")) + say("1") + say(prompt("sms_sent")) + say(prompt("goodbye")) + "<Hangup />"
RECORDING_URL = json.loads((FIXTURES / "twilio" / "voice_record.json").read_text())["RecordingUrl"]


@pytest.fixture
def caller(phone: Phone) -> Caller:
    return Caller(phone)


@pytest.fixture
def voice(server: str) -> str:
    return server + "/twilio/voice"


def xml(response: httpx.Response) -> str:
    """The TwiML of a 200 answer."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return response.text


def outline(response: httpx.Response) -> list[str]:
    """Every verb in document order ('Say: text', 'Gather', 'Enqueue: operators', 'Hangup')."""
    root = ET.fromstring(xml(response))
    return [f"{el.tag}: {el.text}" if el.text else el.tag for el in root.iter() if el is not root]


def row(caller: Caller) -> Call:
    with unit_of_work() as session:
        found = session.scalar(select(Call).where(Call.provider_call_id == caller.sid))
        assert found is not None
        return found


def path(caller: Caller) -> list[tuple[str, str | None]]:
    with unit_of_work() as session:
        return [(e.node, e.input) for e in call_log(session, call_id=row(caller).id)]


def voice_tickets() -> list[Ticket]:
    with unit_of_work() as session:
        return list(session.scalars(select(Ticket).where(Ticket.channel == "voice").order_by(Ticket.id)))


def ticket_events(number: int, kind: str) -> list[TicketEvent]:
    with unit_of_work() as session:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == number, TicketEvent.kind == kind)
        return list(session.scalars(stmt.order_by(TicketEvent.id)))


def act(caller: Caller, step: str) -> httpx.Response:
    """'.' silence at a menu, '4' keys, 'rec:12' a 12 s recording ('rec-hangup:7': the caller hung up while
    recording), 'norec' an empty one, 'q:<QueueResult>' the queue's action."""
    if step == ".":
        return caller.silence()
    if step == "norec":
        return caller.say_nothing()
    if step.startswith("rec:"):
        return caller.speak(int(step[4:]))
    if step.startswith("rec-hangup:"):
        return caller.speak(int(step[11:]), Digits="hangup")
    if step.startswith("q:"):
        return caller.queue_done(step[2:])
    return caller.press(step)


def silent(caller: Caller) -> httpx.Response:
    """A listening <Gather> (the welcome) ended with no key and no speech."""
    return caller.phone.post("/twilio/voice/gather?listen=1", caller.payload("gather_empty"))


def spoke(caller: Caller) -> httpx.Response:
    """A listening <Gather> heard words but no key."""
    return caller.phone.post("/twilio/voice/gather?listen=1", caller.payload("gather_speech"))


def run(caller: Caller, steps: list[str]) -> list[httpx.Response]:
    answers = [caller.dial(), *(act(caller, s) for s in steps)]
    for answer in answers:
        xml(answer)  # every turn is TwiML
    return answers


# --- a whole call -----------------------------------------------------------------------------------------


def test_a_whole_kota_batu_call_becomes_a_routed_voice_ticket_with_its_recording(
    caller: Caller, voice: str, fake_twilio: Any
) -> None:
    first = caller.dial()
    assert xml(first) == (
        f'{HEAD}<Gather action="{voice}/gather?turn=2&amp;listen=1" actionOnEmptyResult="true" finishOnKey="#" '
        f'input="dtmf speech" language="id-ID" numDigits="1" speechTimeout="auto" timeout="4">{say(WELCOME)}'
        f"</Gather>{TAIL}"
    )
    category = caller.press("2")  # a report: the four categories that are not emergencies
    assert outline(category)[:3] == [
        "Gather",
        f"Say: {ASK_CATEGORY}",
        f"Say: {choice('category', 'Jalan, jembatan dan saluran', 1)}",
    ]
    assert outline(category)[-1] == f"Say: {prompt('press_0_operator')}" and len(outline(category)) == 7
    assert outline(caller.press("1"))[:2] == ["Gather", f"Say: {ASK_KECAMATAN}"]  # roads
    assert xml(caller.press("2")) == (  # Bumiaji; no desa menu: one recording says desa, street and what
        # a key during the instruction would start the recording at once
        f'{HEAD}<Gather action="{voice}/record?turn=8&amp;barge=1&amp;max=60&amp;silence=5&amp;finish=%23&amp;beep=1" '
        f'finishOnKey="" input="dtmf" numDigits="1" timeout="1">{say(ASK_DESCRIPTION)}</Gather>'
        f'<Record action="{voice}/record?turn=8" finishOnKey="#" maxLength="60" playBeep="true" '
        f'recordingStatusCallback="{voice}/recording-status" timeout="5" />'
        f'<Redirect method="POST">{voice}/record?turn=8</Redirect>{TAIL}'
    )
    assert xml(caller.speak(12)) == f"{HEAD}{READ_BACK}{TAIL}"  # the ticket number, once, and goodbye
    assert caller.recording_status().status_code == 204  # the final recording: already attached
    assert caller.hang_up().status_code == 204

    [t] = voice_tickets()
    assert (t.id, t.reporter_phone, t.category, t.kecamatan, t.desa, t.status, t.routing_rule) == (
        1,
        CITIZEN,
        "roads",
        "Bumiaji",
        None,
        "routed",
        "roads-to-pupr",
    )
    assert (t.partial, t.partial_node, t.language) == (False, None, "id")
    assert events(1) == ["created", "routed", "recording"]  # deadlines and the URC alert follow in a job
    [recording] = ticket_events(1, "recording")
    assert (recording.data["url"], recording.data["seconds"], recording.data["call"]) == (
        RECORDING_URL,
        12.0,
        caller.sid,
    )

    call = row(caller)
    assert (call.provider, call.caller, call.called, call.status, call.outcome, call.stopped_at) == (
        "twilio",
        CITIZEN,
        HOTLINE_NUMBER,
        "completed",
        "completed",
        "goodbye",
    )
    assert (call.ticket_id, call.recording_url, call.recording_seconds) == (1, RECORDING_URL, 12.0)
    assert call.ended_at is not None
    assert path(caller) == [
        ("greet", None),
        ("welcome", None),
        ("welcome", "2"),
        ("routine", None),
        ("routine", "1"),
        ("kecamatan", None),
        ("kecamatan", "2"),
        ("description", None),
        ("description", "recorded"),
        ("save", None),
        ("save", "ticket:1"),
        ("sms", None),
        ("number", None),
        ("goodbye", None),
    ]

    assert fake_twilio.messages == []  # SMS leave through the queue, after the turn committed
    drain_queue()
    assert events(1) == ["created", "routed", "recording", "alerted"]  # the activation job ran
    [reply] = fake_twilio.sent_to(CITIZEN)
    assert reply.body.startswith("Laporan No. 1 (Jalan, jembatan dan saluran) diterima")
    for member in PUPR:
        [alert] = fake_twilio.sent_to(member)
        assert alert.body.startswith("Kec. Bumiaji. Jalan, jembatan dan saluran BIASA, No. 1.")  # the place first


def test_built_prompt_audio_is_played_and_served(caller: Caller, server: str, voice: str) -> None:
    built = get_settings().data_dir / "prompts" / "id" / "welcome.wav"
    audio = write_wav(built)
    try:
        assert xml(caller.dial()) == (
            f'{HEAD}<Gather action="{voice}/gather?turn=2&amp;listen=1" actionOnEmptyResult="true" finishOnKey="#" '
            f'input="dtmf speech" language="id-ID" numDigits="1" speechTimeout="auto" timeout="4">'
            f"<Play>{server}/ivr/prompts/id/welcome.wav</Play></Gather>{TAIL}"
        )
        served = caller.phone.client.get(f"{server}/ivr/prompts/id/welcome.wav")
        assert (served.status_code, served.content) == (200, audio)
        assert outline(caller.press("2"))[1] == f"Say: {ASK_CATEGORY}"  # no file for this one: Twilio's voice
    finally:
        built.unlink()


def test_english_callers_press_9_and_hear_english_to_the_end(caller: Caller, fake_twilio: Any) -> None:
    caller.dial()
    assert outline(caller.press("9")) == ["Gather", f"Say: {prompt('welcome', 'en')}"]  # the choices, in English
    assert outline(caller.press("2"))[:3] == [
        "Gather",
        f"Say: {prompt('ask_category', 'en')}",
        f"Say: {choice('category', 'Roads, bridges and drains', 1, 'en')}",
    ]
    answers = [caller.press("1"), caller.press("2"), caller.speak(8)]
    assert all('language="en-US"' in a.text and 'language="id-ID"' not in a.text for a in answers)
    assert outline(answers[-1])[:2] == [f"Say: {prompt('your_number_is', 'en')}", "Say: 1"]
    assert ticket(1).language == "en" and ("welcome", "9") in path(caller)
    drain_queue()
    assert fake_twilio.sent_to(CITIZEN)[0].body.startswith("Report No. 1")


def test_a_number_for_english_speakers_starts_calls_in_english(phone: Phone) -> None:
    assert outline(Caller(phone).dial("?lang=en"))[1] == f"Say: {prompt('welcome', 'en')}"
    assert outline(Caller(phone).dial("?lang=xx"))[1] == f"Say: {WELCOME}"  # a typo: the first language


# --- emergencies and the operator queue -------------------------------------------------------------------


def test_the_emergency_key_opens_an_alerted_critical_ticket_and_queues_the_caller_at_once(
    caller: Caller, voice: str, fake_twilio: Any
) -> None:
    caller.dial()
    assert xml(caller.press("1")) == (  # the first key: no number read out, straight to the queue
        f"{HEAD}{say(EMERGENCY_HOLD)}"
        f'<Enqueue action="{voice}/queue/done?turn=7" waitUrl="{voice}/queue/wait?max_wait=30">operators</Enqueue>'
        f"{TAIL}"
    )
    t = ticket(1)
    assert (t.category, t.urgent, t.priority, t.status, t.partial) == (None, True, "critical", "routed", False)
    assert t.routing_rule == "default-command-center"
    call = row(caller)
    assert (call.status, call.queue_priority, call.ticket_id) == ("queued", "emergency", 1)

    # While the caller waits: the hold prompt in every language, then <Leave/> at max_wait.
    hold = say(PLEASE_HOLD) + say(prompt("please_hold", "en"), "en-US")
    assert xml(caller.queue_wait(10)) == f'{HEAD}{hold}<Pause length="20" />{TAIL}'
    assert xml(caller.queue_wait(110)) == f'{HEAD}{hold}<Pause length="10" />{TAIL}'
    assert xml(caller.queue_wait(120)) == f"{HEAD}<Leave />{TAIL}"
    assert xml(caller.queue_wait(30, "?max_wait=30")) == f"{HEAD}<Leave />{TAIL}"
    music = "https://hotline.example.id/hold.mp3"
    assert xml(caller.queue_wait(5, f"?max_wait=60&music={music}")) == f"{HEAD}<Play>{music}</Play>{TAIL}"

    drain_queue()  # the command center is alerted; the caller gets the number by SMS
    assert all(fake_twilio.sent_to(member) for member in DESK)
    assert fake_twilio.sent_to(CITIZEN)[0].body.startswith(
        "Hotline Kota Batu: laporan darurat Anda kami terima, No. 1."
    )

    # An operator took the call; Twilio calls the action once the bridge ended.
    assert xml(caller.queue_done("bridged")) == f"{HEAD}<Hangup />{TAIL}"
    call = row(caller)
    assert (call.status, call.outcome, call.stopped_at, call.ended_at) == (
        "with-operator",
        "operator",
        "emergency_queue",
        None,
    )
    assert caller.hang_up().status_code == 204
    call = row(caller)
    assert (call.status, call.outcome) == ("completed", "operator") and call.ended_at is not None
    assert path(caller)[-1] == ("emergency_queue", "answered")


def test_no_operator_within_30_s_the_caller_gives_what_and_where_by_keys_and_waits_on(
    caller: Caller, voice: str, fake_twilio: Any
) -> None:
    run(caller, ["1"])
    back = caller.queue_done("leave")  # our <Leave/> after place_after_seconds
    assert outline(back)[:3] == [
        "Gather",
        f"Say: {prompt('ask_emergency_category')}",
        f"Say: {choice('category', 'Kebakaran', 1)}",
    ]
    assert outline(caller.press("1"))[:2] == ["Gather", f"Say: {ASK_KECAMATAN}"]  # fire
    assert outline(caller.press("2"))[:2] == ["Gather", f"Say: {ASK_DESA}"]  # Bumiaji: on the ticket already
    assert (ticket(1).category, ticket(1).kecamatan, ticket(1).routing_rule) == ("fire", "Bumiaji", "fire-to-pmk")
    again = caller.press("6")  # Punten
    assert xml(again) == (
        f"{HEAD}{say(EMERGENCY_HOLD)}"
        f'<Enqueue action="{voice}/queue/done?turn=17" waitUrl="{voice}/queue/wait?max_wait=90">operators</Enqueue>'
        f"{TAIL}"
    )
    t = ticket(1)
    assert (t.category, t.kecamatan, t.desa, t.location_text, t.partial) == (
        "fire",
        "Bumiaji",
        "Punten",
        "Punten, Kec. Bumiaji",
        False,
    )
    assert row(caller).status == "queued" and count(Ticket) == 1
    drain_queue()
    for member in PMK:  # the fire brigade: alerted with the kecamatan, then told the desa at once
        assert [m.body.split(".")[0] for m in fake_twilio.sent_to(member)][:1] == ["Kec"]
    assert [m.purpose for m in outbound() if m.to_number == CITIZEN] == ["reply"]  # one SMS per call


def test_a_silent_first_time_caller_reaches_the_operator_queue_without_a_ticket(caller: Caller) -> None:
    caller.dial()
    answer = silent(caller)
    assert outline(answer) == [f"Say: {PLEASE_HOLD}", "Enqueue: operators"]
    call = row(caller)
    assert (call.status, call.queue_priority, call.ticket_id) == ("queued", "silent", None)
    drain_queue()
    assert count(Ticket) == 0 and outbound() == []  # no report, no crew alert, no SMS
    assert ("welcome", "silence") in path(caller)


def test_a_caller_who_talks_reaches_an_operator(caller: Caller) -> None:
    caller.dial()
    assert outline(spoke(caller)) == [f"Say: {PLEASE_HOLD}", "Enqueue: operators"]
    assert (row(caller).status, row(caller).queue_priority) == ("queued", "normal")
    assert count(Ticket) == 0


def test_the_queue_the_console_shows_puts_emergencies_first(phone: Phone, server: str) -> None:
    from tests.accounts import console_login, make_user

    talker, silent_one, emergency = Caller(phone, "+6281200000001"), Caller(phone, "+6281200000002"), Caller(phone)
    talker.dial()
    spoke(talker)
    silent_one.dial()
    silent(silent_one)
    emergency.dial()
    emergency.press("1")
    make_user("ani", "operator")
    page = console_login(server, "ani").get("/console/queue").text
    order = [page.index(f'data-call="{row(c).id}"') for c in (emergency, talker, silent_one)]
    assert order == sorted(order), "emergency, then the caller who talks, then the silent caller"


# --- invalid digits and silence -------------------------------------------------------------------------


def test_invalid_digits_are_re_prompted(caller: Caller, voice: str) -> None:
    run(caller, ["2"])
    again = caller.press("8")  # no category 8
    assert outline(again)[:3] == ["Gather", f"Say: {INVALID}", f"Say: {ASK_CATEGORY}"]
    assert xml(again).startswith(
        f'{HEAD}<Gather action="{voice}/gather?turn=5" actionOnEmptyResult="true" finishOnKey="#" input="dtmf" '
        f'numDigits="1" timeout="6">{say(INVALID)}{say(ASK_CATEGORY)}'
    )
    assert outline(caller.press("4"))[1] == f"Say: {ASK_KECAMATAN}"  # the next try still counts
    assert ("routine", "invalid:8") in path(caller) and ("routine", "4") in path(caller)


def test_silence_is_re_prompted_then_the_caller_goes_to_an_operator(caller: Caller, voice: str) -> None:
    run(caller, ["2"])
    for _ in range(2):  # retries: 2
        assert outline(caller.silence())[:3] == ["Gather", f"Say: {NO_INPUT}", f"Say: {ASK_CATEGORY}"]
    assert xml(caller.silence()) == (
        f'{HEAD}{say(PLEASE_HOLD)}<Enqueue action="{voice}/queue/done?turn=8" '
        f'waitUrl="{voice}/queue/wait?max_wait=120">operators</Enqueue>{TAIL}'
    )
    assert [step for step in path(caller) if step[0] == "routine"] == [
        ("routine", None),
        ("routine", "no_input"),
        ("routine", "no_input"),
        ("routine", "no_input"),
    ]
    assert row(caller).status == "queued" and count(Ticket) == 0  # nothing said: nothing to keep


def test_a_key_during_the_recording_instruction_starts_the_recording_without_a_turn(caller: Caller, voice: str) -> None:
    [*_, instruction] = run(caller, ["2", "1", "2"])  # a report: roads, Bumiaji
    skip = ET.fromstring(xml(instruction)).find("Gather")
    assert skip is not None
    barge = skip.attrib["action"].removeprefix(caller.phone.base_url)  # the URL Twilio posts the key to
    before = path(caller)
    now = caller.phone.post(barge, caller.payload("gather_digits", Digits="5"))
    assert xml(now) == (
        f'{HEAD}<Record action="{voice}/record?turn=8" finishOnKey="#" maxLength="60" playBeep="true" '
        f'recordingStatusCallback="{voice}/recording-status" timeout="5" />'
        f'<Redirect method="POST">{voice}/record?turn=8</Redirect>{TAIL}'
    )
    assert path(caller) == before  # no step: the key is nothing to the engine
    params = caller.payload("gather_digits", Digits="5")
    signed_for_ours = RequestValidator(AUTH_TOKEN).compute_signature(caller.phone.base_url + barge, params)
    forged = caller.phone.post(barge.replace("max=60", "max=600"), params, signature=signed_for_ours)
    assert forged.status_code == 403  # the settings are signed with the URL
    caller.phone.post("/twilio/voice/record?turn=8", caller.payload("record", RecordingDuration="9"))
    assert ("description", "recorded") in path(caller) and ticket(1).kecamatan == "Bumiaji"


def test_an_empty_recording_is_asked_for_again(caller: Caller) -> None:
    run(caller, ["2", "1", "2"])
    assert outline(caller.say_nothing())[:3] == ["Gather", f"Say: {prompt('no_recording')}", f"Say: {ASK_DESCRIPTION}"]
    assert ("description", "no_input") in path(caller) and count(Ticket) == 0


# --- hanging up anywhere --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HangUp:
    steps: list[str]  # webhooks before the status callback says the call is over
    stopped_at: str
    ticket: str | None  # None: no ticket; 'complete'; 'partial@<node>'
    outcome: str = "hung_up"
    open_ticket: bool = False


REPORT = ["2", "1", "2"]  # a report: roads, Bumiaji; at the recording
HANGUPS = {
    "welcome": HangUp([], "welcome", None),
    "routine": HangUp(["2"], "routine", None),
    "routine-after-invalid": HangUp(["2", "8"], "routine", None),
    "open-ticket-menu": HangUp(["3"], "open_ticket_menu", None, open_ticket=True),
    "kecamatan": HangUp(["2", "1"], "kecamatan", "partial@kecamatan"),
    "description": HangUp(REPORT, "description", "partial@description"),
    "description-after-silence": HangUp([*REPORT, "norec"], "description", "partial@description"),
    # Hanging up while recording: Twilio still calls the Record action with the recording (Digits=hangup).
    "while-recording": HangUp([*REPORT, "rec-hangup:7"], "goodbye", "complete", outcome="completed"),
    "read-back": HangUp([*REPORT, "rec:12"], "goodbye", "complete", outcome="completed"),
    # In the queue Twilio calls the Enqueue action (QueueResult=hangup) before the status callback.
    "queue-nothing-said": HangUp(["0", "q:hangup"], "operator", None),
    "queue-emergency": HangUp(["1", "q:hangup"], "emergency_queue", "complete"),
    "place-questions": HangUp(["1", "q:leave", "2"], "emergency_kecamatan", "partial@emergency_kecamatan"),
    "queue-from-kecamatan": HangUp(["2", "1", "0", "q:hangup"], "operator", "partial@operator"),
    "after-busy-queue": HangUp(["2", "1", "0", "q:leave"], "operators_busy", "partial@operator"),
    "with-operator": HangUp(["1", "q:bridged"], "emergency_queue", "complete", outcome="operator"),
}


def existing_ticket(status: str) -> int:
    return sms_ticket(reporter=CITIZEN, text="BANJIR di Temas", category="flood", status=status)


@pytest.mark.parametrize("where", list(HANGUPS))
def test_hanging_up_at_any_step_keeps_a_marked_ticket_iff_something_was_said(caller: Caller, where: str) -> None:
    case = HANGUPS[where]
    earlier = existing_ticket("accepted") if case.open_ticket else None
    run(caller, case.steps)
    assert caller.hang_up().status_code == 204
    assert caller.hang_up().status_code == 204  # a second callback changes nothing

    call = row(caller)
    assert (call.status, call.outcome, call.stopped_at) == ("completed", case.outcome, case.stopped_at)
    assert call.ended_at is not None
    if case.outcome == "hung_up":
        assert (case.stopped_at, "hangup") in path(caller)
    tickets = voice_tickets()
    said = any(call.state["fields"].get(k) for k in ("category", "kecamatan", "desa", "recording_url"))
    said = said or ("emergency", None) in path(caller)  # the emergency key opens the report at once
    assert bool(tickets) == said == (case.ticket is not None)
    if case.ticket is not None:
        [t] = tickets
        assert call.ticket_id == t.id and t.status == "routed"
        assert (f"partial@{t.partial_node}" if t.partial else "complete") == case.ticket
        if t.partial:
            [partial] = ticket_events(t.id, "partial")
            assert partial.data["node"] == t.partial_node and partial.data["call"] == caller.sid
    if earlier is not None:
        assert ticket(earlier).partial is False and count(Ticket) == 1


def test_the_caller_s_open_ticket_is_read_out(caller: Caller) -> None:
    number = existing_ticket("accepted")
    assert outline(caller.dial()) == ["Gather", f"Say: {prompt('welcome_known')}"]  # offered, not read out
    assert outline(caller.press("3"))[:5] == [  # in the menu's <Gather>: a key stops the read-out and answers
        "Gather",
        f"Say: {prompt('open_ticket_intro')}",
        f"Say: {number}",
        f"Say: {prompt('status_accepted')}",
        f"Say: {prompt('open_ticket_menu')}",
    ]


def test_statuses_that_are_not_the_end_change_nothing(caller: Caller) -> None:
    run(caller, ["2", "4"])
    for status in ("ringing", "in-progress", "queued"):
        assert caller.hang_up(status).status_code == 204
    assert row(caller).status == "in-progress" and count(Ticket) == 0
    assert caller.hang_up("busy").status_code == 204  # any final status is the end of the call
    assert row(caller).status == "completed" and ticket(1).partial_node == "kecamatan"


# --- recordings -----------------------------------------------------------------------------------------


def test_a_recording_whose_action_never_came_is_attached_by_its_status_callback(caller: Caller) -> None:
    run(caller, REPORT)
    caller.hang_up()  # the caller hung up before the Record action reached us
    t = ticket(1)
    assert (t.partial, t.partial_node, events(1)[-1]) == (True, "description", "partial")
    for _ in range(2):  # Twilio may repeat a callback
        assert caller.recording_status(RecordingDuration="9").status_code == 204
    [recording] = ticket_events(1, "recording")
    assert (recording.data["url"], recording.data["seconds"]) == (RECORDING_URL, 9.0)
    assert (row(caller).recording_url, row(caller).recording_seconds) == (RECORDING_URL, 9.0)
    assert ticket(1).partial is True  # the caller still did not finish the call


def test_recording_callbacks_that_are_not_final_are_ignored(caller: Caller) -> None:
    run(caller, REPORT)
    caller.hang_up()
    for status in ("in-progress", "absent", "failed"):
        assert caller.recording_status(RecordingStatus=status).status_code == 204
    assert ticket_events(1, "recording") == [] and row(caller).recording_url is None


# --- webhooks that repeat, are forged, or name no call --------------------------------------------------


def test_a_retried_webhook_gets_the_same_twiml_and_makes_nothing_twice(caller: Caller) -> None:
    first = xml(caller.dial())
    assert xml(caller.dial()) == first
    menu = xml(caller.press("2"))
    assert xml(caller.dial()) == menu  # retried after the caller moved on: the last turn again
    assert count(Call) == 1

    for step in ("1", "2"):
        caller.press(step)
    done = caller.speak(12)
    before = (events(1), len(outbound()), len(path(caller)))
    assert xml(caller.speak(12)) == f"{HEAD}<Hangup />{TAIL}"  # the call has ended
    assert xml(caller.dial()) == xml(done)
    assert (events(1), len(outbound()), len(path(caller))) == before
    assert count(Ticket) == 1


PATHS = [
    ("/twilio/voice", "incoming"),
    ("/twilio/voice/gather", "gather_digits"),
    ("/twilio/voice/record", "record"),
    ("/twilio/voice/recording-status", "recording_status"),
    ("/twilio/voice/queue/wait?max_wait=120", "queue_wait"),
    ("/twilio/voice/queue/done", "queue_result"),
    ("/twilio/voice/status", "status_completed"),
]


@pytest.mark.parametrize(("url", "fixture"), PATHS)
def test_forged_or_missing_signatures_are_refused(caller: Caller, url: str, fixture: str) -> None:
    params = caller.payload(fixture)
    assert caller.phone.post(url, params, signature="").status_code == 403
    assert caller.phone.post(url, params, token="another-accounts-token").status_code == 403
    signed = caller.phone.post(url, params).request.headers["X-Twilio-Signature"]
    assert caller.phone.post(url, dict(params, CallSid="CAforged"), signature=signed).status_code == 403
    proxy = RequestValidator(AUTH_TOKEN).compute_signature("https://proxy.example" + url, params)
    assert caller.phone.post(url, params, signature=proxy).status_code == 403  # signed for another URL
    assert caller.phone.post(url, params, token=AUTH_TOKEN).status_code in (200, 204)
    with unit_of_work() as session:
        assert session.scalar(select(Call).where(Call.provider_call_id == "CAforged")) is None


@pytest.mark.parametrize(("url", "fixture"), [p for p in PATHS if "wait" not in p[0]])
def test_a_webhook_without_callsid_is_a_clear_400(caller: Caller, url: str, fixture: str) -> None:
    params = caller.payload(fixture)
    del params["CallSid"]
    answer = caller.phone.post(url, params)
    assert (answer.status_code, answer.text) == (400, "CallSid is required")
    assert count(Call) == 0


def test_an_unknown_call_hears_an_apology_and_the_call_ends(caller: Caller) -> None:
    apology = f"{HEAD}{say(APOLOGY)}<Hangup />{TAIL}"
    assert xml(caller.press("4")) == apology
    assert xml(caller.speak(3)) == apology
    assert xml(caller.queue_done("leave")) == apology
    assert caller.hang_up().status_code == 204  # callbacks about it are only logged
    assert caller.recording_status().status_code == 204
    assert count(Call) == 0 and count(Ticket) == 0


# --- failures -------------------------------------------------------------------------------------------


def test_an_event_that_does_not_fit_sends_the_caller_to_an_operator(caller: Caller, voice: str) -> None:
    run(caller, ["1"])  # queued for an operator
    before = row(caller).state
    stale = caller.press("4")  # a late <Gather> action while the caller is in the queue
    assert xml(stale) == (
        f"{HEAD}{say(APOLOGY)}{say(PLEASE_HOLD)}"
        f'<Enqueue action="{voice}/queue/done" waitUrl="{voice}/queue/wait?max_wait=120">operators</Enqueue>{TAIL}'
    )
    assert row(caller).state == before  # the failed turn was rolled back


def test_a_queue_action_that_does_not_fit_ends_with_the_apology(caller: Caller) -> None:
    run(caller, ["2"])  # at the category menu, never queued
    assert xml(caller.queue_done("leave")) == f"{HEAD}{say(APOLOGY)}<Hangup />{TAIL}"
    assert row(caller).state["node"] == "routine"


@pytest.fixture
def broken_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []

    def broken(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs["provider_call_id"])
        raise RuntimeError("a bug")

    monkeypatch.setattr("hotline.channels.twilio.voice_webhooks.continue_call", broken)
    yield calls


def test_a_failing_turn_is_logged_and_the_caller_goes_to_an_operator(
    caller: Caller, broken_service: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caller.dial()
    assert outline(caller.silence()) == [f"Say: {APOLOGY}", f"Say: {PLEASE_HOLD}", "Enqueue: operators"]
    assert broken_service == [caller.sid]
    assert any("failed; the caller goes to an operator" in r.getMessage() for r in caplog.records)


def test_the_database_failing_mid_call_sends_the_caller_to_the_fallback(
    caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn whose database fails: the caller hears the apology and leaves a message (no desk number set),
    never Twilio's "application error" (tests/test_spool.py has the database really unreachable)."""

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    caller.dial()
    monkeypatch.setattr("hotline.channels.twilio.voice_webhooks.continue_call", down)
    answer = caller.silence()
    assert outline(answer) == [
        f"Say: {APOLOGY}",
        f"Say: {prompt('ask_description')}",
        "Record",
        f"Redirect: {caller.phone.base_url}/twilio/voice/fallback/recorded",
    ]
    assert caller.hang_up().status_code == 503  # a status callback: Twilio ignores the answer


def test_voice_webhooks_are_timed_in_the_metrics(caller: Caller, server: str) -> None:
    caller.dial()
    caller.silence()
    metrics = caller.phone.client.get(server + "/metrics").text
    assert 'hotline_webhook_seconds_count{route="/twilio/voice",status="200"}' in metrics
    assert 'hotline_webhook_seconds_count{route="/twilio/voice/gather",status="200"}' in metrics


def test_no_sms_leaves_before_the_call_s_turn_committed(caller: Caller, fake_twilio: Any) -> None:
    run(caller, [*REPORT, "rec:12"])
    # The caller's reply is queued by the turn; the URC alert by the activation job after it.
    assert [(m.to_number, m.purpose, m.status) for m in outbound()] == [(CITIZEN, "reply", "queued")]
    assert fake_twilio.messages == []
    drain_queue()
    assert {m.to_number for m in outbound() if m.status == "sent"} == {*PUPR, CITIZEN}
    assert count(OutboundMessage) == 3
