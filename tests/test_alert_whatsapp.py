"""URC alerts on WhatsApp (issue 20 item 5): `whatsapp` as an entry of routing/agencies.yaml `alert_channels`.
Outside the member's 24-hour window the alert goes as the approved `alert` template (sms/whatsapp.yaml), inside
it as text; Graph refusing it, a failed status, or no delivery report within the agency's timeout moves it to
the next channel (SMS) as SMS failover does. The suite's city copied with `alert_channels: [whatsapp, sms]`,
the fake Graph API and the fake Twilio; the clock is moved, never slept."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline import clock
from hotline.db import unit_of_work
from hotline.fakes.whatsapp_graph import FakeGraph, SentMessage
from hotline.jobs import timers
from hotline.models import TicketEvent
from tests.city_files import edit
from tests.conftest import Phone, drain_queue
from tests.gateway_env import CITIZEN
from tests.helpers import alert_attempts
from tests.suite_city import CITY_DIR, members
from tests.whatsapp_env import whatsapp

pytestmark = pytest.mark.usefixtures("real_clock")

PMK = members("PMK")
PMK_TIMEOUT = timedelta(seconds=60)  # routing/agencies.yaml
REPORT = "KEBAKARAN di Jl. Diponegoro 12 Sisir"


@pytest.fixture
def graph(graph_server: FakeGraph, server: str, fake_twilio: Any, tmp_path: Path) -> Iterator[FakeGraph]:
    city = tmp_path / "city"
    shutil.copytree(CITY_DIR, city)
    edit(
        city / "routing" / "agencies.yaml",
        "alert_channels: [sms, sms_backup, voice]",
        "alert_channels: [whatsapp, sms]",
    )
    with whatsapp(graph_server, fake_twilio.base_url, server, HOTLINE_CONFIG_DIR=str(city)) as fake:
        yield fake


def _fire(phone: Phone) -> None:
    assert phone.sms(CITIZEN, REPORT).status_code == 200
    drain_queue()


def _alert_on_whatsapp(graph: FakeGraph, number: str) -> SentMessage:
    [message] = graph.sent_to(number)
    return message


def _sms_alerts(fake_twilio: Any, number: str) -> list[str]:
    return [m.body for m in fake_twilio.sent_to(number) if m.body.endswith("Balas TERIMA 1 / TOLAK 1")]


def _failovers() -> list[dict[str, Any]]:
    with unit_of_work() as s:
        return list(
            s.scalars(select(TicketEvent.data).where(TicketEvent.kind == "alert_failover").order_by(TicketEvent.id))
        )


def test_outside_the_window_the_alert_is_the_template_and_a_delivered_one_stays(
    phone: Phone, graph: FakeGraph, fake_twilio: Any
) -> None:
    _fire(phone)
    sent = _alert_on_whatsapp(graph, PMK[0])
    assert sent.type == "template" and sent.body["template"]["name"] == "hotline_alert"
    [parameter] = sent.body["template"]["components"][0]["parameters"]
    assert parameter["text"].endswith("Balas TERIMA 1 / TOLAK 1")
    assert _sms_alerts(fake_twilio, PMK[0]) == []  # WhatsApp first: no SMS yet
    assert graph.status(sent, "delivered").status_code == 200
    drain_queue()
    clock.advance(PMK_TIMEOUT + timedelta(seconds=1))
    timers.reconcile(only=["failover"])
    drain_queue()
    assert alert_attempts(PMK[0]) == [("whatsapp", "delivered")]
    assert _sms_alerts(fake_twilio, PMK[0]) == []


def test_a_failed_status_moves_the_alert_to_sms(phone: Phone, graph: FakeGraph, fake_twilio: Any) -> None:
    _fire(phone)
    sent = _alert_on_whatsapp(graph, PMK[0])
    assert graph.status(sent, "failed", code=131026, title="Message undeliverable").status_code == 200
    drain_queue()
    assert len(_sms_alerts(fake_twilio, PMK[0])) == 1
    assert alert_attempts(PMK[0]) == [("whatsapp", "failed"), ("sms", "sent")]
    assert any(f["phone"] == PMK[0] and (f["failed"], f["to"]) == ("whatsapp", "sms") for f in _failovers())


def test_graph_refusing_moves_the_alert_to_sms_at_once(phone: Phone, graph: FakeGraph, fake_twilio: Any) -> None:
    graph.fail_next(404, 132001, times=len(PMK))  # the template is not approved (any more): every member's
    _fire(phone)
    for number in PMK:
        assert graph.sent_to(number) == []
        assert len(_sms_alerts(fake_twilio, number)) == 1
        assert alert_attempts(number) == [("whatsapp", "failed"), ("sms", "sent")]


def test_no_delivery_report_in_time_moves_the_alert_to_sms(phone: Phone, graph: FakeGraph, fake_twilio: Any) -> None:
    _fire(phone)
    _alert_on_whatsapp(graph, PMK[0])
    clock.advance(PMK_TIMEOUT + timedelta(seconds=1))
    timers.reconcile(only=["failover"])
    drain_queue()
    assert alert_attempts(PMK[0]) == [("whatsapp", "timeout"), ("sms", "sent")]
    assert len(_sms_alerts(fake_twilio, PMK[0])) == 1


def test_within_the_member_s_window_the_alert_is_text(phone: Phone, graph: FakeGraph) -> None:
    assert graph.text(PMK[0], "STATUS").status_code == 200  # the member wrote on WhatsApp: their window is open
    drain_queue()
    _fire(phone)
    alert = graph.sent_to(PMK[0])[-1]
    assert alert.type == "text" and alert.text.endswith("Balas TERIMA 1 / TOLAK 1")


def test_without_a_template_outside_the_window_the_alert_goes_by_sms_at_once(
    phone: Phone, graph: FakeGraph, fake_twilio: Any
) -> None:
    from hotline.settings import get_settings

    templates = get_settings().config_dir / "sms" / "whatsapp.yaml"
    edit(templates, "  alert: {name: hotline_alert, language: id}", "")
    _fire(phone)
    assert graph.sent_to(PMK[0]) == []
    assert alert_attempts(PMK[0]) == [("whatsapp", "failed"), ("sms", "sent")]
    assert len(_sms_alerts(fake_twilio, PMK[0])) == 1
