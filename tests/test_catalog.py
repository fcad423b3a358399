"""The console's message catalogs (hotline/catalog/<language>.yaml) and what reads them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.catalog import LANGUAGES, catalog, has, say, word
from hotline.web.shield_words import reason_in_words

HOTLINE = Path(__file__).resolve().parent.parent / "hotline"


def test_every_language_has_the_same_sections_and_codes() -> None:
    first, *others = (catalog(lang) for lang in LANGUAGES)
    for other in others:
        assert first.keys() == other.keys()
        for section in first:
            assert first[section].keys() == other[section].keys(), section


def test_every_placeholder_is_the_same_in_both_languages() -> None:
    for section, entries in catalog("id").items():
        for code, words in entries.items():
            english = catalog("en")[section][code]
            assert set(re.findall(r"{(\w+)}", words)) == set(re.findall(r"{(\w+)}", english)), f"{section}.{code}"


def recorded_kinds() -> set[str]:
    """Every timeline event kind the code writes: record(session, ticket, "kind", ...), TicketEvent(kind=...)
    and the statuses a transition records."""
    kinds: set[str] = set()
    for path in HOTLINE.rglob("*.py"):
        source = path.read_text()
        kinds |= set(re.findall(r'record\(\s*(?:self\.)?session,\s*\w+,\s*"(\w+)"', source))
        kinds |= set(re.findall(r'TicketEvent\([^)]*?kind="(\w+)"', source, re.S))
    from hotline.features.tickets.tickets import TRANSITIONS

    return kinds | {target for targets in TRANSITIONS.values() for target in targets}


def test_every_event_the_code_records_has_a_sentence_in_both_languages() -> None:
    kinds = recorded_kinds()
    assert {"accepted", "reopened", "escalated", "stale", "merged", "note"} <= kinds  # the scan finds them
    for lang in LANGUAGES:
        assert sorted(k for k in kinds if not has("event", k, lang)) == [], lang


def test_yaml_words_that_look_like_booleans_stay_keys() -> None:
    assert (word("ui", "yes", "id"), word("ui", "no", "id"), word("ui", "no", "en")) == ("ya", "tidak", "no")


def test_a_missing_value_reads_as_a_dash_not_an_error() -> None:
    assert say("event", "accepted", "id", {}) == "— menerima laporan"


@pytest.mark.parametrize(
    ("reason", "lang", "words"),
    [
        ("marked by an operator", "id", "ditandai petugas"),
        ("7 calls within an hour (limit 5)", "id", "7 panggilan dalam satu jam (batas 5)"),
        (
            "confirmed 2026-12-07 08:00 UTC, but 16 calls within an hour (limit 15 for a confirmed number)",
            "id",
            "dipastikan asli oleh penelepon 07-12-2026 15:00 WIB, tetapi 16 panggilan dalam satu jam "
            "(batas 15 untuk nomor yang sudah dipastikan)",
        ),
        (
            "open ticket #12: 6 calls within 24 hours (limit 5); a follow-up to it",
            "en",
            "has open report No. 12: 6 calls within 24 hours (limit 5); taken as a follow-up",
        ),
        ("Sudah dicek, warga asli", "id", "Sudah dicek, warga asli"),  # an operator's own note
    ],
)
def test_shield_reasons_in_words(reason: str, lang: str, words: str) -> None:
    assert reason_in_words(reason, lang) == words
