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
from hotline.ivr.flow import RESTING_NODES, Flow
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
            return f"enqueue {x.queue}"
        case a.Hangup():
            return "hangup"
        case a.CreateTicket():
            partial = f" partial@{x.stopped_at}({x.reason})" if x.partial else ""
            return f"create {_details(x.details)}{partial}"
        case a.UpdateTicket():
            partial = f" partial@{x.stopped_at}" if x.partial else ""
            return f"update #{x.number} {_details(x.details)}{partial}"
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

CATEGORY_MENU = "gather 1-1 [ask_category, choice_category x8, press_0_operator]"
KECAMATAN_MENU = "gather 1-1 [ask_kecamatan, choice_kecamatan x3, press_0_operator]"
WELCOME = "gather 1-1 [welcome]"
HAPPY_END = [
    "create category=roads kecamatan=Bumiaji desa=Punten rec=https://rec.example/12.wav",
    "sms ticket_created #101 {lang}",
    "your_number_is",
    "digits 101",
    "once_more",
    "digits 101",
    "sms_sent",
    "goodbye",
    "hangup",
]

CALLS = [
    (
        "happy path in Bahasa Indonesia (silence at the welcome keeps id)",
        None,
        [".", "4", "2", "6", "rec:12"],
        [
            [WELCOME],
            [CATEGORY_MENU],
            [KECAMATAN_MENU],
            ["gather 1-1 [ask_desa, choice_desa x9, press_star_skip]"],
            ["record 60s [ask_description]"],
            [s.format(lang="id") for s in HAPPY_END],
        ],
        ("completed", "goodbye"),
    ),
    (
        "happy path in English (9 at the welcome)",
        None,
        ["9", "4", "2", "6", "rec:12"],
        [
            [WELCOME],
            [CATEGORY_MENU],
            [KECAMATAN_MENU],
            ["gather 1-1 [ask_desa, choice_desa x9, press_star_skip]"],
            ["record 60s [ask_description]"],
            [s.format(lang="en") for s in HAPPY_END],
        ],
        ("completed", "goodbye"),
    ),
    (
        "an open ticket: its number and status first, then the caller ends the call",
        OPEN,
        [".", "2"],
        [
            [WELCOME],
            ["open_ticket_intro", "digits 77", "status_accepted", "gather 1-1 [open_ticket_menu]"],
            ["goodbye", "hangup"],
        ],
        ("completed", "goodbye_status"),
    ),
    (
        "an open ticket, then a new report (1)",
        OPEN,
        [".", "1"],
        [
            [WELCOME],
            ["open_ticket_intro", "digits 77", "status_accepted", "gather 1-1 [open_ticket_menu]"],
            [CATEGORY_MENU],
        ],
        (None, None),
    ),
    (
        "invalid digits: re-prompted twice, then the operator (nothing collected: no ticket)",
        None,
        [".", "8", "8", "8"],
        [
            [WELCOME],
            [CATEGORY_MENU],
            ["gather 1-1 [invalid_choice, ask_category, choice_category x8, press_0_operator]"],
            ["gather 1-1 [invalid_choice, ask_category, choice_category x8, press_0_operator]"],
            ["connecting_operator", "enqueue operators"],
        ],
        (None, None),
    ),
    (
        "silence at the category: re-prompted twice, then the operator",
        None,
        [".", ".", ".", "."],
        [
            [WELCOME],
            [CATEGORY_MENU],
            ["gather 1-1 [no_input, ask_category, choice_category x8, press_0_operator]"],
            ["gather 1-1 [no_input, ask_category, choice_category x8, press_0_operator]"],
            ["connecting_operator", "enqueue operators"],
        ],
        (None, None),
    ),
    (
        "invalid kecamatan three times: the category is kept in a partial ticket before the queue",
        None,
        [".", "4", "7", "7", "."],
        [
            [WELCOME],
            [CATEGORY_MENU],
            [KECAMATAN_MENU],
            ["gather 1-1 [invalid_choice, ask_kecamatan, choice_kecamatan x3, press_0_operator]"],
            ["gather 1-1 [invalid_choice, ask_kecamatan, choice_kecamatan x3, press_0_operator]"],
            ["create category=roads partial@operator(operator)", "connecting_operator", "enqueue operators"],
        ],
        (None, None),
    ),
    (
        "no description after two re-prompts: the report is saved without one",
        None,
        [".", "5", "3", "*", ".", "rec:0.4", "."],
        [
            [WELCOME],
            [CATEGORY_MENU],
            [KECAMATAN_MENU],
            ["gather 1-1 [ask_desa, choice_desa x7, press_star_skip]"],
            ["record 60s [ask_description]"],
            ["record 60s [no_recording, ask_description]"],
            ["record 60s [no_recording, ask_description]"],
            [
                "create category=waste kecamatan=Junrejo",
                "sms ticket_created #101 id",
                "your_number_is",
                "digits 101",
                "once_more",
                "digits 101",
                "sms_sent",
                "goodbye",
                "hangup",
            ],
        ],
        ("completed", "goodbye"),
    ),
    (
        "emergency: the ticket is opened and read back before the operator queue; an operator answers",
        None,
        [".", "1", "answered"],
        [
            [WELCOME],
            [CATEGORY_MENU],
            [
                "create category=fire",
                "sms ticket_created #101 id",
                "emergency_received",
                "digits 101",
                "connecting_operator",
                "enqueue operators",
            ],
            [],
        ],
        ("operator", "operator"),
    ),
    (
        "emergency, nobody answers: the caller adds the place; the same ticket is updated, no second SMS",
        None,
        [".", "2", "unanswered", "1", "*", "rec:20"],
        [
            [WELCOME],
            [CATEGORY_MENU],
            [
                "create category=landslide",
                "sms ticket_created #101 id",
                "emergency_received",
                "digits 101",
                "connecting_operator",
                "enqueue operators",
            ],
            ["operators_busy", KECAMATAN_MENU],
            ["gather 1-1 [ask_desa, choice_desa x8, press_star_skip]"],
            ["record 60s [ask_description]"],
            [
                "update #101 category=landslide kecamatan=Batu rec=https://rec.example/20.wav",
                "your_number_is",
                "digits 101",
                "once_more",
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


def test_happy_path_exact_actions_and_final_state() -> None:
    call = run([".", "4", "2", "6", "rec:12"])
    p = FLOW.prompt
    assert call.turns[0].actions == (a.Gather((p("welcome", "id"),), 1, 1, 3, 3, "#", "id", listen=True),)
    assert call.turns[4].actions == (a.Record((p("ask_description", "id"),), 60, 5, "#", True, "id"),)
    assert call.turns[5].actions[:2] == (
        a.CreateTicket(
            caller=CALLER,
            details=a.TicketDetails(
                language="id",
                category="roads",
                kecamatan="Bumiaji",
                desa="Punten",
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
    assert p("choice_category_fire", "id").text == choice("category", "Kebakaran", 1)
    assert p("digit_1", "id").text == suite_city.prompt("digit_1")
    state = call.state
    assert (state.phase, state.node, state.outcome, state.outcome_node) == ("ended", "goodbye", "completed", "goodbye")
    assert state.fields == {
        "category": "roads",
        "kecamatan": "Bumiaji",
        "desa": "Punten",
        "recording_url": "https://rec.example/12.wav",
        "recording_seconds": "12",
        "ticket_number": "101",
    }
    assert state.ticket_number == 101
    assert [s.node for s in state.path if s.input is None] == [
        "welcome", "check_open_ticket", "category", "check_emergency", "kecamatan", "desa",
        "description", "save", "sms", "number", "number_again", "goodbye",
    ]  # fmt: skip
    assert [(s.node, s.input) for s in state.path if s.input] == [
        ("welcome", "no_input"), ("category", "4"), ("kecamatan", "2"), ("desa", "6"),
        ("description", "recorded"), ("save", "ticket:101"),
    ]  # fmt: skip


def test_english_is_spoken_after_9() -> None:
    call = run(["9", "4", "2", "6", "rec:12"])
    prompts = [p for turn in call.turns[1:] for m in turn.media for p in getattr(m, "prompts", (m,))]
    assert prompts and {p.language for p in prompts if isinstance(p, a.Prompt)} == {"en"}
    assert call.turns[1].media[0].prompts[1].text == choice("category", "Fire", 1, "en")  # type: ignore[union-attr]
    assert call.state.language == "en"


@pytest.mark.parametrize("status", ["awaiting_category", "routed", "accepted", "on_site", "resolved", "cancelled"])
def test_every_open_ticket_status_has_its_prompt(status: str) -> None:
    call = run(["."], replace(OPEN, status=status))
    assert [show(m) for m in call.turns[1].media][:3] == ["open_ticket_intro", "digits 77", f"status_{status}"]


# --- the operator key ---------------------------------------------------------------------------------

# How to reach each menu/gather, and what is worth keeping by then.
LIMITED_SMS = a.Start(CALLER, screening="rate_limited", verify_by="sms")
LIMITED_CALLBACK = a.Start(CALLER, screening="rate_limited", verify_by="callback")
OFFENDER = a.Start(CALLER, screening="repeat_offender", verify_by="sms")
TO_OPERATOR = [
    ("welcome", None, [], []),
    ("hello", None, ["silence"], []),
    ("over_limit_sms", LIMITED_SMS, [], []),
    ("over_limit_callback", LIMITED_CALLBACK, [], []),
    ("open_ticket_menu", OPEN, ["."], []),
    ("category", None, ["."], []),
    ("kecamatan", None, [".", "6"], ["create category=farm partial@operator(operator)"]),
    ("desa", None, [".", "6", "1"], ["create category=farm kecamatan=Batu partial@operator(operator)"]),
]


@pytest.mark.parametrize(("node", "open_ticket", "inputs", "tickets"), TO_OPERATOR, ids=[t[0] for t in TO_OPERATOR])
def test_0_goes_to_the_operator_from_any_menu(
    node: str, open_ticket: a.OpenTicket | a.Start | None, inputs: list[str], tickets: list[str]
) -> None:
    before = run(inputs, open_ticket)
    assert (before.state.phase, before.state.node) == ("input", node)
    call = run([*inputs, "0"], open_ticket)
    assert call.shown()[-1] == [*tickets, "connecting_operator", "enqueue operators"]
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
    tickets: list[str]  # every ticket action of the whole call
    open_ticket: a.OpenTicket | a.Start | None = None
    during_ticket: bool = False  # hang up while the service is opening the ticket
    outcome: str = "hung_up"


ROADS = "category=roads"
HANGUPS: dict[str, HangupCase] = {
    "welcome": HangupCase([], "welcome", []),
    "check_open_ticket": HangupCase(["."], "category", []),
    "open_ticket_number": HangupCase(["."], "open_ticket_menu", [], OPEN),
    "open_ticket_status": HangupCase(["."], "open_ticket_menu", [], OPEN),
    "open_ticket_menu": HangupCase(["."], "open_ticket_menu", [], OPEN),
    "category": HangupCase(["."], "category", []),
    "check_emergency": HangupCase([".", "4"], "kecamatan", [f"create {ROADS} partial@kecamatan(hung_up)"]),
    "emergency_ticket": HangupCase([".", "1"], "emergency_ticket", ["create category=fire"], during_ticket=True),
    "emergency_sms": HangupCase([".", "1"], "operator", ["create category=fire", "sms ticket_created #101 id"]),
    "emergency_number": HangupCase([".", "1"], "operator", ["create category=fire", "sms ticket_created #101 id"]),
    "operator": HangupCase(["0"], "operator", []),
    "operators_busy": HangupCase(
        [".", "4", "0", "unanswered"], "kecamatan", [f"create {ROADS} partial@operator(operator)"]
    ),
    "continue_report": HangupCase(
        [".", "4", "1", "0", "unanswered"],
        "desa",
        [f"create {ROADS} kecamatan=Batu partial@operator(operator)"],
    ),
    "kecamatan": HangupCase([".", "4"], "kecamatan", [f"create {ROADS} partial@kecamatan(hung_up)"]),
    "desa": HangupCase([".", "4", "3"], "desa", [f"create {ROADS} kecamatan=Junrejo partial@desa(hung_up)"]),
    "description": HangupCase(
        [".", "4", "3", "5"],
        "description",
        [f"create {ROADS} kecamatan=Junrejo desa=Tlekung partial@description(hung_up)"],
    ),
    "save": HangupCase(
        [".", "4", "3", "5", "rec:9"],
        "save",
        [f"create {ROADS} kecamatan=Junrejo desa=Tlekung rec=https://rec.example/9.wav"],
        during_ticket=True,
    ),
    **{
        node: HangupCase(
            [".", "4", "3", "5", "rec:9"],
            "goodbye",
            [
                f"create {ROADS} kecamatan=Junrejo desa=Tlekung rec=https://rec.example/9.wav",
                "sms ticket_created #101 id",
            ],
            outcome="completed",  # the flow already said goodbye: hanging up during it changes nothing
        )
        for node in ("sms", "number", "number_again", "goodbye")
    },
    "goodbye_status": HangupCase([".", "2"], "goodbye_status", [], OPEN, outcome="completed"),
    "hello": HangupCase(["silence"], "hello", []),
    **{
        node: HangupCase(["silence", "silence"], "silent_goodbye", ["screen silent@silent_call"], outcome="completed")
        for node in ("silent_call", "silent_goodbye")
    },
    "over_limit": HangupCase([], "over_limit_sms", [], LIMITED_SMS),
    "over_limit_sms": HangupCase([], "over_limit_sms", [], LIMITED_SMS),
    "over_limit_callback": HangupCase([], "over_limit_callback", [], LIMITED_CALLBACK),
    "over_limit_bye": HangupCase(["."], "over_limit_bye", [], LIMITED_SMS, outcome="completed"),
    "repeat_notice": HangupCase([], "welcome", [], OFFENDER),
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
    assert bool(creates) == collected  # a ticket exists iff the caller gave something worth keeping


def test_only_resting_nodes_are_named_by_a_hang_up() -> None:
    for case in HANGUPS.values():
        assert isinstance(FLOW.nodes[case.where], (*RESTING_NODES,)) or case.during_ticket


# --- failures, protocol, late events ------------------------------------------------------------------


def test_a_failed_ticket_apologises_and_hands_over_to_an_operator() -> None:
    call = run([".", "4", "1", "*", "rec:9"], services=FakeServices(fail=True))
    assert call.shown()[-1] == [
        f"create {ROADS} kecamatan=Batu rec=https://rec.example/9.wav",
        "technical_problem",
        "connecting_operator",
        "enqueue operators",
    ]
    assert call.state.ticket_failed and call.state.ticket_number is None
    assert call.state.path[-3:] == (PathStep("save"), PathStep("save", "ticket_failed"), PathStep("operator"))


def test_events_after_the_call_ended_change_nothing() -> None:
    call = run([".", "2"], OPEN)
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
    call = run([".", "2", "unanswered", "1", "*", "rec:20"], OPEN)
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
    old_call = run(["."])  # resting at the category menu of the suite's flow
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

    fresh = run(["."], flow=new_flow)
    assert fresh.turns[1].media[0].prompts[0].text == "Ada kejadian apa?"  # type: ignore[union-attr]


def test_after_a_restart_a_lost_version_carries_on_at_the_same_node(edited_city: Path) -> None:
    old_call = run([".", "4"])  # resting at kecamatan
    flow_file = edited_city / "ivr_flows/kota_batu.yaml"
    flow_file.write_text(flow_file.read_text().replace('version: "2026.1"', 'version: "2026.2"'))
    new_flow = load_city_config(edited_city).default_flow
    assert new_flow is not None and new_flow.version != FLOW.version
    registry = FlowRegistry([new_flow])  # the restart forgot the old version
    flow = registry.pinned(old_call.state)
    assert flow.version == new_flow.version
    state, actions = step(flow, old_call.state, a.Digits("2"))
    assert [show(x) for x in actions] == ["gather 1-1 [ask_desa, choice_desa x9, press_star_skip]"]
    assert (state.flow_version, state.repinned_from, state.fields["kecamatan"]) == (
        new_flow.version,
        FLOW.version,
        "Bumiaji",
    )


def test_after_a_restart_a_vanished_node_hands_the_caller_to_the_operator(edited_city: Path) -> None:
    old_call = run([".", "4", "2"])  # resting at desa
    flow_file = edited_city / "ivr_flows/kota_batu.yaml"
    text = flow_file.read_text()
    start, end = text.index("  desa:\n"), text.index("  description:\n")
    text = text[:start] + text[end:]
    text = text.replace("next: desa\n", "next: description\n").replace("next: desa}", "next: description}")
    text = text.replace("      - {when: {field: desa, is_set: true}, next: description}\n", "")
    flow_file.write_text(text)
    for language in ("id", "en"):  # prompts nobody plays any more are refused too
        prompts = edited_city / f"ivr_flows/prompts/{language}.yaml"
        lines = prompts.read_text().splitlines(keepends=True)
        prompts.write_text("".join(x for x in lines if not x.startswith(("  ask_desa:", "  press_star_skip:"))))
    new_flow = load_city_config(edited_city).default_flow
    assert new_flow is not None and "desa" not in new_flow.nodes
    state, actions = step(new_flow, old_call.state, a.Digits("3"))
    assert [show(x) for x in actions] == ["create category=roads kecamatan=Bumiaji partial@operator(operator)"]
    assert state.path[-2:] == (PathStep("desa", "repinned"), PathStep("operator"))
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
# (what happens, inputs, the last turn's actions, where the call rests (phase, node), the path's last step)
GREETING = [
    ("no key, no voice: asked once more", ["silence"], [HELLO], ("input", "hello"), PathStep("hello")),
    (
        "still nothing: a silent call, logged, no ticket, a polite goodbye",
        ["silence", "silence"],
        ["screen silent@silent_call", "silent_goodbye", "hangup"],
        ("ended", "silent_goodbye"),
        PathStep("silent_goodbye"),
    ),
    ("a voice at the welcome: not silent, on to the menu", ["speech"], [CATEGORY_MENU], ("input", "category"), None),
    ("a voice after the re-prompt: not silent", ["silence", "speech"], [CATEGORY_MENU], ("input", "category"), None),
    (
        "1 after the re-prompt: an operator (nothing said, no ticket)",
        ["silence", "1"],
        ["connecting_operator", "enqueue operators"],
        ("queue", "operator"),
        PathStep("operator"),
    ),
    ("9 after the re-prompt: English", ["silence", "9"], [CATEGORY_MENU], ("input", "category"), None),
    # A transport that cannot hear answers NoInput: never counted as silence.
    ("a plain timeout at the welcome is not silence", ["."], [CATEGORY_MENU], ("input", "category"), None),
    ("a plain timeout after the re-prompt neither", ["silence", "."], [CATEGORY_MENU], ("input", "category"), None),
]


@pytest.mark.parametrize(("inputs", "last", "rests", "step_"), [g[1:] for g in GREETING], ids=[g[0] for g in GREETING])
def test_the_greeting_tells_silence_from_a_caller(
    inputs: list[str], last: list[str], rests: tuple[str, str], step_: PathStep | None
) -> None:
    call = run(inputs)
    assert call.shown()[-1] == last
    assert (call.state.phase, call.state.node) == rests
    if step_ is not None:
        assert call.state.path[-1] == step_
    assert not any(isinstance(x, a.CreateTicket) for turn in call.turns for x in turn.actions)


def test_the_greeting_listens_and_other_menus_do_not() -> None:
    call = run(["silence"])
    gathers = [m for turn in call.turns for m in turn.media if isinstance(m, a.Gather)]
    assert [g.listen for g in gathers] == [True, True]  # welcome and the re-prompt
    later = run(["."]).turns[-1].media[-1]
    assert isinstance(later, a.Gather) and later.listen is False  # the category menu counts keys only


def test_silence_at_a_menu_without_on_silence_is_just_no_input() -> None:
    call = run([".", "silence"])  # at the category menu
    assert call.shown()[-1] == ["gather 1-1 [no_input, ask_category, choice_category x8, press_0_operator]"]
    assert call.state.path[-1] == PathStep("category", "no_input")


def test_speech_is_kept_in_the_path() -> None:
    assert run(["speech"]).state.path[1] == PathStep("welcome", "speech")
    assert run(["silence"]).state.path[1] == PathStep("welcome", "silence")


SCREENED = [
    ("over the limit, can get SMS", LIMITED_SMS, ["gather 1-1 [over_limit_sms]"], "over_limit_sms"),
    (
        "over the limit, landline: callback",
        LIMITED_CALLBACK,
        ["gather 1-1 [over_limit_callback]"],
        "over_limit_callback",
    ),
    ("repeat offender: a notice, then the normal flow", OFFENDER, ["repeat_offender_notice", WELCOME], "welcome"),
    ("a decision the flow has no node for starts normally", a.Start(CALLER, screening="other"), [WELCOME], "welcome"),
]


@pytest.mark.parametrize(("first", "shown", "node"), [s[1:] for s in SCREENED], ids=[s[0] for s in SCREENED])
def test_a_screened_call_starts_where_the_flow_says(first: a.Start, shown: list[str], node: str) -> None:
    call = run([], first)
    assert call.shown()[0] == shown
    assert call.state.node == node
    assert call.state.fields.get("screening", "") == first.screening


def test_over_the_limit_1_still_reaches_an_operator_and_silence_ends_politely() -> None:
    assert run(["1"], LIMITED_SMS).shown()[-1] == ["connecting_operator", "enqueue operators"]
    assert run(["."], LIMITED_SMS).shown()[-1] == ["goodbye", "hangup"]
