"""Read ivr_flows/ (flows and prompts per language), check them against routing/ and sms/, build Flows.

Two phases, like the rest of the city's data: `read_ivr_files` parses and schema-checks every file
(syntax and unknown keys, reported with the other files' errors), then `build_ivr_flows` cross-checks
them: links between nodes, reachability, loops that never wait for the caller, fields a node needs
before it runs, categories/kecamatan/desa against routing/, SMS templates against sms/replies.yaml and
every prompt key in every language of the flow. Each error names file:line and a fix.

No ivr_flows/ folder at all means the city has no phone channel yet: no flows, no error.
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from hotline.cityconfig.errors import ConfigError
from hotline.cityconfig.ivr_schema import (
    NODE_SCHEMAS,
    AcceptTicketIn,
    BranchIn,
    ChoiceSource,
    ConditionIn,
    CreateTicketIn,
    FlowFileIn,
    GatherIn,
    HangupIn,
    MenuIn,
    MenuOptionIn,
    NodeIn,
    PromptsFileIn,
    ReadNumberIn,
    RecordIn,
    SayIn,
    ScreenIn,
    SendSmsIn,
    SetIn,
    TransferIn,
)
from hotline.cityconfig.model import LANGUAGES, CategorySpec, KecamatanSpec, Replies
from hotline.cityconfig.schema_errors import pydantic_errors
from hotline.cityconfig.yamlsource import ConfigErrorOnRead, Path_, YamlSource, read_yaml
from hotline.ivr import graph
from hotline.ivr.actions import TalkDetection
from hotline.ivr.flow import (
    DIGIT_PROMPTS,
    ENGINE_FIELDS,
    STANDARD_FIELDS,
    AcceptTicketNode,
    BranchNode,
    Case,
    Choice,
    Condition,
    CreateTicketNode,
    Flow,
    GatherNode,
    HangupNode,
    MenuNode,
    MenuOption,
    Node,
    ReadNumberNode,
    RecordNode,
    Retry,
    SayNode,
    ScreenNode,
    SendSmsNode,
    SetNode,
    TransferNode,
    content_hash,
    key_fields,
    slug,
)

FOLDER = "ivr_flows"
PROMPTS_FOLDER = f"{FOLDER}/prompts"
# Fields of sms/replies.yaml templates the call service can fill from the ticket alone.
TICKET_TEMPLATE_FIELDS = frozenset(
    {"number", "category", "agency", "priority", "location", "text", "reporter", "status", "updated"}
)
CHOICE_TEMPLATE_FIELDS = frozenset({"label", "digit"})


@dataclass
class IvrFiles:
    """Phase one's result: what parsed, with the sources that know every line."""

    present: bool = False
    sources: dict[str, YamlSource] = field(default_factory=dict)
    flows: dict[str, FlowFileIn] = field(default_factory=dict)  # file name -> flow
    nodes: dict[str, dict[str, NodeIn]] = field(default_factory=dict)  # file name -> node id -> node
    prompts: dict[str, PromptsFileIn] = field(default_factory=dict)  # language -> prompts
    errors: list[ConfigError] = field(default_factory=list)


def _read(files: IvrFiles, path: Path, name: str) -> YamlSource | None:
    try:
        source = read_yaml(path, name)
    except ConfigErrorOnRead as exc:
        files.errors.append(exc.error)
        return None
    files.sources[name] = source
    return source


def _closest(word: str, choices: Iterable[str]) -> str:
    options = sorted(choices)
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(options)}"


def _numbers(count: int) -> list[str]:
    """Menu numbers for places: 1-9, or 10, 11, ... when there are more than nine, so that every
    choice has the same length (no waiting to see whether 1 becomes 12) and none starts with 0."""
    first = 1 if count <= 9 else 10
    return [str(first + i) for i in range(count)]


def _read_nodes(files: IvrFiles, name: str, source: YamlSource, flow: FlowFileIn) -> None:
    nodes: dict[str, NodeIn] = {}
    for node_id, raw in flow.nodes.items():
        where: Path_ = ("nodes", node_id)
        if not is_identifier(node_id):
            files.errors.append(
                source.error(where, f"node name '{node_id}' is not allowed", "use lower-case letters, digits and '_'")
            )
            continue
        kind = raw.get("type")
        schema = NODE_SCHEMAS.get(kind) if isinstance(kind, str) else None
        if schema is None:
            fix = _closest(str(kind), NODE_SCHEMAS) if kind is not None else f"add 'type:' ({', '.join(NODE_SCHEMAS)})"
            files.errors.append(source.error((*where, "type"), f"node {node_id}: unknown node type '{kind}'", fix))
            continue
        try:
            nodes[node_id] = schema.model_validate(raw)
        except ValidationError as exc:
            files.errors.extend(pydantic_errors(source, exc, where))
    files.nodes[name] = nodes


def is_identifier(node_id: str) -> bool:
    return node_id[:1].isalpha() and node_id.islower() and all(c.isalnum() or c == "_" for c in node_id)


def read_ivr_files(root: Path) -> IvrFiles:
    """Parse every flow and prompts file; syntax and schema errors go to `errors`."""
    folder = root / FOLDER
    files = IvrFiles(present=folder.is_dir())
    if not files.present:
        return files
    flow_paths = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not flow_paths:
        files.errors.append(
            ConfigError(f"{FOLDER}/", 1, "no flow in ivr_flows/", "add one, e.g. ivr_flows/kota_batu.yaml")
        )
    for path in flow_paths:
        name = f"{FOLDER}/{path.name}"
        source = _read(files, path, name)
        if source is None:
            continue
        try:
            flow = FlowFileIn.model_validate(source.data)
        except ValidationError as exc:
            files.errors.extend(pydantic_errors(source, exc))
            continue
        files.flows[name] = flow
        _read_nodes(files, name, source, flow)
    for language in LANGUAGES:
        name = f"{PROMPTS_FOLDER}/{language}.yaml"
        if not (root / name).exists():
            continue  # required only by flows that speak it (checked in phase two)
        source = _read(files, root / name, name)
        if source is None:
            continue
        try:
            files.prompts[language] = PromptsFileIn.model_validate(source.data)
        except ValidationError as exc:
            files.errors.extend(pydantic_errors(source, exc))
    return files


@dataclass(frozen=True)
class CityData:
    """What flows are checked against: routing/ and sms/ as loaded."""

    categories: tuple[CategorySpec, ...]
    areas: tuple[KecamatanSpec, ...]
    replies: Replies
    reply_fields: dict[str, frozenset[str]]
    ticket_statuses: tuple[str, ...]


@dataclass
class _Used:
    """A prompt key some node plays, with where the flow file names it."""

    key: str
    where: Path_


class _FlowBuilder:
    """Builds one flow, collecting every problem into `errors`."""

    def __init__(self, name: str, flow_in: FlowFileIn, nodes_in: dict[str, NodeIn], files: IvrFiles, city: CityData):
        self.name, self.flow_in, self.nodes_in, self.files, self.city = name, flow_in, nodes_in, files, city
        self.source = files.sources[name]
        self.errors: list[ConfigError] = []
        self.used: list[_Used] = []
        self.generated: dict[str, dict[str, str]] = {lang: {} for lang in flow_in.languages}
        self.categories = {c.code: c for c in city.categories}
        self.kecamatan = {k.name: k for k in city.areas}
        self.emergency: frozenset[str] = frozenset()  # the flow's emergency categories, once read

    def fail(self, path: Path_, message: str, fix: str = "") -> None:
        self.errors.append(self.source.error(path, message, fix))

    # --- fields and values ---------------------------------------------------------------------

    def _value_domain(self, field_name: str) -> tuple[str, ...] | None:
        """The values a field may hold, where the city's data says (None: any)."""
        if field_name == "language":
            return tuple(self.flow_in.languages)
        if field_name in ("category", "open_ticket_category"):
            return tuple(self.categories)
        if field_name == "kecamatan":
            return tuple(self.kecamatan)
        if field_name == "desa":
            return tuple(d for k in self.city.areas for d in k.desa)
        if field_name == "open_ticket_status":
            return self.city.ticket_statuses
        return None

    def _check_value(self, path: Path_, field_name: str, value: str) -> None:
        domain = self._value_domain(field_name)
        if domain is not None and value not in domain:
            where = {"category": " (routing/categories.yaml)", "kecamatan": " (routing/areas.yaml)"}
            self.fail(
                path,
                f"{field_name} '{value}' is not known{where.get(field_name, '')}",
                _closest(value, domain),
            )

    def _check_settable(self, path: Path_, field_name: str) -> None:
        if field_name in ENGINE_FIELDS:
            self.fail(path, f"field {field_name} is set by the engine, not by the flow", "set another field")

    # --- prompts -------------------------------------------------------------------------------

    def _prompts(self, keys: Iterable[str], where: Path_) -> tuple[str, ...]:
        keys = tuple(keys)
        for i, key in enumerate(keys):
            self.used.append(_Used(key, (*where, i)))
        return keys

    def _label_key(self, source: str, value: str) -> str:
        return f"{source}_{slug(value)}"

    def _labels(self) -> None:
        """Prompts naming data values (category_fire, kecamatan_batu, desa_punten), from routing/."""
        for lang in self.flow_in.languages:
            out = self.generated[lang]
            for cat in self.city.categories:
                out[self._label_key("category", cat.code)] = cat.name(lang)
            for kec in self.city.areas:
                out[self._label_key("kecamatan", kec.name)] = kec.name
                for desa in kec.desa:
                    out[self._label_key("desa", desa)] = desa

    def _choice_table(
        self, node_id: str, source: ChoiceSource, only: str | None = None
    ) -> dict[str, tuple[Choice, ...]]:
        """Numbered options for a gather: categories by their menu digit, places in file order. `only`
        (emergency, routine): those categories alone, numbered 1, 2, ... in menu order; their prompt keys
        name the set (choice_category_routine_roads), as the digit said differs from the menu digit."""
        rows: dict[str, list[tuple[str, str]]]  # parent value -> (digits, value)
        prefix = ""
        if source == "category" and only is not None:
            wanted = [
                c
                for c in sorted(self.city.categories, key=lambda c: c.menu)
                if (c.code in self.emergency) == (only == "emergency")
            ]
            if not wanted:
                self.fail(
                    ("nodes", node_id, "categories"),
                    f"no {only} categories to offer in {node_id}",
                    "check the flow's emergency: block and routing/categories.yaml",
                )
            rows = {"": list(zip(_numbers(len(wanted)), [c.code for c in wanted], strict=True))}
            prefix = f"{only}_"
        elif source == "category":
            rows = {"": [(str(c.menu), c.code) for c in sorted(self.city.categories, key=lambda c: c.menu)]}
        elif source == "kecamatan":
            rows = {"": list(zip(_numbers(len(self.city.areas)), [k.name for k in self.city.areas], strict=True))}
        else:
            rows = {k.name: list(zip(_numbers(len(k.desa)), k.desa, strict=True)) for k in self.city.areas}
        table: dict[str, tuple[Choice, ...]] = {}
        for parent, options in rows.items():
            choices = []
            for digits, value in options:
                key = f"choice_{source}_{prefix}{slug(parent) + '_' if parent else ''}{slug(value)}"
                choices.append(Choice(digits, value, key))
                label_key = self._label_key("category" if source == "category" else source, value)
                for lang in self.flow_in.languages:
                    template = self.files.prompts.get(lang, PromptsFileIn(prompts={})).choices.get(source)
                    if template is not None:
                        label = self.generated[lang][label_key]
                        self.generated[lang][key] = template.format(label=label, digit=digits)
            table[parent] = tuple(choices)
        for lang in self.flow_in.languages:
            prompts_file = self.files.prompts.get(lang)
            if prompts_file is not None and source not in prompts_file.choices:
                self.fail(
                    ("nodes", node_id, "choices"),
                    f"ivr_flows/prompts/{lang}.yaml has no way to say a {source} choice",
                    f"add 'choices: {{{source}: \"... {{label}} ... {{digit}}.\"}}' to ivr_flows/prompts/{lang}.yaml",
                )
        return table

    # --- nodes ---------------------------------------------------------------------------------

    def _retry(self, node_id: str, spec: MenuIn | GatherIn | RecordIn) -> Retry:
        d = self.flow_in.defaults
        base: Path_ = ("nodes", node_id)
        invalid = self._prompts(spec.invalid, (*base, "invalid")) if spec.invalid is not None else None
        no_input = self._prompts(spec.no_input, (*base, "no_input")) if spec.no_input is not None else None
        return Retry(
            timeout_seconds=spec.timeout_seconds or d.timeout_seconds,
            retries=d.retries if spec.retries is None else spec.retries,
            invalid=invalid if invalid is not None else tuple(d.invalid),
            no_input=no_input if no_input is not None else tuple(d.no_input),
            on_fail=spec.on_fail or self.flow_in.operator.node,
        )

    def _condition(self, path: Path_, when: ConditionIn) -> Condition:
        one_of = tuple(when.in_) if when.in_ is not None else None
        tests_field = when.equals is not None or one_of is not None or when.is_set is not None
        if when.field is None and tests_field:
            self.fail(path, "equals/in/is_set need the 'field' they test", "add 'field: ...'")
        if when.field is not None and not tests_field:
            self.fail(path, f"nothing is tested about field {when.field}", "add 'equals', 'in' or 'is_set'")
        if when.field is not None:
            for value in ([when.equals] if when.equals is not None else []) + list(one_of or ()):
                self._check_value(path, when.field, value)
        return Condition(when.has_open_ticket, when.emergency, when.field, when.equals, one_of, when.is_set)

    def _node(self, node_id: str, spec: NodeIn) -> Node:
        base: Path_ = ("nodes", node_id)
        d = self.flow_in.defaults
        match spec:
            case SayIn():
                return SayNode(node_id, self._prompts(spec.prompts, (*base, "prompts")), spec.next)
            case MenuIn():
                options = {}
                for digits, option in spec.options.items():
                    opt = option if isinstance(option, MenuOptionIn) else MenuOptionIn(next=option)
                    for name, value in opt.set.items():
                        self._check_settable((*base, "options", digits, "set", name), name)
                        self._check_value((*base, "options", digits, "set", name), name, value)
                    options[digits] = MenuOption(opt.next, dict(opt.set))
                self._check_menu_keys(node_id, list(options), spec.operator_key, None)
                return MenuNode(
                    node_id,
                    self._prompts(spec.prompts, (*base, "prompts")),
                    options,
                    self._retry(node_id, spec),
                    spec.default,
                    spec.operator_key,
                    d.inter_digit_timeout_seconds,
                    spec.on_silence,
                )
            case GatherIn():
                return self._gather(node_id, spec)
            case RecordIn():
                return RecordNode(
                    node_id,
                    self._prompts(spec.prompts, (*base, "prompts")),
                    spec.max_seconds,
                    spec.silence_timeout_seconds,
                    spec.min_seconds,
                    spec.finish_on_key,
                    spec.beep,
                    spec.next,
                    self._retry(node_id, spec),
                )
            case SetIn():
                for name, value in spec.set.items():
                    self._check_settable((*base, "set", name), name)
                    self._check_value((*base, "set", name), name, value)
                return SetNode(node_id, dict(spec.set), spec.next)
            case BranchIn():
                cases = tuple(
                    Case(self._condition((*base, "cases", i, "when"), c.when), c.next) for i, c in enumerate(spec.cases)
                )
                return BranchNode(node_id, cases, spec.else_)
            case CreateTicketIn():
                return CreateTicketNode(node_id, spec.next, spec.priority)
            case AcceptTicketIn():
                return AcceptTicketNode(node_id, spec.accepted, spec.closed, spec.refused)
            case ReadNumberIn():
                if spec.field not in ("ticket_number", "open_ticket_number", "caller") and spec.field in ENGINE_FIELDS:
                    self.fail((*base, "field"), f"field {spec.field} is not a number", "read ticket_number")
                self.used.extend(_Used(k, (*base, "field")) for k in DIGIT_PROMPTS)
                return ReadNumberNode(node_id, spec.field, self._prompts(spec.prompts, (*base, "prompts")), spec.next)
            case SendSmsIn():
                self._check_template(node_id, spec.template)
                return SendSmsNode(node_id, spec.template, spec.next)
            case ScreenIn():
                return ScreenNode(node_id, spec.decision, spec.next)
            case TransferIn():
                self._check_place(node_id, spec)
                return TransferNode(
                    node_id,
                    spec.queue or self.flow_in.operator.queue,
                    self._prompts(spec.prompts, (*base, "prompts")),
                    spec.hold_music,
                    spec.max_wait_seconds,
                    spec.on_fail,
                    spec.priority,
                    spec.place_after_seconds,
                    spec.place,
                )
            case HangupIn():
                return HangupNode(node_id, self._prompts(spec.prompts, (*base, "prompts")))
        raise TypeError(spec)

    def _check_place(self, node_id: str, spec: TransferIn) -> None:
        base: Path_ = ("nodes", node_id)
        if (spec.place_after_seconds is None) != (spec.place is None):
            given, missing = ("place", "place_after_seconds") if spec.place else ("place_after_seconds", "place")
            self.fail(
                (*base, given),
                f"transfer {node_id} has {given} but no {missing}",
                "give both: place_after_seconds (e.g. 30) and place (the first node of the place questions)",
            )
        elif spec.place_after_seconds is not None and spec.place_after_seconds >= spec.max_wait_seconds:
            self.fail(
                (*base, "place_after_seconds"),
                f"place_after_seconds ({spec.place_after_seconds}) is not below max_wait_seconds "
                f"({spec.max_wait_seconds}) in {node_id}",
                "ask for the place before the wait is over, e.g. place_after_seconds: 30",
            )

    def _gather(self, node_id: str, spec: GatherIn) -> GatherNode:
        base: Path_ = ("nodes", node_id)
        d = self.flow_in.defaults
        choices: dict[str, tuple[Choice, ...]] = {}
        if spec.choices is not None:
            if spec.field is not None and spec.field != spec.choices:
                self.fail(
                    (*base, "field"), f"choices: {spec.choices} always fills field {spec.choices}", "remove 'field'"
                )
            field_name: str = spec.choices
            if spec.categories is not None and spec.choices != "category":
                self.fail((*base, "categories"), f"categories: {spec.categories} needs choices: category", "remove it")
            choices = self._choice_table(node_id, spec.choices, spec.categories)
            for table in choices.values():
                self.used.extend(_Used(c.prompt, (*base, "choices")) for c in table)
            longest = max((len(c.digits) for table in choices.values() for c in table), default=1)
            min_digits, max_digits = 1, longest
            for table in choices.values():  # desa: one numbered menu per kecamatan
                self._check_menu_keys(node_id, [c.digits for c in table], spec.operator_key, spec)
        else:
            if spec.categories is not None:
                self.fail((*base, "categories"), f"categories: {spec.categories} needs choices: category", "add it")
            if spec.field is None:
                self.fail(base, f"gather {node_id} needs 'choices' or a 'field' for the digits", "add one")
                field_name = "digits"
            else:
                field_name = spec.field
                if field_name in STANDARD_FIELDS or field_name in ENGINE_FIELDS:
                    self.fail(
                        (*base, "field"),
                        f"{field_name} cannot take free digits",
                        f"use 'choices: {field_name}'" if field_name in STANDARD_FIELDS else "use another field name",
                    )
            min_digits, max_digits = spec.min_digits or 1, spec.max_digits or spec.min_digits or 1
            if min_digits > max_digits:
                self.fail((*base, "min_digits"), "min_digits is above max_digits", "swap them")
        return GatherNode(
            node_id,
            field_name,
            self._prompts(spec.prompts, (*base, "prompts")),
            self._prompts(spec.prompts_after, (*base, "prompts_after")),
            choices,
            "kecamatan" if spec.choices == "desa" else None,
            min_digits,
            max_digits,
            spec.finish_on_key,
            spec.skip_key,
            spec.next,
            self._retry(node_id, spec),
            spec.default,
            spec.operator_key,
            d.inter_digit_timeout_seconds,
            spec.on_silence,
        )

    def _check_menu_keys(self, node_id: str, keys: list[str], operator_key: bool, gather: GatherIn | None) -> None:
        base: Path_ = ("nodes", node_id, "choices" if gather else "options")
        op = self.flow_in.operator.key
        for key in keys:
            if operator_key and op is not None and key == op:
                self.fail(
                    (*base, key) if not gather else base,
                    f"{key} is the operator key, it cannot be a choice in {node_id}",
                    "use another digit, or 'operator_key: false' on this node",
                )
            if gather and key in (gather.skip_key, gather.finish_on_key):
                self.fail(base, f"choice {key} is also the skip/finish key in {node_id}", "use another key")
            longer = [k for k in keys if k != key and k.startswith(key)]
            if longer:
                self.fail(
                    (*base, key) if not gather else base,
                    f"after {key} the caller could go on to {longer[0]}",
                    "make every choice the same length",
                )

    def _check_template(self, node_id: str, template: str) -> None:
        path: Path_ = ("nodes", node_id, "template")
        allowed = self.city.reply_fields.get(template)
        if allowed is None or template not in self.city.replies.templates:
            self.fail(
                path,
                f"SMS template '{template}' is not in sms/replies.yaml",
                _closest(template, self.city.reply_fields),
            )
            return
        extra = allowed - TICKET_TEMPLATE_FIELDS
        if extra:
            self.fail(
                path,
                f"SMS template '{template}' needs {sorted(extra)}, which a call does not know",
                "use a template about the ticket, e.g. ticket_created",
            )

    # --- the whole flow ------------------------------------------------------------------------

    def build(self) -> Flow | None:
        fin = self.flow_in
        flow_id = Path(self.name).stem
        if not is_identifier(flow_id):
            self.fail((), f"flow file name '{flow_id}' is not a usable id", "rename it, e.g. kota_batu.yaml")
        for i, lang in enumerate(fin.languages):
            if lang not in self.files.prompts:
                self.fail(("languages", i), f"no prompts for {lang}", f"create ivr_flows/prompts/{lang}.yaml")
        self._labels()
        defaults = fin.defaults
        self._prompts(defaults.invalid, ("defaults", "invalid"))
        self._prompts(defaults.no_input, ("defaults", "no_input"))
        apology = self._prompts(fin.operator.apology, ("operator", "apology"))
        emergency = set()
        for i, code in enumerate(fin.emergency.categories):
            self._check_value(("emergency", "categories", i), "category", code)
            emergency.add(code)
        emergency |= {c.code for c in self.city.categories if c.priority in fin.emergency.priorities}
        self.emergency = frozenset(emergency)
        nodes = {node_id: self._node(node_id, spec) for node_id, spec in self.nodes_in.items()}
        if len(nodes) != len(fin.nodes):
            return None  # a node failed its schema: links to it would only add noise
        if not self._check_links(nodes):
            return None
        edges = graph.all_edges(nodes, fin.operator.node, fin.operator.key is not None)
        self._check_graph(nodes, edges)
        self._check_fields(nodes, edges)
        prompts = self._resolve_prompts()
        if self.errors:
            return None
        flow = Flow(
            id=flow_id,
            version="",
            label=None if fin.version is None else str(fin.version),
            languages=tuple(fin.languages),
            start=fin.start,
            operator_key=fin.operator.key,
            operator_node=fin.operator.node,
            apology=apology,
            emergency_categories=frozenset(emergency),
            nodes=nodes,
            prompts=prompts,
            default=fin.default,
            screening=dict(fin.screening.items()),  # str keys, as Flow has them
            talk_detection=(
                TalkDetection(fin.talk_detection.threshold_dbfs, fin.talk_detection.silence_ms)
                if fin.talk_detection
                else None
            ),
        )
        return replace(flow, version=content_hash(flow))

    def _check_links(self, nodes: dict[str, Node]) -> bool:
        before = len(self.errors)
        fin = self.flow_in
        if fin.start not in nodes:
            self.fail(("start",), f"start node '{fin.start}' does not exist", _closest(fin.start, nodes))
        for decision, target in fin.screening.items():
            if target not in nodes:
                self.fail(
                    ("screening", decision),
                    f"screening {decision}: '{target}' is not a node",
                    _closest(target, nodes),
                )
        operator = nodes.get(fin.operator.node)
        if operator is None:
            self.fail(
                ("operator", "node"),
                f"operator node '{fin.operator.node}' does not exist",
                _closest(fin.operator.node, nodes),
            )
        elif not isinstance(operator, TransferNode):
            self.fail(
                ("operator", "node"),
                f"operator node '{fin.operator.node}' is not a transfer",
                "point it at a 'type: transfer' node",
            )
        for node in nodes.values():
            for edge in graph.node_edges(node, fin.operator.node, fin.operator.key is not None):
                if edge.where and edge.target not in nodes:
                    self.fail(
                        ("nodes", node.id, *edge.where),
                        f"node {node.id}: '{edge.target}' is not a node",
                        _closest(edge.target, nodes),
                    )
                if isinstance(node, TransferNode) and edge.target == node.id:
                    self.fail(
                        ("nodes", node.id, "on_fail"),
                        f"transfer {node.id} falls back to itself",
                        "point on_fail elsewhere",
                    )
        return len(self.errors) == before

    def _roots(self) -> list[str]:
        """Where a call can start: `start`, and the nodes the shield's `screening:` map starts calls at."""
        return [self.flow_in.start, *self.flow_in.screening.values()]

    def _check_graph(self, nodes: dict[str, Node], edges: list[graph.Edge]) -> None:
        seen = set().union(*(graph.reachable(root, edges) for root in self._roots()))
        for node_id in nodes:
            if node_id not in seen:
                self.fail(
                    ("nodes", node_id),
                    f"node {node_id} can never be reached from '{self.flow_in.start}'",
                    "point a 'next' at it, or remove it",
                )
        for node in nodes.values():
            if isinstance(node, TransferNode) and node.place and node.id not in graph.reachable(node.place, edges):
                self.fail(
                    ("nodes", node.id, "place"),
                    f"the place questions from {node.place} never lead back to {node.id}",
                    f"end them with 'next: {node.id}' (after a create_ticket that saves the place)",
                )
        for loop in graph.loops_without_input(nodes, edges):
            self.fail(
                ("nodes", loop[0]),
                f"loop without input: {' -> '.join(loop)} never waits for the caller",
                "put a menu, gather or record inside the loop, or break it",
            )

    def _check_fields(self, nodes: dict[str, Node], edges: list[graph.Edge]) -> None:
        """Reading a field the flow never sets, or a node that can run before what it needs is set."""
        # A branch testing a field does not set it, so branch edges do not count as writers here.
        setters = [e for e in edges if not isinstance(nodes[e.source], BranchNode)]
        written = set(ENGINE_FIELDS) | {"language"} | {f for e in setters for f in e.writes}
        for node in nodes.values():
            base: Path_ = ("nodes", node.id)
            if isinstance(node, BranchNode):
                for i, case in enumerate(node.cases):
                    name = case.when.field
                    if name is not None and name not in written:
                        self.fail(
                            (*base, "cases", i, "when", "field"), f"field {name} is never set", _closest(name, written)
                        )
            if isinstance(node, ReadNumberNode) and node.field not in written:
                self.fail((*base, "field"), f"field {node.field} is never set", _closest(node.field, written))
        needs: list[tuple[str, str, Path_]] = []  # node, field, where
        for node in nodes.values():
            if isinstance(node, GatherNode) and node.depends_on:
                needs.append((node.id, node.depends_on, ("nodes", node.id, "choices")))
            if isinstance(node, ReadNumberNode) and node.field != "caller":
                needs.append((node.id, node.field, ("nodes", node.id, "field")))
            if isinstance(node, SendSmsNode):
                needs.append((node.id, "ticket_number", ("nodes", node.id, "template")))
            if isinstance(node, AcceptTicketNode):  # the ticket it accepts is the one the call is about
                needs.append((node.id, "open_ticket_number", ("nodes", node.id, "type")))
        for used in self.used:
            if used.where[:1] == ("nodes",):
                needs.extend((str(used.where[1]), name, used.where) for name in key_fields(used.key))
        always = {"caller", "language"}
        for node_id, name, where in needs:
            if name in always:
                continue
            if any(node_id in graph.reachable(root, edges, unless_writing=name) for root in self._roots()):
                what = "a ticket exists" if name == "ticket_number" else f"{name} is set"
                self.fail(where, f"node {node_id} can run before {what}", f"only reach {node_id} after {name} is set")

    def _expand(self, key: str) -> list[str] | None:
        """Every concrete key a templated key can become; None if a field has no known values."""
        keys = [key]
        for name in key_fields(key):
            domain = self._value_domain(name)
            if domain is None:
                return None
            keys = [k.replace(f"{{{name}}}", slug(v), 1) for k in keys for v in domain]
        return keys

    def _resolve_prompts(self) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {lang: {} for lang in self.flow_in.languages}
        reported: set[tuple[str, str]] = set()
        for used in self.used:
            concrete = self._expand(used.key)
            if concrete is None:
                self.fail(
                    used.where,
                    f"prompt key {used.key} is built from a field without known values",
                    "build keys from category, kecamatan, desa, language, open_ticket_status, open_ticket_category",
                )
                continue
            for key in concrete:
                for lang in self.flow_in.languages:
                    own = self.files.prompts.get(lang)
                    text = own.prompts.get(key) if own else None
                    text = text or self.generated[lang].get(key)
                    if text is not None:
                        result[lang][key] = text
                    elif own is not None and (key, lang) not in reported:
                        reported.add((key, lang))
                        self.fail(
                            used.where,
                            f"prompt {key} has no {lang} text",
                            f"add '{key}: \"...\"' to ivr_flows/prompts/{lang}.yaml",
                        )
        return result


def _check_prompt_files(files: IvrFiles, flows: list[Flow], errors: list[ConfigError]) -> None:
    used = {key for flow in flows for texts in flow.prompts.values() for key in texts}
    for lang, prompts_file in files.prompts.items():
        name = f"{PROMPTS_FOLDER}/{lang}.yaml"
        source = files.sources[name]
        for key, text in prompts_file.prompts.items():
            try:
                placeholders = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
            except ValueError:
                placeholders = ["{"]
            if placeholders:
                errors.append(
                    source.error(
                        ("prompts", key),
                        f"prompt {key} has a placeholder {{{placeholders[0]}}}; prompts are fixed audio",
                        "write the words out; numbers are read with a read_number node",
                    )
                )
            if flows and key not in used:
                errors.append(
                    source.error(("prompts", key), f"prompt {key} is never played", "use it in a flow or remove it")
                )
        for source_name, template in prompts_file.choices.items():
            try:
                found = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            except ValueError:
                found = {"{"}
            if found - CHOICE_TEMPLATE_FIELDS or "label" not in found or "digit" not in found:
                errors.append(
                    source.error(
                        ("choices", source_name),
                        f"choice template for {source_name} must use {{label}} and {{digit}} and nothing else",
                        'e.g. "Untuk {label}, tekan {digit}."',
                    )
                )


def build_ivr_flows(files: IvrFiles, city: CityData) -> tuple[dict[str, Flow], list[ConfigError]]:
    """Every flow that passed phase one, cross-checked; flows are keyed by id (the file name)."""
    errors: list[ConfigError] = []
    flows: dict[str, Flow] = {}
    for name, flow_in in files.flows.items():
        builder = _FlowBuilder(name, flow_in, files.nodes.get(name, {}), files, city)
        flow = builder.build()
        errors.extend(builder.errors)
        if flow is not None:
            flows[flow.id] = flow
    if not errors:
        _check_prompt_files(files, list(flows.values()), errors)
    defaults = [name for name, f in files.flows.items() if f.default]
    if len(files.flows) > 1 and len(defaults) != 1:
        for name in files.flows:
            errors.append(
                files.sources[name].error(
                    ("default",) if name in defaults else (),
                    f"{len(files.flows)} flows and {len(defaults)} marked 'default: true'",
                    "mark exactly one flow 'default: true' (the one calls start in)",
                )
            )
    return flows, errors


__all__ = ["CityData", "IvrFiles", "build_ivr_flows", "read_ivr_files"]
