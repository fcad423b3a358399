"""A new gateway type is one declaration and one registration (hotline/channels/gateway.py `GatewayType`,
hotline/channels/voice.py `VoiceGatewayType`, hotline/wiring.py): the types below are defined only here. Once
registered, an SMS type is accepted by the settings (`hotline config check`), the outbox sends through it and the
app mounts its webhooks; a voice type reads and checks its own settings, is built when configured, is named by
HOTLINE_VOICE_ALERTS, places alerts and has its webhooks mounted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import APIRouter
from pydantic import Field, ValidationError
from typer.testing import CliRunner

from hotline.channels.gateway import GatewayType, OutgoingSms, SendResult, SmsGateway
from hotline.channels.gateways import gateway_problems, gateway_types, register, unregister
from hotline.channels.voice import CallStatus, OutboundCall, VoiceGatewayType
from hotline.channels.voice_gateways import alert_gateway, gateway_for, voice_gateways
from hotline.channels.voice_gateways import register as voice_register
from hotline.channels.voice_gateways import unregister as voice_unregister
from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings
from hotline.core.outbox import queue_sms
from hotline.core.voice_config import VoiceSettings
from hotline.db import unit_of_work
from hotline.features.alerts import failover
from hotline.settings import Settings, get_settings, settings_problems
from tests.conftest import drain_queue
from tests.gateway_env import CITIZEN, gateways
from tests.helpers import AsgiClient, outbound

router = APIRouter(prefix="/pigeon")


@router.get("/ping")
def ping() -> dict[str, str]:
    return {"coo": "ok"}


class PigeonGateway:
    """Sends by appending each SMS to a file (the loft), as a real gateway would hand it to its peer."""

    kind = "pigeon"

    def __init__(self, name: str, loft: Path):
        self.name, self.loft = name, loft

    def send(self, sms: OutgoingSms) -> SendResult:
        with self.loft.open("a") as f:
            f.write(json.dumps({"id": sms.message_id, "to": sms.to, "body": sms.body}) + "\n")
        return SendResult(self.name, self.kind, f"P{sms.message_id}", "sent")

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        return None


def _build(spec: GatewaySpec, settings: object) -> SmsGateway:
    return PigeonGateway(spec.name, Path(spec.get("LOFT") or ""))


def _check(spec: GatewaySpec, settings: GatewaySettings) -> Findings:
    found = Findings()
    ring = spec.get("RING")
    if ring and not ring.isdigit():
        found.problems.append(f"settings: {spec.env('RING')}: {ring!r} is not a ring number")
    if not ring:
        found.notes.append(f"{spec.name} (pigeon): no ring, the birds go unnamed")
    return found


PIGEON = GatewayType(
    name="pigeon",
    build=_build,
    keys={"LOFT": "the file the birds carry SMS to", "RING": "the ring number of the bird"},
    required=("LOFT",),
    check=_check,
    router=f"{__name__}:router",
)


def _env(loft: Path, **extra: str) -> dict[str, str]:
    return {
        "HOTLINE_SMS_GATEWAYS": "coop",
        "HOTLINE_GATEWAY_COOP_TYPE": "pigeon",
        "HOTLINE_GATEWAY_COOP_LOFT": str(loft),
        **extra,
    }


@pytest.fixture
def registered() -> Iterator[None]:
    register(PIGEON)  # the one call a new type needs (hotline/wiring.py makes it for the shipped ones)
    yield
    unregister("pigeon")
    get_settings.cache_clear()


def _config_check() -> tuple[int, str]:
    from hotline.cli import app

    done = CliRunner().invoke(app, ["config", "check"])
    return done.exit_code, done.output


def test_an_unregistered_type_is_refused(tmp_path: Path) -> None:
    with gateways(_env(tmp_path / "loft.jsonl")):
        problems = gateway_problems()
    assert any("HOTLINE_GATEWAY_COOP_TYPE: 'pigeon' is not a gateway type" in p for p in problems), problems
    assert "pigeon" not in gateway_types()


def test_a_registered_type_is_checked_built_sent_through_and_mounted(
    registered: None, backend: dict[str, str], tmp_path: Path
) -> None:
    loft = tmp_path / "loft.jsonl"
    # Its settings are checked as the shipped types' are: its required key, unknown keys, its own check.
    with gateways(
        {"HOTLINE_SMS_GATEWAYS": "coop", "HOTLINE_GATEWAY_COOP_TYPE": "pigeon", "HOTLINE_GATEWAY_COOP_WING": "x"}
    ):
        code, output = _config_check()
    assert code == 2, output
    assert "HOTLINE_GATEWAY_COOP_LOFT: missing; the file the birds carry SMS to" in output
    assert "HOTLINE_GATEWAY_COOP_WING: no such setting for a gateway of type pigeon; it reads LOFT, RING" in output
    with gateways(_env(loft, HOTLINE_GATEWAY_COOP_RING="r7")):
        code, output = _config_check()
    assert code == 2 and "HOTLINE_GATEWAY_COOP_RING: 'r7' is not a ring number" in output, output

    with gateways(_env(loft)):
        code, output = _config_check()
        assert code == 0, output
        assert "sms gateways: coop (pigeon)" in output and "note: coop (pigeon): no ring" in output

        with unit_of_work() as session:
            message_id = queue_sms(session, to=CITIZEN, body="Laporan diterima", purpose="reply").id
        drain_queue()
        sent = next(m for m in outbound() if m.id == message_id)
        assert (sent.status, sent.gateway, sent.provider) == ("sent", "coop", "pigeon")
        assert sent.provider_sid == f"coop:P{message_id}"
        assert [json.loads(line) for line in loft.read_text().splitlines()] == [
            {"id": message_id, "to": CITIZEN, "body": "Laporan diterima"}
        ]

        from hotline.web.app import create_app

        assert AsgiClient(create_app()).get("/pigeon/ping").json() == {"coo": "ok"}


# A voice gateway type the same way: declared here with a setting of its own, registered with one call.

voice_router = APIRouter(prefix="/tincan")


@voice_router.post("/status")
def tincan_status() -> dict[str, str]:
    return {"heard": "yes"}


class TinCanSettings(VoiceSettings):
    """Its own setting, which hotline/settings.py knows nothing of: read and checked with the rest at start."""

    line: str | None = Field(None, alias="TINCAN_LINE")  # the string's number at the exchange


class TinCanVoice:
    provider = "tincan"

    def __init__(self, line: str) -> None:
        self.line, self.rung = line, list[str]()

    def can_place_calls(self) -> bool:
        return True

    def place_call(self, call: OutboundCall) -> str:
        self.rung.append(call.to)
        return f"TC{self.line}-{len(self.rung)}"

    def take_over(self, *, provider_call_id: str, answer_at: str) -> None:
        return None

    def call_status(self, word: str) -> CallStatus | None:
        return {"heard": CallStatus.ANSWERED, "silence": CallStatus.NO_ANSWER}.get(word)


def _tincan_line(settings: Settings) -> str:
    return settings.voice(TinCanSettings).line or ""


def _tincan_check(settings: Settings) -> Findings:
    found = Findings()
    line = _tincan_line(settings)
    if line and not line.isdigit():
        found.problems.append(f"settings: TINCAN_LINE: {line!r} is not a line number")
    if not line:
        found.notes.append("tincan: no TINCAN_LINE, no tin can")
    return found


TINCAN = VoiceGatewayType(
    name="tincan",
    configured=lambda settings: _tincan_line(settings).isdigit(),
    build=lambda settings: TinCanVoice(_tincan_line(settings)),
    settings=TinCanSettings,
    check=_tincan_check,
    describe=lambda settings: f"tincan, on line {_tincan_line(settings)}",
    routers=(f"{__name__}:voice_router",),
)
NOT_TWILIO = {"TWILIO_ACCOUNT_SID": None, "TWILIO_AUTH_TOKEN": None, "ARI_URL": None, "HOTLINE_VOICE_ALERTS": None}
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "t" * 32,
    "TWILIO_FROM_NUMBER": "+6234100000",
    "HOTLINE_PUBLIC_URL": "https://hotline.example.id",
}


@pytest.fixture
def tincan() -> Iterator[None]:
    voice_register(TINCAN)  # the one call a new voice type needs (hotline/wiring.py makes it for the shipped ones)
    yield
    voice_unregister("tincan")
    get_settings.cache_clear()


def _settings(**values: str | None) -> Settings:
    return Settings(**{**NOT_TWILIO, **values})  # type: ignore[arg-type]


def test_a_registered_voice_type_takes_calls_places_alerts_and_is_mounted() -> None:
    settings = _settings(TINCAN_LINE="7")
    assert voice_gateways(settings) == {} and alert_gateway(settings) is None  # not registered: no way to call
    voice_register(TINCAN)
    try:
        assert list(voice_gateways(settings)) == ["tincan"]
        assert voice_gateways(_settings()) == {}  # built only when configured: its own setting is not set
        gateway = alert_gateway(settings)
        assert isinstance(gateway, TinCanVoice) and gateway.line == "7"
        assert gateway.call_status("silence") is CallStatus.NO_ANSWER
        assert isinstance(gateway_for("tincan", settings), TinCanVoice)  # the console can take its calls
        assert failover.available("voice", settings)

        from hotline.web.app import create_app

        assert AsgiClient(create_app()).post("/tincan/status").json() == {"heard": "yes"}
    finally:
        voice_unregister("tincan")


def test_hotline_voice_alerts_names_a_registered_voice_type(tincan: None) -> None:
    both = _settings(**TWILIO, TINCAN_LINE="7")
    assert list(voice_gateways(both)) == ["twilio", "tincan"]
    assert alert_gateway(both).provider == "twilio"  # type: ignore[union-attr]  # unset: the first that can
    chosen = alert_gateway(_settings(**TWILIO, TINCAN_LINE="7", HOTLINE_VOICE_ALERTS="tincan"))
    assert isinstance(chosen, TinCanVoice) and chosen.place_call(OutboundCall(attempt_id=1, to=CITIZEN)) == "TC7-1"
    # Named but not configured: no voice alerts (as for the shipped types), not another gateway.
    assert alert_gateway(_settings(**TWILIO, HOTLINE_VOICE_ALERTS="tincan")) is None


def test_an_unknown_voice_alerts_gateway_is_a_clear_settings_error() -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(HOTLINE_VOICE_ALERTS="tincan")  # not registered here
    assert settings_problems(refused.value) == [
        "settings: HOTLINE_VOICE_ALERTS: 'tincan' is not a voice gateway type; set it to one of twilio, asterisk "
        "(or unset it)"
    ]
    voice_register(TINCAN)
    try:
        assert _settings(HOTLINE_VOICE_ALERTS="tincan").voice_alerts == "tincan"
        with pytest.raises(ValidationError, match="set it to one of twilio, asterisk, tincan"):
            _settings(HOTLINE_VOICE_ALERTS="sip")
    finally:
        voice_unregister("tincan")


def test_config_check_checks_and_names_a_registered_voice_type(tincan: None) -> None:
    voice = {"HOTLINE_VOICE_ALERTS": "tincan"}
    with gateways({"TINCAN_LINE": "seven", **voice}):
        code, output = _config_check()
    assert code == 2 and "settings: TINCAN_LINE: 'seven' is not a line number" in output, output
    with gateways({"TINCAN_LINE": "7", **voice}):
        code, output = _config_check()
    assert code == 0 and "voice alerts: tincan, on line 7; console takes calls of: tincan" in output, output
    with gateways({}):
        code, output = _config_check()
    assert code == 0 and "note: tincan: no TINCAN_LINE, no tin can" in output, output
