"""Duplicate merging end to end: real HTTP, database, Redis/RQ, and the fake Twilio REST server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.models import AuditEntry, Call, InboundMessage, Ticket, TicketReporter
from tests.accounts import console_login, csrf_of, make_partner, make_token, make_user, shown_after
from tests.conftest import Phone, drain_queue
from tests.helpers import count, events, outbound, scrape, ticket
from tests.suite_city import members, reply

A, B, C = "+6281234500001", "+6281234500002", "+6281234500003"
BPBD = members("BPBD")


def sms(phone: Phone, sender: str, text: str) -> None:
    assert phone.sms(sender, text).status_code == 200
    drain_queue()


def last(fake_twilio: Any, number: str) -> str:
    sent = fake_twilio.sent_to(number)
    assert sent, f"nothing was sent to {number}"
    return sent[-1].body


def reporters(number: int) -> list[TicketReporter]:
    with unit_of_work() as session:
        stmt = select(TicketReporter).where(TicketReporter.ticket_id == number).order_by(TicketReporter.id)
        return list(session.scalars(stmt))


def alerts_to(fake_twilio: Any, member: str) -> list[str]:
    return [m.body for m in fake_twilio.sent_to(member)]


def test_three_citizens_report_one_landslide(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, A, "LONGSOR di Sumberbrantas, jalan tertutup tanah")
    sms(phone, B, "tanah longsor dekat masjid Sumberbrantas")
    sms(phone, C, "Longsor Sumberbrantas, rumah warga terancam")

    assert count(Ticket) == 1
    t = ticket(1)
    assert (t.status, t.category, t.desa, t.reporter_count, t.priority) == (
        "routed",
        "landslide",
        "Sumberbrantas",
        3,
        "critical",  # a landslide starts critical: merging never lowers it
    )
    rows = reporters(1)
    assert [(r.phone, r.rule, r.status, r.channel) for r in rows] == [
        (B, "same_desa", "linked", "sms"),
        (C, "same_desa", "linked", "sms"),
    ]
    assert rows[0].text == "tanah longsor dekat masjid Sumberbrantas" and rows[0].inbound_id is not None
    assert events(1) == ["created", "routed", "alerted", "merged", "merged"]
    # One callout: each BPBD member got exactly one alert
    for member in BPBD:
        assert len(alerts_to(fake_twilio, member)) == 1
    assert last(fake_twilio, A).startswith("Laporan No. 1 (Tanah longsor) diterima")
    assert last(fake_twilio, B).startswith("Kejadian ini sudah dilaporkan: No. 1 (Tanah longsor)")
    assert "(3 pelapor)" in last(fake_twilio, C)
    with unit_of_work() as session:
        outcomes = list(session.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)))
    assert outcomes == ["ticket_created", "merged", "merged"]
    # a merged reporter's follow-up without a category stays theirs, on the ticket they joined
    sms(phone, B, "rumah pak RT ikut tertimbun")
    assert count(Ticket) == 1 and last(fake_twilio, B) == reply("info_added", number=1)
    assert reporters(1)[0].text.endswith("\nrumah pak RT ikut tertimbun") and "pak RT" not in ticket(1).text
    metrics = scrape(phone.base_url)
    assert 'hotline_merged_reports{category="landslide",rule="same_desa"} 2.0' in metrics

    # Every reporter hears every update
    sms(phone, BPBD[1], "TERIMA 1")
    for citizen in (A, B, C):
        assert last(fake_twilio, citizen) == reply("citizen_accepted", number=1, agency="BPBD Kota Batu")
    sms(phone, BPBD[1], "TIBA 1")
    for citizen in (A, B, C):
        assert last(fake_twilio, citizen) == reply("citizen_on_site", number=1, agency="BPBD Kota Batu")
    sms(phone, BPBD[1], "SELESAI 1")
    assert last(fake_twilio, A) == reply("confirm_ask", number=1, agency="BPBD Kota Batu", yes=1, no=2)  # the first
    for citizen in (B, C):
        assert last(fake_twilio, citizen) == reply("citizen_done", number=1, agency="BPBD Kota Batu")

    # A linked reporter may ask for the status, with or without the number
    sms(phone, C, "STATUS 1")
    assert last(fake_twilio, C).startswith("Laporan No. 1 (Tanah longsor): SELESAI.")
    sms(phone, B, "STATUS")
    assert last(fake_twilio, B).startswith("Laporan No. 1 (Tanah longsor): SELESAI.")
    # the first reporter says it is not fixed: everyone hears the ticket is open again
    sms(phone, A, "2")
    for citizen in (A, B, C):
        assert last(fake_twilio, citizen) == reply("citizen_reopened", number=1, agency="BPBD Kota Batu")


def test_reports_pile_up_and_the_priority_rises_with_one_urgency_alert(phone: Phone, fake_twilio: Any) -> None:
    citizens = [f"+62812345000{i:02d}" for i in range(1, 8)]
    sms(phone, citizens[0], "BANJIR di Punten, air masuk rumah")
    accept_due = ticket(1).accept_due_at
    for citizen in citizens[1:]:
        sms(phone, citizen, "BANJIR di Punten, air masuk rumah")
    t = ticket(1)
    assert count(Ticket) == 1 and t.reporter_count == 7
    assert t.priority == "critical"  # flood starts high; routing/merging.yaml: 6 reporters -> critical
    assert events(1).count("priority_raised") == 1 and events(1).count("urgency_alerted") == 1
    for member in BPBD:
        bodies = alerts_to(fake_twilio, member)
        assert len(bodies) == 2, bodies  # the first alert, then one "now critical" alert
        assert bodies[0].startswith('Punten, Kec. Bumiaji. Banjir TINGGI, No. 1. "BANJIR, air masuk rumah"')
        assert bodies[1] == "No. 1 Banjir, Punten, Kec. Bumiaji: kini KRITIS, 6 pelapor. Balas TERIMA 1"
    # The pinned deadline stays as alerted: the agency is judged on what it was given
    assert t.accept_due_at == accept_due


def test_priority_rising_after_acceptance_sends_no_alert(phone: Phone, fake_twilio: Any) -> None:
    for i in range(1, 6):
        sms(phone, f"+62812345000{i:02d}", "BANJIR di Punten, air masuk rumah")
    sms(phone, BPBD[0], "TERIMA 1")
    sms(phone, "+6281234500006", "BANJIR di Punten, air masuk rumah")
    assert ticket(1).priority == "critical" and "priority_raised" in events(1)
    assert "urgency_alerted" not in events(1)
    assert not [b for b in alerts_to(fake_twilio, BPBD[1]) if "kini" in b]


def test_another_desa_category_or_an_old_ticket_opens_its_own(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, A, "LONGSOR di Sumberbrantas, jalan tertutup")
    sms(phone, B, "LONGSOR di Punten, jalan tertutup")  # another desa
    sms(phone, C, "BANJIR di Sumberbrantas, jalan tertutup")  # another category
    assert [ticket(n).category for n in (1, 2, 3)] == ["landslide", "landslide", "flood"]
    with unit_of_work() as session:  # the first landslide is now older than the 360-minute window
        first = session.get(Ticket, 1)
        assert first is not None
        first.created_at -= timedelta(hours=7)
    sms(phone, "+6281234500004", "LONGSOR di Sumberbrantas lagi")
    assert count(Ticket) == 4 and count(TicketReporter) == 0
    assert all(ticket(n).reporter_count == 1 for n in (1, 2, 3, 4))


def test_the_same_person_twice_is_not_two_reporters(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, A, "LONGSOR di Sumberbrantas, jalan tertutup")
    sms(phone, A, "LONGSOR di Sumberbrantas, sekarang rumah tertimbun")
    assert count(Ticket) == 1 and count(TicketReporter) == 0 and ticket(1).reporter_count == 1
    assert "sekarang rumah tertimbun" in ticket(1).text
    assert last(fake_twilio, A) == reply("info_added", number=1)


def test_batal_from_a_linked_reporter_detaches_only_their_report(phone: Phone, fake_twilio: Any) -> None:
    sms(phone, A, "LONGSOR di Sumberbrantas, jalan tertutup")
    sms(phone, B, "LONGSOR di Sumberbrantas juga")
    sms(phone, C, "longsor Sumberbrantas")
    sms(phone, B, "BATAL 1")
    t = ticket(1)
    assert (t.status, t.reporter_count) == ("routed", 2)
    assert last(fake_twilio, B) == reply("report_withdrawn", number=1)
    assert [r.status for r in reporters(1)] == ["withdrawn", "linked"]
    assert not [m for m in outbound() if "DIBATALKAN" in m.body]  # the team is not called off
    # the first reporter withdrawing hands the ticket to the next one
    sms(phone, A, "BATAL 1")
    t = ticket(1)
    assert (t.status, t.reporter_phone, t.reporter_count) == ("routed", C, 1)
    assert [r.status for r in reporters(1)] == ["withdrawn", "primary"]
    # withdrawn reporters hear nothing more; the last one left cancels the ticket itself, and since a crew
    # accepted it, that waits for an operator (crew protection: hotline/features/tickets/cancel_requests.py)
    sms(phone, BPBD[0], "TERIMA 1")
    assert last(fake_twilio, C) == reply("citizen_accepted", number=1, agency="BPBD Kota Batu")
    assert "sedang ditangani" not in last(fake_twilio, B)
    sms(phone, C, "BATAL 1")
    assert ticket(1).status == "accepted" and ticket(1).cancel_requested_at is not None
    assert last(fake_twilio, C) == reply("cancel_passed_on", number=1, agency="BPBD Kota Batu")
    assert events(1).count("reporter_withdrawn") == 2 and events(1)[-1] == "cancel_requested"


@pytest.fixture
def api(server: str) -> httpx.Client:
    token = make_token("ops", "operator")
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_near_gps_through_open311(server: str, fake_twilio: Any) -> None:
    token = make_partner("cityapp")

    def post(description: str, lat: float, long: float, phone: str) -> httpx.Response:
        form = {"api_key": token, "service_code": "roads", "description": description, "phone": phone}
        return httpx.post(
            f"{server}/open311/v2/requests.json", data={**form, "lat": str(lat), "long": str(long)}, timeout=10
        )

    first = post("Jalan berlubang besar", -7.8712, 112.5234, "081234500001")
    assert first.json()[0]["service_request_id"] == "1"
    near = post("lubang di aspal, motor jatuh", -7.8716, 112.5234, "081234500002")  # ~45 m south
    assert near.status_code == 200
    [answer] = near.json()
    assert answer["service_request_id"] == "1" and answer["service_notice"].startswith("merged into open request 1")
    far = post("Jalan berlubang besar", -7.8762, 112.5234, "081234500003")  # ~550 m: another hole
    assert far.json()[0]["service_request_id"] == "2"
    [row] = reporters(1)
    assert (row.phone, row.rule, row.channel) == ("+6281234500002", "near_gps", "open311")
    assert row.score is not None and 40 < row.score < 50
    assert (row.latitude, row.longitude) == (-7.8716, 112.5234)
    one = httpx.get(f"{server}/open311/v2/requests/1.json").json()[0]
    assert (one["lat"], one["long"]) == (-7.8712, 112.5234)  # stored and given back
    assert ticket(1).reporter_count == 2 and "merged" in events(1)


def test_api_create_merges_by_desa_unless_told_not_to(api: httpx.Client) -> None:
    body = {"text": "Longsor menutup jalan", "category": "landslide", "desa": "punten", "reporter": "081234500001"}
    assert api.post("/api/v1/tickets", json=body).json()["merged"] is False
    again = api.post("/api/v1/tickets", json={**body, "reporter": "081234500002"}).json()
    assert (again["number"], again["merged"], again["merge_rule"], again["reporters"]) == (1, True, "same_desa", 2)
    apart = api.post("/api/v1/tickets", json={**body, "reporter": "081234500003", "merge": False}).json()
    assert (apart["number"], apart["merged"]) == (2, False)
    wrong = api.post("/api/v1/tickets", json={**body, "kecamatan": "Batu"})
    assert wrong.status_code == 422 and "desa Punten is in kecamatan Bumiaji" in wrong.json()["detail"]
    with unit_of_work() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["ticket.create", "ticket.merge", "ticket.create"]


def test_split_a_wrong_merge_through_the_api(phone: Phone, api: httpx.Client, server: str, fake_twilio: Any) -> None:
    sms(phone, A, "LONGSOR di Sumberbrantas, jalan tertutup")
    sms(phone, B, "LONGSOR di Sumberbrantas dekat sekolah")
    detail = api.get("/api/v1/tickets/1").json()
    assert detail["reporters"] == 2
    [linked] = detail["linked_reporters"]
    assert (linked["phone"], linked["rule"], linked["status"], linked["split_into"]) == (B, "same_desa", "linked", None)

    staff = make_token("bpbd", "agency_staff", agency="BPBD")
    denied = httpx.post(
        f"{server}/api/v1/tickets/1/reporters/{linked['id']}/split",
        headers={"Authorization": f"Bearer {staff}"},
        timeout=10,
    )
    assert denied.status_code == 403
    operator = make_token("op1", "operator")  # an operator works tickets; splitting is a supervisor's decision
    denied = httpx.post(
        f"{server}/api/v1/tickets/1/reporters/{linked['id']}/split",
        headers={"Authorization": f"Bearer {operator}"},
        timeout=10,
    )
    assert denied.status_code == 403
    supervisor = make_token("sup1", "supervisor")
    api.headers["Authorization"] = f"Bearer {supervisor}"
    answer = api.post(f"/api/v1/tickets/1/reporters/{linked['id']}/split")
    assert answer.status_code == 201, answer.text
    new = answer.json()
    assert (new["number"], new["status"], new["reporter"], new["agency"], new["desa"]) == (
        2,
        "routed",
        B,
        "BPBD",
        "Sumberbrantas",
    )
    assert api.post(f"/api/v1/tickets/1/reporters/{linked['id']}/split").status_code == 422  # not twice
    assert api.post("/api/v1/tickets/1/reporters/999/split").status_code == 422
    drain_queue()
    assert last(fake_twilio, B) == reply("report_split", number=2, category="Tanah longsor", agency="BPBD Kota Batu")
    assert any("Tanah longsor KRITIS, No. 2." in body for body in alerts_to(fake_twilio, BPBD[0]))  # alerted
    assert ticket(1).reporter_count == 1
    assert events(1)[-1] == "reporter_split" and "split_from" in events(2)
    after = api.get("/api/v1/tickets/1").json()["linked_reporters"]
    assert [(r["status"], r["split_into"]) for r in after] == [("split", 2)]
    with unit_of_work() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.split"))
        assert entry is not None and (entry.actor, entry.target_id, entry.data["new_ticket"]) == ("sup1", "1", 2)
        message = session.scalar(select(InboundMessage).where(InboundMessage.from_e164 == B))
        assert message is not None and message.ticket_id == 2  # B's SMS now belongs to B's own ticket
    # B's updates now come from their own ticket only
    sms(phone, BPBD[0], "TERIMA 1")
    assert "No. 1" not in last(fake_twilio, B)


def test_split_from_the_console(phone: Phone, server: str, fake_twilio: Any) -> None:
    sms(phone, A, "LONGSOR di Sumberbrantas, jalan tertutup")
    sms(phone, B, "LONGSOR di Sumberbrantas dekat sekolah")
    make_user("ani", "supervisor")  # splitting a merged report is a supervisor's decision
    client = console_login(server, "ani")
    page = client.get("/console/tickets/1")
    assert 'data-testid="linked-reporters"' in page.text and B in page.text and "desa sama" in page.text
    # one SMS from the command center to every reporter of the ticket
    texted = client.post(
        "/console/tickets/1/sms", data={"csrf": csrf_of(page.text), "to": "reporters", "body": "Tim BPBD menuju lokasi"}
    )
    assert texted.status_code == 303
    assert sorted(m.to_number for m in outbound() if m.purpose == "operator") == [A, B]
    [row] = reporters(1)
    action = f"/console/tickets/1/reporters/{row.id}/split"
    assert client.post(action, data={"csrf": "forged"}).status_code == 403  # CSRF like every console form
    answer = client.post(action, data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303 and httpx.URL(answer.headers["location"]).params["flash"] == "split_done"
    assert "Dipisahkan" in shown_after(client, answer)
    assert ticket(2).reporter_phone == B and reporters(1)[0].status == "split"
    assert 'href="/console/tickets/2"' in client.get("/console/tickets/1").text

    # a duplicate typed in by an operator lands on the open ticket, said so
    created = client.post(
        "/console/tickets",
        data={
            "csrf": csrf_of(client.get("/console").text),
            "reporter": "081234500009",
            "category": "landslide",
            "text": "Longsor, jalan tertutup tanah di Sumberbrantas",
        },
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"].startswith("/console/tickets/") and "digabung" in shown_after(client, created)


def test_a_second_caller_joins_the_ticket_and_a_hung_up_call_stays_its_own(fake_twilio: Any) -> None:
    """A voice report (key 2) joins an open ticket like an SMS: here by its words (roads merge on GPS or text).
    An emergency (key 1) is opened before the caller says what or where, so it is never merged on a guess."""
    from hotline.core.city import current_config
    from hotline.features.calls.calls import begin_call, continue_call
    from hotline.ivr import actions as a

    words = "Jalan berlubang besar di depan Pasar Punten, motor jatuh"

    def call_in(number: str, *, hang_up_at_description: bool = False) -> str:
        sid = f"CA-merge-{number}"
        config = current_config()
        with unit_of_work() as session:
            begin_call(session, provider="twilio", provider_call_id=sid, caller=number, called="", config=config)
        steps: list[a.Event] = [a.Digits("2"), a.Digits("1"), a.Digits("2")]  # a report: roads, Bumiaji
        steps.append(a.HangUp() if hang_up_at_description else a.Recorded(f"https://rec.example/{number}.wav", 8))
        for step in steps:
            with unit_of_work() as session:
                continue_call(
                    session, provider="twilio", provider_call_id=sid, event=step, config=config, transcript=words
                )
        return sid

    call_in(A)
    second = call_in(B)
    assert count(Ticket) == 1 and ticket(1).reporter_count == 2
    [row] = reporters(1)
    assert (row.phone, row.channel, row.rule, row.kecamatan) == (B, "voice", "similar_text", "Bumiaji")
    with unit_of_work() as session:
        call = session.scalar(select(Call).where(Call.provider_call_id == second))
        assert call is not None and call.ticket_id == 1 and row.call_id == call.id
    drain_queue()
    assert last(fake_twilio, B).startswith("Laporan No. 1 (Jalan, jembatan dan saluran) diterima")  # every caller
    assert len(alerts_to(fake_twilio, members("PUPR")[0])) == 1

    # a caller who hangs up before finishing is not merged on a guess: their own partial ticket
    call_in(C, hang_up_at_description=True)
    t = ticket(2)
    assert (t.reporter_phone, t.partial, t.kecamatan) == (C, True, "Bumiaji") and ticket(1).reporter_count == 2
