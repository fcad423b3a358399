"""Citizens close the loop: after SELESAI the reporter is asked "sudah beres?"; 1 confirms, 2 reopens the ticket
with a fresh finish deadline and chain and counts against the agency. Pure rules as tables, then the whole
loop through the real SMS webhook, database, Redis/RQ and the fake Twilio (the clock is moved, never slept)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline import clock
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.scorecard import Month
from hotline.features.scorecard.cache import refresh as refresh_scorecard
from hotline.features.sms.confirmations import ANSWER_WINDOW, LATE_ANSWER_WINDOW, answer_state
from hotline.features.tickets.tickets import open_ticket
from hotline.models import Escalation, Ticket, TicketEvent
from hotline.phone import is_mobile
from tests.accounts import console_login, make_user
from tests.clocked import set_clock, sms, tick
from tests.conftest import Phone, drain_queue
from tests.helpers import count, events, outbound, ticket
from tests.suite_city import members, reply

pytestmark = pytest.mark.usefixtures("real_clock")  # these tests move hotline.clock

CITIZEN = "+6281234567890"
PMK = members("PMK")
PUPR = members("PUPR")[0]
ASKED_1 = reply("confirm_ask", number=1, agency="Damkar Kota Batu", yes=1, no=2)
T0 = datetime(2030, 3, 10, 2, 0, tzinfo=UTC)  # 09:00 in Kota Batu


# ---------------------------------------------------------------- pure rules

ASKED = datetime(2030, 3, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "answered", "status", "expected"),
    [
        (timedelta(minutes=1), False, "resolved", "open"),
        (ANSWER_WINDOW, False, "resolved", "open"),  # exactly at the window is still in it
        (ANSWER_WINDOW + timedelta(seconds=1), False, "resolved", "expired"),
        (timedelta(minutes=1), True, "resolved", "answered"),
        (timedelta(minutes=1), False, "accepted", "answered"),  # reopened (or moved by an operator) already
        (ANSWER_WINDOW + timedelta(hours=1), True, "resolved", "answered"),  # a repeat says "already recorded"
        (LATE_ANSWER_WINDOW, False, "resolved", "expired"),
        (LATE_ANSWER_WINDOW + timedelta(seconds=1), False, "resolved", "none"),  # a digit, not an answer
        (LATE_ANSWER_WINDOW + timedelta(seconds=1), True, "accepted", "none"),
    ],
)
def test_answer_state(age: timedelta, answered: bool, status: str, expected: str) -> None:
    assert answer_state(asked_at=ASKED, answered=answered, ticket_status=status, now=ASKED + age) == expected


@pytest.mark.parametrize(
    ("number", "mobile"),
    [
        ("+6281234567890", True),  # Telkomsel
        ("+6285712345678", True),  # Indosat
        ("+62341591200", False),  # a Malang/Batu landline
        ("+61412345678", True),
        ("TELKOMSEL", False),  # an alphanumeric sender id
        ("", False),
    ],
)
def test_is_mobile(number: str, mobile: bool) -> None:
    assert is_mobile(number) is mobile


# ---------------------------------------------------------------- through the webhook


def last_to(fake_twilio: Any, number: str) -> str:
    return fake_twilio.sent_to(number)[-1].body


def fire_resolved(phone: Phone, sender: str = CITIZEN) -> None:
    sms(phone, sender, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    sms(phone, PMK[0], "TERIMA 1")
    sms(phone, PMK[1], "SELESAI 1")


def escalations(ticket_id: int) -> list[tuple[int, str, int, str]]:
    with unit_of_work() as s:
        rows = s.scalars(select(Escalation).where(Escalation.ticket_id == ticket_id).order_by(Escalation.id))
        return [(r.chain, r.phase, r.step, r.status) for r in rows]


def event_data(ticket_id: int, kind: str) -> list[dict[str, Any]]:
    with unit_of_work() as s:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
        return [e.data for e in s.scalars(stmt.order_by(TicketEvent.id))]


def test_done_asks_and_1_confirms(phone: Phone, fake_twilio: Any) -> None:
    fire_resolved(phone)
    assert last_to(fake_twilio, CITIZEN) == ASKED_1  # one SMS: the "resolved" notice carries the question
    assert events(1)[-2:] == ["resolved", "confirmation_asked"]
    sms(phone, CITIZEN, "1")
    assert last_to(fake_twilio, CITIZEN) == reply("confirm_thanks", number=1)
    assert ticket(1).status == "resolved" and count(Ticket) == 1  # an answer, not a fire report
    assert events(1)[-1] == "confirmed"
    sms(phone, CITIZEN, " 1. ")  # sent twice: still not a report
    assert last_to(fake_twilio, CITIZEN) == reply("confirm_already", number=1)
    assert count(Ticket) == 1 and events(1)[-1] == "confirmed"


def test_english_reporter_is_asked_in_english(phone: Phone, fake_twilio: Any) -> None:
    tourist, bpbd = "+61412345678", members("BPBD")[0]
    sms(phone, tourist, "There is a landslide near Songgokerto, people trapped")
    sms(phone, bpbd, "SELESAI 1")
    assert last_to(fake_twilio, tourist) == (reply("confirm_ask", "en", number=1, agency="BPBD Kota Batu", yes=1, no=2))
    sms(phone, tourist, "2")
    assert last_to(fake_twilio, tourist) == reply("citizen_reopened", "en", number=1, agency="BPBD Kota Batu")
    assert "DIBUKA LAGI" in last_to(fake_twilio, bpbd)  # URC staff are told in Indonesian


def test_2_reopens_with_a_fresh_deadline_and_chain_and_counts_against_the_agency(
    phone: Phone, fake_twilio: Any
) -> None:
    set_clock(T0)
    sms(phone, CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    sms(phone, PMK[0], "TERIMA 1")
    tick(10)
    sms(phone, PMK[1], "SELESAI 1")  # done in 10 minutes: within both deadlines
    first = ticket(1)
    assert first.escalation_chain is not None and first.escalation_chain["number"] == 0
    tick(30)
    fake_twilio.reset()
    sms(phone, CITIZEN, "2")

    t = ticket(1)
    assert (t.status, t.resolved_at, t.accepted_at) == ("accepted", None, first.accepted_at)
    assert t.escalation_chain is not None and t.escalation_chain["number"] == 1
    assert t.resolve_due_at is not None and first.resolve_due_at is not None
    # the pinned resolve SLA (120 minutes) from the moment of the answer, 40 minutes after routing
    assert timedelta(minutes=160) <= t.resolve_due_at - T0 < timedelta(minutes=161)
    [reopened] = event_data(1, "reopened")
    assert reopened["chain"] == 1 and datetime.fromisoformat(reopened["resolve_due_at"]) == t.resolve_due_at
    assert escalations(1) == [
        (0, "accept", 0, "cancelled"),
        (0, "resolve", 0, "cancelled"),
        (1, "resolve", 0, "pending"),
    ]
    assert last_to(fake_twilio, CITIZEN) == reply("citizen_reopened", number=1, agency="Damkar Kota Batu")
    for member in PMK:
        assert last_to(fake_twilio, member) == (
            "No. 1 Kebakaran, Jl. Diponegoro 12 Sisir, Kec. Batu: DIBUKA LAGI, pelapor menjawab belum beres. "
            "Kirim SELESAI 1 jika tuntas."
        )
    sms(phone, CITIZEN, "2")  # again before anyone re-resolved it: already recorded, nothing changes
    assert last_to(fake_twilio, CITIZEN) == reply("confirm_already", number=1)
    assert events(1).count("reopened") == 1

    tick(121)  # the fresh deadline passes: the fresh chain escalates
    assert any(m.body.startswith("TERLAMBAT No. 1") and "belum selesai" in m.body for m in fake_twilio.sent_to(PMK[0]))
    assert (1, "resolve", 0, "fired") in escalations(1)

    sms(phone, PMK[2], "SELESAI 1")  # another member re-resolves: the reporter is asked again
    assert ticket(1).status == "resolved" and events(1)[-1] == "confirmation_asked"
    sms(phone, CITIZEN, "2")  # the answer to the new question: reopened again, chain 2
    assert ticket(1).status == "accepted" and ticket(1).escalation_chain["number"] == 2  # type: ignore[index]
    assert events(1).count("reopened") == 2
    sms(phone, PMK[2], "SELESAI 1")
    sms(phone, CITIZEN, "1")
    assert ticket(1).status == "resolved" and events(1)[-1] == "confirmed"

    # Judged now and kept as the open month's card, as the metrics refresher keeps it: the console shows that
    # card, which a refresher turn earlier in the test may have judged before these events.
    card = refresh_scorecard(
        config=current_config(), month=Month(2030, 3), tz=ZoneInfo("Asia/Jakarta"), now=clock.now()
    )
    pmk = next(r for r in card.agencies if r.code == "PMK")
    assert (pmk.tickets, pmk.reopened, pmk.within_sla, pmk.measured, pmk.resolve_breaches) == (1, 1, 0, 1, 1)
    assert pmk.accept_breaches == 0 and pmk.grade == "red"

    make_user("ani", "operator")  # the console's scorecard shows it too
    page = console_login(phone.base_url, "ani").get("/console/scorecard", params={"month": "2030-03"}).text
    assert '<th scope="col">Dibuka lagi</th>' in page
    row = page[page.index('<th scope="row">PMK') :]
    assert row[: row.index("</tr>")].endswith(f"<td>{pmk.escalations}</td><td>1</td>")  # escalations, reopened


def test_an_answer_after_the_window_changes_nothing(phone: Phone, fake_twilio: Any) -> None:
    fire_resolved(phone)
    clock.advance(ANSWER_WINDOW + timedelta(minutes=1))
    sms(phone, CITIZEN, "2")
    assert last_to(fake_twilio, CITIZEN) == (reply("confirm_expired", number=1))
    assert ticket(1).status == "resolved" and count(Ticket) == 1
    assert not {"confirmed", "reopened"} & set(events(1))


def test_no_answer_leaves_it_resolved_and_only_the_latest_question_counts(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    sms(phone, CITIZEN, "JALAN berlubang di Jl. Imam Bonjol")
    assert ticket(2).routing_rule is not None and ticket(2).agency_id != ticket(1).agency_id
    sms(phone, PMK[0], "SELESAI 1")
    sms(phone, PUPR, "SELESAI 2")
    sms(phone, CITIZEN, "2")  # #2 was asked last
    assert (ticket(1).status, ticket(2).status) == ("resolved", "accepted")
    assert events(1)[-1] == "confirmation_asked"  # never answered: stays resolved, nothing recorded
    sms(phone, CITIZEN, "1")  # still about #2, the latest question: already answered
    assert last_to(fake_twilio, CITIZEN) == reply("confirm_already", number=2)
    assert events(1)[-1] == "confirmation_asked" and count(Ticket) == 2


def test_a_category_question_takes_the_digit_first(phone: Phone, fake_twilio: Any) -> None:
    fire_resolved(phone)
    sms(phone, CITIZEN, "tolong ada masalah di depan rumah saya")  # a new report without a category
    assert ticket(2).status == "awaiting_category"
    sms(phone, CITIZEN, "2")
    assert (ticket(2).status, ticket(2).category) == ("routed", "landslide")
    assert ticket(1).status == "resolved" and "reopened" not in events(1)


def test_opted_out_reporter_is_not_asked(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    sms(phone, CITIZEN, "BERHENTI")
    sms(phone, PMK[0], "SELESAI 1")
    assert event_data(1, "confirmation_skipped") == [{"reason": "opted_out"}]
    assert "confirmation_asked" not in events(1)
    assert not any("sudah beres" in m.body for m in outbound())
    done = [m for m in outbound() if m.to_number == CITIZEN and m.body.startswith("Laporan No. 1 telah selesai")]
    assert [m.status for m in done] == ["suppressed"]  # the plain notice, held back as every SMS to them


@pytest.mark.parametrize(
    ("caller", "asked"),
    [("+6281234567899", True), ("+62341591200", False)],  # a mobile, a landline
)
def test_phone_report_is_asked_by_sms_when_the_number_is_a_mobile(
    phone: Phone, fake_twilio: Any, caller: str, asked: bool
) -> None:
    with unit_of_work() as s:
        open_ticket(
            s,
            config=current_config(),
            channel="voice",
            reporter=caller,
            text="rumah terbakar",
            language="id",
            category="fire",
        )
    drain_queue()
    sms(phone, PMK[0], "SELESAI 1")
    questions = [m for m in outbound() if m.to_number == caller and "sudah beres" in m.body]
    assert len(questions) == (1 if asked else 0)
    if asked:
        sms(phone, caller, "1")
        assert events(1)[-1] == "confirmed"
    else:
        assert event_data(1, "confirmation_skipped") == [{"reason": "not_mobile"}]
