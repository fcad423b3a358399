"""The broadcast sender: lanes (alerts ahead of replies in RQ, broadcasts not in it), pacing to a gateway's TPS
with alerts first, resuming after a crash (in process, and a real `hotline broadcast sender` killed with -9):
no recipient skipped, none sent twice. The recording gateway (type `record`) is the file of what it was handed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from hotline.core import gateway_pace
from hotline.core.city import current_config
from hotline.core.outbox import URGENT_PURPOSES, queue_sms
from hotline.core.queue import alert_queue, outbound_job_id, queue, redis_connection, worker_queues
from hotline.db import unit_of_work
from hotline.fakes.recording_sms import read_records
from hotline.features.alerts.failover import ALERT_PURPOSES
from hotline.features.broadcasts import drafting, sending
from hotline.jobs.broadcast_sender import Pace, Sender, build_route
from hotline.jobs.rq_workers import make_worker
from hotline.models import BroadcastRecipient, OutboundMessage, Subscriber, utcnow
from hotline.settings import get_settings
from tests.broadcast_helpers import send_broadcasts, statuses
from tests.fault_processes import wait_for


@pytest.fixture
def recorded(backend: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every SMS goes to the recording gateway `rec`: a file of JSON lines."""
    path = tmp_path / "sms.jsonl"
    for key, value in {
        "HOTLINE_SMS_GATEWAYS": "rec",
        "HOTLINE_GATEWAY_REC_TYPE": "record",
        "HOTLINE_GATEWAY_REC_PATH": str(path),
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield path
    monkeypatch.undo()
    get_settings.cache_clear()


def _broadcast(count: int, desa: str = "Sumberbrantas") -> int:
    kecamatan = current_config().kecamatan_of(desa)
    now = utcnow()
    with unit_of_work() as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "phone": f"+62814{i:08d}",
                    "desa": desa,
                    "kecamatan": kecamatan,
                    "language": "id",
                    "channel": "sms",
                    "source": "csv",
                    "consent": "test",
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        number = drafting.draft(session, config=current_config(), hazard="flood", areas=[desa], author="a").id
    with unit_of_work() as session:
        drafting.approve(session, broadcast_id=number, approver="b")
    return number


def test_alerts_have_a_lane_of_their_own_taken_first(backend: dict[str, str]) -> None:
    """Alerts and escalations go to the alert queue, first in first out; a worker takes that queue first."""
    assert set(ALERT_PURPOSES) == URGENT_PURPOSES
    ids = []
    for purpose in ("reply", "alert", "reply", "escalation"):
        with unit_of_work() as session:
            ids.append(queue_sms(session, to="+6281200000001", body="x", purpose=purpose).id)
    assert alert_queue().job_ids == [outbound_job_id(ids[1]), outbound_job_id(ids[3])]
    assert queue().job_ids == [outbound_job_id(ids[0]), outbound_job_id(ids[2])]
    assert worker_queues()[0].name == alert_queue().name
    worker = make_worker(worker_queues(), redis_connection())
    order: list[str] = []
    worker.execute_job = lambda job, q: order.append(job.id)  # type: ignore[method-assign]
    worker.work(burst=True, logging_level="WARNING")
    assert order == [outbound_job_id(i) for i in (ids[1], ids[3], ids[0], ids[2])]


def test_tps_setting_and_the_pace_leaves_room_for_alerts() -> None:
    assert gateway_pace.parse_tps(None, ["a", "b"]) == {"a": None, "b": None}
    assert gateway_pace.parse_tps("100", ["a", "b"]) == {"a": 100.0, "b": 100.0}
    assert gateway_pace.parse_tps("a=10", ["a", "b"]) == {"a": 10.0, "b": None}
    with pytest.raises(ValueError, match="not a configured gateway"):
        gateway_pace.parse_tps("c=10", ["a", "b"])
    with pytest.raises(ValueError, match="above 0"):
        gateway_pace.parse_tps("0", ["a"])
    pace = Pace(100.0, tokens=10.0)
    pace.at -= 1.0  # a second went by: the bucket is full (50 = 0.5 s at 100/s), not more
    assert pace.allowance(others_now=50, batch=200) == 50  # the first look only learns the outbox's count
    pace.took(50)
    pace.at -= 0.1
    assert pace.allowance(others_now=57, batch=200) == 3  # 7 alerts went meanwhile: 10 - 7 for the broadcast
    pace.took(3)
    pace.at -= 0.1
    assert pace.allowance(others_now=57, batch=200) == 10
    assert pace.allowance(others_now=57, batch=4) == 4
    assert Pace(None).allowance(others_now=99, batch=200) == 200


def test_outbox_sends_are_counted_for_the_pace(recorded: Path) -> None:
    from tests.conftest import drain_queue

    before = gateway_pace.sent_so_far(["rec"])["rec"]
    with unit_of_work() as session:
        queue_sms(session, to="+6281200000001", body="alert", purpose="alert")
    drain_queue()
    assert gateway_pace.sent_so_far(["rec"])["rec"] == before + 1
    assert [r["purpose"] for r in read_records(recorded)] == ["alert"]
    with unit_of_work() as session:
        assert session.scalar(select(OutboundMessage.status)) == "sent"


def test_resume_after_a_crash_between_gateway_and_database(recorded: Path) -> None:
    """A sender handed half a batch to the gateway and died before recording it: the next one finds those in the
    gateway (find_sent) and sends only the rest."""
    number = _broadcast(10)
    route = build_route()
    with unit_of_work() as session:
        claimed = sending.claim(session, limit=6)
    crashed = Sender(route, 50)
    for item in claimed[:3]:  # handed over, never recorded
        route.gateways["rec"].send(crashed._sms(item))
    assert Counter(statuses(number).values()) == {"sending": 6, "queued": 4}
    send_broadcasts(Sender(build_route(), 50))
    sent = Counter(r["to"] for r in read_records(recorded))
    assert len(sent) == 10 and set(sent.values()) == {1}
    assert set(statuses(number).values()) == {"sent"}


def _sender(env: dict[str, str]) -> subprocess.Popen[bytes]:
    hotline = str(Path(sys.executable).with_name("hotline"))
    return subprocess.Popen(
        [hotline, "broadcast", "sender"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.mark.system
def test_kill_9_the_sender_mid_way_none_skipped_none_doubled(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = 1500
    number = _broadcast(count)
    env = {**os.environ, "HOTLINE_BROADCAST_TPS": "500", "HOTLINE_BROADCAST_BATCH": "25"}
    first = _sender(env)
    try:
        wait_for(lambda: len(read_records(recorded)) >= 400, 30, "the sender sent nothing")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    at_kill = len(read_records(recorded))
    assert at_kill < count, "the sender finished before it was killed: nothing was shown"
    second = _sender(env)  # takes over once the dead one's lease runs out, resumes what it left
    try:
        wait_for(lambda: statuses_done(number), 60, lambda: f"not finished: {Counter(statuses(number).values())}")
    finally:
        second.terminate()
        second.wait(10)
    handed = Counter(r["id"] for r in read_records(recorded))
    with unit_of_work() as session:
        ids = set(session.scalars(select(BroadcastRecipient.id).where(BroadcastRecipient.broadcast_id == number)))
    assert set(handed) == {-i for i in ids}, "a recipient was skipped"
    assert set(handed.values()) == {1}, f"sent twice: {[k for k, v in handed.items() if v > 1][:5]}"


def statuses_done(number: int) -> bool:
    return set(statuses(number).values()) == {"sent"}


def test_the_sweeper_puts_a_lost_alert_back_in_its_lane(backend: dict[str, str]) -> None:
    from datetime import timedelta

    from hotline.jobs.sweeper import sweep_once

    long_ago = utcnow() - timedelta(minutes=5)
    with unit_of_work() as session:  # queued rows whose jobs Redis lost
        alert = OutboundMessage(to_number="+6281200000001", body="a", purpose="alert", next_attempt_at=long_ago)
        reply = OutboundMessage(to_number="+6281200000002", body="r", purpose="reply", next_attempt_at=long_ago)
        session.add_all([alert, reply])
        session.flush()
        ids = alert.id, reply.id
    sweep_once()
    assert [job.split("-")[1] for job in alert_queue().job_ids] == [str(ids[0])]
    assert [job.split("-")[1] for job in queue().job_ids] == [str(ids[1])]
