"""A bare digit or a word that says nothing is no report: no ticket, no crew called out, one question back.

Before: a "1" from anyone opened a critical fire ticket; twelve of them gave twelve fire tickets and, 23
minutes later, 228 outgoing SMS (180 of them escalations to agency heads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hotline.db import unit_of_work
from hotline.models import InboundMessage, OutboundMessage, Ticket
from tests.conftest import Phone, drain_queue
from tests.helpers import ticket

STRANGER = "+6281299990001"
ASKED = "Tulis apa yang terjadi dan di mana"


def _counts() -> tuple[int, int, int]:
    """(tickets, alerts queued or sent, inbound messages stored)."""
    with unit_of_work() as s:
        tickets = s.scalar(select(func.count()).select_from(Ticket)) or 0
        alerts = s.scalar(select(func.count()).where(OutboundMessage.purpose == "alert")) or 0
        stored = s.scalar(select(func.count()).select_from(InboundMessage)) or 0
    return tickets, alerts, stored


def _outcomes(sender: str) -> list[str | None]:
    with unit_of_work() as s:
        stmt = select(InboundMessage.outcome).where(InboundMessage.from_e164 == sender).order_by(InboundMessage.id)
        return list(s.scalars(stmt))


def test_a_bare_1_from_a_stranger_opens_nothing_and_asks_what_and_where(phone: Phone, fake_twilio: Any) -> None:
    assert phone.sms(STRANGER, "1").status_code == 200
    drain_queue()
    assert _counts() == (0, 0, 1)  # kept, but no ticket and no alert
    [reply] = fake_twilio.sent_to(STRANGER)
    assert ASKED in reply.body and reply.body.startswith("Pesan Anda belum bisa kami catat")
    assert _outcomes(STRANGER) == ["no_report_asked"]


def test_twelve_digits_cost_one_reply_and_call_nobody_out(phone: Phone, fake_twilio: Any) -> None:
    for digit in "123456712345":
        assert phone.sms(STRANGER, digit).status_code == 200
    drain_queue()
    assert _counts() == (0, 0, 12)
    assert len(fake_twilio.sent_to(STRANGER)) == 1  # asked once; the rest are kept quietly
    assert len(fake_twilio.messages) == 1
    outcomes = _outcomes(STRANGER)
    assert outcomes[0] == "no_report_asked" and set(outcomes[1:]) == {"no_report_quiet"}


def test_words_that_say_nothing_are_no_report_either(phone: Phone, fake_twilio: Any) -> None:
    for n, text in enumerate(["halo", "P", "?", "👍", "tes"]):
        sender = f"+62812999910{n:02d}"
        phone.sms(sender, text)
        drain_queue()
        assert ASKED in fake_twilio.sent_to(sender)[-1].body, text
    assert _counts()[:2] == (0, 0)


def test_the_real_report_that_follows_is_a_ticket_as_usual(phone: Phone, fake_twilio: Any) -> None:
    phone.sms(STRANGER, "1")
    drain_queue()
    phone.sms(STRANGER, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    t = ticket(1)
    assert (t.category, t.priority, t.reporter_phone) == ("fire", "critical", STRANGER)
    assert _counts()[0] == 1 and _counts()[1] > 0  # this one does call the crew out
    assert fake_twilio.sent_to(STRANGER)[-1].body.startswith("Laporan No. 1")


def test_a_lone_keyword_with_content_is_still_a_report(phone: Phone, fake_twilio: Any) -> None:
    """One word that names what happened (or a place, or 'tolong') is content: it stays a report."""
    phone.sms(STRANGER, "BANJIR")
    drain_queue()
    assert ticket(1).category == "flood"


def test_a_digit_still_answers_the_question_it_was_asked(phone: Phone, fake_twilio: Any) -> None:
    """'1' after "what happened? reply a number" is the answer, not a new report."""
    phone.sms(STRANGER, "ada yang aneh di depan rumah")
    drain_queue()
    assert ticket(1).status == "awaiting_category"
    phone.sms(STRANGER, "1")
    drain_queue()
    t = ticket(1)
    assert (t.category, t.status) == ("fire", "routed")
    assert _counts()[0] == 1


def test_a_word_after_a_fresh_report_is_added_to_it(phone: Phone, fake_twilio: Any) -> None:
    """Context: a short word soon after the sender's own report adds to that report instead of asking."""
    phone.sms(STRANGER, "JALAN berlubang besar di Sisir")
    drain_queue()
    phone.sms(STRANGER, "cepat")
    drain_queue()
    assert "cepat" in (ticket(1).text or "")
    assert _counts()[0] == 1
