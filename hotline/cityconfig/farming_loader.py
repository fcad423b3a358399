"""routing/farming.yaml (optional): validated like every city file, errors with file:line and a fix.

The field officers listed here become URCs of the farming agency, one per desa (and per desa and commodity when an
officer works one commodity only): alerts, TERIMA/SELESAI and escalation then work for them as for any URC."""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.cityconfig.errors import ConfigError
from hotline.cityconfig.farming import (
    REGISTRY_FIELDS,
    REQUIRED_FIELDS,
    Commodity,
    Coordinator,
    FarmingRules,
    FarmSla,
    FieldOfficer,
    OutbreakRule,
    SubCategory,
    ppl_urc_code,
)
from hotline.cityconfig.model import AgencySpec, CategorySpec, KecamatanSpec, MemberSpec, UrcSpec
from hotline.cityconfig.schema_errors import pydantic_errors
from hotline.cityconfig.yamlsource import ConfigErrorOnRead, YamlSource, read_yaml
from hotline.phone import to_e164

FILE = "routing/farming.yaml"
Names = dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistryIn(_Strict):
    columns: dict[str, str]
    commodity_separator: str = ","


class SlaIn(_Strict):
    accept: Annotated[float, Field(gt=0)]
    resolve: Annotated[float, Field(gt=0)]


class SubCategoryIn(_Strict):
    name: Names
    keyword: list[str] = []
    words: list[str] = []
    sla: SlaIn | None = None


class CommodityIn(_Strict):
    name: Names
    words: list[str] = []


class OfficerIn(_Strict):
    name: str
    phone: str | int
    desa: list[str] = Field(min_length=1)
    commodities: list[str] = []


class ContactIn(_Strict):
    name: str
    phone: str | int


class OutbreakIn(_Strict):
    reports: Annotated[int, Field(ge=2, le=1000)]
    radius_km: Annotated[float, Field(gt=0, le=100)]
    window_days: Annotated[float, Field(gt=0, le=90)]
    same_commodity: bool = True
    subcategories: list[str] = []


class TextsIn(_Strict):
    farmer: str
    outbreak: str
    warning: str
    advice: str
    advice_sent: str


class FarmingFile(_Strict):
    agency: str
    categories: list[str] = Field(min_length=1)
    registry: RegistryIn
    commodities: dict[str, CommodityIn]
    subcategories: dict[str, SubCategoryIn]
    field_officers: list[OfficerIn] = []
    coordinators: dict[str, list[ContactIn]] = {}
    outbreak: OutbreakIn
    texts: TextsIn


FARMER_FIELDS = frozenset({"name", "kelompok_tani", "commodity", "desa", "subcategory"})
OUTBREAK_FIELDS = frozenset({"subcategory", "commodity", "count", "days", "places", "number"})
WARNING_FIELDS = frozenset({"subcategory", "commodity", "places", "agency"})
ADVICE_FIELDS = frozenset({"number", "name", "advice"})


def read_farming(
    root: Path,
    *,
    region: str,
    agencies: tuple[AgencySpec, ...],
    categories: tuple[CategorySpec, ...],
    areas: tuple[KecamatanSpec, ...],
) -> tuple[FarmingRules, list[ConfigError]]:
    """The rules of `root`/routing/farming.yaml; no file: farming is off (farm reports route by rules.yaml)."""
    if not (root / FILE).exists():
        return FarmingRules(), []
    try:
        source = read_yaml(root / FILE, FILE)
    except ConfigErrorOnRead as exc:
        return FarmingRules(), [exc.error]
    try:
        parsed = FarmingFile.model_validate(source.data)
    except ValidationError as exc:
        return FarmingRules(), list(pydantic_errors(source, exc))
    return _build(source, parsed, region=region, agencies=agencies, categories=categories, areas=areas)


def _build(
    source: YamlSource,
    parsed: FarmingFile,
    *,
    region: str,
    agencies: tuple[AgencySpec, ...],
    categories: tuple[CategorySpec, ...],
    areas: tuple[KecamatanSpec, ...],
) -> tuple[FarmingRules, list[ConfigError]]:
    errors: list[ConfigError] = []

    def fail(path: tuple[str | int, ...], message: str, fix: str = "") -> None:
        errors.append(source.error(path, message, fix))

    if parsed.agency not in {a.code for a in agencies}:
        fail(("agency",), f"agency {parsed.agency} is not in routing/agencies.yaml", "name the agriculture office")
    known_categories = {c.code for c in categories}
    for i, code in enumerate(parsed.categories):
        if code not in known_categories:
            fail(("categories", i), f"category {code} is not in routing/categories.yaml", "use e.g. farm")
    for key in parsed.registry.columns:
        if key not in REGISTRY_FIELDS:
            fail(("registry", "columns", key), f"'{key}' is no registry field", f"use one of {list(REGISTRY_FIELDS)}")
    for key in REQUIRED_FIELDS:
        if key not in parsed.registry.columns:
            fail(("registry", "columns"), f"no column given for '{key}'", f"add '{key}: <the spreadsheet's header>'")
    desa_all = {d for k in areas for d in k.desa}
    kecamatan_all = {k.name for k in areas}
    commodities = tuple(
        Commodity(code, dict(c.name), tuple(w.lower() for w in c.words)) for code, c in parsed.commodities.items()
    )
    commodity_codes = {c.code for c in commodities}
    subs = []
    for code, s in parsed.subcategories.items():
        if "id" not in s.name:
            fail(("subcategories", code, "name"), f"sub-category {code} has no 'id' name", "add id: ...")
        sla = FarmSla(s.sla.accept, s.sla.resolve) if s.sla else None
        if s.sla and s.sla.accept > s.sla.resolve:
            fail(("subcategories", code, "sla"), f"{code}: accept is after resolve", "make resolve at least accept")
        subs.append(
            SubCategory(code, dict(s.name), tuple(k.upper() for k in s.keyword), tuple(w.lower() for w in s.words), sla)
        )
    for code, c in parsed.commodities.items():
        if "id" not in c.name:
            fail(("commodities", code, "name"), f"commodity {code} has no 'id' name", "add id: ...")
    officers = []
    for i, o in enumerate(parsed.field_officers):
        phone = to_e164(str(o.phone), region)
        if phone is None:
            fail(("field_officers", i, "phone"), f"'{o.phone}' is not a valid phone number", "write +62812...")
            continue
        for j, desa in enumerate(o.desa):
            if desa not in desa_all:
                fail(("field_officers", i, "desa", j), f"desa {desa} is not in routing/areas.yaml", "check spelling")
        for j, com in enumerate(o.commodities):
            if com not in commodity_codes:
                fail(("field_officers", i, "commodities", j), f"commodity {com} is not listed", "add it to commodities")
        officers.append(FieldOfficer(o.name, phone, tuple(o.desa), tuple(o.commodities)))
    taken = {u.code for a in agencies for u in a.urcs}
    for i, officer in enumerate(officers):
        for desa in officer.desa:
            for commodity in officer.commodities or (None,):
                if ppl_urc_code(desa, commodity) in taken:
                    fail(
                        ("field_officers", i),
                        f"URC {ppl_urc_code(desa, commodity)} is made here and also listed in routing/agencies.yaml",
                        "rename that URC in agencies.yaml (PPL-DESA-... codes are made from this file)",
                    )
    coordinators: dict[str, tuple[Coordinator, ...]] = {}
    for kec, contacts in parsed.coordinators.items():
        if kec not in kecamatan_all:
            fail(("coordinators", kec), f"kecamatan {kec} is not in routing/areas.yaml", "check its spelling")
        found = []
        for i, contact in enumerate(contacts):
            phone = to_e164(str(contact.phone), region)
            if phone is None:
                fail(("coordinators", kec, i, "phone"), f"'{contact.phone}' is not a valid phone number")
            else:
                found.append(Coordinator(contact.name, phone))
        coordinators[kec] = tuple(found)
    sub_codes = {s.code for s in subs}
    for i, code in enumerate(parsed.outbreak.subcategories):
        if code not in sub_codes:
            fail(("outbreak", "subcategories", i), f"sub-category {code} is not listed", "add it to subcategories")
    _check_text(fail, ("texts", "farmer"), parsed.texts.farmer, FARMER_FIELDS)
    _check_text(fail, ("texts", "outbreak"), parsed.texts.outbreak, OUTBREAK_FIELDS)
    _check_text(fail, ("texts", "warning"), parsed.texts.warning, WARNING_FIELDS)
    _check_text(fail, ("texts", "advice"), parsed.texts.advice, ADVICE_FIELDS)
    _check_text(fail, ("texts", "advice_sent"), parsed.texts.advice_sent, ADVICE_FIELDS)
    watch = parsed.outbreak
    rules = FarmingRules(
        enabled=True,
        agency=parsed.agency,
        categories=frozenset(parsed.categories),
        columns=dict(parsed.registry.columns),
        commodity_separator=parsed.registry.commodity_separator,
        subcategories=tuple(subs),
        commodities=commodities,
        officers=tuple(officers),
        coordinators=coordinators,
        outbreak=OutbreakRule(
            watch.reports, watch.radius_km, watch.window_days, watch.same_commodity, frozenset(watch.subcategories)
        ),
        farmer_line=parsed.texts.farmer,
        outbreak_text=parsed.texts.outbreak,
        warning_text=parsed.texts.warning,
        advice_text=parsed.texts.advice,
        advice_sent_text=parsed.texts.advice_sent,
    )
    return rules, errors


def _check_text(fail: Callable[..., None], path: tuple[str | int, ...], text: str, allowed: frozenset[str]) -> None:
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError as exc:
        fail(path, f"not a valid template: {exc}", "balance the { } braces")
        return
    if used - allowed:
        fail(path, f"unknown field(s) {sorted(used - allowed)}", f"use only {sorted(allowed)}")


def with_field_officers(agencies: tuple[AgencySpec, ...], rules: FarmingRules) -> tuple[AgencySpec, ...]:
    """The agencies with the farming agency's PPL URCs added (one per desa, and per desa and commodity)."""
    if not rules.enabled or not rules.officers:
        return agencies
    teams: dict[str, tuple[str, list[MemberSpec]]] = {}
    for officer in rules.officers:
        for desa in officer.desa:
            for commodity in officer.commodities or (None,):
                code = ppl_urc_code(desa, commodity)
                label = f"PPL Desa {desa}" + (f" ({commodity})" if commodity else "")
                _, members = teams.setdefault(code, (label, []))
                if all(m.phone != officer.phone for m in members):
                    # the first officer listed leads; each accepts with TERIMA like any URC member
                    members.append(MemberSpec(officer.name, officer.phone, "leader" if not members else "member"))
    urcs = tuple(UrcSpec(code, name, tuple(members)) for code, (name, members) in sorted(teams.items()))
    return tuple(replace(a, urcs=a.urcs + urcs) if a.code == rules.agency else a for a in agencies)
