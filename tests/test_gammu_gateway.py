"""Gammu SMSD as the city's whole SMS gateway, against a real gammu-smsd (Debian `gammu-smsd`, its dummy phone
driver in place of the modem) running config/gammu/smsdrc with config/gammu/run-on-receive, and no Twilio
configured at all: report, ticket, alert, TERIMA and STATUS all through the modem's folders."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.channels.gammu.gateway import REPORTED, message_key
from hotline.channels.gateway_polling import poll_gateways
from hotline.core.queue import enqueue_inbound, job_id, queue, worker_queues
from hotline.db import unit_of_work
from hotline.models import OutboundMessage
from tests.conftest import drain_queue
from tests.fault_processes import wait_for
from tests.gammu_peer import GammuPeer, missing
from tests.gateway_env import CITIZEN, gateways
from tests.helpers import inbound, outbound, ticket
from tests.suite_city import members

pytestmark = [pytest.mark.system, pytest.mark.skipif(missing() is not None, reason=missing() or "")]

PMK = members("PMK")


@pytest.fixture
def gammu(backend: dict[str, str]) -> Iterator[GammuPeer]:
    workdir = Path(tempfile.mkdtemp(prefix="gammu-"))
    peer = GammuPeer(workdir, gateway="modem", env={})
    env = {
        "HOTLINE_SMS_GATEWAYS": "modem",
        "HOTLINE_GATEWAY_MODEM_TYPE": "gammu",
        **{f"HOTLINE_GATEWAY_MODEM_{k}": v for k, v in peer.folders.items()},
    }
    with gateways(env):
        # SMSD runs RunOnReceive with its own environment: the hotline's settings, as a city gives them.
        peer.env = {k: v for k, v in os.environ.items() if k.startswith(("HOTLINE_", "PYTHON"))}
        peer.start()
        try:
            yield peer
        finally:
            peer.stop()
            shutil.rmtree(workdir, ignore_errors=True)


def _texts_to(peer: GammuPeer, number: str) -> list[str]:
    return [text for to, text in peer.sent() if to == number]


def _modem_receives(peer: GammuPeer, sender: str, text: str, stored: int) -> None:
    peer.incoming(sender, text)
    wait_for(lambda: len(inbound()) >= stored, 30, lambda: f"SMSD's RunOnReceive stored nothing:\n{peer.log()}")
    # RunOnReceive commits the row, then queues its job: run the queue once the job is there, not in between
    # (on a busy machine the test drained an empty queue and found the report unprocessed).
    wait_for(lambda: _queued(inbound()[stored - 1].id), 30, lambda: f"RunOnReceive queued no job:\n{peer.log()}")
    # Run the queue until the report is processed: on a loaded machine its job can be retried once (a busy
    # SQLite writer) and is then waiting again after the first drain.
    failures: list[str] = []
    queued_at = [time.monotonic()]
    wait_for(
        lambda: _drained_and_processed(stored, failures, queued_at),
        30,
        lambda: f"report {stored} not processed ({_state(stored)}; job failures: {failures}):\n{peer.log()}",
    )


SWEEPER_GRACE = 10.0  # seconds: a report still unprocessed this long after it was queued is queued again


def _drained_and_processed(stored: int, failures: list[str], queued_at: list[float]) -> bool:
    """Run the queue. A report still unprocessed SWEEPER_GRACE after it was queued is queued again, whatever its
    job's state, as the production sweeper does after its grace (CI saw a report stay unprocessed now and then
    with no failed job, twice in the suite's full run and never alone: what was found is kept, to say why).
    A report handled and failed is a bug here: it fails the test at once, with its error."""
    drain_queue()
    row = inbound()[stored - 1]
    if row.status == "processed":
        return True
    assert row.status == "received", f"report {stored} handled and failed: {_state(stored)}"
    job = queue().fetch_job(job_id("inbound", row.id))
    if job is not None and job.is_failed:
        result = job.latest_result()
        failures.append((result.exc_string if result else None) or "failed")
        job.requeue()
    elif time.monotonic() - queued_at[-1] > SWEEPER_GRACE:
        failures.append(f"unprocessed after {SWEEPER_GRACE:.0f} s ({_state(stored)}): queued again")
        enqueue_inbound(row.id)
        queued_at.append(time.monotonic())
    return False


def _state(stored: int) -> str:
    row = inbound()[stored - 1]
    job = queue().fetch_job(job_id("inbound", row.id))
    queued = (
        f"job {job.get_status()} in {job.origin!r} by {job.worker_name!r}, enqueued {job.enqueued_at}"
        if job is not None
        else "no job"
    )
    queues = {q.name: q.count for q in worker_queues()}
    return f"status {row.status}, outcome {row.outcome}, error {row.error}; {queued}; queues {queues}"


def _queued(inbound_id: int) -> bool:
    return queue().fetch_job(job_id("inbound", inbound_id)) is not None


def test_report_alert_accept_status_all_through_gammu(gammu: GammuPeer) -> None:
    _modem_receives(gammu, CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir, asap tebal", 1)
    [stored] = inbound()
    assert (stored.provider, stored.from_e164, stored.body) == (
        "modem",
        CITIZEN,
        "KEBAKARAN di Jl. Diponegoro 12 Sisir, asap tebal",
    )
    assert stored.provider_sid.startswith("modem:IN") and stored.status == "processed"
    assert ticket(1).status == "routed"

    wait_for(lambda: _texts_to(gammu, PMK[0]), 30, lambda: f"SMSD sent no alert:\n{gammu.log()}")
    [alert] = _texts_to(gammu, PMK[0])
    assert alert == next(m.body for m in outbound() if m.to_number == PMK[0])
    wait_for(lambda: _texts_to(gammu, CITIZEN), 30, "no reply to the citizen")
    assert _texts_to(gammu, CITIZEN)[0].startswith("Laporan No. 1 ")

    _modem_receives(gammu, PMK[0], "TERIMA 1", 2)
    assert ticket(1).status == "accepted"
    wait_for(lambda: any("sedang ditangani" in t for t in _texts_to(gammu, CITIZEN)), 30, "no notice to the citizen")

    _modem_receives(gammu, CITIZEN, "STATUS 1", 3)
    wait_for(lambda: len(_texts_to(gammu, CITIZEN)) == 3, 30, "no answer to STATUS")
    assert "No. 1" in _texts_to(gammu, CITIZEN)[-1]

    # What SMSD sent, the sweeper's look at its folders reports: every SMS 'sent', through the modem.
    wait_for(lambda: not list(gammu.outbox.glob("OUT*")), 30, "SMSD left SMS in its outbox")
    poll_gateways()
    assert {(m.gateway, m.provider, m.status) for m in outbound()} == {("modem", "gammu", "sent")}
    assert not list(gammu.sent_dir.glob("OUT*")) and list((gammu.sent_dir / REPORTED).glob("OUT*"))
    assert all(m.status == "processed" for m in inbound())


def test_an_sms_the_receive_command_missed_is_stored_from_the_inbox(gammu: GammuPeer) -> None:
    # RunOnReceive failed (the database was down): SMSD keeps the message in its inbox folder.
    name = "IN20261207_080000_00_+6281234567890_00.txt"
    (gammu.inbox / name).write_bytes(b"\xff\xfe" + "BANJIR di Pendem".encode("utf-16-le"))
    os.utime(gammu.inbox / name, (0, 0))  # older than the sweeper's grace period
    assert poll_gateways().inbound == 1
    assert poll_gateways().inbound == 0  # once
    [stored] = inbound()
    key = message_key("IN20261207_080000_00_+6281234567890", "BANJIR di Pendem")
    assert (stored.provider_sid, stored.body) == (f"modem:{key}", "BANJIR di Pendem")
    assert not (gammu.inbox / name).exists() and (gammu.inbox / "hotline-stored" / name).exists()


def test_an_error_file_fails_the_alert_over_and_a_stale_one_is_taken_back(gammu: GammuPeer) -> None:
    """SMSD moves what it could not send to its error folder: that is `failed`, and the alert moves on. An SMS
    still in the outbox after its validity (the modem was down) is taken back instead of sent hours late."""
    from hotline.channels.gammu.gateway import sid_of
    from hotline.channels.gateway_polling import poll_gateways as poll  # what the sweeper runs every sweep

    gammu.stop()  # the modem is down: nothing leaves the outbox
    _modem_receives_without_smsd(gammu)
    files = sorted(gammu.outbox.glob("OUT*"))
    assert len(files) == 4  # the reply and three PMK alerts wait in SMSD's outbox
    alert = next(p for p in files if PMK[0] in p.name)
    alert.rename(gammu.error / alert.name)  # what SMSD does with one it could not send
    stale = next(p for p in files if PMK[1] in p.name)
    expired = re.sub(r"x\d+\.txt$", "x1000.txt", stale.name)  # its validity ended long ago
    stale.rename(gammu.outbox / expired)
    with unit_of_work() as session:  # as if it had been written with that expiry
        row = session.scalar(
            select(OutboundMessage).where(OutboundMessage.provider_sid == f"modem:{sid_of(stale.name)}")
        )
        assert row is not None
        row.provider_sid = f"modem:{sid_of(expired)}"
    assert poll().reports == 2
    rows = {m.to_number: m for m in outbound()}
    assert (rows[PMK[0]].status, rows[PMK[0]].error_code) == ("failed", "gammu-error")
    assert (rows[PMK[1]].status, rows[PMK[1]].error_code) == ("failed", "expired")
    assert not (gammu.outbox / expired).exists()
    assert poll().reports == 0  # each is reported once


def _modem_receives_without_smsd(peer: GammuPeer) -> None:
    """A citizen's report as RunOnReceive would store it (SMSD is stopped in this test)."""
    from hotline.channels.gateway import InboundSms
    from hotline.channels.gateway_sink import take_inbound

    take_inbound(InboundSms(gateway="modem", gateway_id="IN1", sender=CITIZEN, body="KEBAKARAN di Jl. Diponegoro 12"))
    drain_queue()
