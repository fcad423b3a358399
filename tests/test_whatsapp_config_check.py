"""`hotline config check` validates sms/whatsapp.yaml (the WhatsApp templates) with file:line errors: at run
time a broken file is only logged and SMS takes over, so the check is where a city hears of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline.features.sms.whatsapp_templates import check, template_for, twilio_content_for
from tests.city_files import copy_city, edit

FILE = "sms/whatsapp.yaml"


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return copy_city(tmp_path, ("routing", "sms"))


def _config_check(city: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline", "config", "check", str(city)], capture_output=True, text=True, timeout=120
    )


def test_the_suite_s_file_is_valid_and_read(city: Path) -> None:
    assert check(city) == []
    assert template_for(city, "broadcast") == ("hotline_warning", "id")
    assert template_for(city, "alert") == ("hotline_alert", "id")


def test_a_twilio_only_entry_needs_no_meta_name_and_is_read(city: Path) -> None:
    edit(city / FILE, f"{NOTIFY}, twilio_content_sid: {SID}}}", f"notify: {{twilio_content_sid: {SID}}}")
    assert check(city) == []
    assert twilio_content_for(city, "notify") == SID and template_for(city, "notify") is None
    assert twilio_content_for(city, "alert") is None  # a Meta template with no Twilio SID


def test_no_file_is_fine(city: Path) -> None:
    (city / FILE).unlink()
    assert check(city) == []


NOTIFY = "notify: {name: hotline_update, language: id"  # then `, twilio_content_sid: HX...}`
SID = "HX5e1d2c3b4a5968778695a4b3c2d1e0f1"


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (NOTIFY, "notify: {name: Hotline Update, language: id", "name"),
        (NOTIFY, "notify: {name: hotline_update, language: Bahasa", "language"),
        (NOTIFY, "notify: {name: hotline_update", "no language"),
        (NOTIFY, "notfy: {name: hotline_update, language: id", "no such purpose"),
        (f"{NOTIFY}, twilio_content_sid: {SID}}}", "notify: hotline_update", "expected {name, language}"),
        (NOTIFY, "notify: {name: hotline_update, language: id, lang: en", "unknown key"),
        (SID, "HX5e1d2c3b", "twilio_content_sid"),  # Twilio's Content SIDs: HX and 32 hex digits
        (SID, "MG5e1d2c3b4a5968778695a4b3c2d1e0f1", "twilio_content_sid"),  # a Messaging Service SID, not content
    ],
)
def test_each_mistake_is_named_with_its_line(city: Path, old: str, new: str, says: str) -> None:
    line = edit(city / FILE, old, new)
    errors = [str(e) for e in check(city)]
    assert len(errors) == 1 and errors[0].startswith(f"{FILE}:{line}:") and says in errors[0], errors


def test_broken_yaml_fails_config_check_with_file_and_line(city: Path) -> None:
    line = edit(city / FILE, f"{NOTIFY}, twilio_content_sid: {SID}}}", NOTIFY)
    [error] = [str(e) for e in check(city)]
    assert error.startswith(f"{FILE}:") and "not valid YAML" in error
    assert int(error.split(":")[1]) >= line
    bad = _config_check(city)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"{FILE}:" in bad.stderr and "not valid YAML" in bad.stderr
