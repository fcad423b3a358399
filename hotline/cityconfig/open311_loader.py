"""routing/open311.yaml: what Open311 GeoReport v2 clients see of the city's categories.

The file is optional: without it every category is a public service with no attributes and any
jurisdiction_id is accepted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.cityconfig.errors import ConfigError
from hotline.cityconfig.model import (
    AttributeValue,
    CategorySpec,
    Open311Rules,
    Open311Service,
    ServiceAttribute,
)
from hotline.cityconfig.schema_errors import pydantic_errors
from hotline.cityconfig.yamlsource import ConfigErrorOnRead, read_yaml

FILE = "routing/open311.yaml"
Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
CODE = re.compile(r"^[a-z0-9_]{1,32}$")  # it travels as attribute[code]=... in a form


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Words(_Strict):
    id: str = Field(min_length=1, max_length=500)
    en: str | None = Field(default=None, max_length=500)


class ValueIn(_Strict):
    key: str = Field(min_length=1, max_length=64)
    name: Words


class AttributeIn(_Strict):
    code: str
    datatype: Datatype
    required: bool = False
    description: Words
    values: list[ValueIn] = []


class ServiceIn(_Strict):
    group: str = Field(default="", max_length=100)
    description: Words | None = None
    keywords: list[str] = []
    private: bool = False
    attributes: list[AttributeIn] = []


class Open311File(_Strict):
    jurisdiction_id: str | None = Field(default=None, min_length=1, max_length=100)
    private_gps_decimals: int = Field(default=2, ge=0, le=4)
    contact: str | None = Field(default=None, min_length=1, max_length=500)
    key_service: str | None = Field(default=None, min_length=1, max_length=500)
    services: dict[str, ServiceIn] = {}


def _words(words: Words) -> dict[str, str]:
    return {"id": words.id, **({"en": words.en} if words.en else {})}


def load_open311(root: Path, categories: tuple[CategorySpec, ...]) -> tuple[Open311Rules, list[ConfigError]]:
    """The rules, or (the defaults, errors naming file:line and the fix)."""
    if not (root / FILE).exists():
        return Open311Rules(), []
    try:
        source = read_yaml(root / FILE, FILE)
    except ConfigErrorOnRead as exc:
        return Open311Rules(), [exc.error]
    try:
        parsed = Open311File.model_validate(source.data)
    except ValidationError as exc:
        return Open311Rules(), pydantic_errors(source, exc)
    errors: list[ConfigError] = []
    codes = {c.code for c in categories}
    services: dict[str, Open311Service] = {}
    for code, spec in parsed.services.items():
        where: tuple[str | int, ...] = ("services", code)
        if code not in codes:
            errors.append(source.error(where, f"unknown category {code}", f"use one of {', '.join(sorted(codes))}"))
            continue
        attributes: list[ServiceAttribute] = []
        for i, attr in enumerate(spec.attributes):
            at = (*where, "attributes", i)
            if not CODE.match(attr.code):
                errors.append(source.error((*at, "code"), f"attribute code {attr.code!r}", "use a-z, 0-9 and _"))
            if attr.code in {a.code for a in attributes}:
                errors.append(source.error((*at, "code"), f"attribute {attr.code} is listed twice", "remove one"))
            is_list = attr.datatype.endswith("valuelist")
            if is_list != bool(attr.values):
                fix = "add 'values:' with key and name" if is_list else "remove 'values:' or use a *valuelist datatype"
                problem = f"attribute {attr.code}: {attr.datatype} {'needs' if is_list else 'takes no'} values"
                errors.append(source.error((*at, "datatype"), problem, fix))
            values = tuple(AttributeValue(v.key, _words(v.name)) for v in attr.values)
            attributes.append(
                ServiceAttribute(attr.code, attr.datatype, attr.required, _words(attr.description), i + 1, values)
            )
        services[code] = Open311Service(
            group=spec.group,
            descriptions=_words(spec.description) if spec.description else {},
            keywords=tuple(spec.keywords),
            attributes=tuple(attributes),
            private=spec.private,
        )
    defaults = Open311Rules()
    rules = Open311Rules(
        parsed.jurisdiction_id,
        parsed.private_gps_decimals,
        parsed.contact or defaults.contact,
        parsed.key_service or defaults.key_service,
        services,
    )
    return (rules, errors) if not errors else (Open311Rules(), errors)
