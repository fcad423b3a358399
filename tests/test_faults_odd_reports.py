"""Reports PostgreSQL would refuse as they came: a NUL byte (0x00) in Body or From ("text fields cannot
contain NUL"), a From longer than its column. Refused, the insert would fail on every Twilio retry and the
report would be lost; `inbound_row` keeps what can be kept. SQLite stores all of these as they are, so
the tests hold on both backends."""

from __future__ import annotations

import pytest

from tests.conftest import Phone
from tests.helpers import inbound

CITIZEN = "+6281234567890"


@pytest.mark.parametrize(
    ("sender", "text"),
    [(CITIZEN, "KEBAKARAN di Jl. Diponegoro \x00 12"), (CITIZEN + "\x00", "KEBAKARAN di Jl. Diponegoro 12")],
    ids=["nul-in-body", "nul-in-from"],
)
def test_a_report_with_a_nul_byte_is_kept(phone: Phone, sender: str, text: str) -> None:
    assert phone.sms(sender, text).status_code == 200
    [stored] = inbound()
    assert "Diponegoro" in stored.body and "\x00" not in stored.body + stored.from_raw
    assert stored.from_e164 == CITIZEN


def test_a_report_from_an_over_long_sender_id_is_kept(phone: Phone) -> None:
    answer = phone.sms("+62" + "1" * 80, "KEBAKARAN di Jl. Diponegoro 12")
    assert answer.status_code == 200
    [stored] = inbound()
    assert stored.from_raw == ("+62" + "1" * 80)[:64] and stored.payload["From"] == "+62" + "1" * 80


def test_an_over_long_message_sid_is_refused_clearly(phone: Phone) -> None:
    answer = phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12", sid="SM" + "0" * 70)
    assert answer.status_code == 400 and "MessageSid" in answer.text
    assert inbound() == []
