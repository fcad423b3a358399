"""bench/ivr_timing.py's scenarios walked through the real engine on the suite's city (tests/city): the PATH each
caller takes -- nodes, keys, a ticket opened, the call queued --, not the seconds (those are the bench's, from
the built prompts). Prompts are timed by their words here (no audio is built)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.ivr_timing import FARTHEST, SCENARIOS, Want, attempt, resolve, table
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


def walked(city: City, name: str) -> tuple[Want, Walk]:
    config, flow = city
    [want] = [w for w in SCENARIOS if w.scenario.name == name]
    return resolve(want, config, flow, PromptSeconds(PromptAudio()))


def test_the_fire_caller_talks_through_the_welcome_presses_fire_and_is_queued_with_a_ticket(city: City) -> None:
    _, w = walked(city, "fire")
    assert w.keys == "1"
    assert w.nodes() == [
        "welcome",
        "welcome: speech",  # no key at the welcome (it names only 9, English): the caller says "halo?"
        "check_open_ticket",
        "category",
        "category: 1",
        "check_emergency",
        "emergency_ticket",
        "emergency_ticket: ticket:1",
        "emergency_sms",
        "emergency_number",
        "operator",
    ]
    assert w.ticket_at is not None and not w.ticket_partial
    assert w.queue_at is not None and w.reached_at == w.queue_at
    assert w.first_key_at == w.ticket_at  # the ticket opens on the key


def test_the_pothole_is_reported_from_the_desa_said_last_with_a_recording(city: City) -> None:
    want, w = walked(city, "pothole, farthest desa")
    assert (want.scenario.caller.kecamatan, want.scenario.caller.desa) == ("Bumiaji", "Tulungrejo")  # 9th of 9
    assert w.keys == "429#"  # roads, Bumiaji, Tulungrejo, then # after speaking (the instruction names it)
    assert [n for n in w.nodes() if ": " in n] == [
        "welcome: speech",
        "category: 4",
        "kecamatan: 2",
        "desa: 9",
        "description: recorded",
        "save: ticket:1",
    ]
    assert w.ticket_at == w.reached_at and not w.ticket_partial and w.queue_at is None
    assert w.nodes()[-1] == "goodbye" and w.ended_at is not None


def test_the_farm_pest_goes_to_farming_in_sumberbrantas(city: City) -> None:
    _, w = walked(city, "farm pest")
    assert w.keys == "627#"
    assert "category: 6" in w.nodes() and "desa: 7" in w.nodes() and "save: ticket:1" in w.nodes()


def test_the_silent_caller_is_asked_once_more_and_let_go_without_a_ticket(city: City) -> None:
    _, w = walked(city, "silent caller")
    assert w.keys == "" and w.ticket_at is None and w.queue_at is None
    assert w.nodes() == ["welcome", "welcome: silence", "hello", "hello: silence", "silent_call", "silent_goodbye"]
    assert w.ended_at is not None


def test_the_talking_caller_reaches_the_operator_after_the_category_menu_three_times(city: City) -> None:
    _, w = walked(city, "talking caller")
    assert w.keys == "" and w.ticket_at is None
    assert w.nodes()[-4:] == ["category: no_input", "category: no_input", "category: no_input", "operator"]
    assert w.queue_at is not None


def test_the_known_caller_hears_the_state_of_their_report_without_a_key(city: City) -> None:
    _, w = walked(city, "known caller")
    assert w.keys == "" and w.reached_at is not None
    assert w.nodes()[-3:] == ["open_ticket_number", "open_ticket_status", "open_ticket_menu"]


def test_every_scenario_of_the_bench_walks_on_the_suite_s_city(city: City) -> None:
    for want in SCENARIOS:
        resolved, w = walked(city, want.scenario.name)
        assert want.scenario.goal is None or w.reached_at is not None, want.scenario.name
        if want.scenario.caller.desa == FARTHEST:
            assert resolved.scenario.caller.desa != FARTHEST


def test_a_caller_who_knows_the_keys_presses_during_the_prompts(city: City) -> None:
    _, flow = city
    seconds = PromptSeconds(PromptAudio())
    first_time = walk(flow, Scenario("fire", "", Caller(categories=("fire",)), Goal("queue")), seconds.of)
    knows = walk(flow, Scenario("fire", "", Caller(categories=("fire",), knows_keys=True), Goal("queue")), seconds.of)
    assert knows.keys == first_time.keys == "1"
    assert knows.first_key_at is not None and first_time.first_key_at is not None
    assert knows.first_key_at < first_time.first_key_at  # barge-in: 1 s into the category menu
    pothole = Caller(categories=("roads",), kecamatan="Bumiaji", desa="Tulungrejo", knows_keys=True)
    report = walk(flow, Scenario("pothole", "", pothole, Goal("ticket")), seconds.of)
    assert report.keys == "429##"  # a key skips the recording's instruction, # ends the recording
    assert report.moves[-1].did == "# skips the instruction, records 10 s, #"


def test_a_caller_never_takes_the_other_language_and_a_goal_out_of_reach_is_an_error(city: City) -> None:
    _, flow = city
    seconds = PromptSeconds(PromptAudio())
    english = walk(flow, Scenario("fire", "", Caller(categories=("fire",), language="en"), Goal("queue")), seconds.of)
    assert english.keys == "91" and english.nodes()[1] == "welcome: 9"  # "For English, press 9": for them
    with pytest.raises(WalkError, match="no way"):
        walk(flow, Scenario("x", "", Caller(categories=("none",)), Goal("ticket")), seconds.of)


def test_a_scenario_the_flow_has_no_way_for_is_reported_and_the_others_still_timed(city: City) -> None:
    config, flow = city
    lost = Want(Scenario("lost", "a category the city has not", Caller(categories=("none",)), Goal("ticket")))
    row = attempt(lost, config, flow, PromptSeconds(PromptAudio()))
    assert row.walked is None and "no way" in row.error
    assert "no way through this flow" in table([row, attempt(SCENARIOS[0], config, flow, PromptSeconds(PromptAudio()))])


def test_a_desa_the_city_does_not_have_is_refused(city: City) -> None:
    config, flow = city
    [farm] = [w for w in SCENARIOS if w.scenario.name == "farm pest"]
    caller = replace(farm.scenario.caller, desa="Atlantis")
    with pytest.raises(WalkError, match="Atlantis"):
        resolve(
            replace(farm, scenario=replace(farm.scenario, caller=caller)), config, flow, PromptSeconds(PromptAudio())
        )


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


def emergency_first(folder: Path) -> Flow:
    """The suite's city with an emergency-first welcome, as issue 24 asks for: 1 an emergency (a ticket, then the
    queue, no number read), 2 other reports, 9 English, silence the operator queue after one more try."""
    copy_city(folder, ("routing", "sms", "ivr_flows"))
    flow_file = folder / "ivr_flows" / "kota_batu.yaml"
    welcome = flow_file.read_text().split("  welcome:\n", 1)[1].split("\n\n", 1)[0]
    edit(
        flow_file,
        welcome,
        """    type: menu
    prompts: [welcome]
    timeout_seconds: 3
    options:
      "1": {next: emergency_ticket, set: {category: disaster}}
      "2": check_open_ticket
      "9": {next: check_open_ticket, set: {language: en}}
    default: operator
    on_silence: hello
    on_fail: operator""",
    )
    edit(
        flow_file,
        "    type: read_number\n    field: ticket_number\n    prompts: [emergency_received]",
        "    type: say\n    prompts: [emergency_received]",
    )
    for language, text in (
        ("id", "Jika darurat, tekan 1 atau tetap di saluran. Laporan lain, tekan 2. For English, press 9."),
        ("en", "For an emergency press 1 or stay on the line. Other reports, press 2."),
    ):
        prompts = folder / "ivr_flows" / "prompts" / f"{language}.yaml"
        old = next(line for line in prompts.read_text().splitlines() if line.startswith("  welcome: "))
        edit(prompts, old, f'  welcome: "{text}"')
    flow = load_city_config(folder).default_flow
    assert flow is not None
    return flow


def test_the_same_scenarios_find_their_keys_on_an_emergency_first_flow(tmp_path: Path) -> None:
    flow = emergency_first(tmp_path)
    config = load_city_config(tmp_path)
    rows = {w.scenario.name: resolve(w, config, flow, PromptSeconds(PromptAudio()))[1] for w in SCENARIOS}
    assert rows["fire"].keys == "1" and rows["fire"].nodes()[1] == "welcome: 1" and rows["fire"].queue_at is not None
    assert (
        rows["fire"].first_key_at is not None and rows["fire"].first_key_at < 5
    )  # "Jika darurat, tekan 1" comes first
    # A routine caller never takes the emergency key, though it opens a ticket sooner: "Laporan lain, tekan 2".
    assert rows["pothole, farthest desa"].keys == "2429#"
    assert rows["farm pest"].keys.startswith("26")
    assert rows["talking caller"].nodes()[-2:] == ["welcome: speech", "operator"]  # "tetap di saluran": queued
    assert rows["known caller"].keys == "2"
