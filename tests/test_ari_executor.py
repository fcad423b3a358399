"""The executor's waiting steps on the fake ARI, with a scripted call service (no database): what the caller
does at a Gather, a Record and in the queue becomes exactly one engine event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal

import pytest

from hotline.channels.ari.calls import CallPort
from hotline.fakes.fake_ari import FakeAri
from hotline.ivr import actions as a
from hotline.ivr.state import CallState
from hotline.ivr.turn import Turn
from tests.ari_harness import Line, ari_line, requires_ari_docs, run

pytestmark = requires_ari_docs

ASK = a.Prompt("ask_number", "id", "Ketik nomor laporan")
NUMBER = a.Gather((ASK,), 1, 4, 6.0, 3.0, "#", "id")  # up to 4 keys, # ends
RECORD = a.Record((), 60, 5.0, "#", True, "id")
STATE = CallState("test", "v1", phase="input")


class Scripted:
    """A `CallPort` that answers Start with `first` and every event with `then`, and keeps the events."""

    def __init__(self, first: tuple[a.MediaAction, ...], then: tuple[a.MediaAction, ...] = (a.Hangup(),)):
        self.first, self.then = first, then
        self.events: list[a.Event] = []

    async def begin(self, *, call_id: str, caller: str, called: str) -> Turn:
        return Turn(STATE, self.first, ())

    async def send(self, *, call_id: str, event: a.Event, after_queue: bool = False) -> Turn:
        self.events.append(event)
        if isinstance(event, a.HangUp):
            return Turn(STATE, (), ())
        return Turn(STATE, self.then, ())

    async def recording_ready(self, *, call_id: str, url: str, seconds: float | None) -> None:
        self.events.append(a.Recorded(f"late:{url}", seconds or 0.0))

    def apology(self, *, then: Literal["operator", "hangup"]) -> Turn:
        return Turn(STATE, (a.Hangup(),), ())


def scripted(first: tuple[a.MediaAction, ...], steps: Callable[[Line, str], Any], **line: Any) -> list[a.Event]:
    calls = Scripted(first)

    async def scenario() -> None:
        port: CallPort = calls
        async with ari_line(calls=port, **line) as ln:
            channel = await ln.dial()
            await steps(ln, channel)
            await ln.settled()

    run(scenario())
    return [e for e in calls.events if not isinstance(e, a.HangUp)]


def test_keys_then_the_finish_key() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.press(channel, "12#")

    assert scripted((NUMBER,), steps) == [a.Digits("12")]


def test_the_finish_key_alone_is_silence() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.press(channel, "#")

    assert scripted((NUMBER,), steps) == [a.NoInput()]


def test_max_digits_ends_the_gather_without_waiting() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.press(channel, "12345")  # the 4th key ends it; the 5th reaches a call that is hanging up

    assert scripted((NUMBER,), steps) == [a.Digits("1234")]


def test_keys_then_the_inter_digit_timeout() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.press(channel, "7")
        assert line.call(channel).timer_seconds == 3.0  # inter-digit, not the overall timeout
        await line.silence(channel)

    assert scripted((NUMBER,), steps) == [a.Digits("7")]


def test_the_overall_timeout_starts_when_the_prompts_have_finished() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.settled()
        call = line.call(channel)
        assert call.timer is None  # the prompt is still playing
        line.fake.finish_playback(next(iter(line.fake.playbacks)))
        await line.settled()
        assert call.timer_seconds == 6.0
        await line.silence(channel)

    assert scripted((NUMBER,), steps, playback_seconds=None) == [a.NoInput()]


def test_a_recording_with_voice_is_recorded_a_silent_one_is_no_input() -> None:
    async def voice(line: Line, channel: str) -> None:
        await line.fake.speak(channel, 8)

    async def silent(line: Line, channel: str) -> None:
        await line.fake.stay_silent(channel)

    [recorded] = scripted((RECORD,), voice)
    assert isinstance(recorded, a.Recorded) and recorded.seconds == 8.0
    assert (
        recorded.recording_url.startswith("http://127.0.0.1:")
        and "/ari/recordings/stored/hotline-" in recorded.recording_url
    )
    assert scripted((RECORD,), silent) == [a.NoInput()]


def test_keys_pressed_during_a_recording_or_the_queue_mean_nothing_to_the_ivr() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.press(channel, "5")
        await line.fake.speak(channel, 4)

    [recorded] = scripted((RECORD,), steps)
    assert isinstance(recorded, a.Recorded)


def test_a_recording_that_ends_after_the_call_goes_to_recording_ready() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.fake.hang_up(channel, talked_seconds=6, recording_last=True)

    events = scripted((RECORD,), steps)
    assert len(events) == 1 and isinstance(events[0], a.Recorded) and events[0].recording_url.startswith("late:")


def test_a_recording_that_ended_while_the_websocket_was_down_is_found_after_reconnecting() -> None:
    def lossy(fake: Any) -> None:
        fake.lose_events_while_down = True

    async def steps(line: Line, channel: str) -> None:
        await line.settled()
        await line.fake.drop_websocket()
        await line.fake.speak(channel, 9)  # RecordingFinished is lost: the app is away
        await line.reconnected(2)
        checked = [r.path for r in line.fake.requests if r.method == "GET" and "/recordings/" in r.path]
        assert checked == [f"/recordings/live/hotline-{channel}-0", f"/recordings/stored/hotline-{channel}-0/file"]

    [recorded] = scripted((RECORD,), steps, configure=lossy)
    assert isinstance(recorded, a.Recorded) and recorded.recording_url.endswith("/file")
    assert recorded.seconds == 9.0  # the stored WAV's length: the event that said so was lost


# --- barge-in: a key while the turn's prompts play (each prompt lasts 5 s here, as real ones take time) ------

INTRO = a.Prompt("intro", "id", "Laporan Anda sebelumnya")
DESCRIBE = a.Prompt("ask_description", "id", "Setelah bunyi bip, ceritakan kejadiannya.")
GOODBYE = a.Prompt("goodbye", "id", "Terima kasih")
PROMPT_SECONDS = 5.0


def timed(fake: Any) -> None:
    fake.media_seconds = lambda uri: PROMPT_SECONDS


async def playing(line: Line, uri: str) -> None:
    """Wait until the fake has started playing `uri` (and, the test then checks, not finished it)."""
    while not any(e["type"] == "PlaybackStarted" and e["playback"]["media_uri"] == uri for e in line.fake.events):
        await asyncio.sleep(0.002)


def barged(first: tuple[a.MediaAction, ...], steps: Callable[[Line, str], Any]) -> list[a.Event]:
    """Like `scripted`, with prompts that take PROMPT_SECONDS each: the call is dialled without waiting for
    anything to settle (that would wait for the prompts to end), so `steps` can act while they play."""
    calls = Scripted(first)

    async def scenario() -> None:
        port: CallPort = calls
        async with ari_line(calls=port, configure=timed) as ln:
            channel = await ln.fake.dial()
            await steps(ln, channel)
            await ln.settled()

    run(scenario())
    return [e for e in calls.events if not isinstance(e, a.HangUp)]


def playback_log(line: Line) -> list[str]:
    """The playback, key and recording events of the call, in order: 'PlaybackStarted intro', 'key 4', ..."""
    log = []
    for e in line.fake.events:
        if e["type"].startswith("Playback"):
            log.append(f"{e['type']} {e['playback']['media_uri'].rsplit('/', 1)[-1]} {e['playback']['state']}")
        elif e["type"] == "ChannelDtmfReceived":
            log.append(f"key {e['digit']}")
        elif e["type"].startswith("Recording"):
            log.append(e["type"])
    return log


def test_a_key_during_the_prompt_before_a_gather_stops_every_prompt_of_the_turn_and_is_the_first_key() -> None:
    seen: dict[str, Any] = {}

    async def steps(line: Line, channel: str) -> None:
        await playing(line, "sound:hotline/id/intro")  # the prompt before the Gather: 5 s, then ask_number
        started = time.monotonic()
        await line.fake.press(channel, "4")
        await line.settled()
        seen["stopped_after"] = time.monotonic() - started
        seen["timer"] = line.call(channel).timer_seconds  # waiting for the next key, not for prompts
        seen["stops"] = [r.path for r in line.requests(channel) if r.operation == "stop"]
        seen["played"] = [r.params["playbackId"] for r in line.requests(channel) if r.operation == "play"]
        seen["log"] = playback_log(line)
        await line.press(channel, "2#")

    assert barged((INTRO, NUMBER), steps) == [a.Digits("42")]
    assert seen["stopped_after"] < PROMPT_SECONDS
    assert seen["timer"] == 3.0  # the inter-digit timeout
    assert seen["stops"] == [f"/playbacks/{seen['played'][0]}"]  # one playback for the whole turn, stopped
    assert seen["log"] == [
        "PlaybackStarted intro playing",
        "key 4",
        "PlaybackFinished intro done",  # stopped by the DELETE; ask_number never started
    ]


def test_a_key_during_the_recording_instruction_skips_the_rest_and_starts_the_recording() -> None:
    seen: dict[str, Any] = {}

    async def steps(line: Line, channel: str) -> None:
        await playing(line, "sound:hotline/id/ask_description")
        started = time.monotonic()
        await line.fake.press(channel, "5")
        await line.settled()
        seen["recording_after"] = time.monotonic() - started
        seen["asked"] = [r.operation for r in line.requests(channel) if r.operation in ("play", "stop", "record")]
        seen["log"] = playback_log(line)
        await line.fake.speak(channel, 7)

    record = a.Record((DESCRIBE,), 60, 5.0, "#", True, "id")
    [recorded] = barged((INTRO, record), steps)
    assert isinstance(recorded, a.Recorded) and recorded.seconds == 7.0  # the key itself is nothing to the engine
    assert seen["recording_after"] < PROMPT_SECONDS
    assert seen["asked"] == ["play", "stop", "record"]
    assert seen["log"] == [
        "PlaybackStarted intro playing",
        "PlaybackContinuing intro continuing",
        "PlaybackStarted ask_description playing",
        "key 5",
        "PlaybackFinished ask_description done",
        "RecordingStarted",
    ]


def test_a_key_during_the_goodbye_cuts_it_short_and_hangs_up() -> None:
    seen: dict[str, Any] = {}

    async def steps(line: Line, channel: str) -> None:
        await playing(line, "sound:hotline/id/goodbye")
        await line.fake.press(channel, "1")
        await line.settled()
        seen["asked"] = [(r.method, r.operation) for r in line.requests(channel)][-3:]
        seen["gone"] = line.fake.channels[channel].gone

    assert barged((GOODBYE, a.Hangup()), steps) == []
    assert seen["asked"] == [("POST", "play"), ("DELETE", "stop"), ("DELETE", "hangup")]
    assert seen["gone"]


# --- every failed ARI command leaves the call safe (issue 17, item 2) ----------------------------------------

WELCOME = a.Prompt("welcome", "id", "Selamat datang")
GREETING = a.Gather((WELCOME,), 1, 1, 5.0, 3.0, "", "id", listen=True)
HOLD = a.Prompt("please_hold", "id", "Mohon tunggu")
TURNS: tuple[tuple[a.MediaAction, ...], ...] = (
    (GREETING,),
    (a.Record((DESCRIBE,), 60, 5.0, "#", False, "id"),),
    (HOLD, a.Enqueue("operators", None, 120)),
    (GOODBYE, a.Hangup()),
)
# Every ARI route a call uses, as the docs write it: each is made to fail, on every use, in turn.
ROUTES = [
    "POST /channels/{channelId}/answer",
    "POST /channels/{channelId}/variable",
    "POST /channels/{channelId}/play",
    "POST /channels/{channelId}/record",
    "POST /bridges/{bridgeId}",
    "POST /bridges/{bridgeId}/addChannel",
    "POST /bridges/{bridgeId}/moh",
    "POST /bridges/{bridgeId}/removeChannel",
    "DELETE /bridges/{bridgeId}",
    "DELETE /channels/{channelId}",
]


class Walk(Scripted):
    """The call service of a whole call: greeting, recording, operator queue, goodbye; any event moves it on."""

    def __init__(self) -> None:
        super().__init__(TURNS[0])
        self.turn = 0

    async def send(self, *, call_id: str, event: a.Event, after_queue: bool = False) -> Turn:
        self.events.append(event)
        if isinstance(event, a.HangUp):
            return Turn(STATE, (), ())
        self.turn = min(self.turn + 1, len(TURNS) - 1)
        return Turn(STATE, TURNS[self.turn], ())


def stranded(line: Line, channel: str) -> str:
    """'' when the caller is in a state that moves on by itself or by what they do; else what is wrong."""
    call, fake = line.call(channel), line.fake
    hears_music = any(b.moh for b in fake.bridges.values() if channel in b.channels) or bool(fake.channels[channel].moh)
    playing = any(p.channel_id == channel for p in fake.playbacks.values())
    recording = fake.live_recording(channel)
    if call.phase == "gather" and (call.timer is not None or playing):
        return ""
    if call.phase == "record" and recording is not None and recording.state == "recording":
        return ""
    if call.phase == "queue" and call.timer is not None and (hears_music or playing):
        return ""
    if call.phase == "hangup" and (fake.channels[channel].gone or call.timer is not None):
        return ""
    return f"phase {call.phase}, timer {call.timer is not None}, music {hears_music}, playing {playing}"


@pytest.mark.parametrize("route", ROUTES)
def test_every_failed_ari_command_leaves_the_call_safe_and_the_call_reaches_its_end(route: str) -> None:
    calls = Walk()
    seen: dict[str, Any] = {"stranded": [], "turns": []}

    async def scenario() -> None:
        port: CallPort = calls
        async with ari_line(
            calls=port, configure=lambda fake: fake.fail(route, 500, "Allocation failed", times=None)
        ) as ln:
            channel = await ln.dial()
            for _ in range(12):
                await ln.settled()
                if channel not in ln.app.calls:
                    break
                call = ln.call(channel)
                seen["turns"].append(calls.turn)
                problem = stranded(ln, channel)
                if problem:
                    seen["stranded"].append(f"turn {calls.turn}: {problem}")
                    await ln.fake.hang_up(channel)  # the caller gives up, after minutes of silence
                elif call.phase in ("gather", "queue"):
                    call.expire_timer()  # the caller says nothing; nobody answers
                elif call.phase == "record":
                    await ln.fake.speak(channel, 5)
                else:
                    await ln.fake.hang_up(channel)  # a hang-up that failed is retried; the caller may go first
            await ln.settled()
            seen["gone"] = ln.fake.channels[channel].gone
            seen["turns"].append(calls.turn)

    run(scenario())
    assert seen["stranded"] == []
    assert max(seen["turns"]) == len(TURNS) - 1  # the goodbye was reached
    assert seen["gone"] and isinstance(calls.events[-1], a.HangUp)


def test_a_key_is_kept_when_stopping_the_prompts_fails() -> None:
    def failing_stop(fake: Any) -> None:
        timed(fake)
        fake.fail("DELETE /playbacks/{playbackId}", 500, times=None)

    calls = Scripted((INTRO, NUMBER))

    async def scenario() -> None:
        port: CallPort = calls
        async with ari_line(calls=port, configure=failing_stop) as ln:
            channel = await ln.fake.dial()
            await playing(ln, "sound:hotline/id/intro")
            await ln.fake.press(channel, "4")
            await ln.fake.press(channel, "2#")
            await ln.settled()

    run(scenario())
    assert [e for e in calls.events if not isinstance(e, a.HangUp)] == [a.Digits("42")]


# --- the beep, empty recordings (issue 17, item 3) -----------------------------------------------------------

BEEPING = a.Record((DESCRIBE,), 60, 5.0, "#", True, "id")


def test_a_recording_with_a_beep_works_on_an_asterisk_without_core_sounds() -> None:
    def stock(fake: Any) -> None:
        fake.core_sounds = False  # no sound:beep: Asterisk's own beep would end the recording at once

    seen: dict[str, Any] = {}

    async def steps(line: Line, channel: str) -> None:
        await line.fake.speak(channel, 8)
        seen["played"] = [r.params["media"] for r in line.requests(channel) if r.operation == "play"]

    [recorded] = scripted((BEEPING,), steps, configure=stock)
    assert isinstance(recorded, a.Recorded) and recorded.seconds == 8.0
    assert seen["played"] == [["sound:hotline/id/ask_description", "sound:hotline/beep"]]  # our beep, last


def test_an_empty_recording_is_no_input_not_a_description() -> None:
    async def steps(line: Line, channel: str) -> None:
        await line.fake.record_nothing(channel)  # done, no duration, no file

    assert scripted((BEEPING,), steps) == [a.NoInput()]


# --- the app restarting mid-call (issue 17, item 5) ----------------------------------------------------------


def test_a_recording_that_finished_while_no_app_ran_is_adopted_not_asked_again() -> None:
    calls = Scripted((BEEPING,))
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        fake = FakeAri()
        fake.lose_events_while_down = True
        await fake.start()
        port: CallPort = calls
        try:
            async with ari_line(calls=port, fake=fake) as line:  # the app that is killed mid-recording
                channel = await line.dial()
                first = fake.live_recording(channel)
                assert first is not None and first.state == "recording"
            await fake.speak(channel, 9)  # the caller finishes speaking while no app runs: the event is lost
            start = len(fake.requests)
            async with ari_line(calls=port, fake=fake) as line:  # the app restarted: the channel is adopted
                await line.settled()
                seen["asked_again"] = [
                    r.operation for r in line.requests(channel, start) if r.operation in ("play", "record")
                ]
            seen["first"] = first.name
            seen["stored"] = sorted(fake.stored)
        finally:
            await fake.stop()

    run(scenario())
    [recorded] = [e for e in calls.events if not isinstance(e, a.HangUp)]
    assert isinstance(recorded, a.Recorded) and recorded.recording_url.endswith(f"/{seen['first']}/file")
    assert seen["asked_again"] == []  # the caller does not have to say it all again
    assert seen["stored"] == [seen["first"]]


# --- talk detection's threshold is the city's (issue 17, item 8) ---------------------------------------------


def hissing_line(talk: a.TalkDetection | None, dbfs: float) -> tuple[list[a.Event], str]:
    """A caller who says nothing on a line that hisses at `dbfs`, at a listening greeting."""
    greeting = a.Gather((WELCOME,), 1, 1, 5.0, 3.0, "", "id", listen=True, talk=talk)
    seen: dict[str, str] = {}

    async def steps(line: Line, channel: str) -> None:
        seen["value"] = line.fake.channels[channel].variables["TALK_DETECT(set)"]
        await line.fake.hiss(channel, dbfs)
        await line.quiet(channel)

    return scripted((greeting,), steps), seen["value"]


def test_hiss_at_37_dbfs_is_talking_with_asterisk_s_default_and_silence_with_the_city_s_threshold() -> None:
    assert hissing_line(None, -37) == ([a.Speech()], "")  # Asterisk's 256: what a real one did
    assert hissing_line(None, -43) == ([a.Silence()], "")
    city = a.TalkDetection(threshold_dbfs=-35, silence_ms=2500)
    assert hissing_line(city, -37) == ([a.Silence()], "2500,465")
    assert hissing_line(city, -30) == ([a.Speech()], "2500,465")  # a quiet voice still talks


def test_the_fixture_city_sets_the_threshold_and_the_greeting_carries_it() -> None:
    from hotline.channels.ari.media import talking_threshold
    from hotline.core.city import current_config

    flow = current_config().default_flow
    assert flow is not None and flow.talk_detection == a.TalkDetection(-35.0, 2500)
    assert (talking_threshold(-40), talking_threshold(-37), talking_threshold(-43)) == (261, 369, 185)
