"""The SMS grammar is pure: a table of texts and what they mean."""

from __future__ import annotations

import pytest

from hotline.cityconfig import load_city_config
from hotline.core.city import current_config
from hotline.sms.grammar import parse_sms
from tests.suite_city import CITY_DIR

CONFIG = load_city_config(CITY_DIR)

CASES = [
    # text, kind, command, number, category, language, extra checks
    (
        "KEBAKARAN di Jl. Diponegoro 12 Sisir",
        "report",
        None,
        None,
        "fire",
        "id",
        {"location": "Jl. Diponegoro 12 Sisir", "desa": "Sisir", "kecamatan": "Batu"},
    ),
    ("ada kebakaran di jl diponegoro", "report", None, None, "fire", "id", {"location": "jl diponegoro"}),
    ("there is a fire near the school in Tlekung", "report", None, None, "fire", "en", {"kecamatan": "Junrejo"}),
    (
        "tiba-tiba tanah longsor di Punten, ada korban",
        "report",
        None,
        None,
        "landslide",
        "id",
        {"urgent": True, "desa": "Punten"},
    ),
    ("BANJIR", "report", None, None, "flood", "id", {}),
    ("JALAN berlubang besar", "report", None, None, "roads", "id", {}),
    ("Kebakaran di jalan raya", "report", None, None, "fire", "id", {}),
    ("hama wereng di sawah desa Giripurno", "report", None, None, "farm", "id", {"kecamatan": "Bumiaji"}),
    ("pohon tumbang menutup jalan", "report", None, None, "waste", "id", {}),
    ("ada yang aneh", "report", None, None, None, "id", {}),
    ("terima 12", "urc_command", "accept", 12, None, "id", {}),
    ("TERIMA#12", "urc_command", "accept", 12, None, "id", {}),
    ("  Terima :  12   otw 5 menit", "urc_command", "accept", 12, None, "id", {"note": "otw 5 menit"}),
    ("SELESAI 7 api padam", "urc_command", "done", 7, None, "id", {"note": "api padam"}),
    ("tiba 3", "urc_command", "on_site", 3, None, "id", {}),
    ("TOLAK 4 armada habis", "urc_command", "decline", 4, None, "id", {"note": "armada habis"}),
    ("ACCEPT 9", "urc_command", "accept", 9, None, "en", {}),
    ("TERIMA", "urc_command", "accept", None, None, "id", {}),
    ("Terima kasih", "courtesy", None, None, None, "id", {}),
    ("ok makasih pak", "courtesy", None, None, None, "id", {}),
    ("thanks", "courtesy", None, None, None, "en", {}),
    ("STATUS", "citizen_command", "status", None, None, "id", {}),
    ("status 5", "citizen_command", "status", 5, None, "id", {}),
    ("cek 5", "citizen_command", "status", 5, None, "id", {}),
    ("BATAL 8", "citizen_command", "cancel", 8, None, "id", {}),
    ("cancel 8", "citizen_command", "cancel", 8, None, "en", {}),
    ("BERHENTI", "citizen_command", "stop", None, None, "id", {}),
    ("stop", "citizen_command", "stop", None, None, "en", {}),
    ("MULAI", "citizen_command", "start", None, None, "id", {}),
    ("3", "menu_choice", None, None, "flood", "id", {"menu_digit": 3}),
    (" 1. ", "menu_choice", None, None, "fire", "id", {}),
    ("8", "menu_choice", None, None, None, "id", {"menu_digit": 8}),
    # One word that says neither what happened nor where: not a report on its own (the intake asks).
    ("halo", "contentless", None, None, None, "id", {}),
    ("P", "contentless", None, None, None, "id", {}),
    ("?!", "contentless", None, None, None, "id", {}),
    ("👍", "contentless", None, None, None, "id", {}),
    # One word with content stays a report: a place, a cry for help.
    ("Sisir", "report", None, None, None, "id", {"desa": "Sisir"}),
    ("TOLONG", "report", None, None, None, "id", {"urgent": True}),
    ("", "empty", None, None, None, "id", {}),
    ("   ", "empty", None, None, None, "id", {}),
]

# The place after a location marker: only words that say where (a number, a desa or kecamatan, a place word
# of sms/keywords.yaml), and only the clauses that go on saying where.
PLACES = [
    ("KEBAKARAN di Jl. Diponegoro 12 Sisir", "Jl. Diponegoro 12 Sisir"),
    ("ada kebakaran di jl diponegoro", "jl diponegoro"),
    ("jalan di depan rumah saya rusak parah", None),  # a marker, then no place at all
    ("di depan rumah saya rusak parah", None),
    ("lampu jalan mati di depan rumah saya", None),
    ("tolong ada masalah di depan rumah saya, desa Tlekung", None),  # the desa is still found (find_place)
    ("tiba-tiba tanah longsor di Punten, ada korban", "Punten"),  # what happened is not the place
    ("LONGSOR di Sumberbrantas, jalan tertutup tanah", "Sumberbrantas"),
    ("banjir di dusun krajan rt 03 rw 02, air setinggi lutut", "dusun krajan rt 03 rw 02"),
    ("kebakaran di Jl. Panglima Sudirman 5. Apinya besar sekali", "Jl. Panglima Sudirman 5"),
    ("Kebakaran dekat SDN 2 Sisir", "SDN 2 Sisir"),
    ("banjir, lokasi: Jl. Diponegoro 12, Sisir", "Jl. Diponegoro 12, Sisir"),
    ("pohon tumbang di jalan, sekitar pasar Batu", "jalan, sekitar pasar Batu"),  # Batu: a kecamatan
    ("there is a fire near the school in Tlekung", "the school in Tlekung"),
    ("fire at my house", None),
    (  # two places: both, the crew needs the street as much as the landmark
        "Ada kebakaran di gudang dekat pasar, asap hitam tebal, warga panik di Jl. Diponegoro 12 Sisir",
        "gudang dekat pasar, Jl. Diponegoro 12 Sisir",
    ),
]


@pytest.mark.parametrize(("text", "location"), PLACES)
def test_the_place_after_a_marker_must_say_where(text: str, location: str | None) -> None:
    assert parse_sms(text, CONFIG.grammar, CONFIG.areas).location == location


@pytest.mark.parametrize(("text", "kind", "command", "number", "category", "language", "extra"), CASES)
def test_parse_sms(
    text: str,
    kind: str,
    command: str | None,
    number: int | None,
    category: str | None,
    language: str,
    extra: dict[str, object],
) -> None:
    parsed = parse_sms(text, CONFIG.grammar, CONFIG.areas)
    assert (parsed.kind, parsed.command, parsed.ticket_number, parsed.category, parsed.language) == (
        kind,
        command,
        number,
        category,
        language,
    )
    for field, expected in extra.items():
        assert getattr(parsed, field) == expected, field


def test_current_config_is_the_projects_data() -> None:
    assert current_config().default_agency.code == "COMMAND"
