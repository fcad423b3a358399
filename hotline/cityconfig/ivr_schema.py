"""The shape of ivr_flows/*.yaml and ivr_flows/prompts/<language>.yaml (pydantic, unknown keys refused).

Each node is validated against the schema of its `type`, so an unknown type or a key that type does
not have is reported at its own line. Cross-checks (links, prompts, data) are in ivr_loader.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["id", "en"]
Priority = Literal["critical", "high", "normal", "low"]
ChoiceSource = Literal["category", "kecamatan", "desa"]  # what a gather's generated menu offers
NodeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
# A prompt key; '{field}' parts are filled at call time from a field with known values.
PromptKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\{[a-z_]+\}[a-z0-9_]*)*$")]
FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Key = Annotated[str, Field(pattern=r"^[0-9*#]$")]
Seconds = Annotated[float, Field(gt=0, le=600)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Retrying(_Strict):
    """Per input node; anything left out comes from the flow's `defaults`."""

    timeout_seconds: Seconds | None = None
    retries: Annotated[int, Field(ge=0, le=5)] | None = None
    invalid: list[PromptKey] | None = None
    no_input: list[PromptKey] | None = None
    on_fail: NodeId | None = None


class SayIn(_Strict):
    type: Literal["say"]
    prompts: list[PromptKey] = Field(min_length=1)
    next: NodeId


class MenuOptionIn(_Strict):
    next: NodeId
    set: dict[FieldName, str] = {}


class MenuIn(_Retrying):
    type: Literal["menu"]
    prompts: list[PromptKey] = Field(min_length=1)
    options: dict[Annotated[str, Field(pattern=r"^[0-9*#]{1,4}$")], NodeId | MenuOptionIn] = Field(min_length=1)
    default: NodeId | None = None
    operator_key: bool = True
    on_silence: NodeId | None = None  # listen for a voice; no key and no voice: a silent call goes here


class GatherIn(_Retrying):
    type: Literal["gather"]
    choices: ChoiceSource | None = None
    # With `choices: category`: only the emergency or only the other (routine) categories, numbered 1, 2, ...
    categories: Literal["emergency", "routine"] | None = None
    field: FieldName | None = None
    prompts: list[PromptKey] = Field(min_length=1)
    prompts_after: list[PromptKey] = []
    min_digits: Annotated[int, Field(ge=1, le=20)] | None = None
    max_digits: Annotated[int, Field(ge=1, le=20)] | None = None
    finish_on_key: Key = "#"
    skip_key: Key | None = None
    next: NodeId
    default: NodeId | None = None
    operator_key: bool = True
    on_silence: NodeId | None = None


class RecordIn(_Retrying):
    type: Literal["record"]
    prompts: list[PromptKey] = Field(min_length=1)
    max_seconds: Annotated[int, Field(ge=5, le=600)] = 60
    silence_timeout_seconds: Seconds = 5
    min_seconds: Annotated[float, Field(ge=0, le=30)] = 1
    finish_on_key: Key = "#"
    beep: bool = True
    next: NodeId


class SetIn(_Strict):
    type: Literal["set"]
    set: dict[FieldName, str] = Field(min_length=1)
    next: NodeId


class ConditionIn(_Strict):
    has_open_ticket: bool | None = None
    emergency: bool | None = None
    field: FieldName | None = None
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    is_set: bool | None = None


class CaseIn(_Strict):
    when: ConditionIn
    next: NodeId


class BranchIn(_Strict):
    type: Literal["branch"]
    cases: list[CaseIn] = Field(min_length=1)
    else_: NodeId = Field(alias="else")


class CreateTicketIn(_Strict):
    type: Literal["create_ticket"]
    next: NodeId
    priority: Priority | None = None  # how urgent before the category is known (e.g. critical: the emergency key)


class AcceptTicketIn(_Strict):
    """The person called accepts the ticket read to them (the URC voice alert): where each outcome goes."""

    type: Literal["accept_ticket"]
    accepted: NodeId
    closed: NodeId  # the ticket no longer waits for a team (accepted by someone else, closed)
    refused: NodeId  # this phone is no member of the ticket's team


class ReadNumberIn(_Strict):
    type: Literal["read_number"]
    field: FieldName = "ticket_number"
    prompts: list[PromptKey] = []
    next: NodeId


class SendSmsIn(_Strict):
    type: Literal["send_sms"]
    template: str
    next: NodeId


class ScreenIn(_Strict):
    type: Literal["screen"]
    decision: Literal["silent_queued", "silent"]  # hotline/ivr/flow.py SCREEN_DECISIONS
    next: NodeId


class TransferIn(_Strict):
    type: Literal["transfer"]
    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None
    prompts: list[PromptKey] = []
    hold_music: str | None = None
    max_wait_seconds: Annotated[int, Field(ge=10, le=3600)] = 120
    on_fail: NodeId  # required: nobody answering must never end the call in silence
    priority: Literal["emergency", "normal", "silent"] = "normal"  # hotline/ivr/flow.py TRANSFER_PRIORITIES
    # No operator within this many seconds and no kecamatan yet: ask for the place (from `place`), then back.
    place_after_seconds: Annotated[int, Field(ge=5, le=3600)] | None = None
    place: NodeId | None = None


class HangupIn(_Strict):
    type: Literal["hangup"]
    prompts: list[PromptKey] = []


NODE_SCHEMAS: dict[str, type[NodeIn]] = {
    "say": SayIn,
    "menu": MenuIn,
    "gather": GatherIn,
    "record": RecordIn,
    "set": SetIn,
    "branch": BranchIn,
    "create_ticket": CreateTicketIn,
    "accept_ticket": AcceptTicketIn,
    "read_number": ReadNumberIn,
    "send_sms": SendSmsIn,
    "screen": ScreenIn,
    "transfer": TransferIn,
    "hangup": HangupIn,
}
NodeIn = (
    SayIn
    | MenuIn
    | GatherIn
    | RecordIn
    | SetIn
    | BranchIn
    | CreateTicketIn
    | AcceptTicketIn
    | ReadNumberIn
    | SendSmsIn
    | ScreenIn
    | TransferIn
    | HangupIn
)


class DefaultsIn(_Strict):
    timeout_seconds: Seconds = 6
    inter_digit_timeout_seconds: Seconds = 3
    retries: Annotated[int, Field(ge=0, le=5)] = 2
    invalid: list[PromptKey] = Field(min_length=1)
    no_input: list[PromptKey] = Field(min_length=1)


class OperatorIn(_Strict):
    node: NodeId
    key: Key | None = "0"  # null: no operator key
    queue: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "operators"
    apology: list[PromptKey] = []


class EmergencyIn(_Strict):
    priorities: list[Priority] = []
    categories: list[str] = []


class TalkDetectionIn(_Strict):
    # Louder steady sound (RMS dBFS) counts as a voice at a listening menu. Asterisk 22's default is about
    # -40: line hiss at -37 dBFS counted as talking there, -43 did not (measured, issue 17).
    threshold_dbfs: float = Field(-40.0, ge=-80, le=-10)
    silence_ms: int = Field(2500, ge=100, le=10_000)


class FlowFileIn(_Strict):
    """Nodes stay plain mappings here; each is checked against its type's schema separately."""

    version: str | int | float | None = None
    default: bool = False
    languages: list[Lang] = Field(min_length=1)
    start: NodeId
    defaults: DefaultsIn
    operator: OperatorIn
    emergency: EmergencyIn = EmergencyIn()
    # The junk-call shield (routing/shield.yaml) decided before the call: where such a call starts.
    screening: dict[Literal["rate_limited", "repeat_offender", "open_ticket"], NodeId] = {}
    talk_detection: TalkDetectionIn | None = None
    nodes: dict[str, dict[str, object]] = Field(min_length=1)


class PromptsFileIn(_Strict):
    prompts: dict[PromptKey, Annotated[str, Field(min_length=1)]]
    # How generated menus speak one option: '{label}' and '{digit}' are filled in when the flow loads.
    choices: dict[ChoiceSource, Annotated[str, Field(min_length=1)]] = {}
