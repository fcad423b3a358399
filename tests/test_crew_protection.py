"""A reporter's BATAL never stands down a crew that has the report or may be on its way to it (accepted, on
site, or critical): the command center is asked, the console shows the request, and an operator's
audited decision stands the crew down (naming the place and what it was) or keeps the report open."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.models import AuditEntry
from tests.accounts import console_login, csrf_of, error_after, make_token, make_user
from tests.conftest import Phone, drain_queue
from tests.helpers import events, ticket
from tests.suite_city import members, reply, words

CITIZEN = "+6281234567890"
PMK = members("PMK")
PUPR = members("PUPR")
COMMAND = members("COMMAND")
FIRE = "KEBAKARAN di Jl. Diponegoro 12 Sisir"
STAND_DOWN = (
    "No. 1 Kebakaran, Jl. Diponegoro 12 Sisir, Kec. Batu: DIBATALKAN oleh petugas Hotline. Tidak perlu ke lokasi."
)


def sms(phone: Phone, sender: str, text: str) -> None:
    assert phone.sms(sender, text).status_code == 200
    drain_queue()


def last(fake_twilio: Any, number: str) -> str:
    return fake_twilio.sent_to(number)[-1].body


def audit_actions() -> list[str]:
    with unit_of_work() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def operator(server: str) -> httpx.Client:
    make_user("ani", "operator")
    return console_login(server, "ani")


def decide(client: httpx.Client, decision: str) -> httpx.Response:
    page = "/console/tickets/1"
    answer = client.post(f"{page}/cancel-request/{decision}", data={"csrf": csrf_of(client.get(page).text)})
    drain_queue()
    return answer


def test_batal_on_a_critical_fire_asks_the_command_center_and_keeps_the_crew_going(
    phone: Phone, fake_twilio: Any, operator: httpx.Client
) -> None:
    sms(phone, CITIZEN, FIRE)
    sms(phone, PMK[1], "TERIMA 1")
    crew_before = {m: len(fake_twilio.sent_to(m)) for m in PMK}
    sms(phone, CITIZEN, "BATAL 1")

    t = ticket(1)
    assert t.status == "accepted" and t.cancel_requested_at is not None  # still open: the crew goes on
    assert {m: len(fake_twilio.sent_to(m)) for m in PMK} == crew_before  # and hears nothing
    assert last(fake_twilio, CITIZEN) == reply("cancel_passed_on", number=1, agency="Damkar Kota Batu")
    status = words("statuses", "accepted")
    for desk in COMMAND:
        text = last(fake_twilio, desk)
        assert text == (
            f"PELAPOR MINTA BATAL No. 1 Kebakaran, Jl. Diponegoro 12 Sisir, Kec. Batu ({status}). "
            "Tim belum dihentikan: putuskan di konsol."
        )
    assert events(1)[-1] == "cancel_requested"

    sms(phone, CITIZEN, "BATAL 1")  # again: the reporter is answered, the desk is not texted twice
    assert events(1).count("cancel_requested") == 1
    assert all(len(fake_twilio.sent_to(desk)) == 1 for desk in COMMAND)

    page = operator.get("/console/tickets/1").text  # the console shows the request and both decisions
    assert 'data-testid="cancel-request"' in page and "Pelapor minta laporan ini dibatalkan" in page
    assert "cancel-request/confirm" in page and "cancel-request/keep" in page
    assert "minta batal" in operator.get("/console/board").text

    assert decide(operator, "confirm").status_code == 303
    t = ticket(1)
    assert t.status == "cancelled" and t.cancel_requested_at is None
    for member in PMK:  # the stand-down names what and where
        assert last(fake_twilio, member) == STAND_DOWN
    assert last(fake_twilio, CITIZEN) == reply("cancelled", number=1)
    assert audit_actions()[-1] == "ticket.cancel_confirm"
    assert 'data-testid="cancel-request"' not in operator.get("/console/tickets/1").text


def test_the_operator_keeps_the_report_open(phone: Phone, fake_twilio: Any, operator: httpx.Client) -> None:
    sms(phone, CITIZEN, FIRE)  # critical: protected even before anyone accepted it
    sms(phone, CITIZEN, "batal 1")
    assert ticket(1).status == "routed" and ticket(1).cancel_requested_at is not None
    assert decide(operator, "keep").status_code == 303
    t = ticket(1)
    assert t.status == "routed" and t.cancel_requested_at is None
    assert last(fake_twilio, CITIZEN) == reply("cancel_kept", number=1, agency="Damkar Kota Batu")
    assert events(1)[-1] == "cancel_kept" and audit_actions()[-1] == "ticket.cancel_keep"
    assert all("DIBATALKAN" not in m.body for member in PMK for m in fake_twilio.sent_to(member))

    late = decide(operator, "confirm")  # nothing left to decide: said so, nothing changes
    assert "tidak punya permintaan batal" in error_after(operator, late)
    assert ticket(1).status == "routed"


def test_an_accepted_road_report_is_protected_and_decided_through_the_api(
    server: str, phone: Phone, fake_twilio: Any
) -> None:
    sms(phone, CITIZEN, "jalan berlubang di Jl. Imam Bonjol")
    sms(phone, PUPR[0], "TERIMA 1")
    sms(phone, CITIZEN, "BATAL 1")
    api = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {make_token('ops', 'operator')}"})
    shown = api.get("/api/v1/tickets/1").json()
    assert (shown["status"], shown["cancel_requested"]) == ("accepted", True)
    done = api.post("/api/v1/tickets/1/cancel-request/confirm")
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    drain_queue()
    assert last(fake_twilio, PUPR[1]).startswith("No. 1 Jalan, jembatan dan saluran, Jl. Imam Bonjol: ")
    assert api.post("/api/v1/tickets/1/cancel-request/keep").status_code == 422


def test_an_unaccepted_normal_report_is_cancelled_by_the_reporter_at_once(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, "jalan berlubang di Jl. Imam Bonjol")
    sms(phone, CITIZEN, "BATAL 1")
    assert ticket(1).status == "cancelled" and "cancel_requested" not in events(1)
    assert last(fake_twilio, PUPR[0]) == (
        "No. 1 Jalan, jembatan dan saluran, Jl. Imam Bonjol: DIBATALKAN oleh pelapor. Tidak perlu ke lokasi."
    )
    assert not [m for desk in COMMAND for m in fake_twilio.sent_to(desk)]


def test_an_operator_cancelling_stands_the_crew_down(server: str, phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, FIRE)
    api = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {make_token('ops', 'operator')}"})
    assert api.patch("/api/v1/tickets/1", json={"status": "cancelled"}).status_code == 200
    drain_queue()
    for member in PMK:
        assert last(fake_twilio, member) == STAND_DOWN
