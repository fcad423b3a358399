"""`hotline config check`: the city's data is validated with errors that name file, line and fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cityconfig import load_city_config
from tests.city_files import config_errors, copy_city, edit
from tests.suite_city import CITY_DIR, members


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return copy_city(tmp_path, ("routing", "sms"))


def test_the_suites_kota_batu_data_is_valid() -> None:
    """The suite's copy (tests/city); the shipped folders are checked in tests/test_shipped_city.py."""
    config = load_city_config(CITY_DIR)
    assert {a.code for a in config.agencies} == {"PMK", "BPBD", "PUPR", "DLH", "DISTAN", "COMMAND"}
    assert config.default_agency.code == "COMMAND"
    assert all(len(a.sla) == 4 for a in config.agencies)


BROKEN = [
    # file, old, new, expected fragment of the message
    ("routing/agencies.yaml", f'"{members("PMK")[1]}"', '"0812-BAD"', "is not a valid phone number"),
    ("routing/agencies.yaml", "  - code: PUPR", "  - code: PMK", "agency code PMK is used twice"),
    (
        "routing/rules.yaml",
        "route_to: {agency: PUPR, urc: PUPR-URC}",
        "route_to: {agency: PUPRR, urc: PUPR-URC}",
        "unknown agency PUPRR",
    ),
    ("routing/rules.yaml", "when: {category: [waste]}", "when: {category: [wastes]}", "unknown category wastes"),
    (
        "routing/rules.yaml",
        "route_to: {agency: DLH, urc: DLH-URC}",
        "route_to: {agency: DLH, urc: PMK-URC}",
        "URC PMK-URC is not a unit of DLH",
    ),
    ("routing/categories.yaml", "    menu: 2\n", "    menu: 1\n", "menu digit 1 is already used"),
    ("routing/categories.yaml", "    priority: low", "    priority: lowest", "priority"),
    (
        "sms/replies.yaml",
        '"Laporan No. {number} dibatalkan."',
        '"Laporan No. {nomor} dibatalkan."',
        "uses unknown field(s) ['nomor']",
    ),
    (
        "sms/commands.yaml",
        "cancel: {id: [BATAL], en: [CANCEL]}",
        "cancel: {id: [BATAL, TERIMA], en: [CANCEL]}",
        "command word TERIMA is already used",
    ),
    ("sms/keywords.yaml", "  landslide:\n", "  landslides:\n", "category landslides is not in routing/categories"),
    ("routing/areas.yaml", "  Temas: [", "  Temass: [", "unknown desa Temass"),
    ("routing/areas.yaml", "  Punten: [-7.8450, 112.5280]", "  Punten: [-97.8, 112.5]", "not a latitude"),
]


@pytest.mark.parametrize(("file", "old", "new", "message"), BROKEN)
def test_errors_name_the_file_and_line(city: Path, file: str, old: str, new: str, message: str) -> None:
    line = edit(city / file, old, new)
    errors = config_errors(city)
    matching = [e for e in errors if message in e]
    assert matching, errors
    assert matching[0].startswith(f"{file}:")
    reported_line = int(matching[0].split(":")[1])
    assert abs(reported_line - line) <= 2, (matching[0], line)


def test_desa_points_place_a_shared_location() -> None:
    """routing/areas.yaml `points`: the map's fallback for a report known by its desa, and the desa of a GPS point."""
    config = load_city_config(CITY_DIR)
    assert config.point_of("Punten") == (-7.8450, 112.5280)
    assert config.point_of(None) is None
    assert config.nearest_desa(-7.8455, 112.5290) == "Punten"  # about 130 m from Punten's point
    assert config.nearest_desa(-7.9140, 112.5395) == "Tlekung"
    assert config.nearest_desa(-6.2, 106.8) is None  # Jakarta is no desa of this city
    assert config.kecamatan_of("Tlekung") == "Junrejo"


def test_no_default_agency_points_at_the_agencies_list(city: Path) -> None:
    edit(city / "routing/agencies.yaml", "    default: true", "    default: false")
    line = (city / "routing/agencies.yaml").read_text().splitlines().index("agencies:") + 1
    expected = f"routing/agencies.yaml:{line}: exactly one agency must be the default"
    assert any(e.startswith(expected) for e in config_errors(city))


def test_unknown_keys_are_refused_with_a_fix(city: Path) -> None:
    line = edit(city / "routing/rules.yaml", "    when: {category: [fire]}", "    wehn: {category: [fire]}")
    errors = config_errors(city)
    assert any(e.startswith(f"routing/rules.yaml:{line}:") and "fix: remove 'wehn'" in e for e in errors), errors


def test_a_catch_all_in_the_middle_is_refused(city: Path) -> None:
    edit(city / "routing/rules.yaml", "    when: {category: [roads]}\n", "")
    assert any("matches everything, so the rules after it never run" in e for e in config_errors(city))


def test_yaml_syntax_errors_have_a_line(city: Path) -> None:
    line = edit(
        city / "sms/commands.yaml",
        "  accept: {id: [TERIMA], en: [ACCEPT, ACK]}",
        "  accept: {id: [TERIMA, en: [ACCEPT, ACK]}",
    )
    errors = config_errors(city)
    assert len(errors) == 1 and errors[0].startswith("sms/commands.yaml:")
    assert abs(int(errors[0].split(":")[1]) - line) <= 1


def test_missing_file(city: Path) -> None:
    (city / "routing/areas.yaml").unlink()
    assert config_errors(city) == ["routing/areas.yaml:1: file is missing (fix: create it)"]


def test_cli_exit_codes(city: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "hotline", "config", "check", str(city)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "OK: 6 agencies" in ok.stdout
    edit(city / "routing/agencies.yaml", f'"{members("PMK")[1]}"', '"12345"')
    bad = subprocess.run(
        [sys.executable, "-m", "hotline", "config", "check", str(city)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "routing/agencies.yaml:" in bad.stderr and "'12345' is not a valid phone number" in bad.stderr
