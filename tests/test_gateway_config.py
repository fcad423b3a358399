"""SMS gateway settings (hotline/core/gateway_config.py), the GSM-7/UCS-2 choice, and what each gateway
asks of its peer for one SMS: pure, no database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest

from hotline.channels.gammu.gateway import GammuGateway
from hotline.channels.gateway import OutgoingSms
from hotline.channels.kannel.sms_client import KannelSmsProvider
from hotline.core.gateway_config import SmsRouting, read_routing
from hotline.settings import Settings
from hotline.sms.encoding import measure
from tests.suite_city import clean_environment


def _routing(**env: str) -> SmsRouting:
    """The routing these settings alone make (none from the suite's environment, none from a .env)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TWILIO_"))}
    with mock.patch.dict(os.environ, {**clean, **env}, clear=True):
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return read_routing(settings, {k: v for k, v in env.items() if k.startswith("HOTLINE_GATEWAY_")})


def test_settings_of_before_keep_their_meaning() -> None:
    twilio = _routing(TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t", TWILIO_FROM_NUMBER="+1500")
    assert (list(twilio.gateways), dict(twilio.routes)) == (
        ["twilio"],
        {"replies": ("twilio",), "alerts": ("twilio",), "broadcasts": ("twilio",)},
    )
    backup = _routing(
        TWILIO_ACCOUNT_SID="AC1",
        TWILIO_AUTH_TOKEN="t",
        TWILIO_FROM_NUMBER="+1500",
        HOTLINE_BACKUP_SMS_URL="http://k:13013/cgi-bin/sendsms",
        HOTLINE_BACKUP_SMS_USERNAME="u",
        HOTLINE_BACKUP_SMS_PASSWORD="p",
    )
    assert backup.routes["alerts"] == ("twilio", "backup") and backup.routes["replies"] == ("twilio",)
    assert (
        backup.gateways["backup"].kind == "kannel"
        and backup.gateways["backup"].get("URL") == "http://k:13013/cgi-bin/sendsms"
    )
    assert _routing().routes["replies"] == ("log",) and not _routing().problems
    # HOTLINE_SMS_PROVIDER=kannel was refused; now it is the Kannel of HOTLINE_BACKUP_SMS_*, or its own settings.
    kannel = _routing(
        HOTLINE_SMS_PROVIDER="kannel",
        HOTLINE_BACKUP_SMS_URL="http://k:13013/cgi-bin/sendsms",
        HOTLINE_BACKUP_SMS_USERNAME="u",
        HOTLINE_BACKUP_SMS_PASSWORD="p",
    )
    assert (list(kannel.gateways), kannel.problems) == (["kannel"], ())


def test_named_gateways_and_lists_per_purpose() -> None:
    routing = _routing(
        HOTLINE_SMS_GATEWAYS="modem, phone",
        HOTLINE_SMS_ROUTE_ALERTS="phone,modem",
        HOTLINE_GATEWAY_MODEM_TYPE="kannel",
        HOTLINE_GATEWAY_MODEM_URL="http://127.0.0.1:13013/cgi-bin/sendsms",
        HOTLINE_GATEWAY_MODEM_USERNAME="hotline",
        HOTLINE_GATEWAY_MODEM_PASSWORD="pw",
        HOTLINE_GATEWAY_MODEM_SECRET="s",
        HOTLINE_GATEWAY_PHONE_TYPE="android",
        HOTLINE_GATEWAY_PHONE_URL="http://192.168.1.20:8080",
        HOTLINE_GATEWAY_PHONE_PASSWORD="pw",
        HOTLINE_GATEWAY_PHONE_SIGNING_KEY="k",
    )
    assert routing.problems == ()
    assert dict(routing.routes) == {
        "replies": ("modem", "phone"),
        "alerts": ("phone", "modem"),
        "broadcasts": ("modem", "phone"),
    }
    assert routing.summary() == (
        "sms gateways: modem (kannel), phone (android); replies: modem > phone; alerts: phone > modem; "
        "broadcasts: modem > phone"
    )


def test_every_problem_is_one_line_naming_its_setting() -> None:
    routing = _routing(
        HOTLINE_SMS_GATEWAYS="modem,Bad-Name,phone,modem",
        HOTLINE_SMS_ROUTE_REPLIES="modem,nosuch",
        HOTLINE_GATEWAY_MODEM_TYPE="kanel",
        HOTLINE_GATEWAY_PHONE_TYPE="android",
        HOTLINE_GATEWAY_PHONE_URL="ftp://phone",
        HOTLINE_GATEWAY_PHONE_SIM="4",
        HOTLINE_GATEWAY_PHONE_PASWORD="typo",
    )
    assert list(routing.problems) == [
        "settings: HOTLINE_GATEWAY_MODEM_TYPE: 'kanel' is not a gateway type; set it to one of twilio, kannel, "
        "gammu, android, smpp, whatsapp, log, record",
        "settings: HOTLINE_SMS_GATEWAYS: 'bad-name' is not a gateway name (a-z first, then a-z, 0-9 or _, at most 16)",
        "settings: HOTLINE_GATEWAY_PHONE_PASWORD: no such setting for a gateway of type android; it reads URL, "
        "USERNAME, PASSWORD, SIGNING_KEY, SIM",
        "settings: HOTLINE_GATEWAY_PHONE_PASSWORD: missing; the app's password",
        "settings: HOTLINE_GATEWAY_PHONE_URL: 'ftp://phone' is not an http:// or https:// URL",
        "settings: HOTLINE_GATEWAY_PHONE_SIM: '4' must be 1, 2 or 3",
        "settings: HOTLINE_SMS_GATEWAYS: 'modem' is listed twice",
        "settings: HOTLINE_SMS_ROUTE_REPLIES: modem, nosuch not declared; the gateways are phone "
        "(HOTLINE_SMS_GATEWAYS)",
    ]


def test_production_refuses_placeholder_gateway_secrets() -> None:
    routing = _routing(
        HOTLINE_ENV="production",
        HOTLINE_SECRET_KEY="q7Lr2vXc9PzK4mWn8tYb3JhF6sDg1aEu0oRkVwZx",
        HOTLINE_PUBLIC_URL="https://hotline.example.go.id",
        HOTLINE_SMS_GATEWAYS="kannel",
        HOTLINE_GATEWAY_KANNEL_URL="http://127.0.0.1:13013/cgi-bin/sendsms",
        HOTLINE_GATEWAY_KANNEL_USERNAME="hotline",
        HOTLINE_GATEWAY_KANNEL_PASSWORD="change-me",
        HOTLINE_GATEWAY_KANNEL_SECRET="real-secret-value",
    )
    assert routing.problems == (
        "settings: HOTLINE_GATEWAY_KANNEL_PASSWORD: unset or a placeholder; production needs a real secret",
    )


def test_config_check_says_each_gateway_problem_in_one_line_and_exits_2(tmp_path: Path) -> None:
    env = clean_environment(
        HOTLINE_DATA_DIR=str(tmp_path),
        HOTLINE_SMS_GATEWAYS="kannel",
        HOTLINE_GATEWAY_KANNEL_URL="http://127.0.0.1:13013/cgi-bin/sendsms",
    )
    result = subprocess.run(
        [sys.executable, "-m", "hotline", "config", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "settings: HOTLINE_GATEWAY_KANNEL_USERNAME: missing; the sendsms-user's username",
        "settings: HOTLINE_GATEWAY_KANNEL_PASSWORD: missing; the sendsms-user's password",
    ]


@pytest.mark.parametrize(
    ("text", "coding", "segments"),
    [
        ("Balas TERIMA 1", "gsm7", 1),
        ("x" * 160, "gsm7", 1),
        ("x" * 161, "gsm7", 2),
        ("{}" * 40, "gsm7", 1),
        ("{}" * 41, "gsm7", 2),  # extension characters count twice
        ("Balas TERIMA 1 atau TOLAK 1…", "ucs2", 1),
        ("…" + "x" * 70, "ucs2", 2),  # one '…': the whole SMS is UCS-2, 67 a part
        ("Pak Hóng 黄", "ucs2", 1),
    ],
)
def test_gsm7_or_ucs2(text: str, coding: str, segments: int) -> None:
    assert (measure(text).encoding, measure(text).segments) == (coding, segments)


def _sms(body: str, **kw: object) -> OutgoingSms:
    return OutgoingSms(message_id=42, to="+6285700000101", body=body, coding=measure(body), purpose="alert", **kw)  # type: ignore[arg-type]


def test_kannel_is_asked_for_the_coding_validity_route_and_a_report_of_this_send() -> None:
    kannel = KannelSmsProvider(
        url="http://k/cgi-bin/sendsms",
        username="hotline",
        password="pw",
        from_number="+62811000000",
        smsc="modem1",
        public_url="https://hotline.example.go.id",
        secret_key="s" * 32,
    )
    plain = kannel.request_params(_sms("Balas TERIMA 1", validity=timedelta(minutes=30)), "KN1")
    assert {k: plain[k] for k in ("coding", "charset", "validity", "from", "smsc", "dlr-mask")} == {
        "coding": "0",
        "charset": "UTF-8",
        "validity": "30",
        "from": "+62811000000",
        "smsc": "modem1",
        "dlr-mask": "31",
    }
    assert plain["dlr-url"].startswith("https://hotline.example.go.id/kannel/dlr?id=42&sid=KN1&gateway=kannel&token=")
    assert plain["dlr-url"].endswith("&status=%d&answer=%A")
    # A reply goes back from the number and through the modem the citizen used.
    reply = kannel.request_params(_sms("Laporan #1…", sender="+62811999999", line="modem2"), "KN2")
    assert (reply["coding"], reply["from"], reply["smsc"]) == ("2", "+62811999999", "modem2")


def test_gammu_outbox_file_names_carry_the_message_and_its_expiry(tmp_path: Path) -> None:
    gammu = GammuGateway(name="modem", outbox=tmp_path, sent=tmp_path, error=tmp_path)
    now = datetime(2026, 12, 7, 8, 0, 0, tzinfo=UTC)
    name = gammu.file_name(_sms("x", validity=timedelta(minutes=30)), now)
    assert name == f"OUTA20261207_080000_00_+6285700000101_hl42x{int(now.timestamp()) + 1800}.txt"


def test_gammu_ids_fit_the_outbox_column_whatever_the_number_and_the_row(tmp_path: Path) -> None:
    """The outbox row's provider_sid is "<gateway>:<id>", 64 characters at most: the file's whole name (number,
    time, row id, expiry) outgrew it from row ids about 1000 on; its own part stays short."""
    from dataclasses import replace

    from hotline.channels.gammu.gateway import sid_of

    gammu = GammuGateway(name="modem", outbox=tmp_path, sent=tmp_path, error=tmp_path)
    sms = replace(_sms("x", validity=timedelta(minutes=30)), message_id=9_999_999_999, to="+628123456789012")
    sid = gammu.send(sms).provider_sid
    [written] = tmp_path.glob("OUT*")
    expires = written.name.removesuffix(".txt").rsplit("x", 1)[1]
    assert expires.isdigit() and sid == sid_of(written.name) == f"hl9999999999x{expires}"
    assert len(f"{'g' * 16}:{sid}") <= 64
