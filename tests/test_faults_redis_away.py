"""Redis away for this process (tests/outage.py `redis_unreachable`: a port where nothing listens, a real refusal):
what only queues, tells or counts through Redis goes on without it, says so, and loses nothing. These are the
failures the narrowed handlers catch (redis.RedisError, issue 16); anything else there is a bug, and raises."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from rq.job import Job
from rq.utils import utcformat

from hotline.channels.gateway import InboundSms
from hotline.channels.gateway_sink import take_inbound
from hotline.core import broadcast_wake, template_cuts
from hotline.core.queue import job_id, queue
from hotline.db import unit_of_work
from hotline.features.media.media_items import queue_fetch
from hotline.jobs import sweeper, timers
from hotline.models import InboundMessage, utcnow
from tests.outage import redis_unreachable

CITIZEN = "+6281234567895"


def _said(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_an_sms_stored_while_redis_is_away_is_queued_by_the_next_sweep(
    backend: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    sms = InboundSms("twilio", "SMredisaway1", CITIZEN, "BANJIR di Temas", received_at=utcnow() - timedelta(minutes=1))
    with redis_unreachable(), caplog.at_level(logging.WARNING):
        new_id = take_inbound(sms)
        assert sweeper._my_turn(30.0)  # no Redis to take turns with: this worker sweeps (and says what fails)
    assert new_id is not None
    assert _said(caplog, "hotline.channels.gateway_sink") == [f"could not queue inbound SMS {new_id}; the sweeper will"]
    with unit_of_work() as session:
        row = session.get(InboundMessage, new_id)
        assert row is not None and row.status == "received"  # stored: the report is safe
    assert sweeper.sweep_once().inbound == 1  # Redis back: the sweep queues it
    assert Job.fetch(job_id("inbound", new_id), connection=queue().connection).args == (new_id,)


def test_a_wake_up_after_commit_is_only_missed_not_a_failed_transaction(
    backend: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with redis_unreachable(), caplog.at_level(logging.WARNING), unit_of_work() as session:
        broadcast_wake.ring(session)
    assert _said(caplog, "hotline.core.broadcast_wake") == ["could not wake the broadcast sender"]
    assert _said(caplog, "hotline.db") == []  # caught where it happened, not by the post-commit guard


def test_a_media_fetch_that_cannot_be_queued_is_left_to_the_sweeper(
    backend: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with redis_unreachable(), caplog.at_level(logging.WARNING):
        queue_fetch([7, 8])
    assert _said(caplog, "hotline.features.media.media_items") == [
        "could not queue the fetch of media [7, 8]; the sweeper will"
    ]


def test_a_template_cut_is_logged_every_time_while_redis_cannot_remember_it(
    backend: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    long = " ".join(["longsor"] * 300)
    with redis_unreachable(), caplog.at_level(logging.WARNING):
        template_cuts.note("broadcast:51", purpose="broadcast", text=long)
        template_cuts.note("broadcast:51", purpose="broadcast", text=long)
    lines = _said(caplog, "hotline.core.template_cuts")
    assert len(lines) == 2 and all(line.startswith("WhatsApp template text of broadcast:51") for line in lines)


def test_a_started_at_that_is_not_rqs_timestamp_counts_as_long_ago() -> None:
    now = utcnow().replace(microsecond=0)
    assert timers._epoch(utcformat(now).encode()) == now.timestamp()
    assert timers._epoch(b"yesterday") == 0.0
    assert timers._epoch(b"\xff\xfe") == 0.0  # not even text
