"""What operators see of a ticket: deadline, escalation state and timeline (pure tables + one real run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from hotline import clock
from hotline.cli import app
from hotline.db import unit_of_work
from hotline.features.tickets.timeline import StepRow, actor_name, describe, escalation_state, load_ticket_view
from hotline.jobs.timers import reconcile
from tests.conftest import Phone, drain_queue

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CHAIN = {
    "steps": [
        {"after_minutes": 0, "notify": ["urc", "urc_leader"]},
        {"after_minutes": 3, "notify": ["agency_head", "command_center"]},
    ],
    "repeat_minutes": 5,
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def step(phase: str, n: int, due: float, status: str, rnd: int = 0) -> StepRow:
    return StepRow(phase, n, rnd, at(due), status, at(due) if status == "fired" else None)


@pytest.mark.parametrize(
    ("status", "steps", "now", "expected"),
    [
        # routed, nothing fired yet: the accept deadline runs, step 1 is next
        ("routed", [step("accept", 0, 5, "pending")], 2, ("accept", 3.0, 0, 0, ("urc", "urc_leader"))),
        # past the deadline, step 1 fired, step 2 pending: overdue, the head is next
        (
            "routed",
            [step("accept", 0, 5, "fired"), step("accept", 1, 8, "pending")],
            6.5,
            ("accept", -1.5, 1, 1, ("agency_head", "command_center")),
        ),
        # repeats name the last step's roles
        (
            "routed",
            [step("accept", 0, 5, "fired"), step("accept", 1, 8, "fired"), step("accept", 1, 13, "pending", 1)],
            9,
            ("accept", -4.0, 2, 1, ("agency_head", "command_center")),
        ),
        # accepted: the resolve deadline runs; the cancelled accept step is not "next"
        (
            "accepted",
            [step("accept", 0, 5, "cancelled"), step("resolve", 0, 120, "pending")],
            10,
            ("resolve", 110.0, 0, 0, ("urc", "urc_leader")),
        ),
        # resolved: nothing runs, the fired count stays
        (
            "resolved",
            [step("accept", 0, 5, "fired"), step("resolve", 0, 120, "cancelled")],
            30,
            (None, None, 1, None, ()),
        ),
    ],
)
def test_escalation_state(status: str, steps: list[StepRow], now: float, expected: tuple[Any, ...]) -> None:
    state = escalation_state(
        status=status, accept_due_at=at(5), resolve_due_at=at(120), chain=CHAIN, steps=steps, now=at(now)
    )
    assert (state.phase, state.minutes_left, state.fired, state.next_step, state.next_notify) == expected
    assert state.overdue == (state.minutes_left is not None and state.minutes_left < 0)


def test_a_ticket_not_yet_routed_has_no_deadline() -> None:
    state = escalation_state(
        status="awaiting_category", accept_due_at=None, resolve_due_at=None, chain=None, steps=[], now=T0
    )
    assert (state.phase, state.due_at, state.minutes_left, state.next_due_at) == (None, None, None, None)


ESCALATED = {
    "phase": "accept",
    "step": 1,
    "round": 2,
    "notify": ["agency_head"],
    "phones": ["+1", "+2"],
    "late_seconds": 0.4,
}


@pytest.mark.parametrize(
    ("kind", "data", "language", "text"),
    [
        (
            "escalated",
            ESCALATED,
            "id",
            "ESKALASI langkah 2 (ulang ke-2): belum diterima -> kepala dinas (2 SMS, 0.4 s)",
        ),
        ("escalated", ESCALATED, "en", "ESCALATION step 2 (repeat 2): not accepted -> head of agency (2 SMS, 0.4 s)"),
        (
            "escalated",
            {"phase": "resolve", "step": 0, "round": 0, "notify": ["urc", "urc_leader"], "phones": ["+1"]},
            "id",
            "ESKALASI langkah 1: belum selesai -> tim lapangan, ketua tim (1 SMS)",
        ),
        (
            "routed",
            {"agency": "PMK", "urc": "PMK-URC", "rule": "fire", "priority": "critical"},
            "en",
            "Sent to PMK / PMK-URC, critical priority",
        ),
        ("alerted", {"members": ["+1", "+2", "+3"]}, "id", "Peringatan SMS ke 3 anggota tim"),
        ("created", {"channel": "sms", "category": None}, "en", "The system reported by SMS (kind not known yet)"),
        ("created", {"channel": "voice", "category": "fire"}, "id", "Sistem melapor lewat telepon (Kebakaran)"),
        ("weird", {"a": 1}, "id", "Sistem mengubah laporan"),  # a kind the catalog lacks: still no raw code
        (
            "priority_raised",
            {"previous": "normal", "priority": "high", "reporters": 3},
            "id",
            "Prioritas naik dari biasa ke tinggi (3 pelapor)",
        ),
        ("edited", {"fields": ["text", "desa"]}, "en", "The system changed the text, the desa"),
        (
            "caller_screened",
            {"decision": "rate_limited", "reason": "x"},
            "id",
            "Penelepon disaring: dibatasi (terlalu sering menelepon)",
        ),
    ],
)
def test_describe(kind: str, data: dict[str, Any], language: str, text: str) -> None:
    assert describe(kind, data, language) == text


@pytest.mark.parametrize(
    ("kind", "data", "language", "who", "text"),
    [
        ("accepted", {"previous": "routed"}, "id", "Ketua TRC BPBD", "Ketua TRC BPBD menerima laporan"),
        ("accepted", {"previous": "routed"}, "en", "Ketua TRC BPBD", "Ketua TRC BPBD accepted the report"),
        (
            "reopened",
            {"previous": "resolved", "chain": 1, "resolve_due_at": "2026-12-07T08:02:00+00:00"},
            "id",
            "Pelapor",
            "Pelapor menjawab belum beres; dibuka lagi, batas selesai 07-12 15:02 WIB",
        ),
    ],
)
def test_an_event_is_a_sentence_with_who_did_it(
    kind: str, data: dict[str, Any], language: str, who: str, text: str
) -> None:
    assert describe(kind, data, language, who=who) == text


@pytest.mark.parametrize(
    ("actor", "language", "name"),
    [
        ("member:4", "id", "Danru PMK Regu A"),
        ("member:99", "en", "A team member"),
        ("+6281234567890", "id", "Pelapor"),
        ("+6281200000000", "en", "Reporter +6281200000000"),
        ("system", "id", "Sistem"),
        ("ani", "id", "Petugas ani"),
    ],
)
def test_the_actor_in_words(actor: str, language: str, name: str) -> None:
    assert actor_name(actor, language, reporter="+6281234567890", members={4: "Danru PMK Regu A"}) == name


def test_ticket_show_tells_the_operator_the_escalation_state(phone: Phone, real_clock: None) -> None:
    phone.sms("+6281234567890", "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    runner = CliRunner()
    before = runner.invoke(app, ["ticket", "show", "1", "--lang", "en"])
    assert before.exit_code == 0, before.output
    assert "accept deadline" in before.output and "in 5 min" in before.output
    assert "escalations fired: 0; next: step 1 at " in before.output
    # in words, as the console says it: no raw status, kind or event code; times in the city's zone
    assert "#1 Waiting for the team to accept · Fire · " in before.output and "routed" not in before.output
    assert "time (WIB)" in before.output and "UTC" not in before.output
    clock.advance(timedelta(minutes=6))
    reconcile(only=["escalation"])
    drain_queue()
    after = runner.invoke(app, ["ticket", "show", "1"])
    assert after.exit_code == 0, after.output
    assert "batas terima" in after.output and "lewat 1 menit" in after.output
    assert "eskalasi terkirim: 1; berikutnya: langkah 2 pukul " in after.output
    assert "escalated" not in after.output and "ESKALASI" in after.output  # the sentence, not the event's code
    with unit_of_work() as session:
        view = load_ticket_view(session, 1)
    assert view is not None
    assert [line.kind for line in view.timeline] == ["created", "routed", "alerted", "escalated"]
    assert view.timeline[-1].text.startswith("ESKALASI langkah 1: belum diterima -> tim lapangan, ketua tim (3 SMS, ")


def test_ticket_show_bad_input_is_a_clear_error(phone: Phone) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["ticket", "show", "999"])
    assert missing.exit_code == 1 and "No ticket #999" in missing.output
    assert runner.invoke(app, ["ticket", "show", "abc"]).exit_code == 2
    assert runner.invoke(app, ["ticket", "show", "1", "--lang", "fr"]).exit_code == 2
