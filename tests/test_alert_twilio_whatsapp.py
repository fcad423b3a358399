"""URC alerts on the `whatsapp` alert channel through Twilio's WhatsApp (a city whose WhatsApp number is on Twilio,
TWILIO_WHATSAPP_FROM): the approved `alert` template by its Content SID outside the member's 24-hour window, free
text inside it; Twilio refusing it, a failed status by the callback (63016 and the other WhatsApp codes) or no
report within the agency's timeout moves the alert to SMS; a member's TERIMA on Twilio's WhatsApp accepts as that
member. With a Cloud API gateway as well, the Cloud API carries the alert and Twilio only when it cannot. Through
the real webhooks, database, RQ and the fake Twilio (which, as Twilio, fails a free-form WhatsApp message outside
the window with 63016); the clock is moved, never slept (but for the fake's 0.2 s status callback)."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline import clock
from hotline.core.outbox import queue_sms
from hotline.db import unit_of_work
from hotline.fakes.whatsapp_graph import FakeGraph
from hotline.jobs import timers
from hotline.jobs.outbound import send_outbound_sms
from hotline.models import AlertAttempt, AlertDelivery, Member, OutboundMessage, Ticket, TicketEvent
from hotline.sms.template_text import ELLIPSIS, TEMPLATE_VARIABLE
from tests.city_files import edit
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE_NUMBER, Phone, drain_queue
from tests.gateway_env import gateways
from tests.helpers import alert_attempts
from tests.suite_city import CITY_DIR, members
from tests.whatsapp_env import whatsapp

pytestmark = pytest.mark.usefixtures("real_clock")

CITIZEN = "+6281234567890"
WA_SENDER = "+14155238886"  # the city's WhatsApp number on Twilio, other than its SMS number
PMK = members("PMK")
PMK_TIMEOUT = timedelta(seconds=60)  # tests/city/routing/agencies.yaml
REPORT = "KEBAKARAN di Jl. Diponegoro 12 Sisir"
ALERT_SID = "HXa1b2c3d4e5f60718293a4b5c6d7e8f90"
ALERT_TEMPLATE = "Panggilan tugas: {{1}}"
NOTIFY_SID = "HX5e1d2c3b4a5968778695a4b3c2d1e0f1"  # tests/city/sms/whatsapp.yaml, notify


def twilio_env(city: Path, twilio_base: str) -> dict[str, str]:
    return {
        "HOTLINE_SMS_GATEWAYS": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": HOTLINE_NUMBER,
        "TWILIO_API_BASE": twilio_base,
        "TWILIO_WHATSAPP_FROM": WA_SENDER,
        "HOTLINE_CONFIG_DIR": str(city),
    }


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """The suite's city, its PMK alerted on WhatsApp first, the `alert` template approved in Twilio's Content API."""
    folder = tmp_path / "city"
    shutil.copytree(CITY_DIR, folder)
    edit(
        folder / "routing" / "agencies.yaml",
        "alert_channels: [sms, sms_backup, voice]",
        "alert_channels: [whatsapp, sms]",
    )
    edit(
        folder / "sms" / "whatsapp.yaml",
        "alert: {name: hotline_alert, language: id}",
        f"alert: {{name: hotline_alert, language: id, twilio_content_sid: {ALERT_SID}}}",
    )
    return folder


@pytest.fixture
def on_twilio(city: Path, server: str, fake_twilio: Any) -> Iterator[Any]:
    fake_twilio.add_content(ALERT_TEMPLATE, sid=ALERT_SID)
    with gateways(twilio_env(city, fake_twilio.base_url)):
        yield fake_twilio


def _fire(phone: Phone) -> None:
    assert phone.sms(CITIZEN, REPORT).status_code == 200
    drain_queue()


def _on_whatsapp(fake: Any, number: str) -> list[Any]:
    return list(fake.sent_to(f"whatsapp:{number}"))


def _sms_alerts(fake: Any, number: str) -> list[str]:
    return [m.body for m in fake.sent_to(number) if m.body.endswith("Balas TERIMA 1 / TOLAK 1")]


def _wait(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def _member_writes(phone: Phone, fake: Any, number: str, text: str) -> None:
    """The member writes on WhatsApp to the city's Twilio number: Twilio sees it (their window opens) and calls us."""
    fake.whatsapp_inbound(number)
    params = phone.payload(f"whatsapp:{number}", text)
    params["To"] = f"whatsapp:{WA_SENDER}"
    assert phone.post("/twilio/sms", params).status_code == 200
    drain_queue()


def test_outside_the_window_the_alert_is_the_content_template_and_a_delivered_one_stays(
    phone: Phone, on_twilio: Any
) -> None:
    _fire(phone)
    [sent] = _on_whatsapp(on_twilio, PMK[0])
    assert (sent.from_, sent.params["ContentSid"]) == (f"whatsapp:{WA_SENDER}", ALERT_SID) and "Body" not in sent.params
    variable = json.loads(sent.params["ContentVariables"])["1"]
    assert variable.endswith("Balas TERIMA 1 / TOLAK 1") and sent.body == f"Panggilan tugas: {variable}"
    assert _sms_alerts(on_twilio, PMK[0]) == []  # WhatsApp first: no SMS
    assert on_twilio.report_status(sent.sid, "delivered").status_code == 204
    clock.advance(PMK_TIMEOUT + timedelta(seconds=1))
    timers.reconcile(only=["failover"])
    drain_queue()
    assert alert_attempts(PMK[0]) == [("whatsapp", "delivered")]
    assert _sms_alerts(on_twilio, PMK[0]) == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("failed", "63016"),  # outside the window (a free-form message)
        ("undelivered", "63024"),  # invalid message recipient
        ("failed", "63003"),  # the channel could not find the To address (no WhatsApp on that number)
        ("undelivered", "63032"),  # the user cannot receive this message (WhatsApp's own limits)
    ],
)
def test_a_whatsapp_failure_by_the_status_callback_moves_the_alert_to_sms(
    phone: Phone, on_twilio: Any, status: str, code: str
) -> None:
    _fire(phone)
    [sent] = _on_whatsapp(on_twilio, PMK[0])
    assert on_twilio.report_status(sent.sid, status, code).status_code == 204
    drain_queue()
    assert alert_attempts(PMK[0]) == [("whatsapp", "failed"), ("sms", "sent")]
    assert len(_sms_alerts(on_twilio, PMK[0])) == 1
    with unit_of_work() as s:
        attempt = s.scalar(
            select(AlertAttempt)
            .join(AlertDelivery, AlertDelivery.id == AlertAttempt.delivery_id)
            .where(AlertDelivery.phone == PMK[0], AlertAttempt.channel == "whatsapp")
        )
        assert attempt is not None and attempt.error == code
        events = s.scalars(select(TicketEvent.data).where(TicketEvent.kind == "alert_failover"))
        assert any(e["phone"] == PMK[0] and (e["failed"], e["to"]) == ("whatsapp", "sms") for e in events)


def test_twilio_s_own_63016_moves_a_free_text_alert_to_sms(phone: Phone, on_twilio: Any) -> None:
    """Our record says the member's window is open, Twilio's says closed: Twilio takes the free text, then fails
    it with 63016 by the status callback (the fake does as Twilio does), and the alert goes by SMS."""
    _member_writes(phone, on_twilio, PMK[0], "STATUS 1")
    on_twilio.whatsapp_last_inbound.clear()  # Twilio's window closed, not ours
    _fire(phone)
    [alert] = [m for m in _on_whatsapp(on_twilio, PMK[0]) if m.body.endswith("TOLAK 1")]
    assert "ContentSid" not in alert.params

    def moved_to_sms() -> bool:
        drain_queue()  # the failover queues the SMS when the callback comes
        return len(_sms_alerts(on_twilio, PMK[0])) == 1

    _wait(moved_to_sms)
    assert alert.error_code == 63016
    assert alert_attempts(PMK[0]) == [("whatsapp", "failed"), ("sms", "sent")]


def test_twilio_refusing_the_template_moves_the_alert_to_sms_at_once(phone: Phone, on_twilio: Any) -> None:
    on_twilio.contents.pop(ALERT_SID)  # not approved (any more) in Twilio's Content API: 21655
    try:
        _fire(phone)
    finally:
        on_twilio.add_content(ALERT_TEMPLATE, sid=ALERT_SID)
    for number in PMK:
        assert _on_whatsapp(on_twilio, number) == []
        assert len(_sms_alerts(on_twilio, number)) == 1
        assert alert_attempts(number) == [("whatsapp", "failed"), ("sms", "sent")]


def test_without_a_content_sid_outside_the_window_the_alert_goes_by_sms_at_once(
    phone: Phone, on_twilio: Any, city: Path
) -> None:
    edit(city / "sms" / "whatsapp.yaml", f", twilio_content_sid: {ALERT_SID}", "")
    _fire(phone)
    assert _on_whatsapp(on_twilio, PMK[0]) == []
    assert alert_attempts(PMK[0]) == [("whatsapp", "failed"), ("sms", "sent")]


def test_no_delivery_report_in_time_moves_the_alert_to_sms(phone: Phone, on_twilio: Any) -> None:
    _fire(phone)
    assert len(_on_whatsapp(on_twilio, PMK[0])) == 1
    clock.advance(PMK_TIMEOUT + timedelta(seconds=1))
    timers.reconcile(only=["failover"])
    drain_queue()
    assert alert_attempts(PMK[0]) == [("whatsapp", "timeout"), ("sms", "sent")]


def test_within_the_window_the_alert_is_text_and_terima_on_whatsapp_accepts_as_the_member(
    phone: Phone, on_twilio: Any
) -> None:
    _member_writes(phone, on_twilio, PMK[0], "STATUS 1")
    _fire(phone)
    [alert] = [m for m in _on_whatsapp(on_twilio, PMK[0]) if m.body.endswith("TOLAK 1")]
    assert alert.from_ == f"whatsapp:{WA_SENDER}" and "ContentSid" not in alert.params
    time.sleep(0.5)  # a 63016 would come by the status callback 0.2 s after the send
    drain_queue()
    assert alert.error_code is None and _sms_alerts(on_twilio, PMK[0]) == []
    before = len(_on_whatsapp(on_twilio, PMK[0]))
    _member_writes(phone, on_twilio, PMK[0], "TERIMA 1")
    with unit_of_work() as s:
        ticket = s.get(Ticket, 1)
        assert ticket is not None and ticket.status == "accepted"
        member = s.get(Member, ticket.accepted_by_member_id)
        assert member is not None and member.phone == PMK[0]
        statuses = set(s.scalars(select(AlertDelivery.status).where(AlertDelivery.ticket_id == ticket.id)))
        assert "pending" not in statuses  # nobody else is alerted on any more
    answer = _on_whatsapp(on_twilio, PMK[0])[before:]
    assert answer and all(m.from_ == f"whatsapp:{WA_SENDER}" for m in answer)  # answered where they wrote


@pytest.fixture
def on_both(graph_server: FakeGraph, city: Path, server: str, fake_twilio: Any) -> Iterator[FakeGraph]:
    fake_twilio.add_content(ALERT_TEMPLATE, sid=ALERT_SID)
    extra = {"HOTLINE_CONFIG_DIR": str(city), "TWILIO_WHATSAPP_FROM": WA_SENDER}
    with whatsapp(graph_server, fake_twilio.base_url, server, **extra) as graph:
        yield graph


def test_with_a_cloud_api_gateway_too_the_cloud_api_carries_the_alert(
    phone: Phone, on_both: FakeGraph, fake_twilio: Any
) -> None:
    _fire(phone)
    [sent] = on_both.sent_to(PMK[0])
    assert sent.type == "template" and sent.body["template"]["name"] == "hotline_alert"
    assert _on_whatsapp(fake_twilio, PMK[0]) == [] and _sms_alerts(fake_twilio, PMK[0]) == []


def test_twilio_s_whatsapp_carries_the_alert_when_the_cloud_api_refuses_it(
    phone: Phone, on_both: FakeGraph, fake_twilio: Any
) -> None:
    on_both.fail_next(404, 132001, times=len(PMK))  # the Meta template is not approved (any more)
    _fire(phone)
    assert on_both.sent_to(PMK[0]) == []
    [sent] = _on_whatsapp(fake_twilio, PMK[0])
    assert (sent.from_, sent.params["ContentSid"]) == (f"whatsapp:{WA_SENDER}", ALERT_SID)
    assert alert_attempts(PMK[0]) == [("whatsapp", "sent")] and _sms_alerts(fake_twilio, PMK[0]) == []


def test_a_template_text_over_1024_is_shortened_at_a_word_and_logged_once(
    phone: Phone, on_twilio: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A citizen who wrote on Twilio's WhatsApp, answered past the window with a text too long for a template
    variable: sent shortened at a word boundary with "…", logged once though the send is tried twice."""
    _member_writes(phone, on_twilio, CITIZEN, "halo")
    clock.advance(timedelta(hours=25))
    on_twilio.reset()
    on_twilio.add_content("Kabar laporan Anda: {{1}}", sid=NOTIFY_SID)
    words = [f"kata{i:04d}" for i in range(200)]  # 200 words of 8 letters: 1,799 characters
    text = " ".join(words)
    on_twilio.fail_next(1, status=500)  # the first try fails; the job tries again after its back-off
    with caplog.at_level(logging.WARNING, logger="hotline.core.template_cuts"):
        with unit_of_work() as s:
            message_id = queue_sms(s, to=CITIZEN, body=text, purpose="notify", ticket_id=None).id
        drain_queue()
        with unit_of_work() as s:
            row = s.get(OutboundMessage, message_id)
            assert row is not None and row.status == "queued" and row.attempts == 1  # the 500: a retry is due
        clock.advance(timedelta(seconds=11))
        assert send_outbound_sms(message_id) == "sent"
    [sent] = on_twilio.sent_to(f"whatsapp:{CITIZEN}")
    assert sent.params["ContentSid"] == NOTIFY_SID
    variable = json.loads(sent.params["ContentVariables"])["1"]
    assert len(variable) <= TEMPLATE_VARIABLE and variable.endswith(ELLIPSIS)
    kept = variable.removesuffix(ELLIPSIS).split(" ")
    assert kept == words[: len(kept)]  # whole words only, none cut in the middle
    assert len(variable) > TEMPLATE_VARIABLE - len(words[0]) - 2  # and as many as fit
    cuts = [r for r in caplog.records if r.name == "hotline.core.template_cuts"]
    assert len(cuts) == 1
    line = cuts[0].getMessage()
    assert f"outbox:{message_id}" in line and "purpose notify" in line and str(len(text)) in line
    assert str(len(variable)) in line
