"""The outbox's, the alerts' and the calls' statuses, and the outbox's purposes, are enums (issue 16): each member
is the word the database holds. A real flow is run (an alert that fails over to a call, then accepted; an
emergency call through the operator queue) and the stored words are read back with plain SQL, not the models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.calls.calls import begin_call, continue_call
from hotline.features.tickets.tickets import transition
from hotline.ivr import actions as a
from hotline.models import (
    AlertAttemptStatus,
    AlertDeliveryStatus,
    CallRecordStatus,
    OutboundPurpose,
    OutboundStatus,
    Ticket,
    TicketStatus,
)
from hotline.models.alerts import EXHAUSTED_WHERE
from tests.conftest import HOTLINE_NUMBER, Phone, drain_queue
from tests.suite_city import members

CITIZEN = "+6281234567890"
PMK = members("PMK")


def _stored(sql: str, **params: Any) -> list[str]:
    with unit_of_work() as s:
        return [row[0] for row in s.execute(text(sql), params)]


def _attempts(phone: str) -> list[tuple[str, str]]:
    with unit_of_work() as s:
        rows = s.execute(
            text(
                "SELECT a.channel, a.status FROM alert_attempts a JOIN alert_deliveries d ON d.id = a.delivery_id"
                " WHERE d.phone = :phone ORDER BY a.position"
            ),
            {"phone": phone},
        )
        return [(channel, status) for channel, status in rows]


@pytest.mark.unit
def test_a_status_is_its_word_in_json_and_in_the_partial_index() -> None:
    assert json.dumps([OutboundStatus.QUEUED, CallRecordStatus.WITH_OPERATOR]) == '["queued", "with-operator"]'
    assert f"{AlertAttemptStatus.TIMEOUT}" == "timeout" and AlertDeliveryStatus.PENDING == "pending"
    assert EXHAUSTED_WHERE == "status = 'exhausted'"  # ix_alert_deliveries_exhausted (migration 0013)
    assert OutboundPurpose.DIGEST == "digest"  # ix_outbound_digest_created's condition (migration 0013)


@pytest.mark.usefixtures("real_clock")
def test_an_alert_that_fails_over_to_a_call_stores_the_enums_words(phone: Phone, fake_twilio: Any) -> None:
    assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
    drain_queue()
    [alert] = [m for m in fake_twilio.sent_to(PMK[2]) if m.body.endswith("Balas TERIMA 1 / TOLAK 1")]
    fake_twilio.report_status(alert.sid, "failed", error_code="30008")  # no backup gateway here: on to the call
    drain_queue()
    assert _attempts(PMK[2]) == [
        ("sms", AlertAttemptStatus.FAILED),
        ("sms_backup", AlertAttemptStatus.UNAVAILABLE),
        ("voice", AlertAttemptStatus.SENT),
    ]
    assert set(_stored("SELECT status FROM alert_deliveries")) == {AlertDeliveryStatus.PENDING}
    outbox = _stored("SELECT status FROM outbound_messages")
    assert OutboundStatus.FAILED in outbox and OutboundStatus.SENT in outbox
    assert set(outbox) <= set(OutboundStatus)
    purposes = set(_stored("SELECT purpose FROM outbound_messages"))
    assert purposes == {OutboundPurpose.REPLY, OutboundPurpose.ALERT}

    with unit_of_work() as s:  # a member accepts: every alert still failing over stops
        t = s.get(Ticket, 1, with_for_update=True)
        assert t is not None
        transition(s, ticket=t, target=TicketStatus.ACCEPTED, actor="member:3")
    drain_queue()
    assert set(_stored("SELECT status FROM alert_deliveries")) == {AlertDeliveryStatus.STOPPED}
    assert set(_stored("SELECT status FROM alert_attempts")) <= set(AlertAttemptStatus)


@pytest.mark.usefixtures("backend")
def test_an_emergency_call_through_the_operator_queue_stores_the_enums_words() -> None:
    def turn(event: a.Event | None) -> str:
        with unit_of_work() as s:
            if event is None:
                begin_call(
                    s,
                    provider="twilio",
                    provider_call_id="CA-enum",
                    caller=CITIZEN,
                    called=HOTLINE_NUMBER,
                    config=current_config(),
                )
            else:
                continue_call(s, provider="twilio", provider_call_id="CA-enum", event=event, config=current_config())
        [status] = _stored("SELECT status FROM calls WHERE provider_call_id = 'CA-enum'")
        return status

    seen = [turn(None), turn(a.Digits("1")), turn(a.QueueLeft(True)), turn(a.HangUp())]
    assert seen == [
        CallRecordStatus.IN_PROGRESS,  # the menu
        CallRecordStatus.QUEUED,  # the emergency key: waiting for an operator
        CallRecordStatus.WITH_OPERATOR,
        CallRecordStatus.COMPLETED,
    ]
    assert set(_stored("SELECT status FROM outbound_messages")) <= set(OutboundStatus)
