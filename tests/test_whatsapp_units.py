"""The WhatsApp pieces that need no server: payload parsing, signatures, links, sniffing, EXIF, templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.channels.whatsapp.gateway import interactive, template
from hotline.channels.whatsapp.payloads import NotAWebhook, parse, stored_id
from hotline.channels.whatsapp.webhook import signature
from hotline.features.media.public_link import make_token, read_token
from hotline.features.media.sniff import sniff, why_refused
from hotline.features.sms.whatsapp_templates import template_for
from tests.media_files import jpeg, ogg_voice, pdf

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"


def test_a_long_wamid_is_stored_under_a_stable_digest_that_fits() -> None:
    wamid = "wamid." + "x" * 60
    assert stored_id(wamid) == stored_id(wamid) and len("wa:" + stored_id(wamid)) <= 64
    assert stored_id("wamid.short") == "wamid.short"


def test_statuses_become_reports_in_our_words() -> None:
    failed = parse(json.loads((FIXTURES / "status_failed.json").read_text()), gateway="wa")
    [report] = failed.reports
    assert (report.status, report.error_code, report.detail) == ("failed", "131047", "Re-engagement message")
    with pytest.raises(NotAWebhook):
        parse({"object": "page"}, gateway="wa")


def test_the_signature_is_meta_s() -> None:
    # HMAC-SHA256 of the raw body under the app secret, hex, "sha256=" first; the value from `openssl dgst -sha256
    # -hmac secret` over the same two bytes
    expected = "sha256=77325902caca812dc259733aacd046b73817372c777b8d95b402647474516e13"
    assert signature("secret", b"{}") == expected
    assert signature("other", b"{}") != expected


def test_links_open_one_ticket_until_they_expire() -> None:
    token = make_token("k", 42, now=1000)
    assert read_token("k", token, now=1000) == 42
    assert read_token("k", token, now=1000 + 73 * 3600) is None
    assert read_token("other", token, now=1000) is None


def test_sniffing_decides_not_the_claim() -> None:
    assert (sniff(jpeg()), sniff(ogg_voice()), sniff(pdf()), sniff(b"MZ\x90\x00")) == (
        "image/jpeg",
        "audio/ogg",
        "application/pdf",
        None,
    )
    assert why_refused("image", "image/jpeg", "application/pdf")
    assert why_refused("voice", "audio/ogg", "image/jpeg")
    assert why_refused("image", "image/jpeg", "image/jpeg") is None


def test_what_whatsapp_would_refuse_goes_as_text() -> None:
    eleven = {"kind": "list", "button": "Pilih", "options": [[str(i), f"row {i}"] for i in range(11)]}
    assert interactive("Kejadian apa?", eleven) is None
    assert interactive("x" * 1100, {"kind": "location"}) is None
    assert template("body", "hotline_update", "id")["template"]["language"] == {"code": "id"}


def test_a_broken_templates_file_means_sms(tmp_path: Path) -> None:
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "whatsapp.yaml").write_text("templates: [unclosed\n")
    assert template_for(tmp_path, "notify") is None
    assert template_for(Path(__file__).parent / "city", "notify") == ("hotline_update", "id")
