"""Scripted callers walked through the real engine, with the time each step takes on the line (issue 24).

A call is a sequence of turns (hotline/ivr/turn.py). A turn is played the way the transports play it with
barge-in (hotline/ivr/actions.py): its prompts one after another, each lasting what `seconds` says
(hotline/ivr/prompt_seconds.py: the built WAV, else 175 words a minute), then its waiting action. The
caller acts at a moment of that timeline, the engine steps, and the next turn starts at that moment: a key
stops the prompts at once. The engine's and the transports' own time (milliseconds) is not counted.

What callers do (`Caller.kind`):

* `reporter` wants something the flow can give (`Goal`); the walker tries what such a caller could do at
  each question and keeps the fastest way there. At a menu a reporter presses the key of what they want
  (the category, kecamatan and desa the scenario names, resolved from the flow's numbered choices; a menu
  option, or the operator key) -- or no key. A first-time caller presses only keys a prompt of the turn
  has named ("... tekan 1", "... tekan bintang"), at the moment it has been said: the prompt's start plus
  its length times the share of its text up to the key. With `knows_keys` (a caller who has called before)
  any key `KNOWS_AFTER_SECONDS` into the turn (and a key there skips a recording's instruction). No key:
  the prompts play out and the menu's timeout runs; the reporter talks meanwhile ("halo?"), so a listening
  menu hears a voice (`Speech`). At a recording they talk `speech_seconds` after the beep, then press the
  finish key if the instruction named it, else the recording ends on its silence timeout. Options that
  switch to another language than theirs are not taken, nor a way that gives the ticket a category that is
  not theirs: an emergency caller (one of their categories is an emergency of the flow) accepts any of the
  flow's emergency categories, or none yet (the emergency key opens the ticket before anyone knows what
  happened); a routine caller accepts only their own, so never "1 for an emergency", whose ticket is a
  critical one of no category.
* `silent`: never a key, never a voice (`Silence` at a listening menu, `NoInput` elsewhere, an empty
  recording). `talking`: talks at every question but never presses a key (`Speech`, recordings).

The operator queue: an operator answers `Scenario.answer_after` seconds after the caller first waits there
(0: at once; the walk ends there), counted over every wait; None: nobody answers, so each wait lasts its
`Enqueue.max_wait_seconds` and the flow goes on (`QueueLeft(answered=False)`: an emergency's place asked
while waiting, "operators busy", ...). Without a goal a walk runs until the hotline hangs up or an operator
answers (or MAX_TURNS, MAX_CALL_SECONDS).

Times are seconds since the call was answered: the first useful key (the first key of the walk), the ticket
(the moment of the caller's action whose turn opened it; the URC alert is queued in that turn's commit,
hotline/jobs/activation.py) and every later addition to it (`Walk.tickets`: when the category and place
reached it), the operator queue (when <Enqueue> first starts, after the prompts before it), the goal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hotline.ivr import actions as a
from hotline.ivr.engine import start
from hotline.ivr.flow import Flow, GatherNode, MenuNode
from hotline.ivr.state import CallState, PathStep
from hotline.ivr.turn import Turn, run_turn

BEEP_SECONDS = 0.5  # the recording's beep
KEY_GAP_SECONDS = 0.5  # between two keys of one answer ("1", "0" for choice 10)
KNOWS_AFTER_SECONDS = 1.0  # a caller who knows the menu presses this far into a turn
MAX_TURNS = 40
MAX_CALL_SECONDS = 900.0  # a way still going after 15 minutes is no way: it bounds walks where nobody answers

Seconds = Callable[[a.Prompt | a.ReadDigits], float]
_KEY_WORDS = {"*": ("bintang", "star", "asterisk"), "#": ("pagar", "pound", "hash")}


@dataclass(frozen=True)
class Goal:
    """What a reporter came for. `queue`: in the operator queue with a ticket opened (an emergency);
    `ticket`: a complete ticket opened (a routine report); `placed`: the ticket has their category and
    their place -- their kecamatan, and their desa when they name one (an emergency's place, given while
    waiting); `heard`: a prompt whose key starts with `prompt` has been said to its end (e.g. "status_":
    the state of their open report)."""

    kind: Literal["queue", "ticket", "placed", "heard"]
    prompt: str = ""


@dataclass(frozen=True)
class Caller:
    kind: Literal["reporter", "silent", "talking"] = "reporter"
    categories: tuple[str, ...] = ()  # category codes they would choose, in order: the first the flow offers
    kecamatan: str | None = None
    desa: str | None = None
    speech_seconds: float = 10.0  # what they say at a recording
    language: str = "id"
    knows_keys: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    wants: str  # what the caller wants, for people
    caller: Caller
    goal: Goal | None = None  # None: the caller's behaviour runs until the hotline hangs up or queues the call
    open_ticket: a.OpenTicket | None = None
    answer_after: float | None = 0.0  # seconds in the operator queue before an operator answers; None: nobody
    recent_silent_calls: int = 0  # silent calls from the number the shield still counts (a repeat silent caller)


@dataclass(frozen=True)
class Move:
    at: float  # seconds since the call was answered
    node: str
    did: str  # "key 4", "no key, talks", "records 10 s, #", ...
    keys: str = ""


@dataclass(frozen=True)
class TicketMark:
    """What reached the ticket, and when: the moment of the caller's action whose turn opened (`opened`) or
    updated it. `details` is the whole picture then; `priority` the flow's (the emergency key's critical)."""

    at: float
    opened: bool
    details: a.TicketDetails
    partial: bool
    priority: str | None = None


@dataclass(frozen=True)
class Walk:
    scenario: Scenario
    moves: tuple[Move, ...]
    path: tuple[PathStep, ...]  # the engine's own record of the call
    reached_at: float | None  # the goal; None: not reached (or no goal)
    tickets: tuple[TicketMark, ...]  # the ticket opened, then what was added to it
    queue_at: float | None  # first in the operator queue
    ended_at: float | None  # the hotline hung up (after its last prompt)

    @property
    def keys(self) -> str:
        return "".join(m.keys for m in self.moves)

    @property
    def first_key_at(self) -> float | None:
        return next((m.at for m in self.moves if m.keys), None)

    @property
    def ticket(self) -> TicketMark | None:
        """The opening of the ticket."""
        return next((t for t in self.tickets if t.opened), None)

    @property
    def ticket_at(self) -> float | None:
        return self.ticket.at if self.ticket else None

    @property
    def ticket_partial(self) -> bool:
        return bool(self.ticket and self.ticket.partial)

    def nodes(self) -> list[str]:
        return [f"{step.node}: {step.input}" if step.input else step.node for step in self.path]


class WalkError(RuntimeError):
    """The scenario cannot be walked on this flow (e.g. a desa the city does not have)."""


def names_key(text: str, key: str) -> float | None:
    """The share of `text` said once it has named `key` ("... tekan 1", "... tekan bintang"), or None."""
    if key.isdigit():
        found = re.search(rf"(?<!\d){re.escape(key)}(?!\d)", text)
    else:
        words = "|".join(re.escape(w) for w in (key, *_KEY_WORDS.get(key, ())))
        found = re.search(rf"(?i)(?<!\w)(?:{words})(?!\w)", text)
    return found.end() / len(text) if found else None


@dataclass(frozen=True)
class _Said:
    media: a.Prompt | a.ReadDigits
    start: float
    seconds: float

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass(frozen=True)
class _Turn:
    """One turn on the clock: what is said when, and what it waits with."""

    said: tuple[_Said, ...]
    start: float
    end: float  # the prompts have all been said
    wait: a.MediaAction | None

    @classmethod
    def of(cls, media: Sequence[a.MediaAction], start: float, seconds: Seconds) -> _Turn:
        said: list[_Said] = []
        t = start
        wait: a.MediaAction | None = None
        for action in media:
            spoken: Sequence[a.Prompt | a.ReadDigits] = ()
            if isinstance(action, a.Prompt | a.ReadDigits):
                spoken = (action,)
            else:
                wait = action
                spoken = action.prompts if isinstance(action, a.Gather | a.Record) else ()
            for item in spoken:
                said.append(_Said(item, t, seconds(item)))
                t += said[-1].seconds
        return cls(tuple(said), start, t, wait)

    def named(self, key: str) -> float | None:
        """When a prompt of the turn has said `key`; None: none says it."""
        for s in self.said:
            if isinstance(s.media, a.Prompt) and (share := names_key(s.media.text, key)) is not None:
                return s.start + s.seconds * share
        return None

    def heard(self, prefix: str) -> float | None:
        return next(
            (s.end for s in self.said if isinstance(s.media, a.Prompt) and s.media.key.startswith(prefix)), None
        )


@dataclass(frozen=True)
class _Point:
    state: CallState
    turn: _Turn
    moves: tuple[Move, ...]
    tickets: tuple[TicketMark, ...]
    queue_at: float | None
    queued_for: float  # seconds already waited in the queue without an answer


class _Services:
    """Tickets open at once as number 1 (the figures count the caller's time, not the service's)."""

    def create_ticket(self, action: a.CreateTicket) -> int:
        return 1

    def update_ticket(self, action: a.UpdateTicket) -> None:
        pass

    def send_sms(self, action: a.SendSms) -> None:
        pass

    def screen_call(self, action: a.ScreenCall) -> None:
        pass

    def accept_ticket(self, action: a.AcceptTicket) -> a.AcceptAnswered:
        return a.AcceptAnswered("accepted", "accepted")


@dataclass
class _Walker:
    flow: Flow
    scenario: Scenario
    seconds: Seconds
    best: Walk | None = None
    walks: int = 0
    services: _Services = field(default_factory=_Services)

    @property
    def caller(self) -> Caller:
        return self.scenario.caller

    def run(self) -> Walk:
        s = self.scenario
        begin = a.Start("+6281200000024", open_ticket=s.open_ticket, recent_silent_calls=s.recent_silent_calls)
        turn = run_turn(self.flow, start(self.flow), begin, self.services)
        self._explore(self._point(None, turn, None, 0.0), 0)
        if self.best is None:
            raise WalkError(f"{s.name}: no way through flow {self.flow.id} reaches the goal")
        return self.best

    def _point(self, before: _Point | None, turn: Turn, move: Move | None, queued_for: float) -> _Point:
        """Where the call is after the caller's `move` (None: the call was answered, at 0 s) and its turn."""
        at = move.at if move is not None else 0.0
        clock = _Turn.of(turn.media, at, self.seconds)
        queue_at = before.queue_at if before is not None else None
        if queue_at is None and isinstance(clock.wait, a.Enqueue):
            queue_at = clock.end
        return _Point(
            turn.state,
            clock,
            (*(before.moves if before else ()), *((move,) if move else ())),
            (*(before.tickets if before else ()), *_marks(turn.actions, at)),
            queue_at,
            queued_for,
        )

    def _finish(self, p: _Point, reached_at: float | None) -> None:
        ended = p.turn.end if isinstance(p.turn.wait, a.Hangup) else None
        walk = Walk(self.scenario, p.moves, p.state.path, reached_at, p.tickets, p.queue_at, ended)
        self.walks += 1
        if self.scenario.goal is None or (
            reached_at is not None and (self.best is None or reached_at < (self.best.reached_at or 0.0))
        ):
            self.best = walk

    def _slower(self, at: float) -> bool:
        """A way that reaches `at` before the goal is no better than one found already."""
        return self.scenario.goal is not None and self.best is not None and at >= (self.best.reached_at or 0.0)

    def _explore(self, p: _Point, depth: int) -> None:
        goal = self.scenario.goal
        if goal is not None:
            reached = self._reached(goal, p)
            if reached is not None:
                self._finish(p, reached)
                return
            if self._slower(p.turn.start):
                return
        moves = self._moves(p) if depth < MAX_TURNS and p.turn.start < MAX_CALL_SECONDS else []
        if not moves:  # the hotline hung up, an operator answered, or the walk is too long
            if goal is None:
                self._finish(p, None)
            return
        for event, move in moves:
            if self._slower(move.at):
                continue
            turn = run_turn(self.flow, p.state, event, self.services)
            if turn.state.language != self.caller.language:
                continue  # "For English, press 9" is not for this caller
            if not all(self._fits(mark.details) for mark in _marks(turn.actions, move.at)):
                continue  # a ticket of another category (or of none) than this caller would press for
            queued_for = p.queued_for
            if isinstance(event, a.QueueLeft) and isinstance(p.turn.wait, a.Enqueue):
                queued_for += p.turn.wait.max_wait_seconds
            self._explore(self._point(p, turn, move, queued_for), depth + 1)

    def _emergency_caller(self) -> bool:
        return any(c in self.flow.emergency_categories for c in self.caller.categories)

    def _fits(self, details: a.TicketDetails) -> bool:
        """A reporter's ticket says what they came for: their category; an emergency caller's may also be any of
        the flow's emergency categories, or none yet (the emergency key opens it before the category). A routine
        caller refuses a ticket of no category: that is the emergency key's, critical and sent to the desk."""
        category = details.category
        if self.caller.kind != "reporter" or category in self.caller.categories:
            return True
        return self._emergency_caller() and (category is None or category in self.flow.emergency_categories)

    def _placed(self, details: a.TicketDetails) -> bool:
        c = self.caller
        return (
            details.category in c.categories
            and details.kecamatan == c.kecamatan
            and (c.desa is None or details.desa == c.desa)
        )

    def _reached(self, goal: Goal, p: _Point) -> float | None:
        opened = next((t for t in p.tickets if t.opened), None)
        if goal.kind == "queue":
            return p.turn.end if isinstance(p.turn.wait, a.Enqueue) and opened is not None else None
        if goal.kind == "ticket":
            return opened.at if opened is not None and not opened.partial else None
        if goal.kind == "placed":
            return next((t.at for t in p.tickets if self._placed(t.details)), None)
        return p.turn.heard(goal.prompt)

    # --- what the caller can do ---------------------------------------------------------------------

    def _moves(self, p: _Point) -> list[tuple[a.Event, Move]]:
        node, wait = p.state.node or "-", p.turn.wait
        if isinstance(wait, a.Enqueue):
            return self._queued(p, wait, node)
        if isinstance(wait, a.Record):
            return [self._record(p.turn, wait, node)]
        if not isinstance(wait, a.Gather):
            return []  # the hotline hung up
        moves: list[tuple[a.Event, Move]] = []
        if self.caller.kind == "reporter":
            for digits in self._keys(p.state):
                pressed = self._press(p.turn, wait, digits)
                if pressed is not None:
                    moves.append((a.Digits(digits), Move(pressed, node, f"key {digits}", digits)))
        silent = self.caller.kind == "silent"
        no_key: a.Event = (a.Silence() if silent else a.Speech()) if wait.listen else a.NoInput()
        did = "no key, no voice" if silent else "no key, talks" if wait.listen else "no key"
        moves.append((no_key, Move(p.turn.end + wait.timeout_seconds, node, did)))
        return moves

    def _queued(self, p: _Point, wait: a.Enqueue, node: str) -> list[tuple[a.Event, Move]]:
        """Nothing to do when an operator answers within this wait; otherwise the wait runs out."""
        after = self.scenario.answer_after
        if after is not None and after - p.queued_for <= wait.max_wait_seconds:
            return []
        waited = f"nobody answers in {wait.max_wait_seconds} s"
        return [(a.QueueLeft(answered=False), Move(p.turn.end + wait.max_wait_seconds, node, waited))]

    def _keys(self, state: CallState) -> list[str]:
        """The keys that serve the reporter at the node where the call waits."""
        node = self.flow.nodes[state.node or ""]
        keys: list[str] = []
        if isinstance(node, MenuNode):
            for digits, option in node.options.items():
                language = option.set.get("language")
                if language is None or language == self.caller.language:
                    keys.append(digits)
        elif isinstance(node, GatherNode) and node.choices:
            values = {**state.fields, "language": state.language, "caller": state.caller}
            choices = node.choices_for(values)
            wanted = {"category": self.caller.categories, "kecamatan": (self.caller.kecamatan,)}.get(
                node.field, (self.caller.desa,) if node.field == "desa" else ()
            )
            pick = next((c for w in wanted for c in choices if w is not None and c.value == w), None)
            if pick is not None:
                keys.append(pick.digits)
            elif node.skip_key is not None and not any(wanted):
                keys.append(node.skip_key)  # they do not know it: "jika tidak tahu, tekan bintang"
        if isinstance(node, MenuNode | GatherNode) and node.operator_key and self.flow.operator_key:
            keys.append(self.flow.operator_key)
        return keys

    def _press(self, turn: _Turn, gather: a.Gather, digits: str) -> float | None:
        """When the reporter has pressed `digits` (and the Gather has taken them), or None: they would not."""
        if self.caller.knows_keys:
            at = min(turn.start + KNOWS_AFTER_SECONDS, turn.end)
        else:
            named = turn.named(digits)
            if named is None:
                return None  # a first-time caller does not press what nobody told them
            at = named
        at += KEY_GAP_SECONDS * (len(digits) - 1)
        if len(digits) < gather.max_digits:
            at += gather.inter_digit_timeout_seconds  # nothing tells the Gather they are done: its timer does
        return at

    def _record(self, turn: _Turn, record: a.Record, node: str) -> tuple[a.Event, Move]:
        beep = BEEP_SECONDS if record.beep else 0.0
        after_beep = turn.end + beep
        if self.caller.kind == "silent":
            return a.NoInput(), Move(after_beep + record.silence_timeout_seconds, node, "says nothing")
        recorded = a.Recorded("timing:recording", self.caller.speech_seconds)
        key = record.finish_on_key
        if self.caller.kind == "reporter" and self.caller.knows_keys and turn.end > turn.start + KNOWS_AFTER_SECONDS:
            skipped = turn.start + KNOWS_AFTER_SECONDS + beep  # a key skips the instruction: barge-in
            did = f"{key or '1'} skips the instruction, records {self.caller.speech_seconds:g} s"
            return recorded, Move(skipped + self.caller.speech_seconds, node, f"{did}, {key}", f"{key or '1'}{key}")
        talked = after_beep + self.caller.speech_seconds
        if self.caller.kind == "reporter" and key and turn.named(key) is not None:
            return recorded, Move(talked, node, f"records {self.caller.speech_seconds:g} s, {key}", key)
        said = f"records {self.caller.speech_seconds:g} s, silence"
        return recorded, Move(talked + record.silence_timeout_seconds, node, said)


def _marks(actions: Sequence[a.Action], at: float) -> tuple[TicketMark, ...]:
    marks: list[TicketMark] = []
    for x in actions:
        if isinstance(x, a.CreateTicket):
            marks.append(TicketMark(at, True, x.details, x.partial, x.priority))
        elif isinstance(x, a.UpdateTicket):
            marks.append(TicketMark(at, False, x.details, x.partial))
    return tuple(marks)


def walk(flow: Flow, scenario: Scenario, seconds: Seconds) -> Walk:
    """The scenario's caller through `flow`: the fastest way to its goal, or (no goal) where its behaviour
    leads. WalkError when no way reaches the goal."""
    return _Walker(flow, scenario, seconds).run()
