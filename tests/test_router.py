"""Routing is pure: ordered rules, first match wins, the rule that matched is part of the answer."""

from __future__ import annotations

import pytest

from hotline.cityconfig import load_city_config
from hotline.cityconfig.model import AgencySpec, CategorySpec, RuleSpec, UrcSpec
from hotline.router import NoRouteError, RouteFacts, initial_priority, route
from tests.suite_city import CITY_DIR

CONFIG = load_city_config(CITY_DIR)

CASES = [
    ("fire", "critical", None, "PMK", "PMK-URC", "fire-to-pmk"),
    ("landslide", "critical", "Bumiaji", "BPBD", "BPBD-TRC", "disasters-to-bpbd"),
    ("flood", "high", None, "BPBD", "BPBD-TRC", "disasters-to-bpbd"),
    ("disaster", "high", None, "BPBD", "BPBD-TRC", "disasters-to-bpbd"),
    ("roads", "normal", None, "PUPR", "PUPR-URC", "roads-to-pupr"),
    ("waste", "low", None, "DLH", "DLH-URC", "waste-to-dlh"),
    ("farm", "normal", "Batu", "DISTAN", "PPL-BATU", "farm-batu"),
    ("farm", "normal", "Bumiaji", "DISTAN", "PPL-BUMIAJI", "farm-bumiaji"),
    ("farm", "normal", "Junrejo", "DISTAN", "PPL-JUNREJO", "farm-junrejo"),
    ("farm", "normal", None, "DISTAN", "DISTAN-POSKO", "farm-unknown-place"),
    ("other", "normal", None, "COMMAND", "COMMAND-DESK", "default-command-center"),
    (None, "normal", None, "COMMAND", "COMMAND-DESK", "default-command-center"),
]


@pytest.mark.parametrize(("category", "priority", "kecamatan", "agency", "urc", "rule"), CASES)
def test_route_kota_batu(
    category: str | None, priority: str, kecamatan: str | None, agency: str, urc: str, rule: str
) -> None:
    decision = route(CONFIG.rules, CONFIG.agencies, RouteFacts(category, priority, kecamatan))
    assert (decision.agency, decision.urc, decision.rule) == (agency, urc, rule)


def test_first_match_wins_and_urc_defaults_to_the_agencys_first() -> None:
    agencies = (
        AgencySpec("A", "A", False, {}, (UrcSpec("A-1", "a1", ()), UrcSpec("A-2", "a2", ()))),
        AgencySpec("B", "B", True, {}, (UrcSpec("B-1", "b1", ()),)),
    )
    rules = (
        RuleSpec("urgent-to-a", "A", None, priorities=frozenset({"critical"})),
        RuleSpec("fire-to-b", "B", "B-1", categories=frozenset({"fire"})),
        RuleSpec("rest", "B", None),
    )
    assert route(rules, agencies, RouteFacts("fire", "critical")).rule == "urgent-to-a"
    assert route(rules, agencies, RouteFacts("fire", "critical")).urc == "A-1"
    assert route(rules, agencies, RouteFacts("fire", "high")).rule == "fire-to-b"
    assert route(rules, agencies, RouteFacts("flood", "high")).rule == "rest"


def test_no_catch_all_is_an_error_not_a_silent_drop() -> None:
    agencies = (AgencySpec("A", "A", True, {}, (UrcSpec("A-1", "a1", ()),)),)
    with pytest.raises(NoRouteError):
        route((RuleSpec("fire", "A", None, categories=frozenset({"fire"})),), agencies, RouteFacts("flood", "high"))


@pytest.mark.parametrize(
    ("base", "urgent", "expected"),
    [
        ("low", False, "low"),
        ("low", True, "normal"),
        ("normal", True, "high"),
        ("high", True, "critical"),
        ("critical", True, "critical"),
        (None, False, "normal"),
        (None, True, "high"),
    ],
)
def test_urgent_words_raise_priority_one_step(base: str | None, urgent: bool, expected: str) -> None:
    category = CategorySpec("x", {"id": "X"}, 1, base) if base else None
    assert initial_priority(category, urgent) == expected
