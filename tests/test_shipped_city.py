"""The data shipped at the project root (routing/, sms/, ivr_flows/) is the city's to edit; the rest of the
suite runs on its own city (tests/city). These tests are the only ones that read the shipped folders: they
are valid and still send a fire to PMK, and a city's edits to them (its real numbers, its own prompts) are
still valid and never reach the suite's city."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cityconfig import CityConfig, load_city_config
from hotline.core.city import current_config
from hotline.router import RouteFacts, initial_priority, route
from hotline.settings import PROJECT_ROOT, get_settings
from hotline.sms.grammar import parse_sms
from tests.suite_city import CITY_DIR, all_phones, prompt

FOLDERS = ("routing", "sms", "ivr_flows")
PHONE = re.compile(r'phone: "(\+\d+)"')


def config_check(folder: Path | None) -> subprocess.CompletedProcess[str]:
    """`hotline config check` on `folder`, or on HOTLINE_CONFIG_DIR (the suite's city) when None."""
    return subprocess.run(
        [sys.executable, "-m", "hotline", "config", "check", *([str(folder)] if folder else [])],
        capture_output=True,
        text=True,
        timeout=60,
    )


def phones(config: CityConfig) -> set[str]:
    """Every member and head number of a loaded city."""
    members = {m.phone for a in config.agencies for u in a.urcs for m in u.members}
    return members | {h.phone for a in config.agencies for h in a.heads}


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    for folder in FOLDERS:
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    return tmp_path


def test_the_shipped_data_passes_config_check() -> None:
    done = config_check(PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    assert "OK:" in done.stdout


def test_the_shipped_rules_send_a_fire_report_to_pmk() -> None:
    config = load_city_config(PROJECT_ROOT)
    parsed = parse_sms("KEBAKARAN di Jl. Diponegoro 12 Sisir", config.grammar, config.areas)
    assert (parsed.kind, parsed.category) == ("report", "fire")
    priority = initial_priority(config.category(parsed.category), parsed.urgent)
    decision = route(config.rules, config.agencies, RouteFacts(parsed.category, priority, parsed.kecamatan))
    assert decision.agency == "PMK"


def welcome(config: CityConfig) -> str:
    flow = config.default_flow
    assert flow is not None
    return flow.prompts["id"]["welcome"]


def test_a_city_edits_its_copy_and_the_suites_city_is_untouched(shipped_copy: Path) -> None:
    """What a city is meant to do: its own numbers for every member and head, its own words in a prompt."""
    shipped = load_city_config(PROJECT_ROOT)
    agencies = shipped_copy / "routing" / "agencies.yaml"
    numbers = iter(range(1000))
    # Every number becomes another valid Indonesian mobile number, none of them the shipped or the suite's.
    agencies.write_text(PHONE.sub(lambda _: f'phone: "+6281399{next(numbers):06d}"', agencies.read_text()))
    farming = shipped_copy / "routing" / "farming.yaml"  # the field officers are members of DISTAN's PPL teams
    farming.write_text(PHONE.sub(lambda _: f'phone: "+6281399{next(numbers):06d}"', farming.read_text()))
    prompts = shipped_copy / "ivr_flows" / "prompts" / "id.yaml"
    assert welcome(shipped) in prompts.read_text()
    prompts.write_text(prompts.read_text().replace(welcome(shipped), "Hotline Kota, silakan sampaikan laporan Anda."))

    done = config_check(shipped_copy)
    assert done.returncode == 0, done.stderr
    edited = load_city_config(shipped_copy)
    assert len(phones(edited)) == len(phones(shipped)) and not phones(edited) & phones(shipped)
    assert welcome(edited) == "Hotline Kota, silakan sampaikan laporan Anda."

    # The suite's city is loaded from tests/city, whatever the shipped folders (or a copy of them) hold:
    # in this process...
    get_settings.cache_clear()
    assert get_settings().config_dir == CITY_DIR
    suites = current_config()
    assert phones(suites) == set(all_phones())
    assert not phones(suites) & (phones(shipped) | phones(edited))
    assert welcome(suites) == prompt("welcome") != welcome(shipped)
    # ...and in a process started with the suite's environment: it checks the suite's flow, not the shipped one.
    done = config_check(None)
    assert done.returncode == 0, done.stderr
    flow, shipped_flow = suites.default_flow, shipped.default_flow
    assert flow is not None and shipped_flow is not None and flow.version != shipped_flow.version
    assert f"kota_batu {flow.version}" in " ".join(done.stdout.split())


def test_the_shipped_farming_data_gives_every_desa_a_ppl_team_and_a_point() -> None:
    config = load_city_config(PROJECT_ROOT)
    farm = config.farming
    assert farm.enabled and farm.agency == "DISTAN"
    desa = [d for k in config.areas for d in k.desa]
    assert all(farm.ppl_urc(d, None) for d in desa)  # placeholders until Dinas Pertanian lists its PPL
    assert all(config.point_of(d) for d in desa)  # the outbreak watch measures between desa points
    assert set(farm.coordinators) == {k.name for k in config.areas}
    distan = config.agency("DISTAN")
    assert distan is not None and {u.code for u in distan.urcs} >= farm.ppl_urc_codes
    assert not phones(config) & set(all_phones())  # the suite's 80 PPL are not the shipped placeholders


def test_shipped_early_warnings_load_for_every_hazard_in_both_languages() -> None:
    """sms/broadcasts.yaml (issue 21): its hazards name categories of the shipped city, each in id and en, and a
    warning to every desa of a kecamatan with the check-in fits its parts limit."""
    from hotline.features.broadcasts.city_data import load
    from hotline.sms.encoding import measure

    shipped = load_city_config(PROJECT_ROOT)
    data = load(PROJECT_ROOT, {c.code for c in shipped.categories})
    assert {"landslide", "flood", "eruption"} <= set(data.hazards)
    assert data.words["DAFTAR"] == ("subscribe", "id") and data.words["BANTU"] == ("help", "id")
    widest = ", ".join(max((k.desa for k in shipped.areas), key=len))
    for hazard in data.hazards.values():
        for lang in ("id", "en"):
            text = f"{hazard.texts[lang].format(desa=widest)} {data.checkin[lang]}"
            assert measure(text).encoding == "gsm7" and measure(text).segments <= data.max_segments, (hazard.code, lang)
