"""ivr_flows/ is validated with the rest of the city's data: every error names file:line and a fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cityconfig import load_city_config
from tests.city_files import config_errors, copy_city, edit
from tests.suite_city import CITY_DIR, choice, choice_template, prompt

FLOW = "ivr_flows/kota_batu.yaml"
ID = "ivr_flows/prompts/id.yaml"
EN = "ivr_flows/prompts/en.yaml"


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return copy_city(tmp_path, ("routing", "sms", "ivr_flows"))


def _line_of(path: Path, needle: str) -> int:
    text = path.read_text()
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


def test_the_suites_flow_is_valid() -> None:
    config = load_city_config(CITY_DIR)
    flow = config.default_flow
    assert flow is not None and flow.id == "kota_batu" and set(config.ivr_flows) == {"kota_batu", "urc_alert"}
    assert flow.label == "2026.2" and len(flow.version) == 16
    assert flow.emergency_categories == {"fire", "landslide", "flood", "disaster"}
    assert set(flow.prompts) == {"id", "en"} and set(flow.prompts["id"]) == set(flow.prompts["en"])


# file edited, old, new, file the error is in (None: the edited one), message, fix, line (None: the edit's)
BROKEN = [
    (FLOW, "    type: say\n", "    type: sai\n", None, "unknown node type 'sai'", "did you mean 'say'?", None),
    (
        FLOW,
        "    max_wait_seconds: 120",
        "    max_wait_secs: 120",
        None,
        "max_wait_secs",
        "remove 'max_wait_secs'",
        None,
    ),
    (
        FLOW,
        "    next: open_ticket_status",
        "    next: open_ticket_statuss",
        None,
        "node open_ticket_number: 'open_ticket_statuss' is not a node",
        "did you mean 'open_ticket_status'?",
        None,
    ),
    (
        FLOW,
        "  goodbye_status:\n",
        "  orphan:\n    type: hangup\n  goodbye_status:\n",
        None,
        "node orphan can never be reached from 'greet'",
        "point a 'next' at it, or remove it",
        None,
    ),
    (
        EN,
        f'  sms_sent: "{prompt("sms_sent", "en")}"\n',
        "",
        FLOW,
        "prompt sms_sent has no en text",
        "add 'sms_sent: \"...\"' to ivr_flows/prompts/en.yaml",
        "prompts: [sms_sent, goodbye]",
    ),
    (
        FLOW,
        '      "2": routine\n      "9": {next: welcome,',
        '      "1": routine\n      "9": {next: welcome,',
        None,
        "'1' appears twice",
        "keep only one",
        None,
    ),
    (
        FLOW,
        "  categories: [flood, disaster]",
        "  categories: [flood, disasters]",
        None,
        "category 'disasters' is not known (routing/categories.yaml)",
        "did you mean 'disaster'?",
        None,
    ),
    (
        FLOW,
        "    next: open_ticket_menu\n",
        "    next: open_ticket_status\n",
        None,
        "loop without input: open_ticket_status -> open_ticket_status never waits for the caller",
        "put a menu, gather or record inside the loop",
        "  open_ticket_status:",
    ),
    (
        FLOW,
        "    template: ticket_created  #",
        "    template: ticket_create  #",
        None,
        "SMS template 'ticket_create' is not in sms/replies.yaml",
        "did you mean 'ticket_created'?",
        None,
    ),
    (
        FLOW,
        "    template: ticket_created  #",
        "    template: ask_category  #",
        None,
        "SMS template 'ask_category' needs ['menu'], which a call does not know",
        "use a template about the ticket",
        None,
    ),
    (
        ID,
        f'  goodbye: "{prompt("goodbye")}"',
        '  goodbye: "Terima kasih, laporan {number}."',
        None,
        "prompt goodbye has a placeholder {number}; prompts are fixed audio",
        "read_number",
        None,
    ),
    (
        FLOW,
        '      "9": {next: welcome, set: {language: en}}',
        '      "0": {next: welcome, set: {language: en}}',
        None,
        "0 is the operator key, it cannot be a choice in welcome",
        "operator_key: false",
        None,
    ),
    (
        FLOW,
        "set: {language: en}}",
        "set: {ticket_number: '5'}}",
        None,
        "field ticket_number is set by the engine",
        "set another field",
        None,
    ),
    (FLOW, "set: {language: en}}", "set: {language: fr}}", None, "language 'fr' is not known", "en, id", None),
    (
        FLOW,
        '      "1": emergency\n',
        '      "1": emergency_sms\n',
        None,
        "node emergency_sms can run before a ticket exists",
        "only reach emergency_sms after ticket_number is set",
        "    template: emergency_received\n",
    ),
    (
        FLOW,
        "    prompts: [ask_category]\n    prompts_after: [press_0_operator]\n    next: kecamatan",
        "    prompts: [ask_category]\n    prompts_after: [press_0_operator]\n    next: emergency_desa",
        None,
        "node emergency_desa can run before kecamatan is set",
        "only reach emergency_desa after kecamatan is set",
        "    choices: desa\n",
    ),
    (
        FLOW,
        "{when: {field: recording_url, is_set: true}",
        "{when: {field: village, is_set: true}",
        None,
        "field village is never set",
        "use one of",
        None,
    ),
    (
        FLOW,
        "  node: operator\n",
        "  node: goodbye\n",
        None,
        "operator node 'goodbye' is not a transfer",
        "transfer",
        None,
    ),
    (
        FLOW,
        "  retries: 2 ",
        "  retries: 9 ",
        None,
        "defaults.retries: Input should be less than or equal to 5",
        "",
        None,
    ),
    (
        FLOW,
        "    on_fail: operators_busy\n",
        "",
        None,
        "nodes.operator.on_fail: Field required",
        "add 'on_fail'",
        "  operator:                  #",
    ),
    (
        ID,
        "prompts:\n",
        'prompts:\n  unused_prompt: "Halo."\n',
        None,
        "prompt unused_prompt is never played",
        "use it in a flow or remove it",
        "  unused_prompt:",
    ),
    (
        EN,
        f'  category: "{choice_template("category", "en")}"',
        '  category: "For {label}."',
        None,
        "choice template for category must use {label} and {digit}",
        'e.g. "Untuk {label}, tekan {digit}."',  # the loader's own example, not the city's
        None,
    ),
    (
        FLOW,
        "start: greet",
        "start: gret",
        None,
        "start node 'gret' does not exist",
        "did you mean 'greet'?",
        None,
    ),
    (
        FLOW,
        '    prompts: ["status_{open_ticket_status}"]',
        '    prompts: ["status_{caller}"]',
        None,
        "prompt key status_{caller} is built from a field without known values",
        "build keys from",
        None,
    ),
    (
        FLOW,
        "    place_after_seconds: 30 ",
        "    # place_after_seconds: 30 ",
        None,
        "transfer emergency_queue has place but no place_after_seconds",
        "give both: place_after_seconds (e.g. 30) and place",
        "    place: emergency_category",
    ),
    (
        FLOW,
        "    place_after_seconds: 30 ",
        "    place_after_seconds: 120 ",
        None,
        "place_after_seconds (120) is not below max_wait_seconds (120) in emergency_queue",
        "ask for the place before the wait is over",
        None,
    ),
    (
        FLOW,
        "    place: emergency_category",
        "    place: goodbye_status",
        None,
        "the place questions from goodbye_status never lead back to emergency_queue",
        "end them with 'next: emergency_queue'",
        None,
    ),
    (
        FLOW,
        "    choices: kecamatan       #",
        "    categories: routine\n    choices: kecamatan       #",
        None,
        "categories: routine needs choices: category",
        "remove it",
        None,
    ),
    (
        FLOW,
        "    priority: emergency      #",
        "    priority: urgent      #",
        None,
        "priority: Input should be 'emergency', 'normal' or 'silent'",
        "",
        None,
    ),
]


@pytest.mark.parametrize(
    ("file", "old", "new", "error_file", "message", "fix", "line_of"),
    BROKEN,
    ids=[b[4][:50] for b in BROKEN],
)
def test_errors_name_the_file_the_line_and_a_fix(
    city: Path, file: str, old: str, new: str, error_file: str | None, message: str, fix: str, line_of: str | None
) -> None:
    line = edit(city / file, old, new)
    where = error_file or file
    if line_of is not None:
        line = _line_of(city / where, line_of)
    errors = config_errors(city)
    matching = [e for e in errors if message in e]
    assert matching, errors
    error = matching[0]
    assert error.startswith(f"{where}:"), error
    assert int(error.split(":")[1]) == line, (error, line)
    assert fix in error.split(" (fix: ", 1)[-1], error


def test_a_missing_prompts_file_is_named(city: Path) -> None:
    (city / EN).unlink()
    line = _line_of(city / FLOW, "languages: [id, en]")
    assert f"{FLOW}:{line}: no prompts for en (fix: create ivr_flows/prompts/en.yaml)" in config_errors(city)


def test_yaml_syntax_errors_in_a_flow_have_a_line(city: Path) -> None:
    line = edit(city / FLOW, '    options:\n      "1": emergency', '    options:\n      "1": [emergency')
    errors = config_errors(city)
    assert len(errors) == 1 and errors[0].startswith(f"{FLOW}:"), errors
    assert abs(int(errors[0].split(":")[1]) - line) <= 2


def test_two_flows_need_exactly_one_default(city: Path) -> None:
    shutil.copy(city / FLOW, city / "ivr_flows/night.yaml")
    errors = config_errors(city)
    assert any(e.startswith("ivr_flows/night.yaml:") and "3 flows and 2 marked 'default: true'" in e for e in errors)
    edit(city / "ivr_flows/night.yaml", "default: true", "default: false")
    config = load_city_config(city)
    assert set(config.ivr_flows) == {"kota_batu", "night", "urc_alert"}
    assert config.default_flow.id == "kota_batu"  # type: ignore[union-attr]


def test_without_an_ivr_flows_folder_there_is_no_phone_channel(city: Path) -> None:
    shutil.rmtree(city / "ivr_flows")
    config = load_city_config(city)
    assert config.ivr_flows == {} and config.default_flow is None


def test_menus_follow_routing_data(city: Path) -> None:
    """Menus are built from routing/: a new desa joins the menu and changes the flow's version."""
    before = load_city_config(city).default_flow
    edit(city / "routing/areas.yaml", "Tlekung, Torongrejo, Dadaprejo]", "Tlekung, Torongrejo, Dadaprejo, Baru]")
    after = load_city_config(city).default_flow
    assert before is not None and after is not None and after.version != before.version
    desa = after.nodes["emergency_desa"]
    assert [c.value for c in desa.choices["Junrejo"]][-1] == "Baru"  # type: ignore[union-attr]
    assert after.prompts["id"]["choice_desa_junrejo_baru"] == choice("desa", "Baru", 8)


def test_a_city_recording_overrides_a_generated_choice(city: Path) -> None:
    edit(city / ID, "  digit_0:", '  choice_category_emergency_fire: "Kalau ada kebakaran, tekan satu."\n  digit_0:')
    flow = load_city_config(city).default_flow
    assert flow is not None
    assert flow.prompts["id"]["choice_category_emergency_fire"] == "Kalau ada kebakaran, tekan satu."


def test_cli_reports_ivr_errors_and_the_flow_version(city: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "hotline", "config", "check", str(city)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    version = load_city_config(city).default_flow.version  # type: ignore[union-attr]
    assert f"kota_batu {version}" in " ".join(ok.stdout.split())
    line = edit(city / FLOW, "    next: open_ticket_status", "    next: nowhere")
    bad = subprocess.run(
        [sys.executable, "-m", "hotline", "config", "check", str(city)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert f"{FLOW}:{line}: node open_ticket_number: 'nowhere' is not a node" in bad.stderr


def test_more_than_nine_places_are_numbered_from_10(city: Path) -> None:
    edit(city / "routing/areas.yaml", "Tlekung, Torongrejo, Dadaprejo]", "Tlekung, Torongrejo, Dadaprejo, D8, D9, D10]")
    flow = load_city_config(city).default_flow
    assert flow is not None
    desa = flow.nodes["emergency_desa"]
    junrejo = desa.choices["Junrejo"]  # type: ignore[union-attr]
    assert [c.digits for c in junrejo] == [str(n) for n in range(10, 20)]
    assert flow.prompts["id"]["choice_desa_junrejo_d10"] == choice("desa", "D10", 19)
    assert [c.digits for c in desa.choices["Batu"]][:2] == ["1", "2"]  # type: ignore[union-attr]
