"""/api/v1 with bearer tokens, and Open311 GeoReport v2: against the real app over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hotline.db import unit_of_work
from hotline.models import AuditEntry, Ticket
from tests.accounts import make_partner, make_token
from tests.conftest import Caller, Phone, drain_queue
from tests.helpers import events, outbound, ticket
from tests.suite_city import members

PMK_MEMBER = members("PMK")[0]


@pytest.fixture
def api(server: str) -> httpx.Client:
    token = make_token("ops", "operator")
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_no_or_a_wrong_token_is_401(server: str) -> None:
    assert httpx.get(f"{server}/api/v1/tickets").status_code == 401
    wrong = httpx.get(f"{server}/api/v1/tickets", headers={"Authorization": "Bearer htl_nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"


def test_a_ticket_created_through_the_api_is_routed_and_alerted(api: httpx.Client, fake_twilio: Any) -> None:
    answer = api.post(
        "/api/v1/tickets",
        json={"text": "Rumah terbakar di Jl. Diponegoro", "reporter": "081234567890", "category": "fire"},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["number"], body["status"], body["agency"], body["reporter"]) == (1, "routed", "PMK", "+6281234567890")
    assert events(1) == ["created", "routed", "alerted"]
    drain_queue()
    assert fake_twilio.sent_to(PMK_MEMBER), "the PMK team was alerted by SMS"
    with unit_of_work() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.create"))
        assert entry is not None and (entry.actor, entry.target_id) == ("ops", "1")

    detail = api.get("/api/v1/tickets/1").json()
    assert [line["kind"] for line in detail["timeline"]] == ["created", "routed", "alerted"]
    messages = api.get("/api/v1/tickets/1/messages").json()
    assert {m["number"] for m in messages} >= {PMK_MEMBER} and {m["direction"] for m in messages} == {"outbound"}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"text": "x", "category": "volcano"}, "unknown category 'volcano'"),
        ({"text": "x", "kecamatan": "Atlantis"}, "unknown kecamatan 'Atlantis'"),
        ({"text": ""}, "at least 1 character"),
    ],
)
def test_bad_tickets_get_a_422_that_says_why(api: httpx.Client, payload: dict[str, str], problem: str) -> None:
    answer = api.post("/api/v1/tickets", json=payload)
    assert answer.status_code == 422 and problem in answer.text
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0  # nothing of it was kept


def test_a_refused_action_is_one_422_with_the_features_words_and_its_changes_rolled_back(api: httpx.Client) -> None:
    # The feature's ActionError, answered once at the edge (hotline/web/domain_errors.py), not per endpoint.
    assert api.post("/api/v1/tickets", json={"text": "Pohon tumbang", "category": "fire"}).status_code == 201
    wrong = api.patch("/api/v1/tickets/1", json={"text": "Pohon tumbang di jalan", "kecamatan": "Atlantis"})
    refused = {"detail": "unknown kecamatan 'Atlantis'; one of Batu, Bumiaji, Junrejo"}
    assert (wrong.status_code, wrong.json()) == (422, refused)
    assert api.get("/api/v1/tickets/1").json()["text"] == "Pohon tumbang"  # the text in the same edit: not kept


def test_filters_and_the_agency_limit_of_agency_staff(api: httpx.Client, server: str, phone: Phone) -> None:
    for text in ("KEBAKARAN di Jl. Diponegoro 12", "JALAN rusak di Junrejo", "BANJIR di Bumiaji"):
        api.post("/api/v1/tickets", json={"text": text, "category": {"K": "fire", "J": "roads", "B": "flood"}[text[0]]})
    all_agencies = {t["agency"] for t in api.get("/api/v1/tickets").json()["tickets"]}
    assert all_agencies == {"PMK", "PUPR", "BPBD"}
    assert [t["number"] for t in api.get("/api/v1/tickets", params={"agency": "PUPR"}).json()["tickets"]] == [2]
    assert [t["number"] for t in api.get("/api/v1/tickets", params={"category": "flood"}).json()["tickets"]] == [3]
    assert api.get("/api/v1/tickets", params={"overdue": "true"}).json()["tickets"] == []
    assert api.get("/api/v1/tickets", params={"status": "nonsense"}).status_code == 422
    for field, typo in (("agency", "PURP"), ("category", "flod"), ("kecamatan", "Bumiaj")):  # not an empty list
        refused = api.get("/api/v1/tickets", params={field: typo})
        assert refused.status_code == 422 and f"unknown {field} '{typo}'" in refused.json()["detail"], refused.text

    staff = make_token("pupr1", "agency_staff", "PUPR")
    headers = {"Authorization": f"Bearer {staff}"}
    mine = httpx.get(f"{server}/api/v1/tickets", headers=headers).json()["tickets"]
    assert [t["number"] for t in mine] == [2]
    assert httpx.get(f"{server}/api/v1/tickets/1", headers=headers).status_code == 404  # PMK's: not even its existence
    assert httpx.get(f"{server}/api/v1/tickets/1/messages", headers=headers).status_code == 404
    assert [a["code"] for a in httpx.get(f"{server}/api/v1/agencies", headers=headers).json()] == ["PUPR"]
    assert httpx.get(f"{server}/api/v1/calls", headers=headers).status_code == 403
    refused = httpx.post(f"{server}/api/v1/tickets", headers=headers, json={"text": "x"})
    assert refused.status_code == 403


def test_calls_waiting_for_an_operator(api: httpx.Client, phone: Phone) -> None:
    caller = Caller(phone)
    caller.dial()
    caller.press("1")  # the emergency key: a critical ticket, then the operator queue
    queued = api.get("/api/v1/calls", params={"status": "queued"}).json()
    assert [(c["caller"], c["status"], c["category"], c["ticket"]) for c in queued] == [
        ("+6281234567890", "queued", None, 1)  # what happened is for the operator (or the caller, later) to say
    ]
    assert queued[0]["waiting_since"] is not None


def test_agencies_count_their_open_tickets_and_calls_list_newest_first(api: httpx.Client, phone: Phone) -> None:
    for text, category in (("Rumah terbakar", "fire"), ("Gudang terbakar", "fire"), ("Jalan rusak", "roads")):
        assert api.post("/api/v1/tickets", json={"text": text, "category": category}).status_code == 201
    agencies = api.get("/api/v1/agencies").json()
    assert [a["code"] for a in agencies] == sorted(a["code"] for a in agencies)
    counts = {a["code"]: a["open_tickets"] for a in agencies}
    assert (counts["PMK"], counts["PUPR"], counts["BPBD"]) == (2, 1, 0)

    first, second = Caller(phone, "+6281234567801", sid="CA-first"), Caller(phone, "+6281234567802", sid="CA-second")
    first.dial()
    second.dial()
    listed = api.get("/api/v1/calls").json()
    assert [c["caller"] for c in listed] == ["+6281234567802", "+6281234567801"]
    assert [c["caller"] for c in api.get("/api/v1/calls", params={"status": "active", "limit": 1}).json()] == [
        "+6281234567802"
    ]


def test_broadcasts_api_for_the_command_center(api: httpx.Client, server: str, phone: Phone) -> None:
    assert api.get("/api/v1/broadcasts").json() == []
    phone.sms("+6281300000201", "DAFTAR Punten")
    drain_queue()
    assert api.get("/api/v1/broadcasts/subscribers").json() == {"Punten": 1}
    missing = api.get("/api/v1/broadcasts/99")
    assert (missing.status_code, missing.json()) == (404, {"detail": "no broadcast 99"})
    assert api.get("/api/v1/broadcasts/99/tally").json() == {"detail": "no broadcast 99"}
    staff = {"Authorization": f"Bearer {make_token('bpbd1', 'agency_staff', 'BPBD')}"}
    refused = httpx.get(f"{server}/api/v1/broadcasts/99", headers=staff)
    assert (refused.status_code, refused.json()) == (403, {"detail": "broadcasts are for the command center"})


# --- Open311 GeoReport v2 (more in tests/test_open311.py and tests/test_open311_conformance.py) ------------


def test_open311_services_are_the_categories(server: str) -> None:
    services = httpx.get(f"{server}/open311/v2/services.json").json()
    assert [s["service_code"] for s in services][:3] == ["fire", "landslide", "flood"]
    assert services[0]["service_name"] == "Kebakaran" and services[0]["metadata"] is True  # routing/open311.yaml
    assert services[0]["group"] == "Darurat"  # the city's group, not the priority


def test_open311_post_creates_a_routed_ticket_and_reads_it_back(server: str, fake_twilio: Any) -> None:
    key = make_partner("cityapp")
    created = httpx.post(
        f"{server}/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "roads",
            "description": "Jalan berlubang besar",
            "lat": "-7.8712",
            "long": "112.5234",
            "phone": "081234567890",
        },
    )
    assert created.status_code == 200, created.text
    [body] = created.json()
    assert (body["service_request_id"], body["service_notice"], body["account_id"]) == ("1", None, None)
    t = ticket(1)
    assert (t.channel, t.status, t.category, t.location_text) == ("open311", "routed", "roads", "-7.871200,112.523400")
    assert t.reporter_phone == "+6281234567890"  # kept for the console and the crew
    assert any(m.purpose == "alert" for m in outbound())

    one = httpx.get(f"{server}/open311/v2/requests/1.json").json()
    assert (one[0]["status"], one[0]["service_code"], one[0]["status_notes"]) == ("open", "roads", "routed")
    assert "phone" not in one[0] and "+6281234567890" not in str(one)  # public: never the reporter's number
    assert httpx.get(f"{server}/open311/v2/requests.json", params={"status": "closed"}).json() == []
    assert len(httpx.get(f"{server}/open311/v2/requests.json", params={"status": "open"}).json()) == 1


@pytest.mark.parametrize(
    ("form", "status", "problem"),
    [
        ({"api_key": "htl_wrong", "service_code": "roads", "address_string": "Jl. A"}, 403, "api_key"),
        ({"service_code": "volcano", "address_string": "Jl. A"}, 400, "service_code 'volcano' is not a service"),
        ({"service_code": "roads"}, 400, "a location is required"),
    ],
)
def test_open311_bad_posts_get_open311_errors(server: str, form: dict[str, str], status: int, problem: str) -> None:
    form = {"api_key": make_partner("cityapp"), **form}
    answer = httpx.post(f"{server}/open311/v2/requests.json", data=form)
    assert answer.status_code == status
    assert answer.json()[0]["code"] == status and problem in answer.json()[0]["description"]


def test_open311_status_mapping_for_a_closed_ticket(api: httpx.Client, server: str) -> None:
    api.post("/api/v1/tickets", json={"text": "pohon tumbang", "category": "waste"})
    from hotline.features.tickets.tickets import transition
    from hotline.models import Ticket

    with unit_of_work() as session:
        row = session.get(Ticket, 1)
        assert row is not None
        transition(session, ticket=row, target="resolved", actor="test")
    closed = httpx.get(f"{server}/open311/v2/requests.json", params={"status": "closed"}).json()
    assert [(r["service_request_id"], r["status"], r["status_notes"]) for r in closed] == [("1", "closed", "resolved")]
    assert httpx.get(f"{server}/open311/v2/requests/99.json").status_code == 404
    assert httpx.get(f"{server}/open311/v2/requests.json", params={"status": "maybe"}).status_code == 400
