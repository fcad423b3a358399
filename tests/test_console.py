"""The console's pages and form actions over HTTP (the browser tests are in test_console_browser.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.models import AuditEntry, Call, Ticket
from tests.accounts import console_login, csrf_of, error_after, make_user
from tests.conftest import Caller, Phone, drain_queue
from tests.helpers import events, outbound, ticket


@pytest.fixture
def operator(server: str) -> httpx.Client:
    make_user("ani", "operator", answer_at="client:ani")
    return console_login(server, "ani")


def post(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Submit a form the way the page does: with the CSRF token the page carries."""
    csrf = csrf_of(client.get(page).text)
    return client.post(action, data={**data, "csrf": csrf})


def audit_actions() -> list[str]:
    with unit_of_work() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_operator_creates_edits_reassigns_notes_and_texts(operator: httpx.Client, fake_twilio: Any) -> None:
    made = post(
        operator,
        "/console",
        "/console/tickets",
        {"reporter": "081234567890", "category": "roads", "text": "Jalan ambles", "kecamatan": "Junrejo"},
    )
    assert made.status_code == 303 and made.headers["location"].startswith("/console/tickets/1")
    assert (ticket(1).status, ticket(1).kecamatan) == ("routed", "Junrejo")

    page = "/console/tickets/1"
    assert (
        post(
            operator, page, "/console/tickets/1/edit", {"text": "Jalan ambles 2 m", "location": "Jl. Raya"}
        ).status_code
        == 303
    )
    assert (ticket(1).text, ticket(1).location_text) == ("Jalan ambles 2 m", "Jl. Raya")

    # reassigning is a supervisor's decision (issue 18: roles that differ)
    assert post(operator, page, "/console/tickets/1/reassign", {"agency": "BPBD"}).status_code == 403
    make_user("sri", "supervisor")
    supervisor = console_login(str(operator.base_url).rstrip("/"), "sri")
    assert post(supervisor, page, "/console/tickets/1/reassign", {"agency": "BPBD"}).status_code == 303
    with unit_of_work() as session:
        row = session.get(Ticket, 1)
        assert row is not None and row.status == "routed" and row.routing_rule == "reassigned by sri"
    assert post(operator, page, "/console/tickets/1/note", {"note": "Warga menelepon lagi"}).status_code == 303
    assert (
        post(operator, page, "/console/tickets/1/sms", {"to": "reporter", "body": "Petugas menuju lokasi"}).status_code
        == 303
    )
    assert events(1)[-4:] == ["reassigned", "alerted", "note", "sms_sent"]
    assert any(m.to_number == "+6281234567890" and m.body == "Petugas menuju lokasi" for m in outbound())
    worked = [a for a in audit_actions() if a != "login"]  # the supervisor signed in between
    assert worked[-5:] == ["ticket.create", "ticket.edit", "ticket.reassign", "ticket.note", "ticket.sms"]

    shown = operator.get(page).text
    assert "Warga menelepon lagi" in shown and 'data-testid="agency">BPBD<' in shown
    bad = post(supervisor, page, "/console/tickets/1/reassign", {"agency": "NOPE"})
    assert "Dinas NOPE tidak dikenal." in error_after(supervisor, bad)
    assert 'action="/console/tickets/1/reassign"' not in operator.get(page).text
    assert 'action="/console/tickets/1/reassign"' in supervisor.get(page).text


def test_taking_a_twilio_call_dials_the_operator_and_marks_the_call(
    operator: httpx.Client, phone: Phone, fake_twilio: Any
) -> None:
    caller = Caller(phone)
    caller.dial()
    caller.press("1")  # the emergency key: the caller waits in the operator queue
    queue = operator.get("/console/queue").text
    assert "+6281234567890" in queue
    with unit_of_work() as session:
        call = session.scalar(select(Call))
        assert call is not None and call.status == "queued"
    taken = post(operator, "/console", f"/console/calls/{call.id}/take", {})
    assert taken.status_code == 303 and f"call={call.id}" in taken.headers["location"]
    assert fake_twilio.call_updates == [(caller.sid, {"Twiml": fake_twilio.call_updates[0][1]["Twiml"]})]
    assert "<Dial><Client>ani</Client></Dial>" in fake_twilio.call_updates[0][1]["Twiml"]
    with unit_of_work() as session:
        assert session.get(Call, call.id).status == "with-operator"  # type: ignore[union-attr]
    again = post(operator, "/console", f"/console/calls/{call.id}/take", {})
    assert "tidak menunggu lagi" in error_after(operator, again)
    assert "call.take" in audit_actions()
    drain_queue()


def test_agency_staff_see_only_their_agency_and_change_nothing(operator: httpx.Client, server: str) -> None:
    for category in ("fire", "roads"):  # 1: PMK, 2: PUPR
        post(operator, "/console", "/console/tickets", {"category": category, "text": f"laporan {category}"})
    make_user("pupr1", "agency_staff", "PUPR")
    staff = console_login(server, "pupr1")
    assert staff.get("/console").headers["location"] == "/console/tickets"  # no call queue for them
    listed = staff.get("/console/tickets").text
    assert 'href="/console/tickets/2"' in listed and 'href="/console/tickets/1"' not in listed
    assert staff.get("/console/tickets/1").status_code == 404
    assert post(staff, "/console/tickets/2", "/console/tickets/2/reassign", {"agency": "PMK"}).status_code == 403
    assert post(staff, "/console/tickets/2", "/console/tickets/2/note", {"note": "kami berangkat"}).status_code == 303
    assert events(2)[-1] == "note" and ticket(2).status == "routed"


def test_live_stream_sends_the_queue_when_a_call_starts_waiting(operator: httpx.Client, phone: Phone) -> None:
    with operator.stream("GET", "/console/live", timeout=15) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        caller = Caller(phone)
        caller.dial()
        caller.press("1")
        for line in lines:  # the server polls every second; the read timeout ends a stream that never says it
            if line == "event: queue":
                break
        queue_html = "\n".join(line.removeprefix("data: ") for line in _until_blank(lines))
    assert "+6281234567890" in queue_html and "/take" in queue_html


def _until_blank(lines: Any) -> list[str]:
    out = []
    for line in lines:
        if not line:
            break
        out.append(line)
    return out


def test_board_counts_down_per_agency_and_the_scorecard_renders(operator: httpx.Client, server: str) -> None:
    post(operator, "/console", "/console/tickets", {"category": "fire", "text": "Gudang terbakar"})
    board = operator.get("/console/board").text
    pmk = board[board.index('id="ag-PMK"') : board.index('id="ag-PUPR"')]
    assert 'href="/console/tickets/1"' in pmk and 'class="countdown" data-due="' in pmk
    card = operator.get("/console/scorecard")
    assert card.status_code == 200 and "PMK" in card.text and '<th scope="col">' in card.text
    assert (
        "Bulan 2026-13 tidak bisa dibaca; tulis TTTT-BB"
        in operator.get("/console/scorecard", params={"month": "2026-13"}).text
    )

    make_user("pupr1", "agency_staff", "PUPR")
    staff_board = console_login(server, "pupr1").get("/console/board").text
    assert 'id="ag-PUPR"' in staff_board and 'id="ag-PMK"' not in staff_board


def test_a_transport_without_a_takeover_says_so_and_the_call_keeps_waiting(operator: httpx.Client) -> None:
    from hotline.core.city import current_config
    from hotline.features.calls.calls import begin_call, continue_call
    from hotline.ivr import actions as a

    with unit_of_work() as session:  # an Asterisk call in the operator queue, through the real call service
        call, _ = begin_call(
            session,
            provider="asterisk",
            provider_call_id="1712.5",
            caller="081234567890",
            called="112",
            config=current_config(),
        )
        continue_call(
            session, provider="asterisk", provider_call_id="1712.5", event=a.Digits("1"), config=current_config()
        )
        call_id = call.id
    with unit_of_work() as session:
        assert session.get(Call, call_id).status == "queued"  # type: ignore[union-attr]
    answer = post(operator, "/console", f"/console/calls/{call_id}/take", {})
    assert "belum bisa diangkat dari konsol" in error_after(operator, answer)
    with unit_of_work() as session:
        assert session.get(Call, call_id).status == "queued"  # type: ignore[union-attr]
    assert "call.take" not in audit_actions()
