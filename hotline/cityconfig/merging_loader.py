"""routing/merging.yaml: when a new report joins an open ticket instead of opening its own (duplicate merging).

The file is optional: a city without it never merges, as before the feature existed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.cityconfig.errors import ConfigError
from hotline.cityconfig.model import PRIORITIES, CategorySpec, MergeRule, MergeRules
from hotline.cityconfig.schema_errors import pydantic_errors
from hotline.cityconfig.yamlsource import ConfigErrorOnRead, YamlSource, read_yaml

FILE = "routing/merging.yaml"
Priority = Literal["critical", "high", "normal", "low"]
MAX_WINDOW_MINUTES = 7 * 24 * 60  # a week: older "duplicates" are new incidents
MAX_RADIUS_M = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleIn(_Strict):
    merge: bool | None = None
    window_minutes: float | None = Field(default=None, gt=0, le=MAX_WINDOW_MINUTES)
    radius_m: float | None = Field(default=None, ge=0, le=MAX_RADIUS_M)
    same_desa: bool | None = None
    text_similarity: float | None = Field(default=None, ge=50, le=100)
    priority_at: dict[int, Priority] | None = None


class MergingFile(_Strict):
    default: RuleIn
    categories: dict[str, RuleIn] = {}


def load_merging(root: Path, categories: tuple[CategorySpec, ...]) -> tuple[MergeRules, list[ConfigError]]:
    """The rules, or (no rules, errors naming file:line and the fix)."""
    if not (root / FILE).exists():
        return MergeRules(), []
    try:
        source = read_yaml(root / FILE, FILE)
    except ConfigErrorOnRead as exc:
        return MergeRules(), [exc.error]
    try:
        parsed = MergingFile.model_validate(source.data)
    except ValidationError as exc:
        return MergeRules(), pydantic_errors(source, exc)
    errors: list[ConfigError] = []
    if parsed.default.window_minutes is None:
        errors.append(source.error(("default",), "default has no window_minutes", "add e.g. 'window_minutes: 120'"))
    default = _rule(source, ("default",), parsed.default, MergeRule(enabled=True), errors)
    codes = {c.code for c in categories}
    rules: dict[str, MergeRule] = {}
    for code, spec in parsed.categories.items():
        if code not in codes:
            errors.append(
                source.error(
                    ("categories", code),
                    f"unknown category {code}",
                    f"use one of {', '.join(sorted(codes))} (routing/categories.yaml)",
                )
            )
            continue
        rules[code] = _rule(source, ("categories", code), spec, default, errors)
    return (MergeRules(default, rules), errors) if not errors else (MergeRules(), errors)


def _rule(
    source: YamlSource, path: tuple[str | int, ...], spec: RuleIn, base: MergeRule, errors: list[ConfigError]
) -> MergeRule:
    steps = base.priority_at
    if spec.priority_at is not None:
        steps = tuple(sorted(spec.priority_at.items()))
        for (count, priority), (_, before) in zip(steps[1:], steps, strict=False):
            if PRIORITIES.index(priority) >= PRIORITIES.index(before):
                errors.append(
                    source.error(
                        (*path, "priority_at", str(count)),
                        f"{count} reporters give {priority}, not more urgent than {before} at fewer reporters",
                        "list priorities from less to more urgent as the reporters grow, e.g. {3: high, 6: critical}",
                    )
                )
        if steps and steps[0][0] < 2:
            errors.append(
                source.error(
                    (*path, "priority_at"),
                    f"priority at {steps[0][0]} reporter(s): a ticket always has one",
                    "count from 2 reporters up",
                )
            )
    return MergeRule(
        enabled=base.enabled if spec.merge is None else spec.merge,
        window_minutes=base.window_minutes if spec.window_minutes is None else spec.window_minutes,
        radius_m=base.radius_m if spec.radius_m is None else spec.radius_m,
        same_desa=base.same_desa if spec.same_desa is None else spec.same_desa,
        text_similarity=base.text_similarity if spec.text_similarity is None else spec.text_similarity,
        priority_at=steps,
    )
