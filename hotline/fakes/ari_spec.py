"""The Asterisk 22 ARI resource descriptions (Swagger 1.x, Asterisk's rest-api/api-docs), as checks.

The JSON files are Asterisk's, not ours, so they are not in this repository: `docs_dir()` finds them at
HOTLINE_ARI_DOCS, or beside the checkout in ../shared/ari-api-docs (this project's workplace), or in
/work/shared/ari-api-docs. Tests that need them skip, saying so, where none is found.

The fake ARI server (hotline/fakes/fake_ari.py) runs every request through `AriSpec.check_request` and
every event and response body through `AriSpec.check_model`, so a client that sends what Asterisk would
refuse, or a fake that emits what Asterisk never would, fails the tests instead of passing them.

What Asterisk does and the checks copy: an unknown path is 404, a known path with another method 405,
a missing required parameter, a value of the wrong type or outside `allowableValues` 400. Stricter than
Asterisk on purpose: an unknown query parameter is 400 (Asterisk ignores it: a typo would pass silently),
a repeated parameter is 400 (Asterisk keeps the last one; lists are comma separated), and credentials
in the URL (`api_key`) are 400: the client must send them in the Authorization header.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

PLACES = (
    Path(__file__).resolve().parents[2].parent / "shared" / "ari-api-docs",
    Path("/work/shared/ari-api-docs"),
)


class AriDocsMissing(FileNotFoundError):
    """No copy of Asterisk's ARI resource descriptions on this machine."""


def docs_dir() -> Path:
    configured = os.environ.get("HOTLINE_ARI_DOCS")
    for place in (Path(configured),) if configured else PLACES:
        if (place / "channels.json").is_file():
            return place
    tried = configured or ", ".join(str(p) for p in PLACES)
    raise AriDocsMissing(f"Asterisk's ARI api-docs (channels.json, ...) not found in {tried}; set HOTLINE_ARI_DOCS")


RESOURCES = (
    "applications",
    "asterisk",
    "bridges",
    "channels",
    "deviceStates",
    "endpoints",
    "events",
    "mailboxes",
    "playbacks",
    "recordings",
    "sounds",
)
PRIMITIVES = {"string", "int", "long", "double", "boolean", "Date", "object", "binary", "containers"}


class SpecError(ValueError):
    """A request or a model that does not match the ARI docs; `status` is what Asterisk would answer."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # path | query | body
    required: bool
    data_type: str
    allow_multiple: bool
    allowed: dict[str, Any] | None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # template, e.g. /channels/{channelId}/play
    nickname: str
    params: dict[str, Param]
    response_class: str


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    literal_segments: int  # more literal segments win: /channels/create before /channels/{channelId}
    operations: dict[str, Operation]


class AriSpec:
    def __init__(self, docs: Path | None = None):
        docs = docs or docs_dir()
        self.routes: list[Route] = []
        self.models: dict[str, dict[str, Any]] = {}
        self.parents: dict[str, str] = {}  # model -> the model listing it in subTypes (Event -> Message)
        for resource in RESOURCES:
            doc = json.loads((docs / f"{resource}.json").read_text())
            for api in doc["apis"]:
                ops = {op["httpMethod"]: _operation(api["path"], op) for op in api["operations"]}
                self.routes.append(_route(api["path"], ops))
            for name, model in doc.get("models", {}).items():
                self.models[name] = model
                for sub in model.get("subTypes", ()):
                    self.parents[sub] = name
        self.routes.sort(key=lambda r: -r.literal_segments)

    # --- requests ----------------------------------------------------------------------------------

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation for METHOD /path (below /ari) and its path parameters; SpecError 404/405."""
        allowed: list[str] = []
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            op = route.operations.get(method)
            if op is None:
                allowed += route.operations
                continue
            return op, match.groupdict()
        if allowed:
            raise SpecError(405, f"Method {method} not allowed on {path} (allowed: {', '.join(sorted(allowed))})")
        raise SpecError(404, "Resource not found")

    def check_request(
        self, method: str, path: str, query: list[tuple[str, str]], body: dict[str, Any] | None = None
    ) -> tuple[Operation, dict[str, Any]]:
        """Validate one request; the operation and its parameters (path + query + body), typed."""
        op, values = self.find(method, path)
        params: dict[str, Any] = dict(values)
        seen: set[str] = set()
        for name, raw in query:
            if name == "api_key":
                raise SpecError(400, "credentials in the URL (api_key): send an Authorization header")
            param = op.params.get(name)
            if param is None or param.kind != "query":
                raise SpecError(400, f"{op.nickname}: unknown query parameter {name!r}")
            if name in seen:
                raise SpecError(400, f"{op.nickname}: {name!r} given twice (lists are comma separated)")
            seen.add(name)
            params[name] = _typed(op.nickname, param, raw)
        for name, value in (body or {}).items():
            param = op.params.get(name)
            if param is None or param.kind != "body":
                raise SpecError(400, f"{op.nickname}: unknown body field {name!r}")
            params[name] = value
        for param in op.params.values():
            if param.required and param.name not in params:
                raise SpecError(400, f"{op.nickname}: required parameter {param.name!r} is missing")
        return op, params

    # --- models ------------------------------------------------------------------------------------

    def properties(self, model: str) -> dict[str, dict[str, Any]]:
        """A model's properties with its parents' (StasisStart: Message + Event + its own)."""
        chain = [model]
        while chain[-1] in self.parents:
            chain.append(self.parents[chain[-1]])
        props: dict[str, dict[str, Any]] = {}
        for name in reversed(chain):
            props.update(self.models[name]["properties"])
        return props

    def check_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if not isinstance(kind, str) or kind not in self.models or "Event" not in self._ancestors(kind):
            raise SpecError(500, f"not an ARI event type: {kind!r}")
        self.check_model(kind, event)

    def check_model(self, model: str, value: Any, where: str = "") -> None:
        where = where or model
        if model not in self.models:
            raise SpecError(500, f"{where}: unknown model {model!r}")
        if not isinstance(value, dict):
            raise SpecError(500, f"{where}: {model} must be an object, got {type(value).__name__}")
        props = self.properties(model)
        for name in value:
            if name not in props:
                raise SpecError(500, f"{where}: {model} has no property {name!r}")
        for name, prop in props.items():
            if name not in value:
                if prop.get("required"):
                    raise SpecError(500, f"{where}: {model}.{name} is required")
                continue
            self._check_value(prop["type"], value[name], f"{where}.{name}", prop)

    def _check_value(self, data_type: str, value: Any, where: str, prop: dict[str, Any]) -> None:
        if data_type.startswith("List[") and data_type.endswith("]"):
            if not isinstance(value, list):
                raise SpecError(500, f"{where}: expected a list")
            for i, item in enumerate(value):
                self._check_value(data_type[5:-1], item, f"{where}[{i}]", {})
            return
        if data_type in PRIMITIVES:
            ok = {
                "string": isinstance(value, str),
                "Date": isinstance(value, str) and _DATE.fullmatch(value) is not None,
                "int": isinstance(value, int) and not isinstance(value, bool),
                "long": isinstance(value, int) and not isinstance(value, bool),
                "double": isinstance(value, int | float) and not isinstance(value, bool),
                "boolean": isinstance(value, bool),
                "object": isinstance(value, dict),
            }.get(data_type, True)
            if not ok:
                raise SpecError(500, f"{where}: {value!r} is not a {data_type}")
            allowed = prop.get("allowableValues")
            if allowed and allowed.get("valueType") == "LIST" and value not in allowed["values"]:
                raise SpecError(500, f"{where}: {value!r} is not one of {allowed['values']}")
            return
        self.check_model(data_type, value, where)

    def _ancestors(self, model: str) -> list[str]:
        chain = [model]
        while chain[-1] in self.parents:
            chain.append(self.parents[chain[-1]])
        return chain


# Asterisk writes event times as 2026-11-23T21:15:00.123+0000.
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?[+-]\d{4}")


@lru_cache(maxsize=1)
def ari_spec() -> AriSpec:
    return AriSpec()


def _operation(path: str, op: dict[str, Any]) -> Operation:
    params = {
        p["name"]: Param(
            name=p["name"],
            kind=p["paramType"],
            required=bool(p.get("required")) or p["paramType"] == "path",
            data_type=p["dataType"],
            allow_multiple=bool(p.get("allowMultiple")),
            allowed=p.get("allowableValues"),
        )
        for p in op.get("parameters", ())
    }
    return Operation(op["httpMethod"], path, op["nickname"], params, op.get("responseClass", "void"))


def _route(template: str, operations: dict[str, Operation]) -> Route:
    segments = template.strip("/").split("/")
    regex = "/" + "/".join(
        f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") and s.endswith("}") else re.escape(s) for s in segments
    )
    literal = sum(1 for s in segments if not s.startswith("{"))
    return Route(template, re.compile(regex), literal, operations)


def _typed(nickname: str, param: Param, raw: str) -> Any:
    values = raw.split(",") if param.allow_multiple else [raw]
    typed = [_one(nickname, param, v) for v in values]
    return typed if param.allow_multiple else typed[0]


def _one(nickname: str, param: Param, raw: str) -> Any:
    value: Any = raw
    if param.data_type in ("int", "long"):
        try:
            value = int(raw)
        except ValueError:
            raise SpecError(400, f"{nickname}: {param.name}={raw!r} is not an integer") from None
    elif param.data_type == "boolean":
        if raw not in ("true", "false"):
            raise SpecError(400, f"{nickname}: {param.name}={raw!r} must be true or false")
        value = raw == "true"
    elif param.data_type == "string" and raw == "":
        raise SpecError(400, f"{nickname}: {param.name} is empty")
    allowed = param.allowed
    if allowed and allowed.get("valueType") == "LIST" and value not in allowed["values"]:
        raise SpecError(400, f"{nickname}: {param.name}={raw!r} is not one of {', '.join(allowed['values'])}")
    if allowed and allowed.get("valueType") == "RANGE":
        low, high = allowed.get("min"), allowed.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise SpecError(400, f"{nickname}: {param.name}={raw!r} is out of range")
    return value
