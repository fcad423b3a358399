"""The no-cycle contract CI runs through lint-imports (ci_checks/import_cycles.py, issue 16): it finds a loop of
any length among a root package's modules, says which modules form it with the chain through them, and keeps a
graph whose imports only go one way. A check that could not fail would let the cycles back in unseen."""

from __future__ import annotations

import grimp
import pytest

from ci_checks.import_cycles import NoCycles

pytestmark = pytest.mark.unit


def graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    g = grimp.ImportGraph()
    for importer, imported in imports:
        g.add_module(importer)
        g.add_module(imported)
        g.add_import(importer=importer, imported=imported)
    return g


def check(g: grimp.ImportGraph) -> list[dict[str, list[str]]]:
    contract = NoCycles("no cycles", session_options={"root_package": "app"}, contract_options={})
    result = contract.check(g, verbose=False)
    assert result.kept == (not result.metadata["cycles"])
    cycles: list[dict[str, list[str]]] = result.metadata["cycles"]
    return cycles


def test_imports_that_go_one_way_keep_the_contract() -> None:
    g = graph(("app.web", "app.features.tickets"), ("app.features.tickets", "app.core"), ("app.web", "app.core"))
    assert check(g) == []


def test_a_loop_through_three_modules_is_one_cycle_with_its_chain() -> None:
    g = graph(
        ("app.features.sms", "app.features.tickets"),
        ("app.features.tickets", "app.jobs.escalation"),
        ("app.jobs.escalation", "app.features.sms"),
        ("app.web", "app.features.sms"),  # imports into the loop are not part of it
    )
    [cycle] = check(g)
    assert cycle["modules"] == ["app.features.sms", "app.features.tickets", "app.jobs.escalation"]
    chain = cycle["chain"]
    assert chain[0] == chain[-1] == "app.features.sms" and set(chain) == set(cycle["modules"])


def test_two_separate_loops_are_two_cycles_and_other_packages_do_not_count() -> None:
    g = graph(
        ("app.settings", "app.gateway_config"),
        ("app.gateway_config", "app.settings"),
        ("app.cli", "app.user_cli"),
        ("app.user_cli", "app.cli"),
        ("other.a", "other.b"),
        ("other.b", "other.a"),
    )
    assert [c["modules"] for c in check(g)] == [["app.cli", "app.user_cli"], ["app.gateway_config", "app.settings"]]
