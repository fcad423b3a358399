"""The flows calls run on: one registry per process, with the city's loaded flows published into it.

Publishing on every use is cheap (a dict lookup per flow) and means a reloaded config (new flow
versions) becomes current for new calls while calls already running keep the version they pinned.
"""

from __future__ import annotations

from typing import Literal

from hotline.cityconfig import CityConfig
from hotline.ivr import actions as a
from hotline.ivr.flow import Flow, TransferNode
from hotline.ivr.registry import FlowRegistry, UnknownFlow

_registry = FlowRegistry()
ALERT_FLOW = "urc_alert"  # ivr_flows/urc_alert.yaml: the call a URC member gets when an alert goes by voice


class NoFlow(LookupError):
    """The city has no IVR flow to answer calls with (no ivr_flows/ folder, or no default flow)."""


def registry(config: CityConfig) -> FlowRegistry:
    """The process's registry, with `config`'s flows as the current versions."""
    for flow in config.ivr_flows.values():
        try:
            current = _registry.current(flow.id)
        except UnknownFlow:
            current = None
        if current is not flow:
            _registry.publish(flow)
    return _registry


def default_flow(config: CityConfig) -> Flow:
    """The current version of the flow new calls start in."""
    flow = config.default_flow
    if flow is None:
        raise NoFlow("no IVR flow to answer calls: add ivr_flows/ (one flow, or one marked `default: true`)")
    return registry(config).current(flow.id)


def alert_flow(config: CityConfig) -> Flow | None:
    """The current version of the URC voice alert's flow; None when the city has none (no voice alerts)."""
    if ALERT_FLOW not in config.ivr_flows:
        return None
    return registry(config).current(ALERT_FLOW)


def apology_media(config: CityConfig, *, then: Literal["operator", "hangup"]) -> tuple[a.MediaAction, ...]:
    """What every transport plays when a turn failed: the flow's apology in its first language, then the
    operator queue or the end of the call."""
    flow = config.default_flow
    if flow is None:  # no flow at all: nothing to say in the city's words
        return (a.Hangup(),)
    language = flow.languages[0]
    media: list[a.MediaAction] = [flow.prompt(key, language) for key in flow.apology]
    operator = flow.nodes.get(flow.operator_node)
    if then == "operator" and isinstance(operator, TransferNode):
        media += [flow.prompt(key, language) for key in operator.prompts]
        media.append(a.Enqueue(operator.queue, operator.hold_music, operator.max_wait_seconds))
    else:
        media.append(a.Hangup())
    return tuple(media)
