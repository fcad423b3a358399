"""A new gateway type is one declaration and one registration (hotline/channels/gateway.py `GatewayType`,
hotline/channels/voice.py `VoiceGatewayType`, hotline/wiring.py): the types below are defined only here. Once
registered, an SMS type is accepted by the settings (`hotline config check`), the outbox sends through it and the
app mounts its webhooks; a voice type is built when configured, places alerts and has its webhooks mounted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import APIRouter
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
from hotline.db import unit_of_work
from hotline.features.alerts import failover
from hotline.settings import Settings, get_settings
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


# A voice gateway type the same way: declared here, registered with one call.

voice_router = APIRouter(prefix="/tincan")


@voice_router.post("/status")
def tincan_status() -> dict[str, str]:
    return {"heard": "yes"}


class TinCanVoice:
    provider = "tincan"

    def __init__(self) -> None:
        self.rung: list[str] = []

    def can_place_calls(self) -> bool:
        return True

    def place_call(self, call: OutboundCall) -> str:
        self.rung.append(call.to)
        return f"TC{len(self.rung)}"

    def take_over(self, *, provider_call_id: str, answer_at: str) -> None:
        return None

    def call_status(self, word: str) -> CallStatus | None:
        return {"heard": CallStatus.ANSWERED, "silence": CallStatus.NO_ANSWER}.get(word)


TINCAN = VoiceGatewayType(
    name="tincan",
    configured=lambda settings: settings.public_url == "https://tincan.example.id",
    build=lambda settings: TinCanVoice(),
    routers=(f"{__name__}:voice_router",),
)


def test_a_registered_voice_type_takes_calls_places_alerts_and_is_mounted() -> None:
    unset = {name: None for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "ARI_URL", "HOTLINE_VOICE_ALERTS")}
    settings = Settings(**{**unset, "HOTLINE_PUBLIC_URL": "https://tincan.example.id"})  # type: ignore[arg-type]
    assert voice_gateways(settings) == {} and alert_gateway(settings) is None  # not registered: no way to call
    voice_register(TINCAN)
    try:
        assert list(voice_gateways(settings)) == ["tincan"]
        assert voice_gateways(Settings(**unset)) == {}  # type: ignore[arg-type]  # built only when configured
        gateway = alert_gateway(settings)
        assert isinstance(gateway, TinCanVoice) and gateway.call_status("silence") is CallStatus.NO_ANSWER
        assert isinstance(gateway_for("tincan", settings), TinCanVoice)  # the console can take its calls
        assert failover.available("voice", settings)

        from hotline.web.app import create_app

        assert AsgiClient(create_app()).post("/tincan/status").json() == {"heard": "yes"}
    finally:
        voice_unregister("tincan")
