"""A citizen who writes `whatsapp:+62...` through Twilio's /twilio/sms is answered on WhatsApp through Twilio
(From=whatsapp:<our number>, To=whatsapp:<citizen>) within the 24-hour window of their last WhatsApp message,
"sudah beres?" included; past it, by SMS from the gateway's own number. Through the real webhook, database,
RQ and the fake Twilio, which sees the addresses; the clock is moved, never slept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hotline import clock
from tests.clocked import set_clock, sms
from tests.conftest import HOTLINE_NUMBER, Phone, drain_queue
from tests.suite_city import members, reply

pytestmark = pytest.mark.usefixtures("real_clock")

CITIZEN = "+6281234567890"
WA_CITIZEN = f"whatsapp:{CITIZEN}"
WA_SENDER = "+14155238886"  # a Twilio WhatsApp sender, other than the SMS number
PMK = members("PMK")
T0 = datetime(2030, 3, 10, 2, 0, tzinfo=UTC)


def whatsapp(phone: Phone, text: str, to: str = f"whatsapp:{WA_SENDER}") -> None:
    params = phone.payload(WA_CITIZEN, text)
    params["To"] = to
    assert phone.post("/twilio/sms", params).status_code == 200
    drain_queue()


def test_replies_and_the_question_go_back_on_whatsapp_through_twilio(phone: Phone, fake_twilio: Any) -> None:
    set_clock(T0)
    whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
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


def test_past_the_24_hour_window_the_answer_is_an_sms_from_the_sms_number(phone: Phone, fake_twilio: Any) -> None:
    set_clock(T0)
    whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    sms(phone, PMK[0], "TERIMA 1")
    clock.advance(timedelta(minutes=24 * 60 + 1))  # past the window; not `tick`: a day of escalations is not the point
    fake_twilio.reset()
    sms(phone, PMK[1], "SELESAI 1")
    assert fake_twilio.sent_to(WA_CITIZEN) == []
    asked = fake_twilio.sent_to(CITIZEN)[-1]
    assert asked.from_ == HOTLINE_NUMBER  # not the WhatsApp sender, which may take no SMS
    assert asked.body == reply("confirm_ask", number=1, agency="Damkar Kota Batu", yes=1, no=2)


def test_a_later_sms_from_the_citizen_is_answered_by_sms(phone: Phone, fake_twilio: Any) -> None:
    set_clock(T0)
    whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
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
        whatsapp(phone, "KEBAKARAN di Jl. Diponegoro 12 Sisir", to="")
        [ack] = fake_twilio.sent_to(WA_CITIZEN)
        assert ack.from_ == f"whatsapp:{WA_SENDER}"
    finally:
        monkeypatch.delenv("TWILIO_WHATSAPP_FROM")
        get_settings.cache_clear()
