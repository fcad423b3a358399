"""The WhatsApp Cloud API channel end to end against the recording fake of the Graph API: Meta's verification,
signatures, redeliveries, every message type, and the SMS flows (report, category, STATUS, close-the-loop)
answered on WhatsApp."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hotline.fakes.whatsapp_graph import FakeGraph
from tests.conftest import FIXTURES, drain_queue
from tests.gateway_env import CITIZEN
from tests.helpers import events, inbound, outbound, ticket
from tests.suite_city import members
from tests.whatsapp_env import VERIFY_TOKEN, whatsapp

PMK = members("PMK")


@pytest.fixture
def graph(graph_server: FakeGraph, server: str, fake_twilio: Any) -> Iterator[FakeGraph]:
    with whatsapp(graph_server, fake_twilio.base_url, server) as fake:
        yield fake


def _texts(graph: FakeGraph, number: str) -> list[str]:
    return [m.text for m in graph.sent_to(number)]


def test_meta_verifies_the_webhook_with_our_token_only(graph: FakeGraph, server: str) -> None:
    url = f"{server}/whatsapp/webhook"
    ok = httpx.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403


def test_a_forged_or_unsigned_webhook_is_refused_and_nothing_kept(graph: FakeGraph, server: str) -> None:
    body = graph.webhook("text", CITIZEN, body="KEBAKARAN di Jl. Diponegoro 12 Sisir")
    assert graph.deliver(body, secret="not-our-app-secret").status_code == 403
    unsigned = httpx.post(
        f"{server}/whatsapp/webhook", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 403
    assert inbound() == []


def test_a_text_report_on_whatsapp_is_answered_on_whatsapp_and_alerts_by_sms(
    graph: FakeGraph, fake_twilio: Any
) -> None:
    assert graph.text(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir, asap tebal").status_code == 200
    drain_queue()
    [stored] = inbound()
    assert (stored.provider, stored.from_e164, stored.payload["wa_type"]) == ("wa", CITIZEN, "text")
    assert ticket(1).status == "routed"
    [reply] = graph.sent_to(CITIZEN)
    assert reply.type == "text" and reply.text.startswith("Laporan No. 1 ")
    assert fake_twilio.sent_to(CITIZEN) == []  # answered where they wrote, not by SMS too
    assert fake_twilio.sent_to(PMK[0]) and {m.gateway for m in outbound() if m.to_number in PMK} == {"twilio"}


def test_meta_redelivering_a_message_changes_nothing(graph: FakeGraph) -> None:
    body = graph.webhook("text", CITIZEN, body="KEBAKARAN di Jl. Diponegoro 12 Sisir")
    assert graph.deliver(body).status_code == 200
    assert graph.deliver(body).status_code == 200
    drain_queue()
    assert len(inbound()) == 1 and len(graph.sent_to(CITIZEN)) == 1


@pytest.mark.parametrize(
    "fixture, wa_type, body",
    [
        ("text", "text", "BANJIR di Jl. Diponegoro Sisir, air setinggi lutut"),
        ("image", "image", "Pohon tumbang di jalan"),
        ("audio_voice", "audio", ""),
        ("document", "document", "Surat laporan"),
        ("video", "video", "Air naik"),
        ("sticker", "sticker", ""),
        ("location", "location", "Alun-alun Kota Batu, Jl. Diponegoro, Sisir, Kec. Batu"),
        ("contacts", "contacts", "Pak Budi +62 812-3456-7000"),
        ("interactive_list_reply", "interactive", "3"),
        ("interactive_button_reply", "interactive", "1"),
        ("button", "button", "TERIMA"),
        ("unsupported", "unsupported", ""),
    ],
)
def test_every_message_type_is_kept_with_what_the_grammar_reads(
    graph: FakeGraph, fixture: str, wa_type: str, body: str
) -> None:
    raw = json.loads((FIXTURES / "whatsapp" / f"{fixture}.json").read_text())
    assert graph.deliver(raw).status_code == 200
    [stored] = inbound()
    assert (stored.payload["wa_type"], stored.body, stored.from_e164) == (wa_type, body, CITIZEN)


def test_reactions_are_no_message_and_statuses_are_delivery_reports(graph: FakeGraph) -> None:
    assert graph.deliver(json.loads((FIXTURES / "whatsapp" / "reaction.json").read_text())).status_code == 200
    assert inbound() == []
    graph.text(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    [reply] = graph.sent_to(CITIZEN)
    assert graph.status(reply, "delivered").status_code == 200
    [row] = [m for m in outbound() if m.to_number == CITIZEN]
    assert (row.gateway, row.status) == ("wa", "delivered")


def test_a_body_that_is_not_a_webhook_is_400(graph: FakeGraph, server: str) -> None:
    import hashlib
    import hmac

    raw = b'{"object": "page", "entry": []}'
    sig = "sha256=" + hmac.new(graph.app_secret.encode(), raw, hashlib.sha256).hexdigest()
    answer = httpx.post(f"{server}/whatsapp/webhook", content=raw, headers={"X-Hub-Signature-256": sig})
    assert answer.status_code == 400


def test_the_category_question_is_a_list_and_a_tap_answers_it(graph: FakeGraph) -> None:
    graph.text(CITIZEN, "tolong ada masalah di Jl. Diponegoro 12 Sisir")
    drain_queue()
    [question] = graph.sent_to(CITIZEN)
    assert question.type == "interactive" and question.body["interactive"]["type"] == "list"
    rows = question.body["interactive"]["action"]["sections"][0]["rows"]
    assert question.text.startswith("Laporan No. 1") and len(rows) >= 2
    fire = next(r for r in rows if r["title"].lower().startswith("kebakaran"))
    graph.reply(CITIZEN, "list_reply", fire["id"], fire["title"])
    drain_queue()
    assert ticket(1).category == "fire" and ticket(1).status == "routed"


def test_a_place_alone_is_answered_with_a_location_request(graph: FakeGraph) -> None:
    graph.text(CITIZEN, "1")
    drain_queue()
    [ask] = graph.sent_to(CITIZEN)
    assert ask.body["interactive"]["type"] == "location_request_message"


def test_a_member_on_whatsapp_closes_the_loop_and_the_citizen_taps_yes(graph: FakeGraph) -> None:
    graph.text(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    graph.text(PMK[0], "TERIMA 1")
    drain_queue()
    assert ticket(1).status == "accepted"
    graph.text(PMK[0], "SELESAI 1")
    drain_queue()
    question = graph.sent_to(CITIZEN)[-1]
    assert question.body["interactive"]["type"] == "button"
    yes = question.body["interactive"]["action"]["buttons"][0]["reply"]
    graph.reply(CITIZEN, "button_reply", yes["id"], yes["title"])
    drain_queue()
    assert ticket(1).status == "resolved" and events(1)[-1] == "confirmed"
    assert [m.statuses for m in graph.sent] == [[]] * len(graph.sent), [(m.to, m.text[:30]) for m in graph.sent]


def test_past_the_24_hour_window_news_goes_as_the_city_s_template_and_the_rest_by_sms(
    graph: FakeGraph, fake_twilio: Any
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hotline.db import unit_of_work
    from hotline.models import InboundMessage, utcnow
    from tests.conftest import Phone

    graph.text(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    with unit_of_work() as s:  # the citizen wrote 25 hours ago (the clock stays: no escalation storm to wait on)
        s.execute(update(InboundMessage).values(received_at=utcnow() - timedelta(hours=25)))
    phone = Phone(graph.webhook_url.removesuffix("/whatsapp/webhook"))
    assert phone.sms(PMK[0], "TERIMA 1").status_code == 200
    drain_queue()
    first, news = graph.sent_to(CITIZEN)
    assert first.type == "text" and news.type == "template"  # "being handled": the approved template
    assert news.body["template"]["name"] == "hotline_update" and "ditangani" in news.text
    assert fake_twilio.sent_to(CITIZEN) == [] and not news.statuses  # no 131047 from Meta

    graph.templates.clear()  # a template Meta no longer has: the news goes by SMS instead
    assert phone.sms(PMK[0], "TIBA 1").status_code == 200
    drain_queue()
    assert len(graph.sent_to(CITIZEN)) == 2 and len(fake_twilio.sent_to(CITIZEN)) == 1


def test_stop_on_whatsapp_is_honoured_as_for_sms(graph: FakeGraph) -> None:
    graph.text(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    graph.text(CITIZEN, "STOP")
    drain_queue()
    sent = len(graph.sent_to(CITIZEN))
    graph.text(PMK[0], "TERIMA 1")
    drain_queue()
    assert len(graph.sent_to(CITIZEN)) == sent  # "being handled" is not sent to someone who opted out
    assert any(m.status == "suppressed" for m in outbound() if m.to_number == CITIZEN)


@pytest.mark.parametrize("status, code", [(503, 131000), (401, 190), (429, 130429)])
def test_the_graph_api_refusing_a_reply_hands_it_to_sms(
    graph: FakeGraph, fake_twilio: Any, status: int, code: int
) -> None:
    graph.fail_next(status, code)
    graph.text(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    assert graph.sent_to(CITIZEN) == []
    [sms] = fake_twilio.sent_to(CITIZEN)
    assert sms.body.startswith("Laporan No. 1")
    [row] = [m for m in outbound() if m.to_number == CITIZEN]
    assert row.gateway == "twilio" and f"Graph API {status}" in (row.last_error or "")
