"""The escalation snapshot pinned on a ticket (`tickets.escalation_chain`), typed.

The column stays JSON, in the shape it has always had (chains pinned by every earlier version load); code reads
and writes it through `PinnedChain.load()` / `dump()` instead of dictionary keys. Keys a chain pinned before
they existed lacks load as their defaults: chain number 0, no roles per phone, no alert policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PinnedStep:
    """One step: who is notified (roles from routing/escalation.yaml, and the phones they were at pinning)."""

    after_minutes: float
    notify: tuple[str, ...]
    via: tuple[str, ...]  # channels, as the step lists them (empty: SMS)
    phones: tuple[str, ...]
    roles: Mapping[str, str] = field(default_factory=dict)  # phone -> the role it reads its text as

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> PinnedStep:
        return cls(
            after_minutes=data.get("after_minutes") or 0,
            notify=tuple(data.get("notify") or ()),
            via=tuple(data.get("via") or ()),
            phones=tuple(data.get("phones") or ()),
            roles=dict(data.get("roles") or {}),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "after_minutes": self.after_minutes,
            "notify": list(self.notify),
            "via": list(self.via),
            "phones": list(self.phones),
            "roles": dict(self.roles),
        }


@dataclass(frozen=True)
class AlertPolicy:
    """How each alert reaches a person: channels in failover order, and how long to wait for a delivery report."""

    channels: tuple[str, ...]
    timeout_seconds: int

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> AlertPolicy:
        return cls(tuple(data.get("channels") or ()), int(data.get("timeout_seconds") or 0))

    def dump(self) -> dict[str, Any]:
        return {"channels": list(self.channels), "timeout_seconds": self.timeout_seconds}


@dataclass(frozen=True)
class PinnedChain:
    number: int  # 0 for the chain pinned at the first routing, 1 after a re-route or reopening, ...
    agency: str
    repeat_minutes: float | None  # the last step repeats this often until someone answers
    steps: tuple[PinnedStep, ...]
    alerts: AlertPolicy | None = None  # None: pinned before alerts failed over

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> PinnedChain | None:
        if not data:
            return None
        alerts = data.get("alerts")
        return cls(
            number=int(data.get("number", 0)),
            agency=str(data.get("agency", "")),
            repeat_minutes=data.get("repeat_minutes"),
            steps=tuple(PinnedStep.load(step) for step in data.get("steps") or ()),
            alerts=AlertPolicy.load(alerts) if alerts else None,
        )

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "number": self.number,
            "agency": self.agency,
            "repeat_minutes": self.repeat_minutes,
            "steps": [step.dump() for step in self.steps],
        }
        if self.alerts is not None:
            data["alerts"] = self.alerts.dump()
        return data

    def step(self, number: int) -> PinnedStep:
        """Step `number`; past the end, the last one (it repeats)."""
        return self.steps[min(number, len(self.steps) - 1)]
