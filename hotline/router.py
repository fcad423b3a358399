"""Pure routing: ordered rules, first match wins, the last rule catches everything."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.cityconfig.model import PRIORITIES, AgencySpec, CategorySpec, RuleSpec


@dataclass(frozen=True)
class RouteFacts:
    category: str | None
    priority: str
    kecamatan: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    agency: str
    urc: str
    rule: str


class NoRouteError(LookupError):
    """No rule matched: the rules file lacks its catch-all (config check refuses such a file)."""


def _matches(rule: RuleSpec, facts: RouteFacts) -> bool:
    if rule.categories is not None and facts.category not in rule.categories:
        return False
    if rule.priorities is not None and facts.priority not in rule.priorities:
        return False
    return rule.kecamatan is None or facts.kecamatan in rule.kecamatan


def route(rules: tuple[RuleSpec, ...], agencies: tuple[AgencySpec, ...], facts: RouteFacts) -> RouteDecision:
    by_code = {a.code: a for a in agencies}
    for rule in rules:
        if _matches(rule, facts):
            urc = rule.urc or by_code[rule.agency].urcs[0].code
            return RouteDecision(rule.agency, urc, rule.name)
    raise NoRouteError(f"no routing rule matched {facts}")


def initial_priority(category: CategorySpec | None, urgent: bool) -> str:
    """A category's starting priority, one step more urgent when the citizen used urgent words."""
    base = category.priority if category else "normal"
    index = PRIORITIES.index(base)
    return PRIORITIES[max(0, index - 1)] if urgent else base
