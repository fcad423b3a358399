"""Where one call stands: a frozen value the transports keep between webhooks (as JSON in the database).

The state pins the flow by id and version hash; `hotline.ivr.registry` finds that exact version again.
Everything else is plain data, so `CallState.from_json(state.to_json()) == state`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# new: waiting for Start; input: waiting for the caller at `node`; ticket: waiting for the service's
# answer to CreateTicket; accept: waiting for the answer to AcceptTicket; queue: caller in the operator
# queue; ended: nothing more will happen.
Phase = Literal["new", "input", "ticket", "accept", "queue", "ended"]
# completed: the flow hung up; hung_up: the caller did; operator: an operator took the call.
Outcome = Literal["completed", "hung_up", "operator"]


@dataclass(frozen=True)
class PathStep:
    """A node the call went through and, for input, what the caller did there
    ('9', 'no_input', 'invalid:5', 'recorded', 'skip', 'operator', 'hangup', 'answered', 'unanswered')."""

    node: str
    input: str | None = None


@dataclass(frozen=True)
class CallState:
    flow_id: str
    flow_version: str
    phase: Phase = "new"
    node: str | None = None  # the node the call rests at (or the ticket node while the service answers)
    retries_left: int = 0
    language: str = "id"
    caller: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # everything collected, as text
    saved_fields: dict[str, str] | None = None  # `fields` when the ticket was last created/updated
    sms_sent: tuple[str, ...] = ()  # templates already sent for the ticket: never twice
    resume: str | None = None  # node to enter after the ticket answer; None: the call is over
    ticket_failed: bool = False  # the service could not open the ticket: do not try again
    path: tuple[PathStep, ...] = ()
    outcome: Outcome | None = None
    outcome_node: str | None = None  # where the call ended (where the caller hung up)
    repinned_from: str | None = None  # the version the call started on, if it had to move (see registry)

    @property
    def ticket_number(self) -> int | None:
        number = self.fields.get("ticket_number")
        return int(number) if number else None

    @property
    def ended(self) -> bool:
        return self.phase == "ended"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallState:
        values = dict(data)
        values["path"] = tuple(PathStep(**step) for step in values.get("path", ()))
        values["sms_sent"] = tuple(values.get("sms_sent", ()))
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CallState:
        return cls.from_dict(json.loads(text))


def new_call(flow_id: str, flow_version: str, language: str) -> CallState:
    return CallState(flow_id=flow_id, flow_version=flow_version, language=language)
