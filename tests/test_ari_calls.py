"""Whole calls through the ARI app and the fake ARI, on the real call service and database: the ticket, the
call's path, hanging up anywhere, the websocket dropping mid-call, key bursts, the operator queue."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from hotline.channels.ari.operators import NotQueued, connect_operator, waiting_calls
from hotline.channels.ari.takeover import AsteriskTakeover
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.fakes.ari_spec import ari_spec
from hotline.fakes.fake_ari import FakeAri
from hotline.features.accounts.accounts import Principal
from hotline.features.calls.call_takeover import TakeoverError, take_call
from hotline.features.calls.calls import call_log
from hotline.features.tickets.ticket_actions import Actor
from hotline.models import Call, Ticket, TicketEvent
from hotline.settings import get_settings
from tests.ari_harness import Line, ari_line, requires_ari_docs, run
from tests.conftest import drain_queue
from tests.helpers import count, events, sms_ticket
from tests.suite_city import members

pytestmark = requires_ari_docs

CITIZEN = "+6281234567890"
PUPR = members("PUPR")
REPORT = ["2", "1", "2"]  # a report: roads, Bumiaji; at the recording


@pytest.fixture(autouse=True)
def _backend(backend: dict[str, Any]) -> None:
    """Every test here runs on the real database."""


@pytest.fixture
def ari_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[FakeAri], None]]:
    """ARI settings pointing at a fake: what hotline/channels/voice_gateways.py builds the Asterisk gateway from."""

    def configure(fake: FakeAri) -> None:
        monkeypatch.setenv("ARI_URL", fake.base_url)
        monkeypatch.setenv("ARI_USERNAME", fake.username)
        monkeypatch.setenv("ARI_PASSWORD", fake.password)
        get_settings.cache_clear()

    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()


def row(channel: str) -> Call:
    with unit_of_work() as session:
        found = session.scalar(select(Call).where(Call.provider == "asterisk", Call.provider_call_id == channel))
        assert found is not None, f"no call {channel}"
        return found


def path(channel: str) -> list[tuple[str, str | None]]:
    with unit_of_work() as session:
        return [(e.node, e.input) for e in call_log(session, call_id=row(channel).id)]


def voice_tickets() -> list[Ticket]:
    with unit_of_work() as session:
        return list(session.scalars(select(Ticket).where(Ticket.channel == "voice").order_by(Ticket.id)))


def ticket_events(number: int, kind: str) -> list[TicketEvent]:
    with unit_of_work() as session:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == number, TicketEvent.kind == kind)
        return list(session.scalars(stmt.order_by(TicketEvent.id)))


async def act(line: Line, channel: str, step: str) -> None:
    """'.' silence at a menu (or the queue's wait running out), '4' keys, 'rec:12' 12 s of voice, 'norec' a
    silent recording, 'operator' an operator takes the queued call."""
    if step == ".":
        await line.silence(channel)
    elif step == "norec":
        await line.fake.stay_silent(channel)
    elif step.startswith("rec:"):
        await line.fake.speak(channel, int(step[4:]))
    elif step == "operator":
        await connect_operator(line.app, call_channel_id=channel, endpoint="PJSIP/operator1")
    else:
        await line.press(channel, step)
    await line.settled()


async def call(line: Line, steps: list[str], caller: str = CITIZEN) -> str:
    channel = await line.dial(caller)
    for step in steps:
        await act(line, channel, step)
    return channel


def media(line: Line, channel: str, start: int = 0) -> list[list[str]]:
    """The media URIs of each playback on the channel, in order."""
    return [r.params["media"] for r in line.requests(channel, start) if r.operation == "play"]


# --- a whole call ------------------------------------------------------------------------------------


def test_a_whole_call_through_asterisk_becomes_a_routed_voice_ticket_with_its_recording(fake_twilio: Any) -> None:
    async def scenario() -> tuple[str, list[tuple[str, str, int]], list[list[str]], int]:
        async with ari_line() as line:
            channel = await call(line, [*REPORT, "rec:12"])
            await line.fake.hang_up(channel)
            await line.settled()
            asked = [(r.method, r.operation, r.status) for r in line.requests(channel)]
            for event in line.fake.events:  # what the fake sent, once more against events.json
                ari_spec().check_event(event)
            kinds = {e["type"] for e in line.fake.events}
            return channel, asked, media(line, channel), len(line.fake.rejected()), kinds

    channel, asked, played, rejected, kinds = run(scenario())
    assert rejected == 0
    assert kinds == {
        "StasisStart",
        "ChannelStateChange",
        "PlaybackStarted",
        "PlaybackContinuing",  # a playback of several prompts: one between two, as Asterisk sends it
        "PlaybackFinished",
        "ChannelDtmfReceived",
        "RecordingStarted",
        "RecordingFinished",
        "ChannelHangupRequest",  # the app hung up after goodbye: cause 32, soft, as a real Asterisk 22 sends it
        "StasisEnd",  # and no ChannelDestroyed: the channel has left the app
    }
    assert asked == [
        ("POST", "answer", 204),
        ("POST", "setChannelVar", 204),  # TALK_DETECT(set): the welcome listens for a voice
        ("POST", "play", 201),  # welcome
        ("POST", "setChannelVar", 204),  # TALK_DETECT(remove): only the welcome listens
        ("POST", "play", 201),  # the category menu (the four that are not emergencies)
        ("POST", "play", 201),  # kecamatan
        ("POST", "play", 201),  # the description prompt: desa, street and what, in one recording
        ("POST", "record", 201),
        ("POST", "play", 201),  # the ticket number, twice, and goodbye
        ("DELETE", "hangup", 204),
    ]
    assert played[0] == ["sound:hotline/id/welcome"]
    assert played[1][0] == "sound:hotline/id/ask_category" and played[1][-1] == "sound:hotline/id/press_0_operator"
    assert played[-1] == [
        "sound:hotline/id/your_number_is",
        "sound:hotline/id/digit_1",
        "sound:hotline/id/sms_sent",
        "sound:hotline/id/goodbye",
    ]

    [t] = voice_tickets()
    assert (t.reporter_phone, t.category, t.kecamatan, t.desa, t.status, t.routing_rule) == (
        CITIZEN,
        "roads",
        "Bumiaji",
        None,
        "routed",
        "roads-to-pupr",
    )
    assert (t.partial, t.partial_node, t.language) == (False, None, "id")
    assert events(t.id) == ["created", "routed", "recording"]  # deadlines and the URC alert follow in a job
    [recording] = ticket_events(t.id, "recording")
    # named after the question (how many steps the call had taken): executor.recording_name
    assert re.search(rf"/ari/recordings/stored/hotline-{re.escape(channel)}-\d+/file$", recording.data["url"])
    assert recording.data["seconds"] == 12.0

    c = row(channel)
    assert (c.provider, c.caller, c.called, c.status, c.outcome, c.stopped_at) == (
        "asterisk",
        CITIZEN,
        "112",
        "completed",
        "completed",
        "goodbye",
    )
    assert c.ticket_id == t.id and c.recording_seconds == 12.0
    assert ("routine", "1") in path(channel) and ("kecamatan", "2") in path(channel)

    drain_queue()  # the ticket's activation, then the citizen's SMS and the URC alerts, as for Twilio calls
    assert events(t.id) == ["created", "routed", "recording", "alerted"]
    [reply] = fake_twilio.sent_to(CITIZEN)
    assert reply.body.startswith(f"Laporan No. {t.id} (Jalan, jembatan dan saluran) diterima")
    for member in PUPR:
        [alert] = fake_twilio.sent_to(member)
        assert alert.body.startswith("Kec. Bumiaji. ")  # the place first


def test_english_callers_press_9_and_hear_english_prompts() -> None:
    async def scenario() -> list[list[str]]:
        async with ari_line() as line:
            channel = await call(line, ["9"])
            return media(line, channel)

    played = run(scenario())
    assert played[1][0] == "sound:hotline/en/welcome"  # the choices again, in English


# --- the Gather: interrupting prompts, key bursts, finish key --------------------------------------------


def test_the_first_key_stops_the_menu_prompts() -> None:
    async def scenario() -> tuple[list[tuple[str, str]], list[tuple[str, str | None]], str]:
        async with ari_line(playback_seconds=None) as line:  # prompts play until stopped
            channel = await line.dial()
            [welcome] = [r for r in line.requests(channel) if r.operation == "play"]
            await line.press(channel, "9")
            asked = [(r.method, r.operation) for r in line.requests(channel)]
            [stop] = [r for r in line.requests(channel) if r.operation == "stop"]
            return asked, path(channel), stop.path == f"/playbacks/{welcome.params['playbackId']}"

    asked, taken, stopped_the_welcome = run(scenario())
    assert asked == [
        ("POST", "answer"),
        ("POST", "setChannelVar"),
        ("POST", "play"),
        ("DELETE", "stop"),
        ("POST", "play"),  # the welcome again, in English: still listening
    ]
    assert stopped_the_welcome
    assert ("welcome", "9") in taken


def test_a_burst_of_keys_is_taken_in_order_across_menus() -> None:
    async def scenario() -> tuple[str, list[tuple[str, str | None]], str]:
        async with ari_line() as line:
            channel = await call(line, [])
            await line.fake.press(channel, "212")  # a report, roads, Bumiaji, as fast as the phone sends them
            await line.settled()
            return channel, path(channel), line.call(channel).phase

    _, taken, phase = run(scenario())
    inputs = [step for step in taken if step[1] is not None]
    assert inputs[-3:] == [("welcome", "2"), ("routine", "1"), ("kecamatan", "2")]
    assert phase == "record"


def test_a_burst_larger_than_the_menu_keeps_the_rest_for_the_next_one() -> None:
    async def scenario() -> list[tuple[str, str | None]]:
        async with ari_line() as line:
            channel = await call(line, [])
            await line.fake.press(channel, "2")
            await line.fake.press(channel, "1")
            await line.fake.press(channel, "#")  # kecamatan: no keys, finish key: silence
            await line.settled()
            return path(channel)

    taken = run(scenario())
    inputs = [s for s in taken if s[1] is not None]
    assert inputs[-3:] == [("welcome", "2"), ("routine", "1"), ("kecamatan", "no_input")]


# --- the websocket drops ---------------------------------------------------------------------------------


def test_a_dropped_websocket_mid_call_loses_nothing_and_handles_nothing_twice() -> None:
    async def scenario() -> tuple[str, int, int, list[tuple[str, str | None]]]:
        async with ari_line() as line:
            channel = await call(line, ["2"])
            await line.fake.drop_websocket(replay=4)  # on reconnect, the last 4 events come again
            await line.fake.press(channel, "1")  # while the socket is down: kept for the next connection
            await line.reconnected(2)
            await act(line, channel, "2")
            await act(line, channel, "rec:9")
            await line.fake.hang_up(channel)
            await line.settled()
            return channel, line.client.connections, line.client.duplicates, path(channel)

    channel, connections, duplicates, taken = run(scenario())
    assert connections == 2 and duplicates == 4
    inputs = [s for s in taken if s[1] is not None]
    assert inputs[:4] == [
        ("welcome", "2"),
        ("routine", "1"),
        ("kecamatan", "2"),
        ("description", "recorded"),
    ]
    [t] = voice_tickets()
    assert (t.category, t.kecamatan, t.partial) == ("roads", "Bumiaji", False)
    assert row(channel).status == "completed"


def test_a_caller_who_hung_up_while_the_websocket_was_down_is_a_hang_up_after_reconnecting() -> None:
    def lossy(fake: Any) -> None:
        fake.lose_events_while_down = True  # what a real Asterisk does while the app is away

    async def scenario() -> tuple[str, list[str]]:
        async with ari_line(configure=lossy) as line:
            channel = await call(line, ["2", "4"])
            await line.fake.drop_websocket()
            await line.fake.hang_up(channel)
            await line.reconnected(2)
            return channel, [e["type"] for e in line.fake.lost]

    channel, lost = run(scenario())
    assert "ChannelDestroyed" in lost  # the app never heard the hang-up itself
    c = row(channel)
    assert (c.status, c.outcome, c.stopped_at) == ("completed", "hung_up", "kecamatan")
    [t] = voice_tickets()
    assert (t.partial, t.partial_node, t.category) == (True, "kecamatan", "other")


def test_a_prompt_that_finished_while_the_websocket_was_down_is_noticed_after_reconnecting() -> None:
    def lossy(fake: Any) -> None:
        fake.lose_events_while_down = True

    async def scenario() -> tuple[str, list[str], list[tuple[str, str | None]]]:
        async with ari_line(playback_seconds=None, configure=lossy) as line:
            channel = await line.dial()
            await line.fake.drop_websocket()
            [welcome] = list(line.fake.playbacks)
            line.fake.finish_playback(welcome)  # lost: the app is away
            await line.reconnected(2)
            checked = [r.operation for r in line.requests(channel) if r.method == "GET"]
            await line.silence(channel)  # the menu's timer runs: the app knows the prompt ended
            return channel, checked, path(channel)

    _, checked, taken = run(scenario())
    assert checked == ["get"]  # GET /playbacks/{id}: 404
    assert ("welcome", "speech") in taken


# --- hanging up anywhere ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HangUp:
    steps: list[str]
    stopped_at: str
    ticket: str | None  # None: no ticket; 'complete'; 'partial@<node>'
    outcome: str = "hung_up"
    open_ticket: bool = False
    talked: int = 0  # seconds of voice in a recording running when the caller hangs up


HANGUPS = {
    "welcome": HangUp([], "welcome", None),
    "routine": HangUp(["2"], "routine", None),
    "routine-after-invalid": HangUp(["2", "8"], "routine", None),
    "open-ticket-menu": HangUp(["3"], "open_ticket_menu", None, open_ticket=True),
    "kecamatan": HangUp(["2", "1"], "kecamatan", "partial@kecamatan"),
    "description": HangUp(REPORT, "description", "partial@description"),
    "description-after-silence": HangUp([*REPORT, "norec"], "description", "partial@description"),
    # Hanging up while recording: the app waits for the recording, so the words said are kept.
    "while-recording": HangUp(REPORT, "goodbye", "complete", outcome="completed", talked=7),
    "read-back": HangUp([*REPORT, "rec:12"], "goodbye", "complete", outcome="completed"),
    "queue-nothing-said": HangUp(["0"], "operator", None),
    "queue-a-caller-who-talks": HangUp(["."], "operator", None),
    "queue-emergency": HangUp(["1"], "emergency_queue", "complete"),
    "place-questions": HangUp(["1", ".", "2"], "emergency_kecamatan", "partial@emergency_kecamatan"),
    "queue-from-kecamatan": HangUp(["2", "1", "0"], "operator", "partial@operator"),
    "after-busy-queue": HangUp(["2", "1", "0", "."], "operators_busy", "partial@operator"),
    "with-operator": HangUp(["1", "operator"], "emergency_queue", "complete", outcome="operator"),
}


def existing_ticket(status: str) -> int:
    return sms_ticket(reporter=CITIZEN, text="BANJIR di Temas", category="flood", status=status)


@pytest.mark.parametrize("where", list(HANGUPS))
def test_hanging_up_at_any_step_keeps_a_marked_ticket_iff_something_was_said(where: str) -> None:
    case = HANGUPS[where]
    earlier = existing_ticket("accepted") if case.open_ticket else None

    async def scenario() -> tuple[str, int, int]:
        async with ari_line() as line:
            channel = await call(line, case.steps)
            await line.fake.hang_up(channel, talked_seconds=case.talked)
            await line.settled()
            return channel, len(line.app.calls), len(line.fake.bridges)

    channel, live_calls, bridges = run(scenario())
    assert (live_calls, bridges) == (0, 0)  # nothing left behind: no call object, no bridge
    c = row(channel)
    assert (c.status, c.outcome, c.stopped_at) == ("completed", case.outcome, case.stopped_at)
    assert c.ended_at is not None
    if case.outcome == "hung_up":
        assert (case.stopped_at, "hangup") in path(channel)
    tickets = voice_tickets()
    said = any(c.state["fields"].get(k) for k in ("category", "kecamatan", "desa", "recording_url"))
    said = said or ("emergency", None) in path(channel)  # the emergency key opens the report at once
    assert bool(tickets) == said == (case.ticket is not None)
    if case.ticket is not None:
        [t] = tickets
        assert c.ticket_id == t.id and t.status == "routed"
        assert (f"partial@{t.partial_node}" if t.partial else "complete") == case.ticket
        if t.partial:
            [partial] = ticket_events(t.id, "partial")
            assert partial.data["node"] == t.partial_node and partial.data["call"] == channel
    if case.talked:
        assert c.recording_seconds == case.talked  # what the caller said before hanging up
    if earlier is not None:
        assert count(Ticket) == 1


# --- the operator queue -----------------------------------------------------------------------------------


def test_an_operator_takes_a_queued_emergency_call_and_the_call_ends_when_they_hang_up() -> None:
    async def scenario() -> dict[str, Any]:
        async with ari_line() as line:
            channel = await call(line, ["1"])  # the emergency key: a critical ticket, then the operator queue
            queued = waiting_calls(line.app)
            hold = {b.id: (b.type, list(b.channels), b.moh) for b in line.fake.bridges.values()}
            start = len(line.fake.requests)
            operator = await connect_operator(line.app, call_channel_id=channel, endpoint="PJSIP/operator1")
            await line.settled()
            asked = [(r.operation, r.path) for r in line.fake.requests[start:]]
            status = row(channel).status
            mixed = {b.id: (b.type, sorted(b.channels)) for b in line.fake.bridges.values()}
            with pytest.raises(NotQueued):
                await connect_operator(line.app, call_channel_id=channel, endpoint="PJSIP/operator2")
            await line.fake.hang_up(operator)
            await line.settled()
            return {
                "channel": channel,
                "operator": operator,
                "queued": queued,
                "hold": hold,
                "asked": asked,
                "status": status,
                "mixed": mixed,
                "left": line.fake.channels[channel].gone,
            }

    r = run(scenario())
    channel, operator = r["channel"], r["operator"]
    assert [q.channel_id for q in r["queued"]] == [channel] and r["queued"][0].queue == "operators"
    assert r["hold"] == {f"hold-{channel}": ("holding", [channel], "default")}
    assert r["asked"] == [
        ("originate", "/channels"),
        ("removeChannel", f"/bridges/hold-{channel}/removeChannel"),
        ("destroy", f"/bridges/hold-{channel}"),
        ("createWithId", f"/bridges/call-{channel}"),
        ("addChannel", f"/bridges/call-{channel}/addChannel"),
        ("addChannel", f"/bridges/call-{channel}/addChannel"),
    ]
    assert r["status"] == "with-operator"
    assert r["mixed"] == {f"call-{channel}": ("mixing", sorted([channel, operator]))}
    assert r["left"] is True  # the operator hung up: so did the caller's line
    c = row(channel)
    assert (c.status, c.outcome) == ("completed", "operator")


def test_nobody_answering_a_caller_who_talks_offers_the_emergency_and_the_report_keys() -> None:
    async def scenario() -> tuple[str, dict[str, Any]]:
        async with ari_line() as line:
            channel = await call(line, [".", "."])  # "halo?" at the welcome, then the queue's wait runs out
            return channel, dict(line.fake.bridges)

    channel, bridges = run(scenario())
    assert bridges == {}  # the holding bridge is gone
    assert ("operator", "unanswered") in path(channel)
    assert row(channel).status == "in-progress" and row(channel).state["node"] == "operators_busy"


def test_no_operator_within_30_s_the_emergency_caller_gives_the_place_and_waits_again() -> None:
    async def scenario() -> dict[str, Any]:
        async with ari_line() as line:
            channel = await call(line, ["1"])
            first_wait = line.call(channel).timer_seconds
            for step in (".", "1", "2", "6"):  # 30 s pass; fire, Bumiaji, Punten
                await act(line, channel, step)
            return {
                "channel": channel,
                "waits": (first_wait, line.call(channel).timer_seconds),
                "phase": line.call(channel).phase,
                "bridges": {b.id: list(b.channels) for b in line.fake.bridges.values()},
            }

    r = run(scenario())
    channel = r["channel"]
    assert r["waits"] == (30, 90) and r["phase"] == "queue"
    assert r["bridges"] == {f"hold-{channel}": [channel]}  # back on hold
    [t] = voice_tickets()
    assert (t.category, t.priority, t.kecamatan, t.desa, t.routing_rule) == (
        "fire",
        "critical",
        "Bumiaji",
        "Punten",
        "fire-to-pmk",
    )
    assert ("emergency_queue", "place") in path(channel)


def test_the_ari_queue_hands_out_emergencies_first() -> None:
    async def scenario() -> tuple[list[str], list[str], str]:
        async with ari_line() as line:
            await call(line, ["."], caller="+6281200000001")  # a caller who talks, queued first
            emergency = await call(line, ["1"])
            return (
                [q.channel_id for q in waiting_calls(line.app)],
                [q.priority for q in waiting_calls(line.app)],
                emergency,
            )

    order, priorities, emergency = run(scenario())
    assert order[0] == emergency and priorities == ["emergency", "normal"]


# --- the console takes the call (hotline/features/calls/call_takeover.py) -----------------------------------------


def test_the_console_takes_an_asterisk_call_and_the_ari_app_bridges_the_operator(
    ari_configured: Callable[[FakeAri], None],
) -> None:
    async def scenario() -> dict[str, Any]:
        async with ari_line() as line:
            channel = await call(line, ["1"])
            ari_configured(line.fake)  # the console's voice gateways come from settings
            call_id = row(channel).id

            def take() -> None:  # the console's request handler, in the web process
                with unit_of_work() as session:
                    actor = Actor(Principal(1, "budi", "operator", None))
                    take_call(session, config=current_config(), actor=actor, call_id=call_id, answer_at="sip:operator1")

            await asyncio.to_thread(take)
            await line.settled()
            [originate] = [r for r in line.fake.requests if r.operation == "originate"]
            bridges = {b.id: (b.type, sorted(b.channels)) for b in line.fake.bridges.values()}
            return {"channel": channel, "originate": originate.params, "bridges": bridges}

    r = run(scenario())
    channel, params = r["channel"], r["originate"]
    assert (params["endpoint"], params["app"], params["appArgs"]) == (
        "PJSIP/operator1",
        "hotline",
        f"operator,{channel}",
    )
    assert r["bridges"] == {f"call-{channel}": ("mixing", sorted([channel, params["channelId"]]))}
    assert row(channel).status == "with-operator"


def test_the_console_taking_a_call_while_the_caller_still_hears_please_hold_connects_them(
    ari_configured: Callable[[FakeAri], None],
) -> None:
    """Issue 17, item 1: the console lists the call as queued while its please_hold prompt still plays (about
    4 s on a real Asterisk). An operator who takes it then must be put through, not hung up."""

    def until_stopped(fake: Any) -> None:
        fake.playback_seconds = None  # prompts play until a key stops them: please_hold is still playing

    async def scenario() -> dict[str, Any]:
        async with ari_line(configure=until_stopped) as line:
            channel = await call(line, ["0"])
            call_row = row(channel)
            hearing = [p.media[p.index] for p in line.fake.playbacks.values() if p.channel_id == channel]
            ari_configured(line.fake)  # the console's voice gateways come from settings

            def take() -> None:
                with unit_of_work() as session:
                    actor = Actor(Principal(1, "budi", "operator", None))
                    take_call(
                        session, config=current_config(), actor=actor, call_id=call_row.id, answer_at="sip:operator1"
                    )

            await asyncio.to_thread(take)
            await line.settled()
            [originate] = [r for r in line.fake.requests if r.operation == "originate"]
            operator = originate.params["channelId"]
            return {
                "channel": channel,
                "status_then": call_row.status,
                "hearing": hearing,
                "operator_up": not line.fake.channels[operator].gone,
                "bridges": {b.id: (b.type, sorted(b.channels)) for b in line.fake.bridges.values()},
                "phase": line.call(channel).phase,
                "playing": [p.media[p.index] for p in line.fake.playbacks.values() if p.channel_id == channel],
                "operator": operator,
            }

    r = run(scenario())
    channel = r["channel"]
    assert r["status_then"] == "queued" and r["hearing"] == ["sound:hotline/id/please_hold"]
    assert r["operator_up"]  # not hung up 5 ms after answering
    assert r["bridges"] == {f"call-{channel}": ("mixing", sorted([channel, r["operator"]]))}
    assert r["phase"] == "operator" and r["playing"] == []  # please_hold cut short
    assert row(channel).status == "with-operator"


def test_a_call_the_console_took_whose_operator_never_answers_keeps_its_queue_timer(
    ari_configured: Callable[[FakeAri], None],
) -> None:
    """Issue 17, item 1: the database says with-operator, so the wait running out finds the call taken; the
    timer must be armed again (it was not: the caller heard music for 185 s, until he gave up)."""

    def ringing(fake: Any) -> None:
        fake.operators_answer = False  # the operator's phone rings and rings

    async def scenario() -> dict[str, Any]:
        async with ari_line(configure=ringing) as line:
            channel = await call(line, ["0"])
            call_id = row(channel).id
            ari_configured(line.fake)  # the console's voice gateways come from settings

            def take() -> None:
                with unit_of_work() as session:
                    actor = Actor(Principal(1, "budi", "operator", None))
                    take_call(session, config=current_config(), actor=actor, call_id=call_id, answer_at="sip:operator1")

            await asyncio.to_thread(take)
            await line.settled()
            assert line.call(channel).expire_timer()  # max_wait passes: the call is the console's now
            await line.settled()
            waiting = line.call(channel)
            return {
                "phase": waiting.phase,
                "timer": waiting.timer is not None,
                "music": [b.moh for b in line.fake.bridges.values() if channel in b.channels],
                "status": row(channel).status,
            }

    r = run(scenario())
    assert r == {"phase": "queue", "timer": True, "music": ["default"], "status": "with-operator"}


def test_taking_a_call_whose_caller_hung_up_is_a_clear_error() -> None:
    async def scenario() -> str:
        fake = FakeAri()
        url = await fake.start()
        takeover = AsteriskTakeover(url=url, username=fake.username, password=fake.password, app="hotline")
        try:
            await asyncio.to_thread(takeover.take, provider_call_id="1700000000.1", answer_at="PJSIP/operator1")
        except TakeoverError as exc:
            return str(exc)
        finally:
            await fake.stop()
        return ""

    assert run(scenario()) == "the caller has hung up"


def test_a_description_spoken_while_the_app_was_down_reaches_the_ticket_without_asking_again() -> None:
    """Issue 17, item 5: killed mid-recording, the app came back, the recording (on disk) was orphaned and the
    caller had to speak again; the new app re-used the name `-1` with ifExists=overwrite."""

    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.lose_events_while_down = True
        await fake.start()
        try:
            async with ari_line(fake=fake) as line:
                channel = await call(line, REPORT)  # at the recording
                recording = fake.live_recording(channel)
                assert recording is not None and recording.state == "recording"
            await fake.speak(channel, 11)  # finished while no app runs: RecordingFinished is lost
            start = len(fake.requests)
            async with ari_line(fake=fake) as line:
                await line.settled()
                asked = [r.operation for r in line.requests(channel, start) if r.operation in ("play", "record")]
            return {"channel": channel, "name": recording.name, "asked": asked, "stored": sorted(fake.stored)}
        finally:
            await fake.stop()

    r = run(scenario())
    assert r["asked"] == ["play"]  # only what comes after the description: the ticket number, goodbye
    [t] = voice_tickets()
    [rec] = ticket_events(t.id, "recording")
    assert rec.data["url"].endswith(f"/{r['name']}/file") and r["stored"] == [r["name"]]
    assert ("description", "recorded") in path(r["channel"])


def test_calls_in_progress_are_taken_up_again_when_the_ari_app_restarts() -> None:
    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        await fake.start()
        try:
            async with ari_line(fake=fake) as line:
                channel = await call(line, ["2", "1"])  # at the kecamatan menu
                before = media(line, channel)[-1]
            start = len(fake.requests)
            async with ari_line(fake=fake) as line:  # the app restarted; Asterisk kept the call in Stasis
                await line.settled()
                after = [(r.operation, r.params.get("media")) for r in line.requests(channel, start)]
                await act(line, channel, "2")
            return {"channel": channel, "before": before, "after": after}
        finally:
            await fake.stop()

    r = run(scenario())
    assert r["after"] == [("play", r["before"])]  # no second answer; the question it was asked, again
    assert r["before"][0] == "sound:hotline/id/ask_kecamatan"
    assert ("kecamatan", "2") in path(r["channel"])


def test_an_operator_who_does_not_answer_leaves_the_caller_waiting_with_music() -> None:
    def ringing(fake: Any) -> None:
        fake.operators_answer = False

    async def scenario() -> dict[str, Any]:
        async with ari_line(configure=ringing) as line:
            channel = await call(line, ["0"])
            first = await connect_operator(line.app, call_channel_id=channel, endpoint="PJSIP/operator1")
            await line.settled()
            await line.fake.hang_up(first)  # busy, no answer: the leg ends without entering Stasis
            await line.settled()
            still = (line.call(channel).phase, {b.id: list(b.channels) for b in line.fake.bridges.values()})
            second = await connect_operator(line.app, call_channel_id=channel, endpoint="PJSIP/operator2")
            line.fake.answer_originated(second)
            await line.settled()
            return {
                "channel": channel,
                "still": still,
                "second": second,
                "status": row(channel).status,
                "bridges": {b.id: sorted(b.channels) for b in line.fake.bridges.values()},
            }

    r = run(scenario())
    channel = r["channel"]
    assert r["still"] == ("queue", {f"hold-{channel}": [channel]})
    assert r["bridges"] == {f"call-{channel}": sorted([channel, r["second"]])}
    assert r["status"] == "with-operator"


def test_keys_pressed_while_the_open_ticket_is_read_out_stop_it_and_answer_the_next_menus_in_order() -> None:
    existing_ticket("accepted")

    async def scenario() -> tuple[list[tuple[str, str | None]], list[str], str, str]:
        async with ari_line(playback_seconds=None) as line:  # prompts play until stopped or the test ends them
            channel = await line.dial()
            line.fake.finish_playback(next(iter(line.fake.playbacks)))  # welcome
            await line.press(channel, "3")  # the caller asks for their open report: it is read out
            [read_out] = list(line.fake.playbacks)
            start = len(line.fake.requests)
            await line.press(channel, "21")  # new report, roads: a burst, during the read-out
            stopped = [r.path for r in line.requests(channel, start) if r.operation == "stop"]
            return path(channel), stopped, read_out, line.call(channel).phase

    taken, stopped, read_out, phase = run(scenario())
    inputs = [s for s in taken if s[1] is not None]
    assert inputs[-3:] == [("welcome_known", "3"), ("open_ticket_menu", "2"), ("routine", "1")]
    assert stopped[0] == f"/playbacks/{read_out}"  # the first key stopped the read-out; 1 the routine menu
    assert len(stopped) == 2
    assert phase == "gather"  # the kecamatan menu, waiting for its key
