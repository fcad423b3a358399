"""One call in the terminal: show each turn's media, read what the caller does, send it as an event.

What the user types (also from a pipe, one answer per line; the end of input is a hang-up):

* at a menu: the keys (`4`, `12#`, `*`); Enter alone is silence; `h` hangs up; `speak` (or `speak halo`)
  says something without a key: at the greeting that tells a caller from a silent call (Enter alone there
  is no key and no voice: asked once more, then ended as a silent call);
* at a recording: the words they would say (kept as the recording's transcript); Enter alone is silence;
* in the operator queue: `y` an operator answers, Enter (or `n`) nobody does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

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


class CallLine(Protocol):
    """The call service as a transport sees it (the simulator wires it to hotline/services/calls.py)."""

    def start(self) -> Turn: ...

    def send(self, event: a.Event, *, transcript: str | None = None) -> Turn: ...


def run_call(line: CallLine, *, read: Read, write: Write) -> Turn:
    """Play the call to its end; returns the last turn (its state is the call's final state)."""
    turn = line.start()
    while True:
        for media in turn.media:
            for text in render(media):
                write(text)
        waiting = turn.media[-1] if turn.media and isinstance(turn.media[-1], a.WAITING_ACTIONS) else None
        if waiting is None:  # the hotline hung up, the caller did, or an operator has the call
            if turn.state.outcome == "operator":
                write("  [operator] an operator has the call; the simulation ends when they hang up")
                line.send(a.HangUp())
            return turn
        event, transcript = ask(waiting, read=read, write=write)
        if isinstance(event, a.HangUp):
            write("  [you hung up]")
        turn = line.send(event, transcript=transcript)


def ask(waiting: a.MediaAction, *, read: Read, write: Write) -> tuple[a.Event, str | None]:
    """What the caller does at a Gather, Record or Enqueue, as an event (and a recording's transcript)."""
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
