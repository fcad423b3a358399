"""Early warnings on WhatsApp (issue 21 item 1): DAFTAR/AMAN/BANTU/BERHENTI on the Cloud API webhook as by SMS
(subscriber channel `whatsapp`), and the broadcast sender sending to WhatsApp subscribers through the WhatsApp
gateway: free text within their 24-hour window, the city's `broadcast` template past it, SMS when Graph refuses;
sent/failed/delivered per recipient, and a crash mid-batch resumed without doubles. Against the fake Graph API
(which enforces the window and knows the approved templates) and the fake Twilio."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.channels.gateway import OutgoingSms, SendResult
from hotline.channels.whatsapp.gateway import WhatsAppGateway
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.fakes.whatsapp_graph import FakeGraph
from hotline.features.broadcasts import drafting
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.features.broadcasts.subscribers import subscribe
from hotline.jobs.broadcast_sender import Sender, build_route
from hotline.models import Subscriber, Ticket
from tests.broadcast_helpers import recipients, send_broadcasts, statuses
from tests.city_files import edit
from tests.conftest import drain_queue
from tests.suite_city import CITY_DIR
from tests.whatsapp_env import whatsapp

BROADCAST_SID = "HXb0a1c2d3e4f5061728394a5b6c7d8e9f"  # tests/city/sms/whatsapp.yaml, broadcast (Twilio)
DESA = "Sumberbrantas"
ON_WA = [f"+6281200000{i:03d}" for i in range(900, 904)]
QUIET = "+6281200000950"  # subscribed on WhatsApp (imported), never wrote: its window is closed


@pytest.fixture
def graph(graph_server: FakeGraph, server: str, fake_twilio: Any) -> Iterator[FakeGraph]:
    with whatsapp(graph_server, fake_twilio.base_url, server) as fake:
        yield fake


def _approved(checkin: int | None = None) -> int:
    with unit_of_work() as session:
        broadcast = drafting.draft(
            session, config=current_config(), hazard="landslide", areas=[DESA], author="spv-a", checkin_minutes=checkin
        )
        number = broadcast.id
    with unit_of_work() as session:
        drafting.approve(session, broadcast_id=number, approver="spv-b")
    return number


def _daftar(graph: FakeGraph, phones: list[str]) -> None:
    for phone in phones:
        assert graph.text(phone, f"DAFTAR {DESA.lower()}").status_code == 200
    drain_queue()


def _imported_on_whatsapp(phone: str) -> None:
    with unit_of_work() as session:
        subscribe(
            session,
            phone=phone,
            desa=DESA,
            kecamatan=current_config().kecamatan_of(DESA) or "",
            language="id",
            channel="whatsapp",
            source="csv",
            consent="test",
        )


def test_daftar_on_whatsapp_subscribes_and_the_warning_comes_on_whatsapp(graph: FakeGraph, fake_twilio: Any) -> None:
    data = broadcast_data(current_config())
    _daftar(graph, ON_WA[:2])
    assert graph.sent_to(ON_WA[0])[-1].text == data.say("subscribed", "id", desa=DESA)  # answered on WhatsApp
    with unit_of_work() as session:
        row = session.scalar(select(Subscriber).where(Subscriber.phone == ON_WA[0]))
        assert row is not None and (row.channel, row.source) == ("whatsapp", "whatsapp")
    fake_twilio.reset()
    number = _approved(checkin=60)
    send_broadcasts()
    for phone in ON_WA[:2]:
        warning = graph.sent_to(phone)[-1]  # graph.reset() would forget their window: the fake keeps it
        assert warning.type == "text" and "Sumberbrantas" in warning.text
    assert fake_twilio.messages == []  # no SMS besides
    rows = recipients(number)
    assert {r.status for r in rows} == {"sent"} and {r.gateway for r in rows} == {"wa"}
    assert all((r.provider_sid or "").startswith("wa:wamid.") for r in rows)
    # Meta's delivery report reaches the recipient
    assert graph.status(graph.sent_to(ON_WA[0])[-1], "delivered").status_code == 200
    drain_queue()
    assert statuses(number)[ON_WA[0]] == "delivered"
    # BANTU on WhatsApp: a ticket on the whatsapp channel, the answer on WhatsApp
    assert graph.text(ON_WA[1], "BANTU rumah retak").status_code == 200
    drain_queue()
    with unit_of_work() as session:
        tickets = list(session.scalars(select(Ticket)))
        assert [(t.channel, t.reporter_phone) for t in tickets] == [("whatsapp", ON_WA[1])]
        number_of_ticket = tickets[0].id
    assert graph.sent_to(ON_WA[1])[-1].text == data.say("help_ticket", "id", number=number_of_ticket)


def test_outside_the_window_the_template_and_when_graph_refuses_sms(graph: FakeGraph, fake_twilio: Any) -> None:
    _imported_on_whatsapp(QUIET)
    _imported_on_whatsapp(ON_WA[3])
    number = _approved()
    graph.fail_next(404, 132001)  # the first one's template refused: SMS takes it
    send_broadcasts()
    first, second = recipients(number)
    assert (first.status, first.gateway) == ("sent", "twilio")
    assert [m.to for m in fake_twilio.messages] == [first.phone]
    [sent] = graph.sent_to(second.phone)
    assert (second.status, second.gateway) == ("sent", "wa")
    assert sent.type == "template" and sent.body["template"]["name"] == "hotline_warning"
    [parameter] = sent.body["template"]["components"][0]["parameters"]
    assert "Sumberbrantas" in parameter["text"]
    assert graph.status(sent, "failed", code=131026, title="Message undeliverable").status_code == 200
    drain_queue()
    assert statuses(number)[second.phone] == "failed"


def test_berhenti_on_whatsapp_is_honoured(graph: FakeGraph) -> None:
    _daftar(graph, ON_WA[:2])
    number = _approved()
    assert graph.text(ON_WA[0], "BERHENTI").status_code == 200
    drain_queue()
    before = len(graph.sent_to(ON_WA[0]))
    send_broadcasts()
    assert len(graph.sent_to(ON_WA[0])) == before
    assert statuses(number) == {ON_WA[0]: "skipped", ON_WA[1]: "sent"}


class DiesAfter(WhatsAppGateway):
    """The real gateway, and the sender process dying (SystemExit) after `sends` messages reached Graph."""

    def __init__(self, real: WhatsAppGateway, sends: int):
        super().__init__(name=real.name, client=real.client)
        self.left = sends

    def send(self, sms: OutgoingSms) -> SendResult:
        if self.left == 0:
            raise SystemExit("killed")
        self.left -= 1
        return super().send(sms)


def test_a_sender_dying_mid_batch_is_resumed_without_doubles(graph: FakeGraph) -> None:
    _daftar(graph, ON_WA)
    number = _approved()
    before = len(graph.sent)
    route = build_route()
    real = route.gateways["wa"]
    assert isinstance(real, WhatsAppGateway)
    route.gateways["wa"] = DiesAfter(real, 2)
    with pytest.raises(SystemExit):
        Sender(route, 50).turn()
    assert Counter(statuses(number).values()) == {"sent": 2, "sending": 2}  # what Graph took is recorded at once
    send_broadcasts()  # the next sender resumes
    assert Counter(m.to for m in graph.sent[before:]) == {p.lstrip("+"): 1 for p in ON_WA}
    assert set(statuses(number).values()) == {"sent"}


def test_without_a_broadcast_template_a_closed_window_means_sms(
    graph_server: FakeGraph, server: str, fake_twilio: Any, tmp_path: Path
) -> None:
    city = tmp_path / "city"
    shutil.copytree(CITY_DIR, city)
    edit(
        city / "sms" / "whatsapp.yaml",
        f"  broadcast: {{name: hotline_warning, language: id, twilio_content_sid: {BROADCAST_SID}}}",
        "",
    )
    with whatsapp(graph_server, fake_twilio.base_url, server, HOTLINE_CONFIG_DIR=str(city)) as graph:
        _imported_on_whatsapp(QUIET)
        number = _approved()
        send_broadcasts()
        assert graph.sent_to(QUIET) == []
        assert [m.to for m in fake_twilio.messages] == [QUIET]
        [row] = recipients(number)
        assert (row.status, row.gateway) == ("sent", "twilio")
