"""GeoReport v2 documents in JSON or XML, chosen by the URL's extension (`services.xml`, `requests/7.json`).

One description of each document, two writers: a JSON array (or object) as the spec shows it, and XML with the
spec's root, item and list tags (`<services><service>`, `<attributes><attribute>`, `<values><value>`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from fastapi.responses import Response

from hotline.settings import get_settings

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# A list field's XML tag -> the tag of each of its items.
ITEM_TAGS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}

Value = str | int | float | bool | datetime | None | Sequence[Any] | Mapping[str, Any]


def w3c(moment: datetime) -> str:
    """The spec's w3c datetime, in the city's time: 2026-12-07T19:20:00+07:00."""
    return moment.astimezone(ZoneInfo(get_settings().timezone)).isoformat(timespec="seconds")


def _plain(value: Value) -> Any:
    if isinstance(value, datetime):
        return w3c(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _xml_field(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _xml_field(node, key, inner)
    elif isinstance(value, list):
        item_tag = ITEM_TAGS.get(tag, "item")
        for item in value:
            _xml_field(node, item_tag, item)
    else:
        node.text = _text(value)


def xml_bytes(root: str, item: str | None, body: Any) -> bytes:
    top = ET.Element(root)
    if item is None:  # one object: its fields under the root (service_definition, discovery)
        for key, value in body.items():
            _xml_field(top, key, value)
    else:
        for row in body:
            _xml_field(top, item, row)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def document(fmt: str, root: str, item: str | None, body: Value, status: int = 200) -> Response:
    """`body` is a list of rows (with `item`) or one object (`item` None); datetimes become w3c in either."""
    plain = _plain(body)
    if fmt == "xml":
        return Response(xml_bytes(root, item, plain), status_code=status, media_type=FORMATS["xml"])
    content = json.dumps(plain, ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=FORMATS["json"])
