"""The pure parts of Open311: redaction of free text, routing/open311.yaml's checks, photo metadata stripping,
the XML writer."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from hotline.cityconfig import load_city_config
from hotline.features.open311.photo_metadata import NotPublishable, without_metadata
from hotline.features.open311.redaction import number_forms, redact
from hotline.web.open311.documents import xml_bytes
from tests.city_files import config_errors, copy_city, edit
from tests.suite_city import CITY_DIR

PHOTO = (Path(__file__).parent / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("Hubungi 081234567890 ya", "Hubungi [telepon] ya"),
        ("wa +62 812-3456-7890.", "wa [telepon]."),
        ("sms 6281234567890", "sms [telepon]"),
        ("+6281234567890", "[telepon]"),
        ("kantor (0341) 512345", "kantor [telepon]"),
        ("0812.3456.7890", "[telepon]"),
        ("NIK 3579012345678901", "NIK [NIK]"),
        ("NIK 357901 234567 8901", "NIK [NIK]"),
        ("KTP 3579-0123-4567-8901", "KTP [NIK]"),
        ("mail Siti.Aminah+lapor@gmail.co.id!", "mail [email]!"),
        ("HP081234567890, WA0812-3456-7890", "HP[telepon], WA[telepon]"),  # glued to the word before
        ("0812 3456 7890 0813 1111 2222", "[telepon] [telepon]"),  # two numbers, not a NIK nor one long run
        ("+62 812 3456 7890 +62 813 1111 2222", "[telepon] [telepon]"),
        ("NIK 6271 0123 4567 8901", "NIK [NIK]"),  # Central Kalimantan's NIK starts with 62
        # what must stay: house numbers, RT/RW, dates, times, distances, coordinates, short numbers
        ("Jl. Diponegoro 12 RT 03 RW 05", "Jl. Diponegoro 12 RT 03 RW 05"),
        ("sejak 2026-03-01 jam 10.30, km 12", "sejak 2026-03-01 jam 10.30, km 12"),
        ("tanggal 07-12-2026 jam 08.00, 01/02/2026", "tanggal 07-12-2026 jam 08.00, 01/02/2026"),
        ("titik -7.871200,112.523400", "titik -7.871200,112.523400"),
        ("2 rumah, 15 orang, 0341", "2 rumah, 15 orang, 0341"),
    ],
)
def test_redaction(text: str, public: str) -> None:
    assert redact(text) == public


def test_redaction_of_the_names_reporters_gave_whole_words_any_case() -> None:
    names = ["Siti", "Aminah", "Siti Aminah", "x"]
    assert redact("SITI AMINAH melapor; bu siti ada di Jl. Sitinjau", names=names) == (
        "[nama] melapor; bu [nama] ada di Jl. Sitinjau"
    )


def test_the_reporters_own_number_is_hidden_in_any_form_they_write_it() -> None:
    forms = number_forms("+6281299990000")
    assert forms == ["+6281299990000", "6281299990000", "081299990000", "81299990000"]
    assert redact("nomor saya 81299990000, rumah no 81", numbers=forms) == "nomor saya [telepon], rumah no 81"
    spaced = "wa 812 9999 0000 atau 812-9999-0000, RT 03 81299990000"
    assert redact(spaced, numbers=forms) == "wa [telepon] atau [telepon], RT 03 [telepon]"
    assert number_forms("INFOBATU") == []  # an alphanumeric sender has no number to hide


def test_the_fixture_and_shipped_city_load_their_open311_files() -> None:
    rules = load_city_config(CITY_DIR).open311
    assert rules.jurisdiction_id == "kotabatu.example" and rules.service("other").private
    assert [a.code for a in rules.service("fire").attributes] == ["trapped", "floors"]
    shipped = load_city_config(Path(__file__).resolve().parent.parent).open311
    assert shipped.service("farm").private and not shipped.service("fire").private
    assert shipped.service("fire").attributes[0].required


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  farm:\n", "  volcano:\n", "unknown category volcano"),
        ("datatype: number", "datatype: singlevaluelist", "attribute floors: singlevaluelist needs values"),
        ("code: floors", "code: Floors!", "attribute code 'Floors!'"),
        ("private_gps_decimals: 2", "private_gps_decimals: 9", "less than or equal to 4"),
        ("    private: true", "    privat: true", "remove 'privat'"),
    ],
)
def test_mistakes_in_open311_yaml_name_the_line_and_the_fix(tmp_path: Path, old: str, new: str, message: str) -> None:
    city = copy_city(tmp_path, ("routing", "sms", "ivr_flows"))
    line = edit(city / "routing" / "open311.yaml", old, new)
    errors = config_errors(city)
    assert any(e.startswith(f"routing/open311.yaml:{line}") and message in e for e in errors), errors


def test_a_city_without_open311_yaml_has_public_services_with_no_questions(tmp_path: Path) -> None:
    city = copy_city(tmp_path, ("routing", "sms", "ivr_flows"))
    (city / "routing" / "open311.yaml").unlink()
    rules = load_city_config(city).open311
    assert rules.jurisdiction_id is None and not rules.service("other").private and not rules.service("fire").attributes


def test_published_photos_lose_exif_and_keep_the_picture() -> None:
    assert b"HotlineTestPhone" in PHOTO
    cleaned = without_metadata(PHOTO, "image/jpeg")
    assert b"HotlineTestPhone" not in cleaned and b"Exif" not in cleaned
    assert cleaned.startswith(b"\xff\xd8") and cleaned.endswith(PHOTO[-100:])
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", b"\0" * 13) + _chunk(b"tEXt", b"GPS\0-7.87") + _chunk(b"IEND", b"")
    assert b"GPS" not in without_metadata(png, "image/png")
    with pytest.raises(NotPublishable):
        without_metadata(b"RIFF....WEBP", "image/webp")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + b"\0\0\0\0"


def test_xml_writer_uses_the_specs_list_tags() -> None:
    doc = xml_bytes("service_definition", None, {"service_code": "x", "attributes": [{"values": [{"key": "a"}]}]})
    root = etree.fromstring(doc)
    assert root.findtext("attributes/attribute/values/value/key") == "a"
    assert doc.startswith(b'<?xml version="1.0" encoding="utf-8"?>')


def test_xml_text_is_escaped_and_rid_of_what_xml_cannot_carry() -> None:
    sms = "Banjir <1 m> & naik\x0b\x1b lagi, \u201ccepat\u201d"  # a modem's vertical tab and escape, curly quotes
    root = etree.fromstring(xml_bytes("service_requests", "request", [{"description": sms, "lat": None}]))
    assert root.findtext("request/description") == "Banjir <1 m> & naik lagi, \u201ccepat\u201d"
    assert root.findtext("request/lat") == ""
