"""An IVR flow as immutable values: nodes, the prompts it uses, the city data its menus were built from.

A `Flow` is self-contained: numbered menus generated from routing/ (categories, kecamatan, desa) and
every prompt text are copied in when the flow is loaded (hotline/cityconfig/ivr_loader.py), so the
engine needs nothing else and a call pinned to a version keeps hearing exactly that version even after
routing/ or a prompt changes. `version` is a hash of all of it (see `content_hash`).

Node types (YAML `type:`), each with the keys ivr_flows/README.md documents:

=============  =====================================================================  =================
type           what it does                                                           waits for
=============  =====================================================================  =================
say            play prompts, go on                                                    --
menu           play prompts, a digit picks the next node (and may `set` fields)       digits
gather         a numbered menu built from data (category/kecamatan/desa) or free      digits
               digits into a field
record         record the caller's description                                        a recording
set            set fields (e.g. language)                                             --
branch         first case whose condition holds picks the next node                   --
create_ticket  open the ticket (or add to it, if one is open already)                 the service
read_number    say a field's digits (the ticket number)                               --
send_sms       send an sms/replies.yaml template about the ticket                     --
screen         log a silent call for the shield (`decision: silent_queued|silent`)    --
transfer       put the caller in the operator queue                                   the queue
hangup         play prompts, end the call                                             --
=============  =====================================================================  =================
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from hotline.ivr.actions import Prompt, ReadDigits, TalkDetection

DIGIT_PROMPTS = tuple(f"digit_{d}" for d in "0123456789")
# Fields the engine fills itself; flows may read them but not `set` them.
ENGINE_FIELDS = frozenset(
    {
        "caller",
        "recording_url",
        "recording_seconds",
        "ticket_number",
        "open_ticket_number",
        "open_ticket_status",
        "open_ticket_category",
        "screening",  # the shield's decision before the call (Start.screening)
        "verify_by",  # how a screened caller confirms an emergency: sms | callback
        "recent_silent_calls",  # silent calls the shield still counts for this number (Start), when above 0
        "farmer",  # "1": the caller's number is in the farmer registry (Start.farmer; routing/farming.yaml)
    }
)
# What a `screen` node may classify a call as: a first silent call (put through), a repeat one (the shield).
SCREEN_DECISIONS = ("silent_queued", "silent")
TRANSFER_PRIORITIES = ("emergency", "normal", "silent")  # a transfer's `priority`; "screened" is the shield's
CATEGORY_FILTERS = ("emergency", "routine")  # a category gather's `categories`: the flow's `emergency:` decides
# the flow's `screening:` map keys; open_ticket: a caller over the limits whose call can only be about their report
START_SCREENINGS = ("rate_limited", "repeat_offender", "open_ticket")
# Fields with a meaning the engine and the ticket service know; other names are a flow's own extras.
STANDARD_FIELDS = frozenset({"language", "category", "kecamatan", "desa"})
CHOICE_SOURCES = ("category", "kecamatan", "desa")  # gather `choices:`; the field has the same name
_TEMPLATE_FIELD = re.compile(r"\{([a-z_]+)\}")


def slug(value: str) -> str:
    """'Oro-Oro Ombo' -> 'oro_oro_ombo': how a data value appears inside a prompt key."""
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def key_fields(key: str) -> list[str]:
    """Fields a prompt key is built from at call time: 'status_{open_ticket_status}' -> [...]."""
    return _TEMPLATE_FIELD.findall(key)


def fill_key(key: str, values: dict[str, str]) -> str | None:
    """The concrete prompt key for the call's fields, or None when a field it needs is not set."""
    missing = [name for name in key_fields(key) if not values.get(name)]
    if missing:
        return None
    return _TEMPLATE_FIELD.sub(lambda m: slug(values[m.group(1)]), key)


@dataclass(frozen=True)
class Retry:
    """How an input node re-prompts: `retries` more tries after the first, then `on_fail`."""

    timeout_seconds: float
    retries: int
    invalid: tuple[str, ...]
    no_input: tuple[str, ...]
    on_fail: str


@dataclass(frozen=True)
class SayNode:
    id: str
    prompts: tuple[str, ...]
    next: str


@dataclass(frozen=True)
class MenuOption:
    next: str
    set: dict[str, str]


@dataclass(frozen=True)
class MenuNode:
    id: str
    prompts: tuple[str, ...]
    options: dict[str, MenuOption]  # digits -> option
    retry: Retry
    default: str | None  # where silence goes at once (no re-prompt); None: re-prompt
    operator_key: bool
    inter_digit_timeout_seconds: float
    on_silence: str | None = None  # listen for a voice; no key and no voice goes here (silent call)

    @property
    def max_digits(self) -> int:
        return max(len(d) for d in self.options)


@dataclass(frozen=True)
class Choice:
    digits: str
    value: str
    prompt: str  # the generated key that says "for <label>, press <digits>"


@dataclass(frozen=True)
class GatherNode:
    id: str
    field: str
    prompts: tuple[str, ...]
    prompts_after: tuple[str, ...]
    # Numbered choices from data, keyed by the value of `depends_on` ('' when it depends on nothing):
    # desa are numbered per kecamatan. Empty for free digits.
    choices: dict[str, tuple[Choice, ...]]
    depends_on: str | None
    min_digits: int
    max_digits: int
    finish_on_key: str
    skip_key: str | None
    next: str
    retry: Retry
    default: str | None
    operator_key: bool
    inter_digit_timeout_seconds: float
    on_silence: str | None = None

    def choices_for(self, values: dict[str, str]) -> tuple[Choice, ...]:
        return self.choices.get(values.get(self.depends_on, "") if self.depends_on else "", ())


@dataclass(frozen=True)
class RecordNode:
    id: str
    prompts: tuple[str, ...]
    max_seconds: int
    silence_timeout_seconds: float
    min_seconds: float  # shorter recordings count as silence
    finish_on_key: str
    beep: bool
    next: str
    retry: Retry


@dataclass(frozen=True)
class SetNode:
    id: str
    values: dict[str, str]
    next: str


@dataclass(frozen=True)
class Condition:
    """All given tests must hold; an empty condition always holds."""

    has_open_ticket: bool | None = None
    emergency: bool | None = None
    field: str | None = None
    equals: str | None = None
    one_of: tuple[str, ...] | None = None
    is_set: bool | None = None


@dataclass(frozen=True)
class Case:
    when: Condition
    next: str


@dataclass(frozen=True)
class BranchNode:
    id: str
    cases: tuple[Case, ...]
    otherwise: str


@dataclass(frozen=True)
class CreateTicketNode:
    id: str
    next: str
    priority: str | None = None  # e.g. critical for the emergency key, before the category is known


@dataclass(frozen=True)
class AcceptTicketNode:
    """The person called accepts the ticket read to them (`open_ticket_number`), as TERIMA by SMS: an
    `AcceptTicket` action, then on to `accepted`, `closed` (no longer waiting for a team) or `refused`
    (this phone is no member of the ticket's team)."""

    id: str
    accepted: str
    closed: str
    refused: str

    def next_for(self, outcome: str) -> str:
        return {"accepted": self.accepted, "closed": self.closed}.get(outcome, self.refused)


@dataclass(frozen=True)
class ReadNumberNode:
    id: str
    field: str
    prompts: tuple[str, ...]
    next: str


@dataclass(frozen=True)
class SendSmsNode:
    id: str
    template: str
    next: str


@dataclass(frozen=True)
class ScreenNode:
    """Classify the call for the junk-call shield (a `ScreenCall` action) and go on."""

    id: str
    decision: str  # one of SCREEN_DECISIONS
    next: str


@dataclass(frozen=True)
class TransferNode:
    id: str
    queue: str
    prompts: tuple[str, ...]
    hold_music: str | None
    max_wait_seconds: int
    on_fail: str  # nobody answered
    priority: str = "normal"  # one of TRANSFER_PRIORITIES
    # Nobody answered within place_after_seconds and the kecamatan is not known: once per call, the caller
    # leaves the queue for the questions from `place` on, which lead back here (the rest of the wait).
    place_after_seconds: int | None = None
    place: str | None = None


@dataclass(frozen=True)
class HangupNode:
    id: str
    prompts: tuple[str, ...]


Node = (
    SayNode
    | MenuNode
    | GatherNode
    | RecordNode
    | SetNode
    | BranchNode
    | CreateTicketNode
    | AcceptTicketNode
    | ReadNumberNode
    | SendSmsNode
    | ScreenNode
    | TransferNode
    | HangupNode
)
INPUT_NODES = (MenuNode, GatherNode, RecordNode)
# Nodes where a turn stops: the caller is asked something, waits in the queue, or the call ends.
RESTING_NODES = (MenuNode, GatherNode, RecordNode, TransferNode, HangupNode)
NODE_TYPES: dict[str, type] = {
    "say": SayNode,
    "menu": MenuNode,
    "gather": GatherNode,
    "record": RecordNode,
    "set": SetNode,
    "branch": BranchNode,
    "create_ticket": CreateTicketNode,
    "accept_ticket": AcceptTicketNode,
    "read_number": ReadNumberNode,
    "send_sms": SendSmsNode,
    "screen": ScreenNode,
    "transfer": TransferNode,
    "hangup": HangupNode,
}


@dataclass(frozen=True)
class Flow:
    id: str
    version: str  # content hash: what a call pins
    label: str | None  # the optional `version:` people write in the file
    languages: tuple[str, ...]  # the first is where every call starts
    start: str
    operator_key: str | None  # pressed at any menu/gather: to the operator node
    operator_node: str
    apology: tuple[str, ...]  # played when the service fails, before the operator node
    emergency_categories: frozenset[str]
    nodes: dict[str, Node]
    prompts: dict[str, dict[str, str]]  # language -> key -> text: every prompt this flow can play
    default: bool = False
    # The junk-call shield's decision before the call (Start.screening) -> the node such a call starts at.
    screening: dict[str, str] = field(default_factory=dict)
    talk_detection: TalkDetection | None = None  # a listening menu's voice threshold (None: the transport's own)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def prompt(self, key: str, language: str) -> Prompt:
        texts = self.prompts.get(language) or self.prompts[self.languages[0]]
        return Prompt(key, language, texts.get(key) or self.prompts[self.languages[0]][key])

    def read_digits(self, digits: str, language: str) -> ReadDigits:
        return ReadDigits(digits, language, tuple(self.prompt(f"digit_{d}", language) for d in digits))


def _canonical(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {"_type": type(value).__name__, **{f.name: _canonical(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, frozenset | set):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(flow: Flow) -> str:
    """sha256 over everything a caller can hear or press (nodes, prompt texts, data menus), not `version`."""
    skip = ("version", "default") + (("talk_detection",) if flow.talk_detection is None else ())  # older hashes hold
    body = {f.name: _canonical(getattr(flow, f.name)) for f in fields(flow) if f.name not in skip}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return digest[:16]
