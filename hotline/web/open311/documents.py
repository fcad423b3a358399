"""GeoReport v2 documents in JSON or XML, chosen by the URL's extension (`services.xml`, `requests/7.json`).

One description of each document, two writers: a JSON array (or object) as the spec shows it, and XML with the
spec's root, item and list tags (`<services><service>`, `<attributes><attribute>`, `<values><value>`)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from pydantic_core import to_json

from hotline.settings import get_settings

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# A list field's XML tag -> the tag of each of its items.
ITEM_TAGS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}

Value = str | int | float | bool | datetime | None | list[Any] | dict[str, Any]


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def w3c(moment: datetime) -> str:
    """The spec's w3c datetime, in the city's time: 2026-12-07T19:20:00+07:00."""
    return moment.astimezone(_zone(get_settings().timezone)).isoformat(timespec="seconds")


_SCALARS = (str, int, float, bool, type(None))
# Characters XML 1.0 cannot carry (a citizen's SMS may hold them): dropped from XML answers.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _plain(value: Any) -> Any:
    """Datetimes as w3c strings, everything else as JSON has it (concrete types first: this runs per field)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, datetime):
        return w3c(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise TypeError(f"not a GeoReport value: {type(value).__name__}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else escape(_NOT_XML.sub("", str(value)))


def _xml_field(out: list[str], tag: str, value: Any) -> None:
    out.append(f"<{tag}>")
    if isinstance(value, dict):
        for key, inner in value.items():
            _xml_field(out, key, inner)
    elif isinstance(value, list):
        item_tag = ITEM_TAGS.get(tag, "item")
        for item in value:
            _xml_field(out, item_tag, item)
    else:
        out.append(_text(value))
    out.append(f"</{tag}>")


def xml_bytes(root: str, item: str | None, body: Any) -> bytes:
    """The document; tags are the spec's names (never input), text is escaped."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n', f"<{root}>"]
    if item is None:  # one object: its fields under the root (service_definition, discovery)
        for key, value in body.items():
            _xml_field(out, key, value)
    else:
        for row in body:
            _xml_field(out, item, row)
    out.append(f"</{root}>")
    return "".join(out).encode()


def document(fmt: str, root: str, item: str | None, body: Value, status: int = 200) -> Response:
    """`body` is a list of rows (with `item`) or one object (`item` None); datetimes become w3c in either."""
    plain = _plain(body)
    if fmt == "xml":
        return Response(xml_bytes(root, item, plain), status_code=status, media_type=FORMATS["xml"])
    return Response(to_json(plain), status_code=status, media_type=FORMATS["json"])
