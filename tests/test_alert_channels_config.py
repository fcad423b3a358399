"""`alert_channels` and `delivery_timeout_seconds` in routing/agencies.yaml: validated on load, errors name the
file, the line and the fix; the lists are pinned on a ticket when it is routed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline.cityconfig import load_city_config
from tests.city_files import config_errors, copy_city, edit
from tests.suite_city import CITY_DIR

AGENCIES = "routing/agencies.yaml"
DEFAULT_LINE = "alert_channels: [sms, sms_backup, voice]"


@pytest.fixture
def city(tmp_path: Path) -> Path:
    return copy_city(tmp_path, ("routing", "sms"))


def test_the_suites_lists_and_timeouts() -> None:
    config = load_city_config(CITY_DIR)
    pmk, bpbd = config.agency("PMK"), config.agency("BPBD")
    assert pmk is not None and bpbd is not None
    assert pmk.alert_channels == ("sms", "sms_backup", "voice") and pmk.delivery_timeout_seconds == 60
    assert bpbd.alert_channels == ("sms", "sms_backup", "voice") and bpbd.delivery_timeout_seconds == 120


def test_without_the_keys_alerts_are_sms_only(city: Path) -> None:
    edit(city / AGENCIES, f"{DEFAULT_LINE}\ndelivery_timeout_seconds: 120\n", "")
    config = load_city_config(city)
    assert {a.alert_channels for a in config.agencies} == {("sms",)}


def test_an_agency_overrides_the_city_default(city: Path) -> None:
    edit(
        city / AGENCIES,
        "    sms_name: BPBD Kota Batu\n",
        "    sms_name: BPBD Kota Batu\n    alert_channels: [voice, sms]\n",
    )
    agency = load_city_config(city).agency("BPBD")
    assert agency is not None and agency.alert_channels == ("voice", "sms")


@pytest.mark.parametrize(
    ("old", "new", "message", "fix"),
    [
        (
            DEFAULT_LINE,
            "alert_channels: [sms, fax]",
            "unknown alert channel 'fax'",
            "use one of sms, sms_backup, voice",
        ),
        (DEFAULT_LINE, "alert_channels: [sms, voice, sms]", "alert channel 'sms' is listed twice", "list each"),
        (DEFAULT_LINE, "alert_channels: []", "alert_channels is empty", "list at least one of sms"),
        (
            "    sms_name: DLH Kota Batu\n",
            "    sms_name: DLH Kota Batu\n    alert_channels: [sms, telegram]\n",
            "unknown alert channel 'telegram'",
            "use one of sms, sms_backup, voice",
        ),
    ],
)
def test_bad_channel_lists_name_file_line_and_fix(city: Path, old: str, new: str, message: str, fix: str) -> None:
    line = edit(city / AGENCIES, old, new)
    errors = config_errors(city)
    [error] = [e for e in errors if message in e]
    assert error.startswith(f"{AGENCIES}:") and fix in error, error
    reported = int(error.split(":")[1])
    assert abs(reported - line) <= 1, (error, line)


def test_a_timeout_out_of_range_is_refused(city: Path) -> None:
    line = edit(city / AGENCIES, "delivery_timeout_seconds: 120", "delivery_timeout_seconds: 2")
    errors = config_errors(city)
    assert any(e.startswith(f"{AGENCIES}:{line}:") and "delivery_timeout_seconds" in e for e in errors), errors


def test_escalation_steps_may_call_as_well(city: Path) -> None:
    edit(
        city / "routing/escalation.yaml",
        "      - {after_minutes: 3, notify: [agency_head, command_center]}",
        "      - {after_minutes: 3, notify: [agency_head, command_center], via: [sms, voice]}",
    )
    chain = load_city_config(city).escalation["PMK"]
    assert chain.steps[1].via == ("sms", "voice")
    line = edit(city / "routing/escalation.yaml", "via: [sms, voice]", "via: [sms, pager]")
    errors = config_errors(city)
    assert any(e.startswith(f"routing/escalation.yaml:{line}:") for e in errors), errors


def test_config_check_fails_on_a_bad_channel(city: Path) -> None:
    edit(city / AGENCIES, DEFAULT_LINE, "alert_channels: [sms, sms-backup]")
    bad = subprocess.run(
        [sys.executable, "-m", "hotline", "config", "check", str(city)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert f"{AGENCIES}:" in bad.stderr and "unknown alert channel 'sms-backup'" in bad.stderr
