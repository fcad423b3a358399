"""The IVR engine is pure: tables of caller input -> the exact actions and final state, on the Kota Batu flow
of the suite's city (tests/city)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from hotline.cityconfig import load_city_config
from hotline.ivr import actions as a
from hotline.ivr.engine import EngineError, start, step
from hotline.ivr.flow import RESTING_NODES, Flow, TransferNode
from hotline.ivr.registry import FlowRegistry
from hotline.ivr.state import CallState, PathStep
from hotline.ivr.turn import Turn, run_turn
from tests import suite_city
from tests.suite_city import CITY_DIR, choice

CONFIG = load_city_config(CITY_DIR)
FLOW = CONFIG.default_flow
assert FLOW is not None
CALLER = "+6281234567890"
OPEN = a.OpenTicket(number=77, status="accepted", category="fire")
FARMER = a.Start(CALLER, farmer=True)  # the number is in the farmer registry (issue 22)


# --- a recording fake of the ticket service, and a compact way to read actions -------------------------


@dataclass
class FakeServices:
    next_number: int = 101
    fail: bool = False
    calls: list[a.ServiceAction] = field(default_factory=list)

    def create_ticket(self, action: a.CreateTicket) -> int:
        self.calls.append(action)
        if self.fail:
            raise RuntimeError("database is down")
        self.next_number += 1
        return self.next_number - 1

    def update_ticket(self, action: a.UpdateTicket) -> None:
        self.calls.append(action)

    def send_sms(self, action: a.SendSms) -> None:
        self.calls.append(action)

    def screen_call(self, action: a.ScreenCall) -> None:
        self.calls.append(action)


def _keys(prompts: tuple[a.Prompt, ...]) -> str:
    """Prompt keys, with a run of generated choices shown once: 'choice_category x8'."""
    out: list[str] = []
    for prompt in prompts:
        group = "_".join(prompt.key.split("_")[:2]) if prompt.key.startswith("choice_") else None
        if group and out and out[-1].startswith(f"{group} x"):
            out[-1] = f"{group} x{int(out[-1].rsplit('x', 1)[1]) + 1}"
        else:
            out.append(f"{group} x1" if group else prompt.key)
    return ", ".join(out)


def _details(d: a.TicketDetails) -> str:
    parts = [("category", d.category), ("kecamatan", d.kecamatan), ("desa", d.desa), ("rec", d.recording_url)]
    return " ".join(f"{k}={v}" for k, v in parts if v)


def show(x: a.Action) -> str:
    match x:
        case a.Prompt():
            return x.key
        case a.ReadDigits():
            return f"digits {x.digits}"
        case a.Gather():
            return f"gather {x.min_digits}-{x.max_digits} [{_keys(x.prompts)}]"
        case a.Record():
            return f"record {x.max_seconds}s [{_keys(x.prompts)}]"
        case a.Enqueue():
            return f"enqueue {x.queue} {x.priority} {x.max_wait_seconds}s"
        case a.Hangup():
            return "hangup"
        case a.CreateTicket():
            partial = f"partial@{x.stopped_at}({x.reason})" if x.partial else ""
            return " ".join(p for p in ("create", x.priority or "", _details(x.details), partial) if p)
        case a.UpdateTicket():
            partial = f"partial@{x.stopped_at}" if x.partial else ""
            return " ".join(p for p in (f"update #{x.number}", _details(x.details), partial) if p)
        case a.SendSms():
            return f"sms {x.template} #{x.ticket_number} {x.language}"
        case a.ScreenCall():
            return f"screen {x.decision}@{x.node}"
    raise AssertionError(x)


def event(text: str) -> a.Event:
    """'9' digits, '.' no key (a transport that cannot hear), 'silence' no key and no voice, 'speech' a voice
    but no key, 'rec:12' a 12 s recording, 'hangup', 'answered'/'unanswered' queue."""
    if text == ".":
        return a.NoInput()
    if text == "silence":
        return a.Silence()
    if text == "speech":
        return a.Speech("halo", 0.8)
    if text.startswith("rec:"):
        return a.Recorded(f"https://rec.example/{text[4:]}.wav", float(text[4:]))
    return {"hangup": a.HangUp(), "answered": a.QueueLeft(True), "unanswered": a.QueueLeft(False)}.get(
        text, a.Digits(text)
    )


@dataclass
class Call:
    state: CallState
    turns: list[Turn]
    services: FakeServices

    def shown(self) -> list[list[str]]:
        return [[show(x) for x in turn.actions] for turn in self.turns]


def check_turn_rules(turn: Turn, left_the_engine: bool) -> None:
    """What hotline/ivr/actions.py promises the transports."""
    if left_the_engine:
        assert turn.media == (), turn.media
        return
    ends = [i for i, m in enumerate(turn.media) if isinstance(m, (*a.WAITING_ACTIONS, a.Hangup))]
    assert ends == [len(turn.media) - 1], [show(m) for m in turn.media]


def run(
    inputs: list[str],
    open_ticket: a.OpenTicket | a.Start | None = None,
    flow: Flow = FLOW,
    services: FakeServices | None = None,
) -> Call:
    """`open_ticket` may be the whole Start event instead (a call the shield screened)."""
    services = services or FakeServices()
    state, turns = start(flow), []
    first = open_ticket if isinstance(open_ticket, a.Start) else a.Start(CALLER, open_ticket)
    for ev in [first, *map(event, inputs)]:
        was_ended = state.ended
        turn = run_turn(flow, state, ev, services)
        if not was_ended:
            check_turn_rules(turn, left_the_engine=ev in (a.HangUp(), a.QueueLeft(answered=True)))
        assert CallState.from_json(turn.state.to_json()) == turn.state
        state = turn.state
        turns.append(turn)
    return Call(state, turns, services)


# --- whole calls, turn by turn ------------------------------------------------------------------------

WELCOME = "gather 1-1 [welcome]"
WELCOME_KNOWN = "gather 1-1 [welcome_known]"
ROUTINE_MENU = "gather 1-1 [ask_category, choice_category x4, press_0_operator]"
EMERGENCY_MENU = "gather 1-1 [ask_emergency_category, choice_category x4]"
KECAMATAN_MENU = "gather 1-1 [ask_kecamatan, choice_kecamatan x3]"
DESA_BUMIAJI = "gather 1-1 [ask_desa, choice_desa x9, press_star_skip]"
DESCRIPTION = "record 60s [ask_description]"
EMERGENCY = ["create critical", "sms emergency_received #101 id", "emergency_hold", "enqueue operators emergency 30s"]
BACK_IN_THE_QUEUE = ["emergency_hold", "enqueue operators emergency 90s"]
TO_AN_OPERATOR = ["please_hold", "enqueue operators normal 120s"]
REPEAT_SILENT = a.Start(CALLER, recent_silent_calls=1)  # the shield counts a silent call from this number already
LIMITED_SMS = a.Start(CALLER, screening="rate_limited", verify_by="sms")
LIMITED_CALLBACK = a.Start(CALLER, screening="rate_limited", verify_by="callback")
OFFENDER = a.Start(CALLER, screening="repeat_offender", verify_by="sms")
# over the limits, with an open report: the shield lets the call through to that report only
FOLLOW_UP = a.Start(CALLER, OPEN, screening="open_ticket")
ROUTINE_END = [
    "create category=roads kecamatan=Bumiaji rec=https://rec.example/12.wav",
    "sms ticket_created #101 {lang}",
    "your_number_is",
    "digits 101",
    "sms_sent",
    "goodbye",
    "hangup",
]

CALLS = [
    (
        "emergency: 1 opens a critical report at once, its number goes by SMS, the caller waits first in line",
        None,
        ["1", "answered"],
        [[WELCOME], EMERGENCY, []],
        ("operator", "emergency_queue"),
    ),
    (
        "emergency, nobody answers in 30 s: what and where by keys while waiting, then the rest of the wait",
        None,
        ["1", "unanswered", "1", "2", "6", "answered"],
        [
            [WELCOME],
            EMERGENCY,
            [EMERGENCY_MENU],
            [KECAMATAN_MENU],
            ["update #101 category=fire kecamatan=Bumiaji", DESA_BUMIAJI],
            ["update #101 category=fire kecamatan=Bumiaji desa=Punten", *BACK_IN_THE_QUEUE],
            [],
        ],
        ("operator", "emergency_queue"),
    ),
    (
        "emergency, no key at the place questions: straight back in the queue, nothing to add",
        None,
        ["1", "unanswered", ".", "."],
        [[WELCOME], EMERGENCY, [EMERGENCY_MENU], [KECAMATAN_MENU], BACK_IN_THE_QUEUE],
        (None, None),
    ),
    (
        "emergency, still nobody after 120 s: one short recording of where and what, then the queue again",
        None,
        ["1", "unanswered", "3", "1", "*", "unanswered", "rec:9", "unanswered"],
        [
            [WELCOME],
            EMERGENCY,
            [EMERGENCY_MENU],
            [KECAMATAN_MENU],
            ["update #101 category=flood kecamatan=Batu", "gather 1-1 [ask_desa, choice_desa x8, press_star_skip]"],
            BACK_IN_THE_QUEUE,
            ["record 30s [emergency_describe]"],
            ["update #101 category=flood kecamatan=Batu rec=https://rec.example/9.wav", *BACK_IN_THE_QUEUE],
            BACK_IN_THE_QUEUE,
        ],
        (None, None),
    ),
    (
        "a report (2): four categories, the kecamatan, one recording, the number once",
        None,
        ["2", "1", "2", "rec:12"],
        [[WELCOME], [ROUTINE_MENU], [KECAMATAN_MENU], [DESCRIPTION], [s.format(lang="id") for s in ROUTINE_END]],
        ("completed", "goodbye"),
    ),
    (
        "a report in English (9 at the welcome says the welcome again in English)",
        None,
        ["9", "2", "1", "2", "rec:12"],
        [
            [WELCOME],
            [WELCOME],
            [ROUTINE_MENU],
            [KECAMATAN_MENU],
            [DESCRIPTION],
            [s.format(lang="en") for s in ROUTINE_END],
        ],
        ("completed", "goodbye"),
    ),
    (
        "a caller with an open report is not read it: a new report at once",
        OPEN,
        ["2"],
        [[WELCOME_KNOWN], [ROUTINE_MENU]],
        (None, None),
    ),
    (
        "a caller with an open report presses 3 for it, then nothing: goodbye",
        OPEN,
        ["3", "."],
        [
            [WELCOME_KNOWN],
            ["open_ticket_intro", "digits 77", "status_accepted", "gather 1-1 [open_ticket_menu]"],
            ["goodbye", "hangup"],
        ],
        ("completed", "goodbye_status"),
    ),
    (
        "a caller who talks at the welcome: an operator (after the emergencies), no ticket",
        None,
        ["speech"],
        [[WELCOME], TO_AN_OPERATOR],
        (None, None),
    ),
    (
        "a silent first-time caller: logged, then an operator after those who talk, no ticket",
        None,
        ["silence"],
        [[WELCOME], ["screen silent_queued@silent_first", "please_hold", "enqueue operators silent 120s"]],
        (None, None),
    ),
    (
        "operators busy for a caller who talks: 1 is still the emergency",
        None,
        ["speech", "unanswered", "1"],
        [[WELCOME], TO_AN_OPERATOR, ["gather 1-1 [operators_busy]"], EMERGENCY],
        (None, None),
    ),
    (
        "1 at 'operators busy' after a begun report: the report stays partial, the emergency is a ticket of its own",
        None,
        ["2", "1", "0", "unanswered", "1", "answered"],
        [
            [WELCOME],
            [ROUTINE_MENU],
            [KECAMATAN_MENU],
            ["create category=roads partial@operator(operator)", *TO_AN_OPERATOR],
            ["gather 1-1 [operators_busy]"],
            ["create critical", "sms emergency_received #102 id", "emergency_hold", "enqueue operators emergency 30s"],
            [],
        ],
        ("operator", "emergency_queue"),
    ),
    (
        "operators busy, no key: back in the queue",
        None,
        ["speech", "unanswered", "."],
        [[WELCOME], TO_AN_OPERATOR, ["gather 1-1 [operators_busy]"], TO_AN_OPERATOR],
        (None, None),
    ),
    (
        "a wrong key twice at the welcome: an operator",
        None,
        ["5", "5"],
        [[WELCOME], ["gather 1-1 [invalid_choice, welcome]"], TO_AN_OPERATOR],
        (None, None),
    ),
    (
        "invalid kecamatan three times: the category is kept in a partial ticket before the queue",
        None,
        ["2", "4", "7", "7", "7"],
        [
            [WELCOME],
            [ROUTINE_MENU],
            [KECAMATAN_MENU],
            ["gather 1-1 [invalid_choice, ask_kecamatan, choice_kecamatan x3]"],
            ["gather 1-1 [invalid_choice, ask_kecamatan, choice_kecamatan x3]"],
            ["create category=other partial@operator(operator)", *TO_AN_OPERATOR],
        ],
        (None, None),
    ),
    (
        "no description after two re-prompts: the report is saved without one",
        None,
        ["2", "2", "3", ".", "rec:0.4", "."],
        [
            [WELCOME],
            [ROUTINE_MENU],
            [KECAMATAN_MENU],
            [DESCRIPTION],
            ["record 60s [no_recording, ask_description]"],
            ["record 60s [no_recording, ask_description]"],
            [
                "create category=waste kecamatan=Junrejo",
                "sms ticket_created #101 id",
                "your_number_is",
                "digits 101",
                "sms_sent",
                "goodbye",
                "hangup",
            ],
        ],
        ("completed", "goodbye"),
    ),
]


@pytest.mark.parametrize(("name", "open_ticket", "inputs", "turns", "outcome"), CALLS, ids=[c[0] for c in CALLS])
def test_calls(
    name: str,
    open_ticket: a.OpenTicket | None,
    inputs: list[str],
    turns: list[list[str]],
    outcome: tuple[str | None, str | None],
) -> None:
    call = run(inputs, open_ticket)
    assert call.shown() == turns
    assert (call.state.outcome, call.state.outcome_node) == outcome


def test_the_emergency_key_exact_actions_within_the_first_turn() -> None:
    call = run(["1"])
    p = FLOW.prompt
    assert call.turns[0].actions == (
        a.Gather((p("welcome", "id"),), 1, 1, 4, 3, "#", "id", listen=True, talk=FLOW.talk_detection),
    )
    assert call.turns[1].actions == (
        a.CreateTicket(
            caller=CALLER,
            details=a.TicketDetails(language="id"),
            partial=False,
            stopped_at=None,
            reason="",
            flow_id="kota_batu",
            flow_version=FLOW.version,
            priority="critical",
        ),
        a.SendSms("emergency_received", "id", CALLER, 101),
        p("emergency_hold", "id"),
        a.Enqueue("operators", None, 30, "emergency"),
    )
    assert not any(isinstance(x, a.ReadDigits) for x in call.turns[1].actions)  # no number before an operator
    assert (call.state.phase, call.state.node) == ("queue", "emergency_queue")


def test_a_report_exact_actions_and_final_state() -> None:
    call = run(["2", "1", "2", "rec:12"])
    p = FLOW.prompt
    assert call.turns[3].actions == (a.Record((p("ask_description", "id"),), 60, 5, "#", True, "id"),)
    assert call.turns[4].actions[:2] == (
        a.CreateTicket(
            caller=CALLER,
            details=a.TicketDetails(
                language="id",
                category="roads",
                kecamatan="Bumiaji",
                recording_url="https://rec.example/12.wav",
                recording_seconds=12.0,
            ),
            partial=False,
            stopped_at=None,
            reason="",
            flow_id="kota_batu",
            flow_version=FLOW.version,
        ),
        a.SendSms("ticket_created", "id", CALLER, 101),
    )
    assert p("digit_1", "id").text == suite_city.prompt("digit_1")
    state = call.state
    assert (state.phase, state.node, state.outcome, state.outcome_node) == ("ended", "goodbye", "completed", "goodbye")
    assert state.fields == {
        "category": "roads",
        "kecamatan": "Bumiaji",
        "recording_url": "https://rec.example/12.wav",
        "recording_seconds": "12",
        "ticket_number": "101",
    }
    assert [s.node for s in state.path if s.input is None] == [
        "greet", "welcome", "routine", "kecamatan", "description", "save", "sms", "number", "goodbye",
    ]  # fmt: skip
    assert [(s.node, s.input) for s in state.path if s.input] == [
        ("welcome", "2"), ("routine", "1"), ("kecamatan", "2"), ("description", "recorded"), ("save", "ticket:101"),
    ]  # fmt: skip


def test_the_report_menu_offers_only_the_other_categories_numbered_from_1() -> None:
    menu = run(["2"]).turns[1].media[0]
    assert isinstance(menu, a.Gather)
    offered = [p.text for p in menu.prompts if p.key.startswith("choice_")]
    assert offered == [
        choice("category", "Jalan, jembatan dan saluran", 1),
        choice("category", "Sampah, pencemaran dan pohon", 2),
        choice("category", "Pertanian", 3),
        choice("category", "Lainnya", 4),
    ]
    assert next(p.key for p in menu.prompts if p.key.startswith("choice_")) == "choice_category_routine_roads"
    emergencies = run(["1", "unanswered"]).turns[-1].media[0]
    assert isinstance(emergencies, a.Gather)
    assert [p.text for p in emergencies.prompts if p.key.startswith("choice_")] == [
        choice("category", "Kebakaran", 1),
        choice("category", "Tanah longsor", 2),
        choice("category", "Banjir", 3),
        choice("category", "Bencana lain", 4),
    ]
    assert FLOW.emergency_categories == {"fire", "landslide", "flood", "disaster"}


def test_english_is_spoken_after_9() -> None:
    call = run(["9", "2", "1", "2", "rec:12"])
    prompts = [p for turn in call.turns[1:] for m in turn.media for p in getattr(m, "prompts", (m,))]
    assert prompts and {p.language for p in prompts if isinstance(p, a.Prompt)} == {"en"}
    assert call.turns[2].media[0].prompts[1].text == choice("category", "Roads, bridges and drains", 1, "en")  # type: ignore[union-attr]
    assert call.state.language == "en"


@pytest.mark.parametrize("status", ["awaiting_category", "routed", "accepted", "on_site", "resolved", "cancelled"])
def test_every_open_ticket_status_has_its_prompt(status: str) -> None:
    call = run(["3"], replace(OPEN, status=status))
    assert [show(m) for m in call.turns[1].media][:3] == ["open_ticket_intro", "digits 77", f"status_{status}"]


# --- the operator queue: who goes first, and the place while waiting -----------------------------------


def last_enqueue(call: Call) -> a.Enqueue:
    found = [m for turn in call.turns for m in turn.media if isinstance(m, a.Enqueue)]
    assert found, call.shown()
    return found[-1]


QUEUED = [
    ("the emergency key", None, ["1"], "emergency"),
    ("a caller who talks", None, ["speech"], "normal"),
    ("the operator key", None, ["0"], "normal"),
    ("a silent first-time caller", None, ["silence"], "silent"),
    ("a number over its limit pressing 1", LIMITED_SMS, ["1"], "screened"),
    ("a flagged number, even with the emergency key", OFFENDER, ["1"], "screened"),
    ("an emergency that pressed 0 at the place questions stays one", None, ["1", "unanswered", "0"], "emergency"),
]


@pytest.mark.parametrize(("first", "inputs", "priority"), [q[1:] for q in QUEUED], ids=[q[0] for q in QUEUED])
def test_the_queue_priority_each_caller_gets(first: a.Start | None, inputs: list[str], priority: str) -> None:
    assert last_enqueue(run(inputs, first)).priority == priority


def test_an_emergency_whose_ticket_failed_apologises_and_still_waits_first() -> None:
    call = run(["1"], services=FakeServices(fail=True))
    assert call.shown()[-1] == [
        "create critical",
        "technical_problem",
        "please_hold",
        "enqueue operators emergency 120s",
    ]
    assert call.state.node == "operator"


def test_the_place_is_asked_once_per_call() -> None:
    call = run(["1", "unanswered", ".", ".", "unanswered", "."])  # nothing given, 120 s, no recording
    assert call.shown()[-1] == BACK_IN_THE_QUEUE
    steps = [s for s in call.state.path if s.node == "emergency_queue" and s.input]
    assert steps == [PathStep("emergency_queue", "place"), PathStep("emergency_queue", "unanswered")]


def test_a_transfer_asks_for_the_place_only_while_the_kecamatan_is_unknown() -> None:
    operator = FLOW.nodes["operator"]
    assert isinstance(operator, TransferNode)
    asking = replace(operator, place_after_seconds=30, place="emergency_category")
    flow = replace(FLOW, nodes={**FLOW.nodes, "operator": asking})
    unknown = run(["speech", "unanswered"], flow=flow)
    assert last_enqueue(unknown).max_wait_seconds == 30 and unknown.state.node == "emergency_category"
    # The kecamatan given at the emergency's place questions, then 0 at the desa menu: the full wait, no questions.
    known = run(["1", "unanswered", "1", "1", "0", "unanswered"], flow=flow)
    assert last_enqueue(known).max_wait_seconds == 120 and known.state.node == "operators_busy"


# --- the operator key ---------------------------------------------------------------------------------

# How to reach each menu/gather, and what is worth keeping by then.
EMERGENCY_SAVED = ["create critical", "sms emergency_received #101 id"]
TO_OPERATOR = [
    ("welcome", None, [], [], "normal"),
    ("welcome_known", OPEN, [], [], "normal"),
    ("welcome_farmer", FARMER, [], [], "normal"),
    ("hello", REPEAT_SILENT, ["silence"], [], "normal"),
    ("operators_busy", None, ["speech", "unanswered"], [], "normal"),
    ("over_limit_sms", LIMITED_SMS, [], [], "screened"),
    ("over_limit_callback", LIMITED_CALLBACK, [], [], "screened"),
    ("open_ticket_menu", OPEN, ["3"], [], "normal"),
    ("routine", None, ["2"], [], "normal"),
    ("kecamatan", None, ["2", "3"], ["create category=farm partial@operator(operator)"], "normal"),
    ("emergency_category", None, ["1", "unanswered"], EMERGENCY_SAVED, "emergency"),
    (
        "emergency_kecamatan",
        None,
        ["1", "unanswered", "2"],
        [*EMERGENCY_SAVED, "update #101 category=landslide partial@operator"],
        "emergency",
    ),
    (
        "emergency_desa",
        None,
        ["1", "unanswered", "2", "1"],
        [*EMERGENCY_SAVED, "update #101 category=landslide kecamatan=Batu"],
        "emergency",
    ),
]


@pytest.mark.parametrize(
    ("node", "open_ticket", "inputs", "tickets", "priority"), TO_OPERATOR, ids=[t[0] for t in TO_OPERATOR]
)
def test_0_goes_to_the_operator_from_any_menu(
    node: str, open_ticket: a.OpenTicket | a.Start | None, inputs: list[str], tickets: list[str], priority: str
) -> None:
    before = run(inputs, open_ticket)
    assert (before.state.phase, before.state.node) == ("input", node)
    call = run([*inputs, "0"], open_ticket)
    services = [show(x) for x in call.services.calls]
    assert services == tickets
    assert call.shown()[-1][-2:] == ["please_hold", f"enqueue operators {priority} 120s"]
    path = call.state.path
    assert path[path.index(PathStep(node, "operator")) + 1] == PathStep("operator")
    assert (call.state.phase, call.state.node) == ("queue", "operator")


def test_every_menu_and_gather_of_the_flow_is_in_the_operator_table() -> None:
    from hotline.ivr.flow import GatherNode, MenuNode

    menus = {n.id for n in FLOW.nodes.values() if isinstance(n, MenuNode | GatherNode)}
    assert menus == {t[0] for t in TO_OPERATOR}


# --- hang-up at every node ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HangupCase:
    inputs: list[str]
    where: str  # the node the outcome names: where the call rested when the caller hung up
    tickets: list[str]  # every service action of the whole call
    open_ticket: a.OpenTicket | a.Start | None = None
    during_ticket: bool = False  # hang up while the service is opening the ticket
    outcome: str = "hung_up"


OTHER = "category=other"
PLACE = ["1", "unanswered", "2", "3"]  # landslide in Junrejo: resting at the desa menu
LANDSLIDE_JUNREJO = "update #101 category=landslide kecamatan=Junrejo"
REPORT_DONE = ["2", "4", "3", "rec:9"]
HANGUPS: dict[str, HangupCase] = {
    "greet": HangupCase([], "welcome", []),
    "welcome": HangupCase([], "welcome", []),
    "welcome_known": HangupCase([], "welcome_known", [], OPEN),
    "welcome_farmer": HangupCase([], "welcome_farmer", [], FARMER),
    "emergency": HangupCase(["1"], "emergency", ["create critical"], during_ticket=True),
    **{node: HangupCase(["1"], "emergency_queue", EMERGENCY_SAVED) for node in ("emergency_sms", "emergency_queue")},
    "emergency_category": HangupCase(["1", "unanswered"], "emergency_category", EMERGENCY_SAVED),
    "emergency_kecamatan": HangupCase(
        ["1", "unanswered", "2"],
        "emergency_kecamatan",
        [*EMERGENCY_SAVED, "update #101 category=landslide partial@emergency_kecamatan"],
    ),
    **{
        node: HangupCase(PLACE, "emergency_desa", [*EMERGENCY_SAVED, LANDSLIDE_JUNREJO])
        for node in ("emergency_place", "emergency_desa")
    },
    "emergency_back": HangupCase(
        [*PLACE, "5"],
        "emergency_queue",
        [*EMERGENCY_SAVED, LANDSLIDE_JUNREJO, f"{LANDSLIDE_JUNREJO} desa=Tlekung"],
    ),
    **{
        node: HangupCase(["1", "unanswered", ".", ".", "unanswered"], "emergency_record", EMERGENCY_SAVED)
        for node in ("emergency_details", "emergency_record")
    },
    "operator": HangupCase(["speech"], "operator", []),
    "operators_busy": HangupCase(["speech", "unanswered"], "operators_busy", []),
    "continue_report": HangupCase(
        ["2", "4", "0", "unanswered", "2"], "kecamatan", [f"create {OTHER} partial@operator(operator)"]
    ),
    **{
        node: HangupCase(["silence"], "silent_queue", ["screen silent_queued@silent_first"])
        for node in ("silent_check", "silent_first", "silent_queue")
    },
    "hello": HangupCase(["silence"], "hello", [], REPEAT_SILENT),
    **{
        node: HangupCase(
            ["silence", "silence"], "silent_goodbye", ["screen silent@silent_call"], REPEAT_SILENT, outcome="completed"
        )
        for node in ("silent_call", "silent_goodbye")
    },
    "routine": HangupCase(["2"], "routine", []),
    "kecamatan": HangupCase(["2", "4"], "kecamatan", [f"create {OTHER} partial@kecamatan(hung_up)"]),
    "description": HangupCase(
        ["2", "4", "3"], "description", [f"create {OTHER} kecamatan=Junrejo partial@description(hung_up)"]
    ),
    "save": HangupCase(
        REPORT_DONE,
        "save",
        [f"create {OTHER} kecamatan=Junrejo rec=https://rec.example/9.wav"],
        during_ticket=True,
    ),
    **{
        node: HangupCase(
            REPORT_DONE,
            "goodbye",
            [f"create {OTHER} kecamatan=Junrejo rec=https://rec.example/9.wav", "sms ticket_created #101 id"],
            outcome="completed",  # the flow already said goodbye: hanging up during it changes nothing
        )
        for node in ("sms", "number", "goodbye")
    },
    **{
        node: HangupCase(["3"], "open_ticket_menu", [], OPEN)
        for node in ("open_ticket_number", "open_ticket_status", "open_ticket_menu")
    },
    "goodbye_status": HangupCase(["3", "."], "goodbye_status", [], OPEN, outcome="completed"),
    "follow_up": HangupCase([], "open_ticket_menu", [], FOLLOW_UP),
    "over_limit": HangupCase([], "over_limit_sms", [], LIMITED_SMS),
    "over_limit_sms": HangupCase([], "over_limit_sms", [], LIMITED_SMS),
    "over_limit_callback": HangupCase([], "over_limit_callback", [], LIMITED_CALLBACK),
    "over_limit_bye": HangupCase(["."], "over_limit_bye", [], LIMITED_SMS, outcome="completed"),
}


def test_the_hangup_table_covers_every_node_of_the_flow() -> None:
    assert set(HANGUPS) == set(FLOW.nodes)


@pytest.mark.parametrize("node", sorted(HANGUPS))
def test_hang_up_at_every_node(node: str) -> None:
    case = HANGUPS[node]
    services = FakeServices()
    if case.during_ticket:
        call = run(case.inputs[:-1], case.open_ticket, services=services)
        state, actions = step(FLOW, call.state, event(case.inputs[-1]))
        assert isinstance(actions[-1], a.CreateTicket) and state.phase == "ticket"
        services.calls.append(actions[-1])
        state, after_hangup = step(FLOW, state, a.HangUp())
        assert after_hangup == ()  # the ticket is already being opened: no second one
        state, after_ticket = step(FLOW, state, a.TicketCreated(101))
        assert after_ticket == ()
    else:
        call = run([*case.inputs, "hangup"], case.open_ticket, services=services)
        state = call.state
    assert node in {s.node for s in state.path}, f"the route never passes {node}"
    assert (state.phase, state.outcome, state.outcome_node) == ("ended", case.outcome, case.where)
    shown = [show(x) for x in services.calls]
    assert shown == case.tickets
    creates = [x for x in services.calls if isinstance(x, a.CreateTicket)]
    collected = any(state.fields.get(k) for k in ("category", "kecamatan", "desa", "recording_url"))
    emergency = "emergency" in {s.node for s in state.path}
    # A ticket exists iff the caller gave something worth keeping, or pressed the emergency key.
    assert bool(creates) == (collected or emergency)


def test_only_resting_nodes_are_named_by_a_hang_up() -> None:
    for case in HANGUPS.values():
        assert isinstance(FLOW.nodes[case.where], (*RESTING_NODES,)) or case.during_ticket


# --- failures, protocol, late events ------------------------------------------------------------------


def test_a_failed_ticket_apologises_and_hands_over_to_an_operator() -> None:
    call = run(["2", "1", "1", "rec:9"], services=FakeServices(fail=True))
    assert call.shown()[-1] == [
        "create category=roads kecamatan=Batu rec=https://rec.example/9.wav",
        "technical_problem",
        *TO_AN_OPERATOR,
    ]
    assert call.state.ticket_failed and call.state.ticket_number is None
    assert call.state.path[-3:] == (PathStep("save"), PathStep("save", "ticket_failed"), PathStep("operator"))


def test_events_after_the_call_ended_change_nothing() -> None:
    call = run(["3", "."], OPEN)
    for late in (a.HangUp(), a.Digits("1"), a.QueueLeft(False), a.NoInput()):
        assert step(FLOW, call.state, late) == (call.state, ())


def test_the_first_event_must_be_start() -> None:
    with pytest.raises(EngineError):
        step(FLOW, start(FLOW), a.Digits("1"))


def test_a_digit_while_in_the_queue_is_a_protocol_error() -> None:
    call = run(["0"])
    with pytest.raises(EngineError):
        step(FLOW, call.state, a.Digits("1"))


def test_the_state_round_trips_through_json() -> None:
    call = run(["1", "unanswered", "2", "2", "6", "unanswered", "rec:20"], OPEN)
    for turn in call.turns:
        assert CallState.from_json(turn.state.to_json()) == turn.state
    assert CallState.from_dict(call.state.to_dict()) == call.state


# --- flow versions ------------------------------------------------------------------------------------


@pytest.fixture
def edited_city(tmp_path: Path) -> Path:
    for folder in ("routing", "sms", "ivr_flows"):
        shutil.copytree(CITY_DIR / folder, tmp_path / folder)
    return tmp_path


def test_a_changed_flow_gets_a_new_version_and_a_live_call_keeps_its_own(edited_city: Path) -> None:
    old_call = run(["2"])  # resting at the category menu of the suite's flow
    prompts = edited_city / "ivr_flows/prompts/id.yaml"
    prompts.write_text(prompts.read_text().replace(suite_city.prompt("ask_category"), "Ada kejadian apa?"))
    new_flow = load_city_config(edited_city).default_flow
    assert new_flow is not None and new_flow.version != FLOW.version
    assert load_city_config(CITY_DIR).default_flow.version == FLOW.version  # type: ignore[union-attr]

    registry = FlowRegistry([FLOW, new_flow])
    assert registry.current().version == new_flow.version
    pinned = registry.pinned(old_call.state)
    assert pinned.version == FLOW.version
    state, actions = step(pinned, old_call.state, a.Digits("8"))  # invalid: re-prompted with the OLD text
    assert actions[0].prompts[1].text == suite_city.prompt("ask_category")  # type: ignore[union-attr]
    assert state.flow_version == FLOW.version and state.repinned_from is None

    fresh = run(["2"], flow=new_flow)
    assert fresh.turns[1].media[0].prompts[0].text == "Ada kejadian apa?"  # type: ignore[union-attr]


def test_after_a_restart_a_lost_version_carries_on_at_the_same_node(edited_city: Path) -> None:
    old_call = run(["2", "1"])  # resting at kecamatan
    flow_file = edited_city / "ivr_flows/kota_batu.yaml"
    flow_file.write_text(flow_file.read_text().replace('version: "2026.2"', 'version: "2026.3"'))
    new_flow = load_city_config(edited_city).default_flow
    assert new_flow is not None and new_flow.version != FLOW.version
    registry = FlowRegistry([new_flow])  # the restart forgot the old version
    flow = registry.pinned(old_call.state)
    assert flow.version == new_flow.version
    state, actions = step(flow, old_call.state, a.Digits("2"))
    assert [show(x) for x in actions] == [DESCRIPTION]
    assert (state.flow_version, state.repinned_from, state.fields["kecamatan"]) == (
        new_flow.version,
        FLOW.version,
        "Bumiaji",
    )


def test_after_a_restart_a_vanished_node_hands_the_caller_to_the_operator(edited_city: Path) -> None:
    old_call = run(["2", "1", "2"])  # resting at the description
    flow_file = edited_city / "ivr_flows/kota_batu.yaml"
    text = flow_file.read_text()
    start, end = text.index("  description:"), text.index("  save:\n")
    text = text[:start] + text[end:]
    text = text.replace("    next: description\n", "    next: save\n").replace("next: description}", "next: save}")
    flow_file.write_text(text)
    for language in ("id", "en"):  # prompts nobody plays any more are refused too
        prompts = edited_city / f"ivr_flows/prompts/{language}.yaml"
        lines = prompts.read_text().splitlines(keepends=True)
        prompts.write_text("".join(x for x in lines if not x.startswith(("  ask_description:", "  no_recording:"))))
    new_flow = load_city_config(edited_city).default_flow
    assert new_flow is not None and "description" not in new_flow.nodes
    state, actions = step(new_flow, old_call.state, a.Recorded("https://rec.example/5.wav", 5))
    assert [show(x) for x in actions] == ["create category=roads kecamatan=Bumiaji partial@operator(operator)"]
    assert state.path[-2:] == (PathStep("description", "repinned"), PathStep("operator"))
    assert state.repinned_from == FLOW.version


def test_the_registry_keeps_recent_versions_addressable() -> None:
    from hotline.ivr.registry import KEEP_VERSIONS, UnknownFlow

    versions = [replace(FLOW, version=f"v{i}") for i in range(KEEP_VERSIONS + 2)]
    registry = FlowRegistry(versions)
    assert registry.current().version == f"v{KEEP_VERSIONS + 1}" == registry.current("kota_batu").version
    assert registry.version("kota_batu", "v0") is None  # the oldest fell off
    assert registry.version("kota_batu", "v2") is versions[2]
    registry.publish(versions[2])  # a rollback makes an old version current again
    assert registry.current().version == "v2"
    with pytest.raises(UnknownFlow):
        registry.current("night")


# --- the greeting's silent-call check (junk-call shield) ----------------------------------------------

HELLO = "gather 1-1 [silence_hello]"
SILENT_FIRST = ["screen silent_queued@silent_first", "please_hold", "enqueue operators silent 120s"]
# (what happens, the Start, inputs, the last turn's actions, where the call rests (phase, node))
GREETING = [
    (
        "no key, no voice, a first silent call: logged, an operator",
        None,
        ["silence"],
        SILENT_FIRST,
        ("queue", "silent_queue"),
    ),
    ("a voice at the welcome: an operator", None, ["speech"], TO_AN_OPERATOR, ("queue", "operator")),
    # A transport that cannot hear answers NoInput: never counted as silence.
    ("a plain timeout at the welcome is not silence", None, ["."], TO_AN_OPERATOR, ("queue", "operator")),
    ("a repeat silent caller is asked once more", REPEAT_SILENT, ["silence"], [HELLO], ("input", "hello")),
    (
        "a repeat silent caller who still says nothing: the shield's silent call, a polite goodbye",
        REPEAT_SILENT,
        ["silence", "silence"],
        ["screen silent@silent_call", "silent_goodbye", "hangup"],
        ("ended", "silent_goodbye"),
    ),
    (
        "a voice after the re-prompt: an operator",
        REPEAT_SILENT,
        ["silence", "speech"],
        TO_AN_OPERATOR,
        ("queue", "operator"),
    ),
    (
        "a plain timeout after the re-prompt neither",
        REPEAT_SILENT,
        ["silence", "."],
        TO_AN_OPERATOR,
        ("queue", "operator"),
    ),
    ("1 after the re-prompt: the emergency", REPEAT_SILENT, ["silence", "1"], EMERGENCY, ("queue", "emergency_queue")),
    ("9 after the re-prompt: English", REPEAT_SILENT, ["silence", "9"], [WELCOME], ("input", "welcome")),
]


@pytest.mark.parametrize(("first", "inputs", "last", "rests"), [g[1:] for g in GREETING], ids=[g[0] for g in GREETING])
def test_the_greeting_tells_silence_from_a_caller(
    first: a.Start | None, inputs: list[str], last: list[str], rests: tuple[str, str]
) -> None:
    call = run(inputs, first)
    assert call.shown()[-1] == last
    assert (call.state.phase, call.state.node) == rests
    created = [x for turn in call.turns for x in turn.actions if isinstance(x, a.CreateTicket)]
    assert bool(created) == (inputs[-1] == "1")  # silence never becomes a report; the emergency key does


def test_the_greeting_listens_and_other_menus_do_not() -> None:
    call = run(["silence"], REPEAT_SILENT)
    gathers = [m for turn in call.turns for m in turn.media if isinstance(m, a.Gather)]
    assert [g.listen for g in gathers] == [True, True]  # welcome and the re-prompt
    later = run(["2"]).turns[-1].media[-1]
    assert isinstance(later, a.Gather) and later.listen is False  # the category menu counts keys only


def test_silence_at_a_menu_without_on_silence_is_just_no_input() -> None:
    call = run(["2", "silence"])  # at the category menu
    assert call.shown()[-1] == ["gather 1-1 [no_input, ask_category, choice_category x4, press_0_operator]"]
    assert call.state.path[-1] == PathStep("routine", "no_input")


def test_speech_is_kept_in_the_path() -> None:
    assert run(["speech"]).state.path[2] == PathStep("welcome", "speech")
    assert run(["silence"]).state.path[2] == PathStep("welcome", "silence")


SCREENED = [
    ("over the limit, can get SMS", LIMITED_SMS, ["gather 1-1 [over_limit_sms]"], "over_limit_sms"),
    (
        "over the limit, landline: callback",
        LIMITED_CALLBACK,
        ["gather 1-1 [over_limit_callback]"],
        "over_limit_callback",
    ),
    ("repeat offender: the normal flow, nothing that blames the caller", OFFENDER, [WELCOME], "welcome"),
    ("a decision the flow has no node for starts normally", a.Start(CALLER, screening="other"), [WELCOME], "welcome"),
]


@pytest.mark.parametrize(("first", "shown", "node"), [s[1:] for s in SCREENED], ids=[s[0] for s in SCREENED])
def test_a_screened_call_starts_where_the_flow_says(first: a.Start, shown: list[str], node: str) -> None:
    call = run([], first)
    assert call.shown()[0] == shown
    assert call.state.node == node
    assert call.state.fields.get("screening", "") == first.screening


def test_over_the_limit_1_still_reaches_an_operator_and_silence_ends_politely() -> None:
    assert run(["1"], LIMITED_SMS).shown()[-1] == ["please_hold", "enqueue operators screened 120s"]
    assert run(["."], LIMITED_SMS).shown()[-1] == ["goodbye", "hangup"]
