"""A new SMS gateway type is one declaration and one registration (hotline/channels/gateway.py `GatewayType`,
hotline/wiring.py): the type below is defined only here, and once registered the settings accept it
(`hotline config check`), the outbox sends through it and the app mounts its webhooks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hotline.channels.gateway import GatewayType, OutgoingSms, SendResult, SmsGateway
from hotline.channels.gateways import gateway_problems, gateway_types, register, unregister
from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings
from hotline.core.outbox import queue_sms
from hotline.db import unit_of_work
from hotline.settings import get_settings
from tests.conftest import drain_queue
from tests.gateway_env import CITIZEN, gateways
from tests.helpers import outbound

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

        assert TestClient(create_app()).get("/pigeon/ping").json() == {"coo": "ok"}
