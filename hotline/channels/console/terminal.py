"""One call in the terminal: show each turn's media, read what the caller does, send it as an event.

What the user types (also from a pipe, one answer per line; the end of input is a hang-up):

* at a menu: the keys (`4`, `12#`, `*`); Enter alone is silence; `h` hangs up; `speak` (or `speak halo`)
  says something without a key: at the greeting that tells a caller from a silent call (Enter alone there
  is no key and no voice: asked once more, then ended as a silent call);
* at a recording: the words they would say (kept as the recording's transcript); Enter alone is silence;
* in the operator queue: `y` an operator answers, Enter (or `n`) nobody does.

Barge-in (hotline/ivr/actions.py). By default (and always when the input is piped) a turn's prompts are
shown at once and the line typed after them answers: at a menu that is the same as pressing the keys
while the prompts play, which a phone allows. In an interactive terminal the prompts "play" (`Paced`,
`hotline simulate call --pace`, the default there): each line appears when its prompt starts and the next
after the time it takes to say (its audio file's length, else its words at 175 a minute), and a line typed
meanwhile stops them -- the rest is not shown -- and counts as it would after them:

* at a menu: it is the answer (keys, Enter alone for silence, `speak`, `h`);
* at a recording: keys skip the rest of the instruction (the beep, then `say>` as usual); `h` hangs up;
  anything else is what the caller says after the beep;
* before the queue or the goodbye: it cuts the prompts short (`h` hangs up); nothing else.
"""

from __future__ import annotations

import select
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol, TextIO

from hotline.channels.console.render import render
from hotline.ivr import actions as a
from hotline.ivr.turn import Turn

INSTRUCTIONS = (
    "Type the keys you would press, then Enter (e.g. 4, or 12#). Enter alone: silence. speak: say something "
    "without a key. h: hang up.",
    "After the beep, type what you would say (Enter alone: say nothing).",
    "In the operator queue: y an operator answers, Enter nobody answers.",
)
HANG_UP = "h"
SPEAK = "speak"
KEYS = frozenset("0123456789*#")
WORDS_PER_SECOND = 2.5  # how long typed words would take to say: the recording's length

Read = Callable[[str], "str | None"]  # shows a prompt, returns the line typed, None at the end of input
Write = Callable[[str], None]
Seconds = Callable[[a.Prompt | a.ReadDigits], float]  # how long a prompt takes to say (hotline/ivr/prompt_seconds.py)
STOPPED = "  [prompts stopped]"


class Speaker(Protocol):
    """How a turn's prompts play: `play` shows the lines, each with the seconds its prompt takes, and
    returns a line the caller typed while they played (which stopped them), or None."""

    def play(self, lines: Sequence[tuple[str, float]]) -> str | None: ...


class Printed:
    """Every prompt at once: nothing can be typed while they play (piped input, `--no-pace`)."""

    def __init__(self, write: Write):
        self.write = write

    def play(self, lines: Sequence[tuple[str, float]]) -> str | None:
        for text, _ in lines:
            self.write(text)
        return None


class Paced:
    """Each prompt's line when it starts, the next one after its seconds (divided by `speed`), while `typing`
    is watched: a line typed meanwhile stops the prompts and is returned. Line-based input (a terminal)."""

    def __init__(self, write: Write, typing: TextIO, *, speed: float = 1.0):
        self.write, self.typing, self.speed = write, typing, speed
        self.ended = False  # the input ended while prompts played: the next read says so

    def play(self, lines: Sequence[tuple[str, float]]) -> str | None:
        for text, seconds in lines:
            self.write(text)
            typed = self._typed_within(seconds / self.speed)
            if typed is not None:
                self.write(STOPPED)
                return typed
        return None

    def _typed_within(self, seconds: float) -> str | None:
        if self.ended:
            return None
        ready, _, _ = select.select([self.typing], [], [], max(0.0, seconds))
        if not ready:
            return None
        line = self.typing.readline()
        if not line:  # end of input: hang up at the question, as without pacing
            self.ended = True
            return None
        return line.rstrip("\n")


class CallLine(Protocol):
    """The call service as a transport sees it (the simulator wires it to hotline/features/calls/calls.py)."""

    def start(self) -> Turn: ...

    def send(self, event: a.Event, *, transcript: str | None = None) -> Turn: ...


def run_call(
    line: CallLine, *, read: Read, write: Write, speaker: Speaker | None = None, seconds: Seconds | None = None
) -> Turn:
    """Play the call to its end; returns the last turn (its state is the call's final state). `speaker`:
    how prompts play (default `Printed`); `seconds`: how long each takes to say (for `Paced`)."""
    speaker = speaker or Printed(write)
    turn = line.start()
    while True:
        spoken, after = turn_lines(turn.media, seconds or (lambda _: 0.0))
        typed = speaker.play(spoken)
        for text in after:
            write(text)
        waiting = turn.media[-1] if turn.media and isinstance(turn.media[-1], a.WAITING_ACTIONS) else None
        if waiting is None:  # the hotline hung up, the caller did, or an operator has the call
            if turn.state.outcome == "operator":
                write("  [operator] an operator has the call; the simulation ends when they hang up")
                line.send(a.HangUp())
            elif typed is not None and typed.strip().lower() == HANG_UP:
                write("  [you hung up]")
            return turn
        event, transcript = ask(waiting, read=read, write=write, typed=typed)
        if isinstance(event, a.HangUp):
            write("  [you hung up]")
        turn = line.send(event, transcript=transcript)


def turn_lines(media: Sequence[a.MediaAction], seconds: Seconds) -> tuple[list[tuple[str, float]], list[str]]:
    """A turn's lines: the prompts, with the seconds each takes (what a key can stop), then the rest (the
    beep, the queue, the hang-up)."""
    spoken: list[tuple[str, float]] = []
    after: list[str] = []
    for action in media:
        prompts: Sequence[a.Prompt | a.ReadDigits] = ()
        if isinstance(action, a.Prompt | a.ReadDigits):
            prompts = (action,)
        elif isinstance(action, a.Gather | a.Record):
            prompts = action.prompts
        lines = render(action)
        spoken += [(text, seconds(prompt)) for text, prompt in zip(lines, prompts, strict=False)]
        after += lines[len(prompts) :]
    return spoken, after


def ask(waiting: a.MediaAction, *, read: Read, write: Write, typed: str | None = None) -> tuple[a.Event, str | None]:
    """What the caller does at a Gather, Record or Enqueue, as an event (and a recording's transcript).
    `typed`: a line typed while the turn's prompts played (see the module's docstring)."""
    if typed is not None:
        if typed.strip().lower() == HANG_UP:
            return a.HangUp(), None
        if isinstance(waiting, a.Gather) and (event := keys_event(typed, waiting)) is not None:
            return event, None
        if isinstance(waiting, a.Record) and not is_keys(typed):
            return recording_event(typed, waiting)
        if isinstance(waiting, a.Gather):
            write("  (not understood; Enter alone for silence, speak to say something, h to hang up)")
        # keys at a recording skipped the rest of the instruction; keys before the queue cut its prompts short
    while True:
        if isinstance(waiting, a.Gather):
            event = keys_event(read("keys> "), waiting)
        elif isinstance(waiting, a.Record):
            return recording_event(read("say> "), waiting)
        else:
            event = queue_event(read("operator answers? [y/N/h] "))
        if event is not None:
            return event, None
        write("  (not understood; Enter alone for silence, speak to say something, h to hang up)")


def is_keys(typed: str) -> bool:
    """Only what a phone keypad can send (and at least one key)."""
    keys = "".join(typed.split())
    return bool(keys) and set(keys) <= KEYS


def keys_event(typed: str | None, gather: a.Gather) -> a.Event | None:
    """Digits, silence or a hang-up; None when the text cannot be typed on a phone keypad."""
    if typed is None or typed.strip().lower() == HANG_UP:
        return a.HangUp()
    words = typed.strip()
    if words.lower() == SPEAK or words.lower().startswith(SPEAK + " "):
        return a.Speech(words[len(SPEAK) :].strip()) if gather.listen else a.NoInput()
    keys = "".join(typed.split())
    if not keys:
        return a.Silence() if gather.listen else a.NoInput()
    if not set(keys) <= KEYS:
        return None
    if gather.finish_on_key and gather.finish_on_key in keys:
        keys = keys.split(gather.finish_on_key, 1)[0]  # like a phone: the finish key ends the input
    keys = keys[: gather.max_digits]
    return a.Digits(keys) if keys else a.NoInput()


def recording_event(typed: str | None, record: a.Record) -> tuple[a.Event, str | None]:
    if typed is None or typed.strip().lower() == HANG_UP:
        return a.HangUp(), None
    words = typed.strip()
    if not words:
        return a.NoInput(), None
    seconds = min(float(record.max_seconds), max(1.0, round(len(words.split()) / WORDS_PER_SECOND, 1)))
    return a.Recorded(f"console:recording/{uuid.uuid4().hex[:12]}", seconds), words


def queue_event(typed: str | None) -> a.Event | None:
    answer = (typed or "").strip().lower() if typed is not None else HANG_UP
    events: dict[str, a.Event] = {
        HANG_UP: a.HangUp(),
        "y": a.QueueLeft(True),
        "": a.QueueLeft(False),
        "n": a.QueueLeft(False),
    }
    return events.get(answer)
