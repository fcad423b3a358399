"""What operations sees: Prometheus metrics derived from the database, and JSON logs that name the ticket."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hotline.jobs.outbound import send_outbound_sms
from hotline.logs import JsonFormatter, TextFormatter, log_context
from tests.conftest import Caller, Phone, drain_queue
from tests.helpers import outbound, scrape

CITIZEN = "+6281234567890"


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_metrics_count_reports_alerts_escalations_calls_and_queue_depth(
    phone: Phone, server: str, fake_twilio: Any
) -> None:
    assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12").status_code == 200
    queued = _samples(httpx.get(f"{server}/metrics").text)
    assert queued['hotline_queue_jobs{state="queued"}'] == 1.0
    drain_queue()
    fake_twilio.fail_next(1, status=400, code=21211, message="not a valid phone number")  # one alert fails for good
    assert phone.sms("+6281234567891", "LONGSOR di Songgokerto").status_code == 200
    drain_queue()
    assert Caller(phone).dial().status_code == 200

    metrics = _samples(scrape(server))
    assert metrics['hotline_reports{category="fire",channel="sms"}'] == 1.0
    assert metrics['hotline_reports{category="landslide",channel="sms"}'] == 1.0
    # By the channel that really sent each alert (the gateway's name, or voice), one count per alert to one
    # member: the SMS Twilio refused for good failed over to a call, so it is not "failed": the call went out.
    assert metrics['hotline_alerts{channel="twilio",outcome="sent",purpose="alert"}'] == 3.0 + 2.0
    assert metrics['hotline_alerts{channel="voice",outcome="sent",purpose="alert"}'] == 1.0
    assert not any("failed" in key for key in metrics if key.startswith("hotline_alerts{"))
    assert metrics['hotline_alerts_not_reached{purpose="alert"}'] == 0.0
    assert metrics['hotline_escalations{phase="accept",status="pending"}'] >= 2.0
    assert metrics['hotline_calls{provider="twilio",status="in-progress"}'] == 1.0
    assert metrics['hotline_queue_jobs{state="queued"}'] == 0.0
    assert metrics['hotline_webhook_seconds_count{route="/twilio/sms",status="200"}'] >= 2.0


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def test_a_job_s_log_lines_carry_the_outbound_and_ticket_ids(
    phone: Phone, fake_twilio: Any, json_log: io.StringIO
) -> None:
    assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12").status_code == 200
    from hotline.jobs.inbound import process_inbound_sms
    from tests.helpers import inbound

    [message] = inbound()
    process_inbound_sms(message.id)
    reply = next(m for m in outbound() if m.to_number == CITIZEN)
    fake_twilio.fail_next(1)  # a 500: retried later, and logged now
    assert send_outbound_sms(reply.id) == "retry"
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    [failed] = [line for line in lines if "failed (attempt 1)" in line["msg"]]
    assert (failed["outbound_id"], failed["ticket_id"], failed["level"]) == (reply.id, 1, "WARNING")


def test_text_logs_append_the_ids_and_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord("hotline.x", logging.ERROR, __file__, 1, "call %s hung up", ("CA1",), None)
    with log_context(call_id="CA1", ticket_id=7):
        text, line = TextFormatter().format(record), JsonFormatter().format(record)
    assert text.endswith("hotline.x: call CA1 hung up [call_id=CA1 ticket_id=7]")
    assert json.loads(line) | {"ts": None} == {
        "ts": None,
        "level": "ERROR",
        "logger": "hotline.x",
        "msg": "call CA1 hung up",
        "call_id": "CA1",
        "ticket_id": 7,
    }
