"""WhatsApp message templates, from the city's `sms/whatsapp.yaml` (optional): what a message becomes when
WhatsApp is the way to reach someone whose 24-hour customer-service window is closed. Meta approves each
template beforehand; the city names them here, per purpose, with the language each was approved in:

    templates:
      notify: {name: hotline_update, language: id}     # news of their report (accepted, done, "is it fixed?")
      reply:  {name: hotline_reply, language: id}
      broadcast: {name: hotline_warning, language: id}  # early warnings to WhatsApp subscribers

Each template has one body parameter, {{1}}: the text the SMS would carry. A purpose with no template is sent
by SMS once the window is closed (hotline/features/sms/sms_routes.py).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import yaml

log = logging.getLogger(__name__)
FILE = Path("sms") / "whatsapp.yaml"


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> dict[str, tuple[str, str]]:
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:  # a broken file must not stop the outbox: SMS takes over
        log.error("%s cannot be read (%s): no WhatsApp templates until it is fixed", path, exc)
        return {}
    templates = loaded.get("templates") if isinstance(loaded, dict) else None
    found = {}
    for purpose, spec in (templates if isinstance(templates, dict) else {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("name"), str) and isinstance(spec.get("language"), str):
            found[str(purpose)] = (spec["name"], spec["language"])
    return found


def template_for(config_dir: Path, purpose: str) -> tuple[str, str] | None:
    """(template name, language code) for this purpose, or None."""
    path = config_dir / FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return _read(str(path), mtime).get(purpose)
