"""Read routing/, sms/ and ivr_flows/ from a config folder, validate every file, cross-check them together."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.cityconfig.errors import ConfigError, ConfigErrors
from hotline.cityconfig.farming_loader import read_farming, with_field_officers
from hotline.cityconfig.ivr_loader import CityData, build_ivr_flows, read_ivr_files
from hotline.cityconfig.merging_loader import load_merging
from hotline.cityconfig.model import (
    ALERT_CHANNELS,
    DEFAULT_ALERT_CHANNELS,
    DEFAULT_DELIVERY_TIMEOUT_SECONDS,
    AgencySpec,
    CategorySpec,
    CityConfig,
    ContactSpec,
    EscalationChain,
    EscalationStep,
    Grammar,
    KecamatanSpec,
    MemberSpec,
    Replies,
    RuleSpec,
    ScorecardThresholds,
    Sla,
    StaleRules,
    UrcSpec,
)
from hotline.cityconfig.open311_loader import load_open311
from hotline.cityconfig.schema_errors import pydantic_errors as _pydantic_errors
from hotline.cityconfig.shield import read_shield
from hotline.cityconfig.yamlsource import ConfigErrorOnRead, YamlSource, read_yaml
from hotline.phone import to_e164
from hotline.sms.replies import REPLY_FIELDS, template_fields

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)  # model.LANGUAGES, typed as the keys the files may use
Priority = Literal["critical", "high", "normal", "low"]
Code = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")]
Words = dict[Lang, list[Annotated[str, Field(min_length=1)]]]
UrcCommand = Literal["accept", "on_site", "done", "decline", "advice"]  # advice: optional (farm PPL, issue 22)
CitizenCommand = Literal["status", "cancel", "stop", "start"]
_Command = TypeVar("_Command", bound=str)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(_Strict):
    name: str
    phone: str | int
    role: Literal["leader", "member"] = "member"
    active: bool = True


class UrcIn(_Strict):
    code: Code
    name: str
    members: list[MemberIn] = Field(min_length=1)


class SlaIn(_Strict):
    accept: float = Field(gt=0)
    resolve: float = Field(gt=0)


class ContactIn(_Strict):
    name: str
    phone: str | int


class AgencyIn(_Strict):
    code: Code
    name: str
    sms_name: Annotated[str, Field(max_length=40)] | None = None
    heads: list[ContactIn] = []
    default: bool = False
    sla: dict[Priority, SlaIn]
    urcs: list[UrcIn] = Field(min_length=1)
    alert_channels: list[str] | None = None  # checked in _alert_channels: the error names the known ones
    delivery_timeout_seconds: int | None = Field(default=None, ge=10, le=3600)


class AgenciesFile(_Strict):
    # The city-wide default for agencies that do not list their own.
    alert_channels: list[str] = list(DEFAULT_ALERT_CHANNELS)
    delivery_timeout_seconds: int = Field(default=DEFAULT_DELIVERY_TIMEOUT_SECONDS, ge=10, le=3600)
    agencies: list[AgencyIn] = Field(min_length=1)


class CategoryIn(_Strict):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    name: dict[Lang, str]
    menu: int = Field(ge=1, le=9)
    priority: Priority


class CategoriesFile(_Strict):
    categories: list[CategoryIn] = Field(min_length=1)


class RuleWhen(_Strict):
    category: list[str] | None = None
    priority: list[Priority] | None = None
    kecamatan: list[str] | None = None


class RouteTo(_Strict):
    agency: str
    urc: str | None = None


class RuleIn(_Strict):
    name: str
    when: RuleWhen | None = None
    route_to: RouteTo


class RulesFile(_Strict):
    rules: list[RuleIn] = Field(min_length=1)


class KecamatanIn(_Strict):
    name: str
    desa: list[str] = Field(min_length=1)


class AreasFile(_Strict):
    kecamatan: list[KecamatanIn] = Field(min_length=1)
    # desa -> [latitude, longitude] (WGS84): where the map puts a report known only by its desa, and the desa a
    # shared point lies in (the nearest point). Optional; a desa without one is simply not drawn.
    points: dict[str, tuple[float, float]] = Field(default_factory=dict)


def _build_points(c: _Checker, areas_in: AreasFile) -> dict[str, tuple[float, float]]:
    f = "routing/areas.yaml"
    known = {d for k in areas_in.kecamatan for d in k.desa}
    points: dict[str, tuple[float, float]] = {}
    for desa, (lat, lon) in areas_in.points.items():
        if desa not in known:
            c.fail(f, ("points", desa), f"unknown desa {desa}", "use a desa listed under kecamatan above")
        elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
            c.fail(f, ("points", desa), f"[{lat}, {lon}] is not a latitude and longitude", "write [lat, lon]")
        else:
            points[desa] = (lat, lon)
    return points


class CategoryWordsIn(_Strict):
    keyword: Words
    words: Words


class KeywordsFile(_Strict):
    categories: dict[str, CategoryWordsIn]
    urgent: Words
    courtesy: Words
    location_markers: Words
    place_words: Words = {}


class CommandsFile(_Strict):
    urc: dict[UrcCommand, Words]
    citizen: dict[CitizenCommand, Words]


class RepliesFile(_Strict):
    replies: dict[str, dict[Lang, str]]
    statuses: dict[str, dict[Lang, str]]
    priorities: dict[Priority, dict[Lang, str]]
    unknown_location: dict[Lang, str]
    unknown_category: dict[Lang, str]
    no_agency: dict[Lang, str]


# ppl_coordinator: the kecamatan's PPL coordinator of the ticket's place (routing/farming.yaml `coordinators`)
Role = Literal["urc", "urc_leader", "agency_head", "command_center", "ppl_coordinator"]


class StepIn(_Strict):
    after_minutes: float = Field(ge=0)
    notify: list[Role] = Field(min_length=1)
    via: list[Literal["sms", "voice"]] = ["sms"]  # sent on each at once (hotline/features/alerts/alerts.py)


class ChainIn(_Strict):
    steps: list[StepIn] = Field(min_length=1)
    repeat_minutes: float | None = Field(default=None, gt=0)


class ScorecardIn(_Strict):
    green: float = Field(ge=0, le=1)
    yellow: float = Field(ge=0, le=1)


class StaleIn(_Strict):
    after_hours: float = Field(default=72.0, ge=0)  # 0: never stale, the chain repeats until someone answers
    digest_at: str = Field(default="07:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # HH:MM, city time


class EscalationFile(_Strict):
    default: ChainIn
    agencies: dict[str, ChainIn] = {}
    scorecard: ScorecardIn
    stale: StaleIn = StaleIn()


FILES: dict[str, type[_Strict]] = {
    "routing/agencies.yaml": AgenciesFile,
    "routing/categories.yaml": CategoriesFile,
    "routing/rules.yaml": RulesFile,
    "routing/areas.yaml": AreasFile,
    "routing/escalation.yaml": EscalationFile,
    "sms/keywords.yaml": KeywordsFile,
    "sms/commands.yaml": CommandsFile,
    "sms/replies.yaml": RepliesFile,
}
URC_COMMANDS: tuple[UrcCommand, ...] = ("accept", "on_site", "done", "decline")
CITIZEN_COMMANDS: tuple[CitizenCommand, ...] = ("status", "cancel", "stop", "start")
TICKET_STATUSES = ("awaiting_category", "routed", "accepted", "on_site", "resolved", "cancelled")


class _Checker:
    """Collects every cross-file problem instead of stopping at the first."""

    def __init__(self, sources: dict[str, YamlSource]):
        self.sources = sources
        self.errors: list[ConfigError] = []

    def fail(self, file: str, path: tuple[str | int, ...], message: str, fix: str = "") -> None:
        self.errors.append(self.sources[file].error(path, message, fix))


def _upper_words(words: Words) -> dict[str, tuple[str, ...]]:
    return {lang: tuple(w.strip().upper() for w in words.get(lang, [])) for lang in LANGS}


def _lower_words(words: Words) -> dict[str, tuple[str, ...]]:
    return {lang: tuple(" ".join(w.lower().split()) for w in words.get(lang, [])) for lang in LANGS}


def _alert_channels(c: _Checker, channels: list[str], path: tuple[str | int, ...]) -> tuple[str, ...]:
    f = "routing/agencies.yaml"
    known = ", ".join(ALERT_CHANNELS)
    if not channels:
        c.fail(f, path, "alert_channels is empty: alerts would reach nobody", f"list at least one of {known}")
    for i, channel in enumerate(channels):
        if channel not in ALERT_CHANNELS:
            c.fail(f, (*path, i), f"unknown alert channel '{channel}'", f"use one of {known}")
        elif channels.index(channel) != i:
            c.fail(f, (*path, i), f"alert channel '{channel}' is listed twice", "list each channel once, in order")
    return tuple(channels)


def _build_agencies(c: _Checker, parsed: AgenciesFile, region: str) -> tuple[AgencySpec, ...]:
    f = "routing/agencies.yaml"
    agencies, seen_agency, seen_urc = [], set(), set()
    default_channels = _alert_channels(c, parsed.alert_channels, ("alert_channels",))
    for ai, a in enumerate(parsed.agencies):
        if a.code in seen_agency:
            c.fail(f, ("agencies", ai, "code"), f"agency code {a.code} is used twice", "give each agency its own code")
        seen_agency.add(a.code)
        missing = [p for p in ("critical", "high", "normal", "low") if p not in a.sla]
        if missing:
            c.fail(
                f,
                ("agencies", ai, "sla"),
                f"agency {a.code} has no SLA for {', '.join(missing)}",
                "add accept/resolve minutes for every priority",
            )
        urcs = []
        for ui, u in enumerate(a.urcs):
            if u.code in seen_urc:
                c.fail(
                    f,
                    ("agencies", ai, "urcs", ui, "code"),
                    f"URC code {u.code} is used twice",
                    "URC codes must be unique across agencies",
                )
            seen_urc.add(u.code)
            members, phones = [], set()
            for mi, m in enumerate(u.members):
                path = ("agencies", ai, "urcs", ui, "members", mi, "phone")
                phone = to_e164(str(m.phone), region)
                if phone is None:
                    c.fail(f, path, f"'{m.phone}' is not a valid phone number", "write it as +62812... or 0812...")
                    continue
                if phone in phones:
                    c.fail(f, path, f"{phone} is listed twice in URC {u.code}", "remove the duplicate")
                phones.add(phone)
                members.append(MemberSpec(m.name, phone, m.role, m.active))
            urcs.append(UrcSpec(u.code, u.name, tuple(members)))
        sla: dict[str, Sla] = {p: Sla(s.accept, s.resolve) for p, s in a.sla.items()}
        heads = []
        for hi, h in enumerate(a.heads):
            phone = to_e164(str(h.phone), region)
            if phone is None:
                c.fail(
                    f,
                    ("agencies", ai, "heads", hi, "phone"),
                    f"'{h.phone}' is not a valid phone number",
                    "write it as +62812... or 0812...",
                )
                continue
            heads.append(ContactSpec(h.name, phone))
        channels = (
            default_channels
            if a.alert_channels is None
            else _alert_channels(c, a.alert_channels, ("agencies", ai, "alert_channels"))
        )
        timeout = a.delivery_timeout_seconds or parsed.delivery_timeout_seconds
        agencies.append(
            AgencySpec(
                a.code,
                a.name,
                a.default,
                sla,
                tuple(urcs),
                a.sms_name or a.code,
                tuple(heads),
                alert_channels=channels,
                delivery_timeout_seconds=timeout,
            )
        )
    defaults = [i for i, a in enumerate(parsed.agencies) if a.default]
    if len(defaults) != 1:
        c.fail(
            f,
            ("agencies",),
            f"exactly one agency must be the default, found {len(defaults)}",
            "mark the command center with 'default: true'",
        )
    return tuple(agencies)


def _build_categories(c: _Checker, parsed: CategoriesFile) -> tuple[CategorySpec, ...]:
    f = "routing/categories.yaml"
    cats, codes, menus = [], set(), set()
    for i, cat in enumerate(parsed.categories):
        if cat.code in codes:
            c.fail(f, ("categories", i, "code"), f"category {cat.code} is listed twice", "remove one")
        if cat.menu in menus:
            c.fail(f, ("categories", i, "menu"), f"menu digit {cat.menu} is already used", "pick a free digit 1-9")
        if "id" not in cat.name:
            c.fail(f, ("categories", i, "name"), f"category {cat.code} has no Indonesian name", "add 'id: ...'")
        codes.add(cat.code)
        menus.add(cat.menu)
        cats.append(CategorySpec(cat.code, dict(cat.name.items()), cat.menu, cat.priority))
    return tuple(cats)


def _build_rules(
    c: _Checker,
    parsed: RulesFile,
    agencies: tuple[AgencySpec, ...],
    categories: tuple[CategorySpec, ...],
    areas: tuple[KecamatanSpec, ...],
) -> tuple[RuleSpec, ...]:
    f = "routing/rules.yaml"
    by_code = {a.code: a for a in agencies}
    cat_codes = {cat.code for cat in categories}
    kec_names = {k.name for k in areas}
    rules, names = [], set()
    last = len(parsed.rules) - 1
    for i, r in enumerate(parsed.rules):
        if r.name in names:
            c.fail(f, ("rules", i, "name"), f"rule name {r.name} is used twice", "rule names must be unique")
        names.add(r.name)
        agency = by_code.get(r.route_to.agency)
        if agency is None:
            c.fail(
                f,
                ("rules", i, "route_to", "agency"),
                f"unknown agency {r.route_to.agency}",
                f"use one of {', '.join(sorted(by_code))} (routing/agencies.yaml)",
            )
        elif r.route_to.urc and r.route_to.urc not in {u.code for u in agency.urcs}:
            c.fail(
                f,
                ("rules", i, "route_to", "urc"),
                f"URC {r.route_to.urc} is not a unit of {agency.code}",
                f"use one of {', '.join(u.code for u in agency.urcs)}",
            )
        when = r.when
        for j, cat in enumerate((when.category if when else None) or []):
            if cat not in cat_codes:
                c.fail(
                    f,
                    ("rules", i, "when", "category", j),
                    f"unknown category {cat}",
                    f"use one of {', '.join(sorted(cat_codes))}",
                )
        for j, kec in enumerate((when.kecamatan if when else None) or []):
            if kec not in kec_names:
                c.fail(
                    f,
                    ("rules", i, "when", "kecamatan", j),
                    f"unknown kecamatan {kec}",
                    f"use one of {', '.join(sorted(kec_names))} (routing/areas.yaml)",
                )
        is_catch_all = when is None or not (when.category or when.priority or when.kecamatan)
        if is_catch_all and i != last:
            c.fail(
                f,
                ("rules", i),
                f"rule {r.name} matches everything, so the rules after it never run",
                "move it to the end or give it a 'when'",
            )
        if i == last and not is_catch_all:
            c.fail(
                f,
                ("rules", i),
                f"the last rule ({r.name}) must catch every report",
                "add a final rule without 'when' that routes to the command center",
            )
        rules.append(
            RuleSpec(
                name=r.name,
                agency=r.route_to.agency,
                urc=r.route_to.urc,
                categories=frozenset(when.category) if when and when.category else None,
                priorities=frozenset(when.priority) if when and when.priority else None,
                kecamatan=frozenset(when.kecamatan) if when and when.kecamatan else None,
            )
        )
    return tuple(rules)


def _build_grammar(c: _Checker, kw: KeywordsFile, cmds: CommandsFile, categories: tuple[CategorySpec, ...]) -> Grammar:
    fk, fc = "sms/keywords.yaml", "sms/commands.yaml"
    cat_codes = [cat.code for cat in categories]
    for code in kw.categories:
        if code not in cat_codes:
            c.fail(
                fk,
                ("categories", code),
                f"category {code} is not in routing/categories.yaml",
                "add it there or remove it here",
            )
    leading: dict[str, dict[str, tuple[str, ...]]] = {}
    words: dict[str, dict[str, tuple[str, ...]]] = {}
    owner: dict[str, str] = {}
    for code, spec in kw.categories.items():
        leading[code] = _upper_words(spec.keyword)
        words[code] = _lower_words(spec.words)
        if not spec.keyword.get("id"):
            c.fail(
                fk, ("categories", code, "keyword"), f"category {code} has no Indonesian keyword", "add 'id: [WORD]'"
            )
        for lang, ws in leading[code].items():
            for w in ws:
                if w in owner and owner[w] != code:
                    c.fail(
                        fk,
                        ("categories", code, "keyword", lang),
                        f"keyword {w} also names {owner[w]}",
                        "a keyword can name one category only",
                    )
                owner[w] = code

    used: set[str] = set()

    def commands(
        section: Mapping[_Command, Words], names: tuple[_Command, ...], part: str
    ) -> dict[str, tuple[str, str]]:
        table: dict[str, tuple[str, str]] = {}
        for name in names:
            if name not in section:
                c.fail(fc, (part,), f"command {name} is missing", f"add '{name}: {{id: [...], en: [...]}}'")
                continue
            for lang, ws in _upper_words(section[name]).items():
                for w in ws:
                    if " " in w:
                        c.fail(fc, (part, name, lang), f"command word '{w}' has a space", "use one word")
                    if w in used or w in owner:
                        c.fail(
                            fc,
                            (part, name, lang),
                            f"command word {w} is already used",
                            "each word may mean one thing only",
                        )
                    used.add(w)
                    table[w] = (name, lang)
        return table

    urc = commands(cmds.urc, URC_COMMANDS, "urc")
    if "advice" in cmds.urc:  # SARAN 12 <advice>: a PPL's advice to the farmer (hotline/features/sms/farm_advice.py)
        urc |= commands(cmds.urc, ("advice",), "urc")
    citizen = commands(cmds.citizen, CITIZEN_COMMANDS, "citizen")
    order = tuple(code for code in cat_codes if code in kw.categories)
    return Grammar(
        leading_keywords=leading,
        words=words,
        urgent=_lower_words(kw.urgent),
        courtesy=_lower_words(kw.courtesy),
        location_markers=_lower_words(kw.location_markers),
        place_words=_lower_words(kw.place_words),
        urc_commands=urc,
        citizen_commands=citizen,
        category_order=order,
        menu={cat.menu: cat.code for cat in categories},
    )


def _build_replies(c: _Checker, parsed: RepliesFile, categories: tuple[CategorySpec, ...]) -> Replies:
    f = "sms/replies.yaml"
    for key, allowed in REPLY_FIELDS.items():
        per_lang = parsed.replies.get(key)
        if per_lang is None:
            c.fail(f, ("replies",), f"reply {key} is missing", f"add '{key}:' with id and en texts")
            continue
        for lang in LANGS:
            text = per_lang.get(lang)
            if text is None:
                c.fail(f, ("replies", key), f"reply {key} has no '{lang}' text", f"add '{lang}: ...'")
                continue
            try:
                used = template_fields(text)
            except ValueError as exc:
                c.fail(
                    f,
                    ("replies", key, lang),
                    f"reply {key}/{lang} is not a valid template: {exc}",
                    "balance the { } braces",
                )
                continue
            unknown = used - allowed
            if unknown:
                c.fail(
                    f,
                    ("replies", key, lang),
                    f"reply {key}/{lang} uses unknown field(s) {sorted(unknown)}",
                    f"use only {sorted(allowed) or 'no fields'}",
                )
    for key in parsed.replies:
        if key not in REPLY_FIELDS:
            c.fail(f, ("replies", key), f"reply {key} is never sent", f"use one of {sorted(REPLY_FIELDS)}")
    for status in TICKET_STATUSES:
        if status not in parsed.statuses:
            c.fail(f, ("statuses",), f"no words for status {status}", f"add '{status}: {{id: ..., en: ...}}'")
    # dict(x.items()): the files' Lang/Priority keys become the model's plain str keys (dicts are invariant).
    return Replies(
        templates={k: dict(v.items()) for k, v in parsed.replies.items()},
        statuses={k: dict(v.items()) for k, v in parsed.statuses.items()},
        priorities={k: dict(v.items()) for k, v in parsed.priorities.items()},
        unknown_location=dict(parsed.unknown_location.items()),
        unknown_category=dict(parsed.unknown_category.items()),
        no_agency=dict(parsed.no_agency.items()),
    )


def _build_escalation(
    c: _Checker, parsed: EscalationFile, agencies: tuple[AgencySpec, ...]
) -> tuple[dict[str, EscalationChain], ScorecardThresholds]:
    f = "routing/escalation.yaml"

    def chain(spec: ChainIn, path: tuple[str | int, ...]) -> EscalationChain:
        previous = -1.0
        for i, step in enumerate(spec.steps):
            if step.after_minutes <= previous:
                c.fail(
                    f,
                    (*path, "steps", i, "after_minutes"),
                    "steps must come later than the step before",
                    "order the steps by after_minutes",
                )
            previous = step.after_minutes
        steps = tuple(EscalationStep(s.after_minutes, tuple(dict.fromkeys(s.notify)), tuple(s.via)) for s in spec.steps)
        return EscalationChain(steps, spec.repeat_minutes)

    by_code = {a.code: a for a in agencies}
    for code in parsed.agencies:
        if code not in by_code:
            c.fail(f, ("agencies", code), f"unknown agency {code}", f"use one of {', '.join(sorted(by_code))}")
    default = chain(parsed.default, ("default",))
    chains: dict[str, EscalationChain] = {}
    for agency in agencies:
        own = parsed.agencies.get(agency.code)
        chains[agency.code] = chain(own, ("agencies", agency.code)) if own else default
        wants_head = any("agency_head" in s.notify for s in chains[agency.code].steps)
        if wants_head and not agency.heads:
            where = ("agencies", agency.code) if own else ("default",)
            c.fail(
                f,
                where,
                f"the chain for {agency.code} notifies agency_head, but {agency.code} has no heads",
                f"add 'heads:' to {agency.code} in routing/agencies.yaml",
            )
    if parsed.scorecard.yellow > parsed.scorecard.green:
        c.fail(f, ("scorecard", "yellow"), "yellow must not be above green", "e.g. green: 0.9, yellow: 0.75")
    return chains, ScorecardThresholds(parsed.scorecard.green, parsed.scorecard.yellow)


def _check_coordinators(c: _Checker, parsed: EscalationFile, have_coordinators: bool) -> None:
    """A chain notifying ppl_coordinator needs routing/farming.yaml `coordinators` (else the step reaches nobody)."""
    chains = [(("default",), parsed.default)] + [(("agencies", code), chain) for code, chain in parsed.agencies.items()]
    for path, chain in chains:
        for i, step in enumerate(chain.steps):
            if "ppl_coordinator" in step.notify and not have_coordinators:
                c.fail(
                    "routing/escalation.yaml",
                    (*path, "steps", i, "notify"),
                    "ppl_coordinator is notified, but routing/farming.yaml lists no coordinators",
                    "add 'coordinators:' (kecamatan -> name and phone) to routing/farming.yaml",
                )


def load_city_config(config_dir: Path | str, region: str = "ID") -> CityConfig:
    """Load and check everything; raise ConfigErrors listing every problem with file:line."""
    root = Path(config_dir)
    sources: dict[str, YamlSource] = {}
    parsed: dict[str, Any] = {}
    errors: list[ConfigError] = []
    for name, schema in FILES.items():
        try:
            source = read_yaml(root / name, name)
        except ConfigErrorOnRead as exc:
            errors.append(exc.error)
            continue
        sources[name] = source
        try:
            parsed[name] = schema.model_validate(source.data)
        except ValidationError as exc:
            errors.extend(_pydantic_errors(source, exc))
    ivr = read_ivr_files(root)
    errors.extend(ivr.errors)
    shield, shield_errors = read_shield(root, region)
    errors.extend(shield_errors)
    if errors:
        raise ConfigErrors(errors)

    c = _Checker(sources)
    agencies = _build_agencies(c, parsed["routing/agencies.yaml"], region)
    categories = _build_categories(c, parsed["routing/categories.yaml"])
    areas = tuple(KecamatanSpec(k.name, tuple(k.desa)) for k in parsed["routing/areas.yaml"].kecamatan)
    desa_points = _build_points(c, parsed["routing/areas.yaml"])
    rules = _build_rules(c, parsed["routing/rules.yaml"], agencies, categories, areas)
    grammar = _build_grammar(c, parsed["sms/keywords.yaml"], parsed["sms/commands.yaml"], categories)
    replies = _build_replies(c, parsed["sms/replies.yaml"], categories)
    escalation, scorecard = _build_escalation(c, parsed["routing/escalation.yaml"], agencies)
    stale_in = parsed["routing/escalation.yaml"].stale
    stale = StaleRules(stale_in.after_hours, stale_in.digest_at)
    merging, merging_errors = load_merging(root, categories)
    c.errors.extend(merging_errors)
    open311, open311_errors = load_open311(root, categories)
    c.errors.extend(open311_errors)
    farming, farming_errors = read_farming(root, region=region, agencies=agencies, categories=categories, areas=areas)
    c.errors.extend(farming_errors)
    agencies = with_field_officers(agencies, farming)  # the PPL of each desa: URCs of the farming agency
    _check_coordinators(c, parsed["routing/escalation.yaml"], bool(farming.coordinators))
    city = CityData(categories, areas, replies, REPLY_FIELDS, TICKET_STATUSES)
    flows, ivr_errors = build_ivr_flows(ivr, city)
    c.errors.extend(ivr_errors)
    if c.errors:
        raise ConfigErrors(c.errors)
    return CityConfig(
        agencies,
        categories,
        rules,
        areas,
        grammar,
        replies,
        escalation,
        scorecard,
        flows,
        merging=merging,
        shield=shield,
        stale=stale,
        open311=open311,
        desa_points=desa_points,
        farming=farming,
    )
