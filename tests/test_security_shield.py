"""Abuse of the citizen channel (issue 18): replying 1 to the shield's SMS no longer lifts every limit, a
number confirmed and then silent again is screened again, an open report lets its caller past the limits
only to that report (and not without end), and an SMS body is capped at 1,600 characters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.shield import shield
from hotline.features.tickets.tickets import open_ticket
from hotline.models import CallScreening, InboundMessage, utcnow
from tests.conftest import Caller, Phone, drain_queue
from tests.helpers import events, ticket
from tests.suite_city import prompt

pytestmark = pytest.mark.usefixtures("backend")

CITIZEN = "+6281234567890"
WELCOME = prompt("welcome")


def decisions(phone: str) -> list[str]:
    with unit_of_work() as session:
        stmt = select(CallScreening.decision).where(CallScreening.phone == phone).order_by(CallScreening.id)
        return list(session.scalars(stmt))


def last_reason() -> str:
    with unit_of_work() as session:
        stmt = select(CallScreening.reason).where(CallScreening.decision.in_(shield.PER_CALL))
        return str(session.scalars(stmt.order_by(CallScreening.id.desc())).first())


def earlier_calls(n: int, minutes_ago: float = 20) -> None:
    """`n` calls from CITIZEN earlier this hour (what the shield counts)."""
    with unit_of_work() as session:
        for _ in range(n):
            shield.log_decision(
                session, phone=CITIZEN, decision="allowed", at=utcnow() - timedelta(minutes=minutes_ago)
            )


def test_replying_1_raises_the_limit_but_does_not_lift_it(phone: Phone) -> None:
    rules = current_config().shield
    earlier_calls(rules.calls_per_hour)
    Caller(phone, CITIZEN).dial()  # the 6th call within the hour: screened, texted "balas 1"
    assert decisions(CITIZEN)[-1] == "rate_limited"
    drain_queue()
    assert phone.sms(CITIZEN, "1").status_code == 200
    drain_queue()
    assert "confirmed" in decisions(CITIZEN)
    assert Caller(phone, CITIZEN).dial().text.count(WELCOME) == 1  # confirmed: served normally ...
    so_far = rules.calls_per_hour + 2
    earlier_calls(rules.trusted_per_hour - so_far - 1, minutes_ago=1)
    assert WELCOME in Caller(phone, CITIZEN).dial().text  # ... up to the higher ceiling ...
    assert decisions(CITIZEN)[-1] == "allowed"
    limited = Caller(phone, CITIZEN).dial()  # ... and no further: the 16th call within the hour
    assert prompt("over_limit_sms") in limited.text
    assert decisions(CITIZEN)[-1] == "rate_limited"
    assert f"{rules.trusted_per_hour + 1} calls within an hour (limit {rules.trusted_per_hour} for a confirmed" in (
        last_reason()
    )
    drain_queue()


def test_a_number_confirmed_then_silent_again_is_screened_again(phone: Phone) -> None:
    rules = current_config().shield
    earlier_calls(rules.calls_per_hour)
    with unit_of_work() as session:
        shield.log_decision(session, phone=CITIZEN, decision="confirmed", at=utcnow() - timedelta(minutes=10))
        shield.log_decision(session, phone=CITIZEN, decision="silent", at=utcnow() - timedelta(minutes=5))
    answer = Caller(phone, CITIZEN).dial()
    assert prompt("over_limit_sms") in answer.text and decisions(CITIZEN)[-1] == "rate_limited"
    drain_queue()


def test_an_open_report_lets_its_caller_past_the_limits_only_to_that_report(phone: Phone) -> None:
    rules = current_config().shield
    with unit_of_work() as session:
        number = open_ticket(
            session,
            config=current_config(),
            channel="sms",
            reporter=CITIZEN,
            text="LONGSOR",
            language="id",
            category="landslide",
        ).id
    earlier_calls(rules.calls_per_hour)
    follow_up = Caller(phone, CITIZEN).dial()  # over the normal limit: allowed, but at the report
    assert decisions(CITIZEN)[-1] == "allowed" and f"open ticket #{number}" in last_reason()
    assert WELCOME not in follow_up.text and prompt("welcome_known") not in follow_up.text
    assert prompt("open_ticket_intro") in follow_up.text
    earlier_calls(rules.trusted_per_hour - rules.calls_per_hour - 1, minutes_ago=1)
    limited = Caller(phone, CITIZEN).dial()
    assert decisions(CITIZEN)[-1] == "rate_limited" and prompt("over_limit_sms") in limited.text
    assert last_reason().startswith(f"open ticket #{number}: {rules.trusted_per_hour + 1} calls within an hour")
    drain_queue()


def test_an_sms_body_is_capped_at_1600_characters_and_the_ticket_says_so(phone: Phone) -> None:
    body = "BANJIR di Pendem " + "air naik terus " * 20000  # ~300 KB would be 413; this is under the body limit
    body = body[:200_000]
    assert phone.sms(CITIZEN, body).status_code == 200
    drain_queue()
    with unit_of_work() as session:
        message = session.scalar(select(InboundMessage).where(InboundMessage.from_e164 == CITIZEN))
        assert message is not None
        assert len(message.body) == 1600 and body.startswith(message.body)
        assert message.payload["Body"] == body  # the original, as received
        assert message.ticket_id is not None
        number = message.ticket_id
    assert len(ticket(number).text) <= 1600
    assert "sms_truncated" in events(number)
