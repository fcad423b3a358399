"""The pure duplicate matcher (hotline/duplicates.py) and the merge rules file (routing/merging.yaml)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.cityconfig import ConfigErrors, load_city_config
from hotline.cityconfig.model import PRIORITIES, MergeRule
from hotline.duplicates import Candidate, NewReport, Place, distance_m, find_duplicate, priority_for, text_score
from tests.city_files import copy_city
from tests.suite_city import CITY_DIR

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
RULE = MergeRule(
    enabled=True,
    window_minutes=120,
    radius_m=300,
    same_desa=True,
    text_similarity=85,
    priority_at=((3, "high"), (6, "critical")),
)
# Alun-alun Kota Batu; 0.001 degree of latitude is about 111 m.
LAT, LON = -7.8712, 112.5265
LANDSLIDE = "longsor di jalan raya sumberbrantas dekat masjid, jalan tertutup tanah"


def place(desa: str | None = None, kecamatan: str | None = None, north_m: float | None = None) -> Place:
    if north_m is None:
        return Place(desa, kecamatan)
    return Place(desa, kecamatan, LAT + north_m / 111_195, LON)


def cand(ticket_id: int, where: Place, text: str = "", minutes_ago: float = 10) -> Candidate:
    return Candidate(ticket_id, text, where, NOW - timedelta(minutes=minutes_ago))


CASES = [
    # (name, report text, report place, candidates, rule, expected (ticket, rule) or None)
    ("same desa", "LONGSOR", place("Sumberbrantas"), [cand(7, place("sumberbrantas"))], RULE, (7, "same_desa")),
    ("another desa", LANDSLIDE, place("Punten"), [cand(7, place("Sumberbrantas"), LANDSLIDE)], RULE, None),
    ("another kecamatan", LANDSLIDE, place(None, "Batu"), [cand(7, place(None, "Bumiaji"), LANDSLIDE)], RULE, None),
    ("near GPS", "tanah longsor", place(north_m=0), [cand(3, place(north_m=150))], RULE, (3, "near_gps")),
    (
        "GPS too far although the desa is the same",
        "LONGSOR",
        place("Punten", north_m=0),
        [cand(3, place("Punten", north_m=450))],
        RULE,
        None,
    ),
    (
        "similar text with no place",
        "Longsor di jalan raya Sumberbrantas dekat masjid, jalan tertutup tanah!",
        place(),
        [cand(4, place(), LANDSLIDE)],
        RULE,
        (4, "similar_text"),
    ),
    ("unlike text", LANDSLIDE, place(), [cand(4, place(), "pohon tumbang menutup jalan di depan sekolah")], RULE, None),
    ("texts too short to compare", "LONGSOR", place(), [cand(4, place(), "longsor")], RULE, None),
    ("outside the window", "LONGSOR", place("Punten"), [cand(5, place("Punten"), minutes_ago=121)], RULE, None),
    ("merging off", "LONGSOR", place("Punten"), [cand(5, place("Punten"))], MergeRule(), None),
    (
        "same desa does not count when the rule says so",
        "JALAN berlubang",
        place("Punten"),
        [cand(5, place("Punten"))],
        MergeRule(enabled=True, window_minutes=60, radius_m=100, same_desa=False),
        None,
    ),
    (
        "near GPS beats same desa",
        "LONGSOR",
        place("Punten", north_m=0),
        [cand(1, place("Punten")), cand(2, place("Punten", north_m=90))],
        RULE,
        (2, "near_gps"),
    ),
    (
        "the closest of two near ones",
        "LONGSOR",
        place(north_m=0),
        [cand(1, place(north_m=250)), cand(2, place(north_m=-40))],
        RULE,
        (2, "near_gps"),
    ),
    (
        "the oldest ticket of two in the same desa",
        "LONGSOR",
        place("Punten"),
        [cand(9, place("Punten")), cand(6, place("Punten"))],
        RULE,
        (6, "same_desa"),
    ),
    ("no candidates", "LONGSOR", place("Punten"), [], RULE, None),
]


@pytest.mark.parametrize(("name", "text", "where", "candidates", "rule", "expected"), CASES, ids=[c[0] for c in CASES])
def test_find_duplicate(
    name: str,
    text: str,
    where: Place,
    candidates: list[Candidate],
    rule: MergeRule,
    expected: tuple[int, str] | None,
) -> None:
    match = find_duplicate(NewReport(text, where, NOW), candidates, rule)
    assert (None if match is None else (match.ticket_id, match.rule)) == expected, name


def test_scores_say_why() -> None:
    gps = find_duplicate(NewReport("x", place(north_m=0), NOW), [cand(3, place(north_m=150))], RULE)
    assert gps is not None and gps.score is not None and 148 <= gps.score <= 152
    assert gps.reason.startswith("near GPS (15") and gps.reason.endswith(" m)")
    text = find_duplicate(NewReport(LANDSLIDE.upper(), place(), NOW), [cand(4, place(), LANDSLIDE)], RULE)
    assert text is not None and text.score == 100.0 and text.reason == "similar text (100%)"
    desa = find_duplicate(NewReport("x", place("Punten"), NOW), [cand(1, place("Punten"))], RULE)
    assert desa is not None and desa.score is None and desa.reason == "same desa"


def test_haversine_and_text_score() -> None:
    a, b = Place(latitude=LAT, longitude=LON), Place(latitude=LAT + 0.01, longitude=LON)
    assert 1110 < distance_m(a, b) < 1114
    assert distance_m(a, a) == 0
    assert text_score("longsor", LANDSLIDE) is None
    low = text_score(LANDSLIDE, "banjir di perumahan dekat sungai brantas")
    assert low is not None and low < 60
    # a ticket's text with follow-up lines: the best line counts, short lines are skipped
    assert text_score(LANDSLIDE, f"pohon tumbang di jalan raya\nok\n{LANDSLIDE}") == 100.0


PRIORITY_CASES = [
    (1, "normal", "normal"),
    (2, "normal", "normal"),
    (3, "normal", "high"),
    (5, "high", "high"),
    (6, "normal", "critical"),
    (3, "critical", "critical"),  # never lower
    (9, "low", "critical"),
]


@pytest.mark.parametrize(("reporters", "current", "expected"), PRIORITY_CASES)
def test_priority_rises_with_reporters_and_never_falls(reporters: int, current: str, expected: str) -> None:
    assert priority_for(reporters, current, RULE.priority_at, PRIORITIES) == expected


# --- routing/merging.yaml ----------------------------------------------------------------------------


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return copy_city(tmp_path, ("routing", "sms"))


def test_the_suites_rules() -> None:
    merging = load_city_config(CITY_DIR).merging
    landslide, farm, roads = (merging.for_category(c) for c in ("landslide", "farm", "roads"))
    assert landslide.enabled and landslide.window_minutes == 360 and landslide.radius_m == 500
    assert landslide.priority_at == ((3, "high"), (6, "critical"))  # from the default
    assert not farm.enabled
    assert roads.enabled and not roads.same_desa


BROKEN = [
    # old, new, message, and whether it names a fix (range errors from the schema say the range instead)
    ("  landslide:\n", "  landslides:\n", "unknown category landslides", True),
    ("{3: high, 6: critical}", "{3: critical, 6: high}", "6 reporters give high, not more urgent than critical", True),
    ("{3: high, 6: critical}", "{1: high}", "priority at 1 reporter(s)", True),
    ("    window_minutes: 60 ", "    window_minutes: -5 ", "window_minutes: Input should be greater than 0", False),
    ("    radius_m: 200", "    radius: 200", "remove 'radius'", True),
    ("  text_similarity: 85", "  text_similarity: 20", "text_similarity: Input should be greater than or equal", False),
]


@pytest.mark.parametrize(("old", "new", "message", "has_fix"), BROKEN)
def test_rule_errors_name_file_line_and_fix(city: Path, old: str, new: str, message: str, has_fix: bool) -> None:
    path = city / "routing/merging.yaml"
    text = path.read_text()
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigErrors) as caught:
        load_city_config(city)
    errors = [str(e) for e in caught.value.errors]
    found = [e for e in errors if message in e]
    assert found and found[0].startswith("routing/merging.yaml:"), errors
    assert abs(int(found[0].split(":")[1]) - line) <= 1, (found[0], line)
    assert ("(fix: " in found[0]) == has_fix, found[0]


def test_no_rules_file_means_no_merging(city: Path) -> None:
    (city / "routing/merging.yaml").unlink()
    config = load_city_config(city)
    assert not any(config.merging.for_category(c.code).enabled for c in config.categories)


def test_config_check_covers_the_rules(city: Path) -> None:
    command = [sys.executable, "-m", "hotline", "config", "check", str(city)]
    ok = subprocess.run(command, capture_output=True, text=True)
    assert ok.returncode == 0 and "duplicate merging for 6 of 8 categories" in ok.stdout, ok.stdout + ok.stderr
    path = city / "routing/merging.yaml"
    path.write_text(path.read_text().replace("  flood:\n", "  floods:\n"))
    bad = subprocess.run(command, capture_output=True, text=True)
    assert bad.returncode == 1 and "routing/merging.yaml:" in bad.stderr and "unknown category floods" in bad.stderr
