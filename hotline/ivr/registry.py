"""Loaded flow versions, addressable by (flow id, version hash), so a call keeps its version.

Every time the city's data is loaded (`hotline up`, a reload), `publish` the flows: each becomes the
current version of its id, and older versions stay addressable for the calls still running on them.
The registry lives in memory. After a restart only the versions loaded since are known: a call whose
version is gone gets the current one, and the engine carries it on at the same node if that node
still exists and waits for the same kind of input, else hands the caller to the operator
(`CallState.repinned_from` records it). Calls last minutes, so this only touches calls that span
a restart during which the flow file changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.ivr.flow import Flow
from hotline.ivr.state import CallState

KEEP_VERSIONS = 20  # per flow id; a live call is minutes long, edits are rare


class UnknownFlow(LookupError):
    """No version of this flow id was ever loaded (its file was removed)."""


class FlowRegistry:
    def __init__(self, flows: Iterable[Flow] = ()):
        self._versions: dict[str, dict[str, Flow]] = {}  # id -> version -> flow, oldest first
        self._default: str | None = None
        for flow in flows:
            self.publish(flow)

    def publish(self, flow: Flow) -> None:
        """Make `flow` the current version of its id (re-publishing an old version makes it current)."""
        versions = self._versions.setdefault(flow.id, {})
        versions.pop(flow.version, None)
        versions[flow.version] = flow
        while len(versions) > KEEP_VERSIONS:
            versions.pop(next(iter(versions)))
        if flow.default or self._default is None:
            self._default = flow.id

    def current(self, flow_id: str | None = None) -> Flow:
        """The newest version of `flow_id`, or of the default flow: what a new call starts on."""
        wanted = flow_id or self._default
        versions = self._versions.get(wanted or "")
        if not versions:
            raise UnknownFlow(f"no flow {wanted!r} is loaded")
        return next(reversed(versions.values()))

    def version(self, flow_id: str, version: str) -> Flow | None:
        return self._versions.get(flow_id, {}).get(version)

    def pinned(self, state: CallState) -> Flow:
        """The version the call is pinned to, or the current one (the engine re-pins; see above)."""
        return self.version(state.flow_id, state.flow_version) or self.current(state.flow_id)
