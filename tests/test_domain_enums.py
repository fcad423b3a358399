"""The statuses of inbound SMS, broadcasts and their recipients, media, escalation steps and merged reporters are
enums beside their models, and a timer's firing says a FireOutcome (issue 16): each member is the word the rows
already hold (no migration). A real flow is read back with plain SQL, not through the models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from hotline.core.deadlines import FireOutcome
from hotline.db import unit_of_work
from hotline.features.broadcasts.progress import STATUSES
from hotline.models import (
    BroadcastStatus,
    EscalationPhase,
    EscalationStatus,
    InboundStatus,
    MediaStatus,
    RecipientStatus,
    ReporterStatus,
)
from hotline.models.tickets import OPEN_WHERE, ROUTED_WHERE, WORKING_WHERE
from tests.conftest import Phone, drain_queue

A, B = "+6281234500011", "+6281234500012"


def _stored(sql: str) -> list[Any]:
    with unit_of_work() as s:
        return list(s.execute(text(sql)))


@pytest.mark.unit
def test_each_status_is_the_word_its_rows_already_hold() -> None:
    words = {
        InboundStatus: ["received", "processed", "failed"],
        BroadcastStatus: ["draft", "sending", "done", "cancelled"],
        RecipientStatus: ["queued", "sending", "sent", "delivered", "failed", "skipped", "cancelled"],
        MediaStatus: ["pending", "stored", "refused", "failed"],
        EscalationStatus: ["pending", "fired", "cancelled"],
        EscalationPhase: ["accept", "resolve"],
        ReporterStatus: ["linked", "split", "withdrawn", "primary"],
        FireOutcome: ["early", "fired", "moot", "not-pending", "missing", "queued"],
    }
    for enum, expected in words.items():
        assert [str(member) for member in enum] == expected, enum
    # the console's bar and `hotline broadcast status` count them in this order, as before
    assert STATUSES == ("queued", "sending", "sent", "delivered", "failed", "skipped", "cancelled")
    assert json.dumps({RecipientStatus.SKIPPED: MediaStatus.STORED}) == '{"skipped": "stored"}'
    assert f"escalation_{EscalationPhase.RESOLVE}" == "escalation_resolve"  # the reply keys (sms/replies.py)
    # the partial indexes' conditions, as migration 0013 wrote them
    assert OPEN_WHERE == "status IN ('awaiting_category', 'routed', 'accepted', 'on_site')"
    assert ROUTED_WHERE == "status = 'routed'" and WORKING_WHERE == "status IN ('accepted', 'on_site')"


def test_a_merged_report_withdrawn_stores_the_enums_words(phone: Phone) -> None:
    for sender, body in ((A, "LONGSOR di Sumberbrantas, jalan tertutup"), (B, "LONGSOR di Sumberbrantas juga")):
        assert phone.sms(sender, body).status_code == 200
        drain_queue()
    assert phone.sms(B, "BATAL 1").status_code == 200
    drain_queue()
    inbound = [status for (status,) in _stored("SELECT status FROM inbound_messages")]
    assert inbound == [InboundStatus.PROCESSED] * 3
    assert _stored("SELECT phone, status FROM ticket_reporters") == [(B, ReporterStatus.WITHDRAWN)]
    steps = set(_stored("SELECT phase, status FROM escalations"))
    assert steps == {(EscalationPhase.ACCEPT, EscalationStatus.PENDING)}  # the ticket is still waiting for a crew
