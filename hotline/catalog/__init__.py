"""The words Hotline shows people, per language: hotline/catalog/<language>.yaml, Bahasa Indonesia first.

Each file has sections (`ui` for the console's labels, `status`, `priority`, `event` for timeline sentences,
`error` for what cannot be done...), each a map of code -> words. A code with no words shows as itself, so a
missing entry is visible (and tests/test_catalog.py fails on it) rather than an empty cell."""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from hotline.cityconfig.yamlsource import safe_load

LANGUAGES = ("id", "en")
CATALOG_DIR = Path(__file__).resolve().parent
MISSING = "—"


def language(code: str | None) -> str:
    return code if code in LANGUAGES else LANGUAGES[0]


@cache
def catalog(lang: str) -> dict[str, dict[str, str]]:
    loaded = safe_load((CATALOG_DIR / f"{language(lang)}.yaml").read_text(encoding="utf-8"))
    # A feature's own block at the end of the file names its entries "section.code: words" (one block per feature
    # keeps parallel branches from editing the same lines); they join their section here.
    for key in [k for k in loaded if isinstance(k, str) and "." in k and isinstance(loaded[k], str)]:
        section, _, code = key.partition(".")
        loaded.setdefault(section, {})[code] = loaded.pop(key)
    # YAML reads a bare yes/no/on/off key as a boolean: the catalog quotes them; refuse one that slipped in
    odd = [k for entries in loaded.values() for k in entries if not isinstance(k, str)]
    if odd:
        raise ValueError(f"hotline/catalog/{lang}.yaml: quote the key(s) {odd} (YAML reads them as booleans)")
    return {section: {str(k): str(v) for k, v in entries.items()} for section, entries in loaded.items()}


def word(section: str, code: str | None, lang: str) -> str:
    """The words for `code` in `section` (a status, a role...); the code itself when the catalog has none."""
    if code is None:
        return MISSING
    return catalog(language(lang)).get(section, {}).get(code, code)


def has(section: str, code: str, lang: str) -> bool:
    return code in catalog(language(lang)).get(section, {})


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:  # an event written before a field existed still reads as a sentence
        return MISSING


def say(section: str, code: str, lang: str, params: Mapping[str, Any] | None = None) -> str:
    """The sentence for `code`, its {placeholders} filled from `params` (a missing one shows as a dash)."""
    template = word(section, code, lang)
    values = _Params({k: MISSING if v is None else v for k, v in (params or {}).items()})
    return string.Formatter().vformat(template, (), values)
