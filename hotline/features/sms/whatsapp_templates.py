"""WhatsApp message templates, from the city's `sms/whatsapp.yaml` (optional): what a message becomes when
WhatsApp is the way to reach someone whose 24-hour customer-service window is closed. Meta approves each
template beforehand; the city names them here, per purpose, with the language each was approved in:

    templates:
      notify: {name: hotline_update, language: id}     # news of their report (accepted, done, "is it fixed?")
      reply:  {name: hotline_reply, language: id}
      broadcast: {name: hotline_warning, language: id}  # early warnings to WhatsApp subscribers

Each template has one body parameter, {{1}}: the text the SMS would carry. A purpose with no template is sent
by SMS once the window is closed (hotline/features/sms/sms_routes.py).

WhatsApp through Twilio names the same approved template by its Content API SID (Twilio's Content Template
Builder, `HX` + 32 hex digits), sent as `ContentSid` with `ContentVariables={"1": <the text>}`:

      notify: {name: hotline_update, language: id, twilio_content_sid: HX0123456789abcdef0123456789abcdef}

An entry may have the Meta name and language, the Twilio SID, or both (a city on one of the two needs only its own).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import yaml

from hotline.cityconfig.errors import ConfigError
from hotline.cityconfig.yamlsource import FastSafeLoader, safe_load
from hotline.models import OutboundPurpose

log = logging.getLogger(__name__)
FILE = Path("sms") / "whatsapp.yaml"
# What the hotline sends (outbound_messages.purpose) and so what a template may stand for
PURPOSES = tuple(OutboundPurpose)
NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta: lowercase letters, digits and underscores
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")  # Meta's codes: id, en, en_US, pt_BR
CONTENT_SID_RE = re.compile(r"^HX[0-9a-fA-F]{32}$")  # Twilio's Content resource SID


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> dict[str, dict[str, str]]:
    try:
        loaded = safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:  # a broken file must not stop the outbox: SMS takes over
        log.error("%s cannot be read (%s): no WhatsApp templates until it is fixed", path, exc)
        return {}
    templates = loaded.get("templates") if isinstance(loaded, dict) else None
    found = {}
    for purpose, spec in (templates if isinstance(templates, dict) else {}).items():
        if isinstance(spec, dict):
            found[str(purpose)] = {str(k): v for k, v in spec.items() if isinstance(v, str)}
    return found


def _spec(config_dir: Path, purpose: str) -> dict[str, str]:
    path = config_dir / FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    return _read(str(path), mtime).get(purpose, {})


def template_for(config_dir: Path, purpose: str) -> tuple[str, str] | None:
    """(template name, language code) for this purpose on the Cloud API, or None."""
    spec = _spec(config_dir, purpose)
    return (spec["name"], spec["language"]) if "name" in spec and "language" in spec else None


def twilio_content_for(config_dir: Path, purpose: str) -> str | None:
    """The Twilio Content SID (HX...) of this purpose's approved template, or None."""
    sid = _spec(config_dir, purpose).get("twilio_content_sid")
    return sid if sid and CONTENT_SID_RE.match(sid) else None


def check(config_dir: Path) -> list[ConfigError]:
    """`hotline config check`: what is wrong in sms/whatsapp.yaml, file:line each (no file: nothing). At run
    time a broken file is only logged and SMS takes over; this says so before the city goes live."""
    path = Path(config_dir) / FILE
    if not path.is_file():
        return []
    name = FILE.as_posix()
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=FastSafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        return [ConfigError(name, 0, f"cannot be read: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [ConfigError(name, mark.line + 1 if mark else 0, f"not valid YAML: {exc}")]
    if root is None:
        return []

    def at(node: yaml.Node) -> int:
        return node.start_mark.line + 1

    if not isinstance(root, yaml.MappingNode):
        return [ConfigError(name, at(root), "expected a mapping with `templates:`", "templates: {notify: {...}}")]
    problems: list[ConfigError] = []
    templates: yaml.Node | None = None
    for key, value in root.value:
        if key.value == "templates":
            templates = value
        else:
            problems.append(ConfigError(name, at(key), f"unknown key {key.value!r}", "only `templates:` is read"))
    if templates is None:
        return [*problems, ConfigError(name, at(root), "no `templates:`", "templates: {notify: {name, language}}")]
    if not isinstance(templates, yaml.MappingNode):
        return [*problems, ConfigError(name, at(templates), "templates: expected a mapping of purpose -> template")]
    fix = "e.g. notify: {name: hotline_update, language: id}"
    for key, spec in templates.value:
        purpose = str(key.value)
        if purpose not in PURPOSES:
            problems.append(
                ConfigError(name, at(key), f"templates.{purpose}: no such purpose", f"one of {', '.join(PURPOSES)}")
            )
        if not isinstance(spec, yaml.MappingNode):
            problems.append(ConfigError(name, at(spec), f"templates.{purpose}: expected {{name, language}}", fix))
            continue
        fields = {str(k.value): v for k, v in spec.value}
        for field, node in fields.items():
            if field not in ("name", "language", "twilio_content_sid"):
                problems.append(ConfigError(name, at(node), f"templates.{purpose}.{field}: unknown key", fix))
        twilio_only = "twilio_content_sid" in fields and "name" not in fields and "language" not in fields
        for field, pattern, what in (
            ("name", NAME_RE, "lowercase letters, digits and underscores, as Meta approved it"),
            ("language", LANGUAGE_RE, "the code the template was approved in: id, en, en_US"),
            ("twilio_content_sid", CONTENT_SID_RE, "HX and 32 hex digits, from Twilio's Content Template Builder"),
        ):
            node = fields.get(field)
            if node is None and (field == "twilio_content_sid" or twilio_only):
                continue  # optional; and a Twilio-only entry needs no Meta name
            if node is None:
                problems.append(ConfigError(name, at(spec), f"templates.{purpose}: no {field}", fix))
            elif not isinstance(node, yaml.ScalarNode) or not pattern.match(str(node.value)):
                shown = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
                problems.append(
                    ConfigError(name, at(node), f"templates.{purpose}.{field}: {shown!r} is not valid", what)
                )
    return problems
