"""bench/ivr_timing.py's scenarios walked through the real engine on the suite's city (tests/city): the PATH each
caller takes -- nodes, keys, a ticket opened (and where its alert goes), the call queued --, not the seconds
(those are the bench's, from the built prompts). Prompts are timed by their words here (no audio is built)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.ivr_timing import FARTHEST, FIRE, SCENARIOS, Want, attempt, resolve, routes, table
from hotline.cityconfig import CityConfig, load_city_config
from hotline.ivr.flow import Flow
from hotline.ivr.prompt_audio import PromptAudio
from hotline.ivr.prompt_seconds import PromptSeconds
from hotline.ivr.timing import Caller, Goal, Scenario, Walk, WalkError, names_key, walk
from tests.city_files import copy_city, edit
from tests.suite_city import CITY_DIR

City = tuple[CityConfig, Flow]


@pytest.fixture(scope="module")
def city() -> City:
    config = load_city_config(CITY_DIR)
    assert config.default_flow is not None
    return config, config.default_flow


def seconds() -> PromptSeconds:
    return PromptSeconds(PromptAudio())


def walked(city: City, name: str) -> tuple[Want, Walk]:
    config, flow = city
    [want] = [w for w in SCENARIOS if w.scenario.name == name]
    return resolve(want, config, flow, seconds())


def rules(city: City, w: Walk) -> list[str]:
    """The routing rule of the ticket when it opened, then of each re-route."""
    config, flow = city
    return [r.rule for r in routes(config, flow, w)]


def test_the_fire_caller_presses_1_in_the_welcome_and_waits_with_a_critical_ticket_for_the_desk(city: City) -> None:
    _, w = walked(city, "fire")
    assert w.keys == "1"
    assert w.nodes() == [
        "greet",
        "welcome",
        "welcome: 1",  # "Jika darurat, tekan 1": pressed once said, stopping the rest of the welcome
        "emergency",
        "emergency: ticket:1",
        "emergency_sms",
        "emergency_queue",  # no number read before the queue
    ]
    assert w.ticket is not None and w.ticket.priority == "critical" and w.ticket.details.category is None
    assert not w.ticket_partial and w.first_key_at == w.ticket_at  # the ticket opens on the key
    assert rules(city, w) == ["default-command-center"]  # no category yet: the command center is alerted
    assert w.queue_at is not None and w.reached_at == w.queue_at and w.ended_at is None


def test_the_fire_caller_nobody_answers_gives_what_and_where_while_waiting_and_the_fire_brigade_is_alerted(
    city: City,
) -> None:
    want, w = walked(city, "fire, nobody answers")
    caller = want.scenario.caller
    assert (caller.kecamatan, caller.desa) == ("Bumiaji", "Tulungrejo")  # the 9th desa of the 2nd kecamatan
    assert "Tulungrejo (Bumiaji), the desa said last" in want.scenario.wants
    assert w.keys == "1129"  # emergency, fire, Bumiaji, Tulungrejo
    assert w.nodes()[w.nodes().index("emergency_queue") :] == [
        "emergency_queue",
        "emergency_queue: place",  # nobody answered within place_after_seconds
        "emergency_category",
        "emergency_category: 1",
        "emergency_kecamatan",
        "emergency_kecamatan: 2",
        "emergency_place",  # category and kecamatan reach the ticket
        "emergency_desa",
        "emergency_desa: 9",
        "emergency_back",
        "emergency_queue",  # back in the queue for the rest of the wait
    ]
    kecamatan_key, desa_key = w.moves[-2].at, w.moves[-1].at
    [opened, placed, desa] = w.tickets
    assert opened.opened and opened.details.category is None
    assert (placed.at, placed.details.category, placed.details.kecamatan) == (kecamatan_key, "fire", "Bumiaji")
    assert (desa.at, desa.details.desa) == (desa_key, "Tulungrejo") and w.reached_at == desa_key
    config, flow = city
    assert [(r.rule, r.at) for r in routes(config, flow, w)] == [
        ("default-command-center", w.ticket_at),
        ("fire-to-pmk", kecamatan_key),  # re-routed to the fire brigade with the place
    ]
    assert w.moves[1].did == "nobody answers in 30 s"


def test_the_pothole_is_2_roads_the_kecamatan_and_one_recording_that_says_the_desa(city: City) -> None:
    want, w = walked(city, "pothole, farthest place")
    caller = want.scenario.caller
    # No desa menu: every desa of the last kecamatan takes as long; the first of them names the place.
    assert (caller.kecamatan, caller.desa) == ("Junrejo", "Beji")
    assert "Junrejo, the kecamatan said last (the desa, Beji, said in the recording)" in want.scenario.wants
    assert w.keys == "213#"  # a report, roads (1 of the routine four), Junrejo, # after speaking
    assert [n for n in w.nodes() if ": " in n] == [
        "welcome: 2",
        "routine: 1",
        "kecamatan: 3",
        "description: recorded",
        "save: ticket:1",
    ]
    assert w.ticket is not None and w.ticket.details.desa is None  # the desa is in the recording
    assert w.ticket_at == w.reached_at and not w.ticket_partial and w.queue_at is None
    assert rules(city, w) == ["roads-to-pupr"]
    assert w.nodes()[-3:] == ["sms", "number", "goodbye"] and w.ended_at is not None  # the number read once


def test_the_farm_pest_goes_to_the_field_officer_of_sumberbrantas_s_kecamatan(city: City) -> None:
    want, w = walked(city, "farm pest")
    assert want.scenario.caller.kecamatan == "Bumiaji"
    assert w.keys == "232#"  # a report, farming (3 of the routine four), Bumiaji, #
    assert "routine: 3" in w.nodes() and "kecamatan: 2" in w.nodes() and "save: ticket:1" in w.nodes()
    assert rules(city, w) == ["farm-bumiaji"]


def test_a_routine_caller_never_presses_1_though_its_ticket_would_open_sooner(city: City) -> None:
    for name in ("pothole, farthest place", "farm pest"):
        _, w = walked(city, name)
        assert "welcome: 1" not in w.nodes() and w.keys.startswith("2"), name
    # A category the routine menu does not offer: no way, rather than a critical ticket of no category.
    _, flow = city
    with pytest.raises(WalkError, match="no way"):
        walk(flow, Scenario("x", "", Caller(categories=("none",)), Goal("ticket")), seconds().of)
    # An emergency caller takes the emergency key (a landslide is not in the routine menu).
    landslide = walk(flow, Scenario("x", "", Caller(categories=("landslide",)), Goal("ticket")), seconds().of)
    assert landslide.keys == "1" and landslide.ticket is not None and landslide.ticket.priority == "critical"


def test_the_first_silent_caller_is_queued_without_a_ticket(city: City) -> None:
    _, w = walked(city, "silent caller")
    assert w.keys == "" and w.tickets == () and w.queue_at is not None
    assert w.nodes() == ["greet", "welcome", "welcome: silence", "silent_check", "silent_first", "silent_queue"]


def test_a_repeat_silent_caller_is_asked_once_more_and_meets_the_shield(city: City) -> None:
    _, w = walked(city, "repeat silent caller")
    assert w.keys == "" and w.tickets == () and w.queue_at is None and w.ended_at is not None
    assert w.nodes()[-4:] == ["hello", "hello: silence", "silent_call", "silent_goodbye"]
    assert "silent_first" not in w.nodes()


def test_a_silent_caller_nobody_answers_is_let_go_after_the_wait(city: City) -> None:
    _, flow = city
    w = walk(flow, Scenario("silent", "", Caller(kind="silent"), answer_after=None), seconds().of)
    assert w.nodes()[-2:] == ["silent_queue: unanswered", "silent_goodbye"]
    assert w.queue_at is not None and w.ended_at is not None and w.ended_at > w.queue_at + 120


def test_the_talking_caller_reaches_the_operator_queue_from_the_welcome(city: City) -> None:
    _, w = walked(city, "talking caller")
    assert w.keys == "" and w.tickets == ()
    assert w.nodes() == ["greet", "welcome", "welcome: speech", "operator"]  # "atau tetap di saluran"
    assert w.queue_at is not None


def test_the_known_caller_presses_3_for_the_state_of_their_report(city: City) -> None:
    want, w = walked(city, "known caller")
    assert want.scenario.open_ticket is not None
    assert w.keys == "3" and w.tickets == ()
    assert w.nodes() == [
        "greet",
        "welcome_known",
        "welcome_known: 3",
        "open_ticket_number",
        "open_ticket_status",
        "open_ticket_menu",
    ]
    assert w.reached_at is not None and w.first_key_at is not None and w.reached_at > w.first_key_at


def test_every_scenario_of_the_bench_walks_on_the_suite_s_city(city: City) -> None:
    config, flow = city
    for want in SCENARIOS:
        row = attempt(want, config, flow, seconds())
        assert row.walked is not None, row.error
        assert want.scenario.goal is None or row.walked.reached_at is not None, want.scenario.name
        if want.scenario.caller.desa == FARTHEST:
            assert row.want.scenario.caller.desa != FARTHEST
            assert "the place said last" not in row.want.scenario.wants


def test_a_caller_who_knows_the_keys_presses_during_the_prompts(city: City) -> None:
    _, flow = city
    first_time = walk(flow, Scenario("fire", "", Caller(categories=FIRE), Goal("queue")), seconds().of)
    knows = walk(flow, Scenario("fire", "", Caller(categories=FIRE, knows_keys=True), Goal("queue")), seconds().of)
    assert knows.keys == first_time.keys == "1"
    assert knows.first_key_at is not None and first_time.first_key_at is not None
    assert knows.first_key_at < first_time.first_key_at  # barge-in: 1 s into the welcome
    pothole = Caller(categories=("roads",), kecamatan="Bumiaji", desa="Tulungrejo", knows_keys=True)
    report = walk(flow, Scenario("pothole", "", pothole, Goal("ticket")), seconds().of)
    assert report.keys == "212##"  # a key skips the recording's instruction, # ends the recording
    assert report.moves[-1].did == "# skips the instruction, records 10 s, #"


def test_a_caller_never_takes_the_other_language_and_a_goal_out_of_reach_is_an_error(city: City) -> None:
    _, flow = city
    english = walk(flow, Scenario("fire", "", Caller(categories=FIRE, language="en"), Goal("queue")), seconds().of)
    assert english.keys == "91" and english.nodes()[2] == "welcome: 9"  # "For English, press 9": for them
    assert walked(city, "fire")[1].keys == "1"  # and not for a caller in Bahasa Indonesia
    with pytest.raises(WalkError, match="no way"):
        walk(flow, Scenario("x", "", Caller(), Goal("heard", "status_")), seconds().of)  # no open report: no 3


def test_a_scenario_the_flow_has_no_way_for_is_reported_and_the_others_still_timed(city: City) -> None:
    config, flow = city
    lost = Want(Scenario("lost", "a category the city has not", Caller(categories=("none",)), Goal("ticket")))
    row = attempt(lost, config, flow, seconds())
    assert row.walked is None and "no way" in row.error
    assert "no way through this flow" in table([row, attempt(SCENARIOS[0], config, flow, seconds())])


def test_a_desa_the_city_does_not_have_is_refused(city: City) -> None:
    config, flow = city
    [farm] = [w for w in SCENARIOS if w.scenario.name == "farm pest"]
    caller = replace(farm.scenario.caller, desa="Atlantis")
    with pytest.raises(WalkError, match="Atlantis"):
        resolve(replace(farm, scenario=replace(farm.scenario, caller=caller)), config, flow, seconds())


@pytest.mark.parametrize(
    ("text", "key", "share"),
    [
        ("Untuk Kebakaran, tekan 1.", "1", 24 / 25),
        ("Untuk desa 10, tekan 1.", "1", 22 / 23),  # not the 1 of 10
        ("Jika tidak tahu, tekan bintang.", "*", 30 / 31),
        ("Tekan tanda pagar jika sudah selesai.", "#", 17 / 37),
        ("For English, press 9.", "1", None),
    ],
)
def test_when_a_prompt_has_named_a_key(text: str, key: str, share: float | None) -> None:
    assert names_key(text, key) == share


def with_desa_menu(folder: Path) -> CityConfig:
    """The suite's city with a city's own twist: the routine report asks the desa by keys after the kecamatan."""
    copy_city(folder, ("routing", "sms", "ivr_flows"))
    flow_file = folder / "ivr_flows" / "kota_batu.yaml"
    edit(
        flow_file,
        "    choices: kecamatan       # routing/areas.yaml, numbered in file order\n"
        "    prompts: [ask_kecamatan]\n"
        "    next: description\n",
        "    choices: kecamatan\n"
        "    prompts: [ask_kecamatan]\n"
        "    next: desa\n\n"
        "  desa:\n"
        "    type: gather\n"
        "    choices: desa\n"
        "    prompts: [ask_desa]\n"
        "    prompts_after: [press_star_skip]\n"
        "    skip_key: '*'\n"
        "    next: description\n",
    )
    return load_city_config(folder)


def test_the_same_scenarios_find_their_keys_on_a_city_s_own_flow(tmp_path: Path) -> None:
    config = with_desa_menu(tmp_path)
    flow = config.default_flow
    assert flow is not None
    rows = {w.scenario.name: attempt(w, config, flow, seconds()) for w in SCENARIOS}
    pothole = rows["pothole, farthest place"]
    assert pothole.walked is not None and pothole.want.scenario.caller.desa == "Tulungrejo"
    assert "Tulungrejo (Bumiaji), the desa said last" in pothole.want.scenario.wants
    assert pothole.walked.keys == "2129#" and "desa: 9" in pothole.walked.nodes()
    farm = rows["farm pest"].walked
    assert farm is not None and farm.keys == "2327#"  # Sumberbrantas, the 7th desa of Bumiaji
    assert farm.ticket is not None and farm.ticket.details.desa == "Sumberbrantas"
    fire = rows["fire"].walked
    assert fire is not None and fire.keys == "1"
