"""What GeoReport v2 documents (wiki.open311.org/GeoReport_v2, /Service_Discovery) for each answer, to check
every answer the Open311 tests get: JSON field by field, XML against tests/open311/georeport_v2.xsd (lxml)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "open311" / "georeport_v2.xsd")))

SERVICE = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
ATTRIBUTE = {"variable", "code", "datatype", "required", "datatype_description", "order", "description"}
REQUEST = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
UPDATE = {
    "update_id", "service_request_id", "status", "updated_datetime", "description", "media_url",
    "external_status_code",
}  # fmt: skip
# FixMyStreet's words for a state (Open311.pm map_state): the spec's open/closed and its extended ones
UPDATE_STATUSES = {
    "open", "closed", "fixed", "in_progress", "action_scheduled", "investigating", "duplicate",
    "not_councils_responsibility", "no_further_action", "internal_referral",
}  # fmt: skip
CREATED = {"service_request_id", "token", "service_notice", "account_id"}
TOKEN = {"service_request_id", "token"}
ERROR = {"code", "description"}
DISCOVERY = {"changeset", "contact", "key_service", "endpoints"}
ENDPOINT = {"specification", "url", "changeset", "type", "formats"}


def _w3c(value: Any) -> None:
    assert isinstance(value, str) and "T" in value, value
    assert datetime.fromisoformat(value).tzinfo is not None, f"{value}: a w3c datetime needs its timezone"


def check_request_row(row: dict[str, Any]) -> None:
    assert set(row) == REQUEST, set(row) ^ REQUEST
    assert row["status"] in ("open", "closed")
    _w3c(row["requested_datetime"])
    _w3c(row["updated_datetime"])
    if row["expected_datetime"] is not None:
        _w3c(row["expected_datetime"])
    for key, top in (("lat", 90), ("long", 180)):
        assert row[key] is None or (isinstance(row[key], float) and -top <= row[key] <= top), row


def check_json(kind: str, body: Any) -> None:
    """`kind`: services, service_definition, requests, updates, created, token, errors, discovery."""
    if kind == "discovery":
        assert set(body) == DISCOVERY and body["endpoints"], body
        for endpoint in body["endpoints"]:
            assert set(endpoint) == ENDPOINT and "application/json" in endpoint["formats"], endpoint
            assert "text/xml" in endpoint["formats"]
        return
    if kind == "service_definition":
        assert set(body) == {"service_code", "attributes"}, body
        for attr in body["attributes"]:
            assert ATTRIBUTE <= set(attr) <= ATTRIBUTE | {"values"}, attr
            assert all(set(v) == {"key", "name"} for v in attr.get("values", [])), attr
        return
    assert isinstance(body, list), body
    fields = {"services": SERVICE, "created": CREATED, "token": TOKEN, "errors": ERROR}
    for row in body:
        if kind == "requests":
            check_request_row(row)
        elif kind == "updates":
            assert set(row) == UPDATE, set(row) ^ UPDATE
            assert row["status"] in UPDATE_STATUSES and row["update_id"] and row["service_request_id"], row
            _w3c(row["updated_datetime"])
        else:
            assert set(row) == fields[kind], set(row) ^ fields[kind]
    if kind == "errors":
        assert body and all(isinstance(r["code"], int) and r["description"] for r in body), body


def check_xml(content: bytes) -> etree._Element:
    """The document is UTF-8 with its declaration and valid against the schema; its root element."""
    assert content.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), content[:60]
    root = etree.fromstring(content)
    XSD.assertValid(root)
    return root


def check_answer(answer: httpx.Response, kind: str) -> Any:
    """The body of an answer checked by its format (its Content-Type); the parsed JSON or the XML root."""
    if answer.headers["content-type"].startswith("text/xml"):
        return check_xml(answer.content)
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    check_json(kind, answer.json())
    return answer.json()
