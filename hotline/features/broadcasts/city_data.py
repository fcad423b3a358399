"""The city's sms/broadcasts.yaml: subscribe and check-in words, warning templates per hazard, answers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from hotline.cityconfig import CityConfig
from hotline.cityconfig.errors import ConfigError, ConfigErrors
from hotline.cityconfig.model import LANGUAGES
from hotline.cityconfig.yamlsource import safe_load
from hotline.settings import get_settings

FILE = "sms/broadcasts.yaml"
KEYWORDS = ("subscribe", "safe", "help")
REPLIES = ("subscribed", "unknown_desa", "safe_noted", "help_ticket")


@dataclass(frozen=True)
class Hazard:
    code: str
    category: str
    texts: dict[str, str]  # language -> template with {desa}


@dataclass(frozen=True)
class BroadcastData:
    max_segments: int
    words: dict[str, tuple[str, str]]  # "DAFTAR" -> ("subscribe", "id")
    checkin: dict[str, str]
    hazards: dict[str, Hazard]
    replies: dict[str, dict[str, str]]

    def say(self, key: str, language: str, **fields: object) -> str:
        texts = self.replies[key]
        return (texts.get(language) or texts["id"]).format(**fields)


def load(config_dir: Path | str, categories: set[str]) -> BroadcastData:
    path = Path(config_dir) / FILE
    problems: list[ConfigError] = []

    def fail(where: str, message: str) -> None:
        problems.append(ConfigError(FILE, 0, f"{where}: {message}"))

    try:
        raw = safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigErrors([ConfigError(FILE, 0, f"cannot be read: {exc}")]) from None
    words: dict[str, tuple[str, str]] = {}
    for name in KEYWORDS:
        for lang in LANGUAGES:
            for word in (raw.get("keywords", {}).get(name, {}) or {}).get(lang, []) or []:
                words[str(word).upper()] = (name, lang)
        if not any(v[0] == name for v in words.values()):
            fail(f"keywords.{name}", "has no words (add id: [...] and en: [...])")
    checkin = {lang: str(t) for lang, t in (raw.get("checkin") or {}).items()}
    hazards: dict[str, Hazard] = {}
    for code, spec in (raw.get("hazards") or {}).items():
        spec = spec or {}
        category = str(spec.get("category", ""))
        if category not in categories:
            fail(f"hazards.{code}.category", f"{category!r} is not a category of routing/categories.yaml")
        texts = {lang: str(spec[lang]) for lang in LANGUAGES if spec.get(lang)}
        hazards[str(code)] = Hazard(str(code), category, texts)
    replies = {k: {lang: str(t) for lang, t in (v or {}).items()} for k, v in (raw.get("replies") or {}).items()}
    for lang in LANGUAGES:
        if lang not in checkin:
            fail("checkin", f"has no '{lang}' text")
        for code, hazard in hazards.items():
            if lang not in hazard.texts:
                fail(f"hazards.{code}", f"has no '{lang}' text")
        for key in REPLIES:
            if lang not in replies.get(key, {}):
                fail(f"replies.{key}", f"has no '{lang}' text")
    if not hazards:
        fail("hazards", "no hazard templates (add e.g. landslide: {category: landslide, id: ..., en: ...})")
    if problems:
        raise ConfigErrors(problems)
    return BroadcastData(int(raw.get("max_segments", 3)), words, checkin, hazards, replies)


@lru_cache(maxsize=4)
def _cached(config_dir: str, categories: frozenset[str]) -> BroadcastData:
    return load(config_dir, set(categories))


def broadcast_data(config: CityConfig) -> BroadcastData:
    return _cached(str(get_settings().config_dir), frozenset(c.code for c in config.categories))
