"""A place learnt after the alert reaches the crew at once, by every path that can learn it: the reporter's
follow-up SMS, a merged report, an operator (console and API), the IVR's UpdateTicket. Nothing is sent
when nothing about the place changed. Real HTTP, database, Redis/RQ and the fake Twilio."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.calls.call_tickets import CallTickets
from hotline.ivr import actions as a
from hotline.models import AuditEntry, Call, TicketEvent
from tests.accounts import console_login, csrf_of, make_token, make_user
from tests.conftest import HOTLINE_NUMBER, Phone, drain_queue
from tests.helpers import events, ticket
from tests.suite_city import members, reply

CITIZEN = "+6281234567890"
NEIGHBOUR = "+6281234567891"
PMK = members("PMK")


def sms(phone: Phone, sender: str, text: str) -> None:
    assert phone.sms(sender, text).status_code == 200
    drain_queue()


def crew_texts(fake_twilio: Any) -> dict[str, list[str]]:
    return {member: [m.body for m in fake_twilio.sent_to(member)] for member in PMK}


def place_event(number: int) -> dict[str, Any]:
    with unit_of_work() as session:
        found = session.scalars(
            select(TicketEvent.data)
            .where(TicketEvent.ticket_id == number, TicketEvent.kind == "place_changed")
            .order_by(TicketEvent.id.desc())
        ).first()
        assert found is not None, events(number)
        return found


def test_a_fire_reported_without_a_place_then_the_place_by_sms(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, "KEBAKARAN rumah terbakar, api besar, tolong cepat")
    alert = crew_texts(fake_twilio)[PMK[0]][-1]
    assert alert.startswith('LOKASI BELUM DIKETAHUI. Kebakaran KRITIS, No. 1. "KEBAKARAN rumah terbakar')
    fake_twilio.reset()

    sms(phone, CITIZEN, "lokasinya di Jl. Diponegoro 12 Sisir")  # a follow-up: no category, no new report
    t = ticket(1)
    assert (t.location_text, t.desa, t.kecamatan) == ("Jl. Diponegoro 12 Sisir", "Sisir", "Batu")
    for member in PMK:  # every alerted member, at once
        assert crew_texts(fake_twilio)[member] == ["No. 1 (Kebakaran) LOKASI: Jl. Diponegoro 12 Sisir, Kec. Batu"]
    assert fake_twilio.sent_to(CITIZEN)[-1].body == reply("info_added", number=1)
    data = place_event(1)
    assert (data["source"], sorted(data["told"]), data["previous"]["location"]) == ("sms", sorted(PMK), None)
    assert events(1)[-2:] == ["info_added", "place_changed"]

    fake_twilio.reset()
    sms(phone, CITIZEN, "rumahnya yang cat hijau")  # more words, no place: the crew is not texted
    sms(phone, CITIZEN, "lokasinya di Jl. Diponegoro 12 Sisir")  # the same place again: nothing changed
    assert all(texts == [] for texts in crew_texts(fake_twilio).values())
    assert events(1).count("place_changed") == 1

    sms(phone, CITIZEN, "dekat masjid nomor 3")  # more of the place: it joins what the crew has
    assert ticket(1).location_text == "Jl. Diponegoro 12 Sisir, masjid nomor 3"
    assert crew_texts(fake_twilio)[PMK[1]] == [
        "No. 1 (Kebakaran) LOKASI: Jl. Diponegoro 12 Sisir, masjid nomor 3, Kec. Batu"
    ]


def test_a_merged_report_brings_the_place_the_ticket_lacked(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, "KEBAKARAN gudang kayu dekat pabrik, asap hitam tebal")
    fake_twilio.reset()
    sms(phone, NEIGHBOUR, "KEBAKARAN gudang kayu dekat pabrik, asap hitam tebal di Sisir")
    t = ticket(1)
    assert (t.reporter_count, t.desa, t.kecamatan) == (2, "Sisir", "Batu")
    assert events(1)[-2:] == ["merged", "place_changed"] and place_event(1)["source"] == "merge"
    for member in PMK:
        [update] = crew_texts(fake_twilio)[member]  # no second alert: the place only
        assert update.startswith("No. 1 (Kebakaran) LOKASI: ") and "Sisir" in update

    fake_twilio.reset()  # a third report of the same place adds nothing to it: no SMS
    sms(phone, "+6281234567892", "KEBAKARAN gudang kayu dekat pabrik, asap hitam tebal di Sisir")
    assert all(texts == [] for texts in crew_texts(fake_twilio).values())


def test_a_place_before_the_alert_goes_in_the_alert_and_after_the_close_nowhere(
    server: str, phone: Phone, fake_twilio: Any
) -> None:
    sms(phone, CITIZEN, "ada yang aneh di sini")  # no category: asked, nobody alerted yet
    sms(phone, CITIZEN, "api di Jl. Imam Bonjol 3 Temas")  # the answer names the category and the place
    assert place_event(1)["told"] == []  # recorded, but there was no crew to tell yet
    for member in PMK:  # the alert itself carries it
        [alert] = crew_texts(fake_twilio)[member]
        assert alert.startswith("Jl. Imam Bonjol 3 Temas, Kec. Batu. Kebakaran KRITIS, No. 1.")

    sms(phone, PMK[0], "SELESAI 1")
    before = crew_texts(fake_twilio)
    api = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {make_token('ops', 'operator')}"})
    assert api.patch("/api/v1/tickets/1", json={"location": "Jl. Imam Bonjol 5"}).status_code == 200
    drain_queue()
    assert ticket(1).location_text == "Jl. Imam Bonjol 5" and place_event(1)["told"] == []  # closed: no SMS
    assert crew_texts(fake_twilio) == before


@pytest.fixture
def operator(server: str) -> httpx.Client:
    make_user("ani", "operator")
    return console_login(server, "ani")


def test_an_operator_edits_the_place_in_the_console(operator: httpx.Client, phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, "KEBAKARAN asap dari dapur rumah")
    fake_twilio.reset()
    page = "/console/tickets/1"
    form = {
        "text": "KEBAKARAN asap dari dapur rumah",
        "category": "fire",
        "location": "Jl. Imam Bonjol 3",
        "desa": "Temas",
    }
    done = operator.post(f"{page}/edit", data={**form, "csrf": csrf_of(operator.get(page).text)})
    assert done.status_code == 303
    drain_queue()
    t = ticket(1)
    assert (t.location_text, t.desa, t.kecamatan) == ("Jl. Imam Bonjol 3", "Temas", "Batu")  # the desa's kecamatan
    for member in PMK:
        assert crew_texts(fake_twilio)[member] == ["No. 1 (Kebakaran) LOKASI: Jl. Imam Bonjol 3, Temas, Kec. Batu"]
    assert place_event(1)["source"] == "operator"
    with unit_of_work() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.edit"))
        assert entry is not None and entry.data["fields"] == ["desa", "kecamatan", "location"]

    fake_twilio.reset()  # the form sent again as it is: nothing changed, nothing sent
    again = operator.post(f"{page}/edit", data={**form, "kecamatan": "Batu", "csrf": csrf_of(operator.get(page).text)})
    drain_queue()
    assert again.status_code == 303 and all(t == [] for t in crew_texts(fake_twilio).values())
    assert 'name="desa"' in operator.get(page).text


def test_an_operator_edits_the_place_through_the_api(server: str, phone: Phone, fake_twilio: Any) -> None:
    sms(phone, CITIZEN, "KEBAKARAN asap dari dapur rumah")
    fake_twilio.reset()
    api = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {make_token('ops', 'operator')}"})
    changed = api.patch("/api/v1/tickets/1", json={"location": "Jl. Imam Bonjol 3", "kecamatan": "Batu"})
    assert changed.status_code == 200, changed.text
    drain_queue()
    assert (changed.json()["location"], changed.json()["kecamatan"]) == ("Jl. Imam Bonjol 3", "Batu")
    for member in PMK:
        assert crew_texts(fake_twilio)[member] == ["No. 1 (Kebakaran) LOKASI: Jl. Imam Bonjol 3, Kec. Batu"]
    assert place_event(1)["source"] == "api"

    fake_twilio.reset()
    same = api.patch("/api/v1/tickets/1", json={"location": "Jl. Imam Bonjol 3"})
    drain_queue()
    assert same.status_code == 200 and all(t == [] for t in crew_texts(fake_twilio).values())
    bad = api.patch("/api/v1/tickets/1", json={"desa": "Atlantis"})
    assert bad.status_code == 422 and "unknown desa" in bad.text
    wrong = api.patch("/api/v1/tickets/1", json={"desa": "Punten", "kecamatan": "Junrejo"})
    assert wrong.status_code == 422 and "Bumiaji" in wrong.text
    assert api.patch("/api/v1/tickets/99", json={"location": "x"}).status_code == 404
    staff = httpx.Client(
        base_url=server, headers={"Authorization": f"Bearer {make_token('st', 'agency_staff', 'PMK')}"}
    )
    assert staff.patch("/api/v1/tickets/1", json={"location": "x"}).status_code == 403


def test_the_ivr_gives_the_place_after_the_alert(phone: Phone, fake_twilio: Any) -> None:
    """UpdateTicket from the call service: the caller named the place after the crew was alerted."""
    sms(phone, CITIZEN, "KEBAKARAN")
    fake_twilio.reset()
    config = current_config()
    assert config.default_flow is not None
    with unit_of_work() as session:
        call = Call(
            provider="twilio",
            provider_call_id="CA-place",
            caller=CITIZEN,
            called=HOTLINE_NUMBER,
            flow_id=config.default_flow.id,
            flow_version=config.default_flow.version,
            state={},
            status="in-progress",
        )
        session.add(call)
        session.flush()
        services = CallTickets(session, config=config, flow=config.default_flow, call=call, transcripts={})
        details = a.TicketDetails(language="id", category="fire", kecamatan="Bumiaji", desa="Punten")
        services.update_ticket(a.UpdateTicket(number=1, details=details, partial=False, stopped_at=None))
    drain_queue()
    t = ticket(1)
    assert (t.location_text, t.desa, t.kecamatan) == ("Punten, Kec. Bumiaji", "Punten", "Bumiaji")
    for member in PMK:
        assert crew_texts(fake_twilio)[member] == ["No. 1 (Kebakaran) LOKASI: Punten, Kec. Bumiaji"]
    assert place_event(1)["source"] == "call" and "info_added" in events(1)
