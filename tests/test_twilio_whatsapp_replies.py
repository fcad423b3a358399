"""A citizen who writes `whatsapp:+62...` through Twilio's /twilio/sms is answered on WhatsApp through Twilio
(From=whatsapp:<our number>, To=whatsapp:<citizen>) within the 24-hour window of their last WhatsApp message,
"sudah beres?" included; past it, as the city's approved template (ContentSid, sms/whatsapp.yaml), else by SMS
from the gateway's own number. Through the real webhook, database, RQ and the fake Twilio, which sees the
addresses and, as Twilio, fails a free-form WhatsApp message outside the window (63016); the clock is moved,
never slept."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from hotline import clock
from hotline.channels.twilio.sms_client import BaseUrlHttpClient
from hotline.core.outbox import queue_sms
from hotline.db import unit_of_work
from hotline.models import OutboundMessage
from tests.clocked import set_clock, sms
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, HOTLINE_NUMBER, Phone, drain_queue
from tests.suite_city import members, reply

pytestmark = pytest.mark.usefixtures("real_clock")

CITIZEN = "+6281234567890"
WA_CITIZEN = f"whatsapp:{CITIZEN}"
WA_SENDER = "+14155238886"  # a Twilio WhatsApp sender, other than the SMS number
PMK = members("PMK")
T0 = datetime(2030, 3, 10, 2, 0, tzinfo=UTC)


NOTIFY_SID = "HX5e1d2c3b4a5968778695a4b3c2d1e0f1"  # tests/city/sms/whatsapp.yaml, notify
NOTIFY_TEMPLATE = "Kabar laporan Anda: {{1}}"


def whatsapp(phone: Phone, text: str, to: str = f"whatsapp:{WA_SENDER}", fake: Any = None) -> None:
    params = phone.payload(WA_CITIZEN, text)
    params["To"] = to
    if fake is not None:
        fake.whatsapp_inbound(CITIZEN)  # Twilio sees their message too: their window opens there
    assert phone.post("/twilio/sms", params).status_code == 200
    drain_queue()


def outbox(to: str) -> list[OutboundMessage]:
    with unit_of_work() as s:
        return list(s.scalars(select(OutboundMessage).where(OutboundMessage.to_number == to).order_by("id")))


def test_replies_and_the_question_go_back_on_whatsapp_through_twilio(phone: Phone, fake_twilio: Any) -> None:
    set_clock(T0)
    whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir", fake=fake_twilio)
    [ack] = fake_twilio.sent_to(WA_CITIZEN)
    assert (ack.from_, ack.to) == (f"whatsapp:{WA_SENDER}", WA_CITIZEN)
    assert "No. 1" in ack.body and "validity_period" not in {k.lower() for k in ack.params}
    sms(phone, PMK[0], "TERIMA 1")
    sms(phone, PMK[1], "SELESAI 1")
    asked = fake_twilio.sent_to(WA_CITIZEN)[-1]
    assert asked.body == reply("confirm_ask", number=1, agency="Damkar Kota Batu", yes=1, no=2)
    assert asked.from_ == f"whatsapp:{WA_SENDER}"
    assert fake_twilio.sent_to(CITIZEN) == []  # nothing went as SMS
    assert all(m.from_ == HOTLINE_NUMBER for m in fake_twilio.sent_to(PMK[0]))  # members still get SMS


def test_past_the_24_hour_window_the_question_is_the_approved_template(phone: Phone, fake_twilio: Any) -> None:
    fake_twilio.add_content(NOTIFY_TEMPLATE, sid=NOTIFY_SID)
    set_clock(T0)
    whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir", fake=fake_twilio)
    sms(phone, PMK[0], "TERIMA 1")
    clock.advance(timedelta(minutes=24 * 60 + 1))  # past the window; not `tick`: a day of escalations is not the point
    fake_twilio.reset()
    sms(phone, PMK[1], "SELESAI 1")
    assert fake_twilio.sent_to(CITIZEN) == []  # no SMS
    [asked] = fake_twilio.sent_to(WA_CITIZEN)
    question = reply("confirm_ask", number=1, agency="Damkar Kota Batu", yes=1, no=2)
    assert (asked.from_, asked.params["ContentSid"]) == (f"whatsapp:{WA_SENDER}", NOTIFY_SID)
    assert json.loads(asked.params["ContentVariables"]) == {"1": question} and "Body" not in asked.params
    assert asked.body == f"Kabar laporan Anda: {question}" and asked.error_code is None
    time.sleep(0.5)  # a 63016 would come by the status callback 0.2 s after the send
    assert outbox(CITIZEN)[-1].status != "failed"


def test_past_the_window_a_purpose_with_no_template_goes_by_sms(phone: Phone, fake_twilio: Any) -> None:
    set_clock(T0)
    whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir", fake=fake_twilio)
    clock.advance(timedelta(minutes=24 * 60 + 1))
    fake_twilio.reset()
    with unit_of_work() as s:  # an operator's SMS from the console: sms/whatsapp.yaml has no `operator` template
        queue_sms(s, to=CITIZEN, body="Petugas kami menuju lokasi", purpose="operator", ticket_id=1)
    drain_queue()
    assert fake_twilio.sent_to(WA_CITIZEN) == []
    [sent] = fake_twilio.sent_to(CITIZEN)
    assert (sent.from_, sent.body) == (HOTLINE_NUMBER, "Petugas kami menuju lokasi")


def test_the_fake_fails_a_free_form_whatsapp_message_outside_the_window_as_twilio_does(
    phone: Phone, fake_twilio: Any
) -> None:
    """What the routing above avoids: Twilio takes the message, then reports failed with 63016."""
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=BaseUrlHttpClient(fake_twilio.base_url))
    free = client.messages.create(to=WA_CITIZEN, from_=f"whatsapp:{WA_SENDER}", body="halo")
    assert free.status == "queued"  # taken; its failure comes after, as on Twilio (a StatusCallback would hear it)
    assert (fake_twilio.messages[-1].status, fake_twilio.messages[-1].error_code) == ("failed", 63016)
    fake_twilio.whatsapp_inbound(CITIZEN)
    client.messages.create(to=WA_CITIZEN, from_=f"whatsapp:{WA_SENDER}", body="halo")
    assert fake_twilio.messages[-1].error_code is None  # inside the window
    for bad, code in (
        ({"content_sid": "HX" + "0" * 32, "content_variables": '{"1": "x"}'}, 21655),  # not approved here
        ({"content_variables": '{"1": "x"}', "body": "x"}, 21654),
        ({"content_sid": NOTIFY_SID, "content_variables": "{1: x}"}, 21656),
    ):
        fake_twilio.add_content(NOTIFY_TEMPLATE, sid=NOTIFY_SID)
        with pytest.raises(TwilioRestException) as refused:
            client.messages.create(to=WA_CITIZEN, from_=f"whatsapp:{WA_SENDER}", **bad)
        assert refused.value.code == code


def test_a_later_sms_from_the_citizen_is_answered_by_sms(phone: Phone, fake_twilio: Any) -> None:
    set_clock(T0)
    whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir", fake=fake_twilio)
    fake_twilio.reset()
    sms(phone, CITIZEN, "POHON TUMBANG di Jl. Sudiro 3 Pesanggrahan")
    assert fake_twilio.sent_to(WA_CITIZEN) == []
    assert fake_twilio.sent_to(CITIZEN)[-1].from_ == HOTLINE_NUMBER


def test_twilio_whatsapp_from_is_the_sender_when_the_message_named_none(
    phone: Phone, fake_twilio: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.settings import get_settings

    monkeypatch.setenv("TWILIO_WHATSAPP_FROM", WA_SENDER)
    get_settings.cache_clear()
    try:
        whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir", to="", fake=fake_twilio)
        [ack] = fake_twilio.sent_to(WA_CITIZEN)
        assert ack.from_ == f"whatsapp:{WA_SENDER}"
    finally:
        monkeypatch.delenv("TWILIO_WHATSAPP_FROM")
        get_settings.cache_clear()
