"""The terminal transport (hotline/channels/console/terminal.py) on its own: a line typed while a turn's prompts
"play" stops them and counts as it would after them (barge-in), with a scripted call service and a real pipe
for the paced prompts."""

from __future__ import annotations

import os
import threading
import time
import wave
from collections.abc import Sequence
from pathlib import Path

from hotline.channels.console.terminal import STOPPED, Paced, run_call
from hotline.ivr import actions as a
from hotline.ivr.prompt_audio import PromptAudio
from hotline.ivr.prompt_seconds import PromptSeconds, estimated_seconds
from hotline.ivr.state import CallState
from hotline.ivr.turn import Turn

STATE = CallState("test", "v1", phase="input")
INTRO = a.Prompt("intro", "id", "Laporan Anda sebelumnya")
ASK = a.Prompt("ask_category", "id", "Kejadian apa?")
FIRE = a.Prompt("choice_category_fire", "id", "Untuk Kebakaran, tekan 1.")
DESCRIBE = a.Prompt("ask_description", "id", "Setelah bunyi bip, ceritakan kejadiannya.")
GOODBYE = a.Prompt("goodbye", "id", "Terima kasih.")
MENU = a.Gather((ASK, FIRE), 1, 1, 6.0, 3.0, "#", "id")
RECORD = a.Record((DESCRIBE,), 60, 5.0, "#", True, "id")


class Line:
    """A `CallLine` that answers the start with `first`, every event with a goodbye, and keeps the events."""

    def __init__(self, first: tuple[a.MediaAction, ...]):
        self.first = first
        self.events: list[a.Event] = []

    def start(self) -> Turn:
        return Turn(STATE, self.first, ())

    def send(self, event: a.Event, *, transcript: str | None = None) -> Turn:
        self.events.append(event)
        return Turn(STATE, (GOODBYE, a.Hangup()), ())


class TypedDuring:
    """A speaker on which the caller types `typed` while the prompt line number `at` plays."""

    def __init__(self, write: list[str], at: int, typed: str):
        self.written, self.at, self.typed = write, at, typed
        self.used = False

    def play(self, lines: Sequence[tuple[str, float]]) -> str | None:
        for i, (text, _) in enumerate(lines):
            self.written.append(text)
            if i == self.at and not self.used:
                self.used = True
                self.written.append(STOPPED)
                return self.typed
        return None


def call(first: tuple[a.MediaAction, ...], at: int, typed: str, answers: Sequence[str] = ()) -> tuple[Line, list[str]]:
    line, written = Line(first), []
    left = list(answers)

    def read(prompt: str) -> str | None:
        written.append(prompt)
        return left.pop(0) if left else None

    run_call(line, read=read, write=written.append, speaker=TypedDuring(written, at, typed))
    return line, written


def test_keys_typed_during_the_prompt_before_a_menu_stop_the_prompts_and_answer_it() -> None:
    line, written = call((INTRO, MENU), at=0, typed="1")
    assert line.events == [a.Digits("1")]
    assert written[:2] == [f"  [intro] {INTRO.text}", STOPPED]
    assert f"  [ask_category] {ASK.text}" not in written and "keys> " not in written  # never asked


def test_enter_alone_or_h_typed_during_a_menu_count_as_after_it() -> None:
    assert call((MENU,), at=1, typed="")[0].events == [a.NoInput()]
    assert call((MENU,), at=0, typed="h")[0].events == [a.HangUp()]


def test_what_a_keypad_cannot_type_during_a_menu_is_asked_again() -> None:
    line, written = call((MENU,), at=0, typed="abc", answers=["1"])
    assert line.events == [a.Digits("1")] and "keys> " in written


def test_keys_during_the_recording_instruction_skip_it_then_the_caller_speaks() -> None:
    line, written = call((INTRO, RECORD), at=1, typed="5", answers=["jalan berlubang dekat pasar"])
    [recorded] = line.events
    assert isinstance(recorded, a.Recorded) and recorded.seconds == 1.6  # 4 words
    assert written[1:5] == [f"  [ask_description] {DESCRIBE.text}", STOPPED, "  [beep]", "say> "]


def test_words_typed_during_the_recording_instruction_are_what_the_caller_said() -> None:
    line, written = call((RECORD,), at=0, typed="pohon tumbang")
    [recorded] = line.events
    assert isinstance(recorded, a.Recorded) and "say> " not in written


def test_a_key_during_the_goodbye_cuts_it_short() -> None:
    _, written = call((GOODBYE, a.Prompt("sms_sent", "id", "SMS terkirim."), a.Hangup()), at=0, typed="1")
    assert written == [f"  [goodbye] {GOODBYE.text}", STOPPED, "  [hangup] the hotline ends the call"]


def test_paced_prompts_show_one_by_one_and_a_line_typed_meanwhile_stops_them() -> None:
    read_end, write_end = os.pipe()
    typing = os.fdopen(read_end, "r")
    written: list[str] = []
    lines = [("first", 0.05), ("second", 5.0), ("third", 5.0)]

    def caller() -> None:
        time.sleep(0.3)  # while "second" plays
        os.write(write_end, b"4\n")

    threading.Thread(target=caller).start()
    started = time.monotonic()
    typed = Paced(written.append, typing).play(lines)
    took = time.monotonic() - started
    assert typed == "4" and written == ["first", "second", STOPPED]
    assert 0.25 < took < 5.0
    os.close(write_end)
    assert Paced(written.append, typing).play([("again", 5.0)]) is None  # the input ended: no wait, no line
    typing.close()


def test_paced_prompts_play_to_the_end_when_nothing_is_typed() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "r") as typing:
        written: list[str] = []
        started = time.monotonic()
        assert Paced(written.append, typing, speed=2.0).play([("a", 0.2), ("b", 0.2)]) is None
        assert written == ["a", "b"] and time.monotonic() - started >= 0.2  # 0.4 s said twice as fast
    os.close(write_end)


def test_a_prompt_lasts_its_wav_or_its_words_at_175_a_minute(tmp_path: Path) -> None:
    wav = tmp_path / "welcome.wav"
    with wave.open(str(wav), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(8000)
        f.writeframes(b"\0\0" * 8000 * 3)
    seconds = PromptSeconds(PromptAudio({("id", "welcome"): wav}))
    assert seconds(a.Prompt("welcome", "id", "anything")) == 3.0
    assert seconds(ASK) == estimated_seconds(ASK.text) == 2 * 60 / 175  # "Kejadian apa?"
    assert seconds.estimated == {("id", "ask_category")}
    number = a.ReadDigits("12", "id", (a.Prompt("digit_1", "id", "satu"), a.Prompt("digit_2", "id", "dua")))
    assert seconds.of(number) == 2 * 60 / 175
