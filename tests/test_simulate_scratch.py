"""`hotline simulate` leaves nothing that ever sends: it runs on a scratch database of its own.

Before, its tickets went into the hotline's database; their alerts got no delivery report, failed over to
automated calls (5 were placed with Twilio configured) and escalated 10 minutes later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.core.city import current_config
from hotline.core.queue import queue, redis_connection
from hotline.db import dispose, unit_of_work
from hotline.models import AlertDelivery, Escalation, InboundMessage, OutboundMessage, Ticket
from hotline.simulate import simulation_database_path, simulation_database_url
from tests.conftest import drain_queue

pytestmark = pytest.mark.usefixtures("backend")
runner = CliRunner()
HOTLINE_TABLES = (Ticket, InboundMessage, OutboundMessage, AlertDelivery, Escalation)


@pytest.fixture(autouse=True)
def _fresh_simulation() -> None:
    dispose(simulation_database_url())
    for suffix in ("", "-wal", "-shm"):
        Path(f"{simulation_database_path()}{suffix}").unlink(missing_ok=True)


def _simulate(*args: str) -> str:
    result = runner.invoke(app, ["simulate", "sms", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _rows(url: str | None = None) -> dict[str, int]:
    with unit_of_work(url) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0 for m in HOTLINE_TABLES}


SERVERS_OWN = (b"hotline:metrics:", b"hotline:scorecard:")


def _pmk_member() -> str:
    [pmk] = [a for a in current_config().agencies if a.code == "PMK"]
    return pmk.urcs[0].members[0].phone


def test_a_simulated_fire_touches_nothing_of_the_hotline(fake_twilio: Any) -> None:
    out = _simulate("081234567890", "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    assert f"simulation database: {simulation_database_path()}" in out and "not the hotline's" in out
    assert "ticket #1" in out and "alert" in out  # it shows what would be sent ...
    assert set(_rows().values()) == {0}  # ... and the hotline's database has none of it
    # no job, no timer; the suite's server refreshes its metrics and the month's scorecard into Redis on its own
    # clock, whatever the simulation does (CI caught it writing them during this test)
    ours = [k for k in redis_connection().keys("hotline:*") if not k.startswith(SERVERS_OWN)]
    assert queue().job_ids == [] and ours == [], ours
    drain_queue()
    assert fake_twilio.messages == [] and fake_twilio.calls == []
    simulated = _rows(simulation_database_url())  # deadlines are pinned there too, but nothing reads that file
    assert simulated["tickets"] == 1 and simulated["outbound_messages"] > 0


def test_the_scratch_database_carries_a_story_from_run_to_run_until_reset() -> None:
    _simulate("081234567890", "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    out = _simulate(_pmk_member(), "TERIMA 1")
    assert "outcome: urc_accept" in out
    assert "ticket #1: status=accepted" in _simulate("081234567890", "STATUS 1")
    out = _simulate("081234567890", "BANJIR di Sisir", "--reset")
    assert "ticket #1" in out  # an empty database again
    assert set(_rows().values()) == {0}
