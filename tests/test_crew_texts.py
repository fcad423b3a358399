"""What crews read, as pure functions: the place first, the citizen's words cut so the whole text fits one
GSM-7 SMS with the longest values the city can give, and `hotline config check` warning about templates
that cannot fit (tests/city, and the shipped data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cityconfig import load_city_config
from hotline.cli import app
from hotline.core.wording import MIN_LOCATION, crew_phone, fit, place, quote_source, say, shorten
from hotline.features.sms.sms_lengths import warnings, worst_case_fields
from hotline.models import Ticket
from hotline.sms.encoding import measure
from hotline.sms.replies import ONE_SMS, REPLY_FIELDS, SPOKEN
from tests.city_files import copy_city, edit
from tests.suite_city import CITY_DIR

CONFIG = load_city_config(CITY_DIR)
SHIPPED = Path(__file__).resolve().parent.parent
ALERT = CONFIG.replies.templates["alert"]["id"]


@pytest.mark.parametrize(
    ("location", "desa", "kecamatan", "expected"),
    [
        ("Jl. Diponegoro 12 Sisir", "Sisir", "Batu", "Jl. Diponegoro 12 Sisir, Kec. Batu"),
        ("Punten, Bumiaji", "Punten", "Bumiaji", "Punten, Bumiaji"),  # what the IVR stores: nothing repeated
        (None, "Tlekung", "Junrejo", "Tlekung, Kec. Junrejo"),
        (None, None, "Junrejo", "Kec. Junrejo"),
        ("gudang “Sumber Rejeki”\u00a0dekat pasar", None, None, 'gudang "Sumber Rejeki" dekat pasar'),
        ("  ", None, None, None),
        (None, None, None, None),
    ],
)
def test_the_place_a_crew_reads(location: str | None, desa: str | None, kecamatan: str | None, expected: str) -> None:
    assert place(location, desa, kecamatan) == expected


@pytest.mark.parametrize(
    ("phone", "shown"),
    [("+6281234567890", "081234567890"), ("+61412345678", "+61412345678"), ("TELKOMSEL", "TELKOMSEL")],
)
def test_the_reporter_as_a_crew_dials_them(phone: str, shown: str) -> None:
    assert crew_phone(phone) == shown


@pytest.mark.parametrize(
    ("text", "location", "category", "quote"),
    [
        ("KEBAKARAN di Jl. Diponegoro 12 Sisir", "Jl. Diponegoro 12 Sisir", "fire", ""),  # all said already
        ("kebakaran", None, "fire", ""),
        ("Ada kebakaran di gudang dekat pasar, asap hitam", "gudang dekat pasar", "fire", "Ada kebakaran, asap hitam"),
        ("kebakaran besar, ada anak terjebak", None, "fire", "kebakaran besar, ada anak terjebak"),
        ("BANJIR di Punten, air masuk rumah", "Punten", "flood", "BANJIR, air masuk rumah"),
        ("asap…  tebal\nlokasi di Jl. Imam Bonjol 3", "Jl. Imam Bonjol 3", "fire", "asap... tebal"),
        ("jalan rusak di depan rumah saya", None, "roads", "jalan rusak di depan rumah saya"),
        (
            "Ada kebakaran di gudang dekat pasar, asap hitam, di Jl. Diponegoro 12",
            "gudang dekat pasar, Jl. Diponegoro 12",  # two places the grammar joined: each comes out
            "fire",
            "Ada kebakaran, asap hitam",
        ),
    ],
)
def test_the_quote_leaves_out_what_the_alert_says_already(
    text: str, location: str | None, category: str, quote: str
) -> None:
    ticket = Ticket(text=text, location_text=location, category=category)
    assert quote_source(CONFIG, ticket) == quote


@pytest.mark.parametrize(
    ("text", "room", "cut"),
    [
        ("asap tebal dari gudang", 30, "asap tebal dari gudang"),
        ("asap tebal dari gudang belakang pasar", 20, "asap tebal dari..."),
        ("asaptebaldarigudangbelakangpasar", 12, "asaptebal..."),
        ("Jl. Diponegoro 12, Sisir", 17, "Jl. Diponegoro..."),
    ],
)
def test_shorten_cuts_after_a_word_and_marks_it(text: str, room: int, cut: str) -> None:
    assert shorten(text, room) == cut and len(cut) <= room


FIELDS = {
    "number": 245,
    "category": "Kebakaran",
    "agency": "Damkar Kota Batu",
    "priority": "KRITIS",
    "location": "Jl. Diponegoro 12 Sisir, Kec. Batu",
    "reporter": "081234567890",
    "status": "MENUNGGU TANGGAPAN TIM",
}


def test_a_typical_alert_is_one_gsm7_part_with_the_place_first() -> None:
    quote = "Ada kebakaran di gudang “Sumber Rejeki” dekat pasar, asap hitam tebal… tolong cepat, warga panik 🙏"
    text = fit(ALERT, {**FIELDS, "quote": quote})
    size = measure(text)
    assert (size.encoding, size.segments) == ("gsm7", 1) and size.length <= 160
    assert text.startswith('Jl. Diponegoro 12 Sisir, Kec. Batu. Kebakaran KRITIS, No. 245. "Ada kebakaran')
    assert text.endswith('..." Pelapor 081234567890. Balas TERIMA 245 / TOLAK 245')


def test_with_nothing_to_quote_there_are_no_empty_quotation_marks() -> None:
    text = fit(ALERT, {**FIELDS, "quote": ""})
    assert (
        text == "Jl. Diponegoro 12 Sisir, Kec. Batu. Kebakaran KRITIS, No. 245. Pelapor 081234567890. "
        "Balas TERIMA 245 / TOLAK 245"
    )


@pytest.mark.parametrize("key", sorted(ONE_SMS))
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_crew_text_fits_one_sms_with_the_longest_values(key: str, language: str) -> None:
    """The longest category, agency and status of the suite's city, 5-digit numbers, a 500-character place
    and quote: the place and the quote give way, the reply words at the end survive."""
    fields = worst_case_fields(CONFIG, language)
    text = say(CONFIG, key, language, **fields)
    size = measure(text)
    assert (size.encoding, size.segments) == ("gsm7", 1) and size.length <= 160, (size, text)
    template = CONFIG.replies.templates[key][language]
    # what follows the place and the quote (the reply words) is never cut
    tail = template.rsplit("{location}", 1)[-1].rsplit("{quote}", 1)[-1].format(**fields).strip()
    assert text.endswith(tail), (text, tail)


def test_a_place_is_never_cut_to_nothing() -> None:
    fields = {**worst_case_fields(CONFIG, "id"), "location": "Jl. Panglima Sudirman 123 RT 04 RW 07 " * 5}
    text = say(CONFIG, "alert", "id", **fields)
    where = text.split("... ", 1)[0]
    assert text.startswith("Jl. Panglima Sudirman 123 RT 04") and len(where) >= MIN_LOCATION and len(text) <= 160


@pytest.mark.parametrize("key", sorted(set(REPLY_FIELDS) - SPOKEN))
def test_indonesian_texts_use_one_vocabulary(key: str) -> None:
    """A native speaker's standard (issue 24): "No. 245", "laporan" (never "tiket"), no "URC", no "#"."""
    for language in ("id", "en"):
        text = CONFIG.replies.templates[key][language]
        assert "#" not in text and "URC" not in text, (key, language, text)
    indonesian = CONFIG.replies.templates[key]["id"].lower()
    assert "tiket" not in indonesian and "sudah {status}" not in indonesian and "reply" not in indonesian


def test_priorities_cannot_be_read_as_a_status() -> None:
    priorities = {w["id"] for w in CONFIG.replies.priorities.values()}
    statuses = " ".join(w["id"] for w in CONFIG.replies.statuses.values()).split()
    assert priorities == {"KRITIS", "TINGGI", "BIASA", "RENDAH"} and not priorities & set(statuses)


@pytest.mark.parametrize("folder", [CITY_DIR, SHIPPED], ids=["tests-city", "shipped"])
def test_the_city_s_templates_fit(folder: Path) -> None:
    assert warnings(load_city_config(folder)) == []


def test_config_check_warns_about_a_template_that_outgrows_its_sms(tmp_path: Path) -> None:
    city = copy_city(tmp_path)
    replies = city / "sms" / "replies.yaml"
    edit(replies, "Kirim SELESAI {number} jika tuntas.", "Kirim SELESAI {number} jika tuntas" + ", ya" * 80 + ".")
    edit(replies, "pelapor menjawab belum beres.", "pelapor menjawab masalahnya sama sekali belum beres.")
    edit(replies, "Terima kasih atas laporan Anda.", "Terima kasih atas laporan Anda … " + "sungguh " * 60)
    found = warnings(load_city_config(city))
    assert any(w.startswith("warning: sms/replies.yaml: reply member_on_site/id can reach") for w in found), found
    assert any("reply team_reopened/id" in w and "one-part gateway" in w for w in found), found
    assert any("reply citizen_done/id" in w and "outside GSM-7 (…)" in w for w in found), found
    assert any("reply citizen_done/id can reach" in w and "SMS parts" in w for w in found), found
    assert not any("/en" in w for w in found)

    result = CliRunner().invoke(app, ["config", "check", str(city)])
    assert result.exit_code == 0, result.output  # warnings: the city can still go live
    assert "warning: sms/replies.yaml: reply citizen_done/id" in result.output
