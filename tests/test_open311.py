"""Open311 GeoReport v2 behaviour on the served app: the spec's errors and filters, every POST field kept, the
public view safe by default, and partner keys (scope, revocation, rate, audit, CLI). The real clients' request
sets are in tests/test_open311_conformance.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.fakes.whatsapp_graph import FakeGraph
from hotline.features.tickets.tickets import reopen, transition
from hotline.models import AuditEntry, Open311Submission, Ticket, TicketAttachment, TicketEvent, utcnow
from tests.accounts import console_login, make_partner, make_token, make_user
from tests.conftest import drain_queue
from tests.helpers import sms_ticket, ticket
from tests.open311_spec import check_answer
from tests.outage import database_unreachable
from tests.whatsapp_env import whatsapp

PHOTO = (Path(__file__).parent / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()
REPORT = {"service_code": "roads", "description": "Jalan berlubang", "address_string": "Jl. Diponegoro 12"}


@pytest.fixture
def key(backend: Any) -> str:
    return make_partner("batt-app")


def post(server: str, key: str, fmt: str = "json", files: Any = None, **fields: str) -> httpx.Response:
    form = {"api_key": key, **REPORT, **fields}
    return httpx.post(f"{server}/open311/v2/requests.{fmt}", data=form, files=files, timeout=10)


def audit_of(actor: str) -> list[str]:
    with unit_of_work() as session:
        return list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor).order_by(AuditEntry.id)))


# --- errors in the spec's format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "problem"),
    [
        ({"api_key": ""}, 403, "api_key is required"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"lat": "91", "long": "112.5"}, 400, "lat: between -90 and 90"),
        ({"lat": "-7.8", "long": "nan"}, 400, "long: between -180 and 180"),
        ({"lat": "-7.8"}, 400, "lat and long go together"),
        ({"description": "x" * 4001}, 400, "description: at most 4000 characters"),
        ({"email": "not an address"}, 400, "email"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"jurisdiction_id": "jakarta.go.id"}, 404, "jurisdiction_id 'jakarta.go.id' is not served here"),
        ({"service_code": "fire"}, 400, "attribute[trapped] is required"),
        ({"service_code": "fire", "attribute[trapped]": "maybe"}, 400, "attribute[trapped]: one of no, yes"),
        ({"service_code": "fire", "attribute[trapped]": "no", "attribute[floors]": "two"}, 400, "a number"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_refused_posts_get_the_specs_error_document(
    server: str, key: str, fields: dict[str, str], status: int, problem: str, fmt: str
) -> None:
    answer = post(server, key, fmt, **fields)
    assert answer.status_code == status, answer.text
    body = check_answer(answer, "errors")
    if fmt == "json":
        assert body[0]["code"] == status and problem in body[0]["description"], body
    else:
        assert body.tag == "errors" and body.findtext("error/code") == str(status)
        assert problem in (body.findtext("error/description") or "")
    assert "detail" not in answer.text  # never FastAPI's 422 body
    with unit_of_work() as session:
        assert session.scalar(select(Ticket.id)) is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_post_without_api_key_or_service_code_fields_at_all(server: str, key: str, fmt: str) -> None:
    url = f"{server}/open311/v2/requests.{fmt}"
    no_key = httpx.post(url, data=REPORT)
    no_code = httpx.post(url, data={"api_key": key, **{k: v for k, v in REPORT.items() if k != "service_code"}})
    for answer, status, problem in ((no_key, 403, "api_key is required"), (no_code, 400, "service_code is required")):
        assert answer.status_code == status, answer.text
        body = check_answer(answer, "errors")
        described = body[0]["description"] if fmt == "json" else body.findtext("error/description")
        assert problem in described, described


@pytest.mark.parametrize(
    ("path", "status", "problem"),
    [
        ("requests/abc.json", 404, "no service request 'abc'"),
        ("requests/99999999999.xml", 404, "no service request"),
        ("requests.json?status=maybe", 400, "status: open, closed"),
        ("requests.json?service_request_id=1,x", 400, "service_request_id"),
        ("requests.json?service_code=volcano", 400, "service_code 'volcano'"),
        ("requests.json?start_date=yesterday", 400, "start_date: a w3c datetime"),
        ("requests.json?start_date=2026-01-01T00:00:00", 400, "start_date: needs a timezone"),
        ("requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400, "at most 90 days"),
        ("requests.json?page_size=5000", 400, "page_size: a whole number from 1 to 1000"),
        ("requests.json?jurisdiction_id=jakarta", 404, "jurisdiction_id 'jakarta'"),
        ("requests.html", 400, "json"),
        ("services/volcano.xml", 404, "service_code 'volcano'"),
        ("tokens/nope.json", 404, "no request was filed with this token"),
        ("requestupdates.xml", 404, "not a GeoReport v2 resource"),
        ("servicerequestupdates.xml?start_date=yesterday", 400, "start_date: a w3c datetime"),
        ("servicerequestupdates.json?start_date=2026-06-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", 400, "before"),
        ("servicerequestupdates.xml?end_date=2026-06-01T00:00:00+07:00&start_date=2026-01-01T00:00:00Z", 400, "90"),
        ("servicerequestupdates.json?page=0", 400, "page: a whole number"),
        ("servicerequestupdates.xml?jurisdiction_id=jakarta", 404, "jurisdiction_id 'jakarta'"),
        ("servicerequestupdates.xml?api_key=o311_not-a-key", 403, "api_key is not a valid partner key"),
    ],
)
def test_refused_reads_get_the_specs_error_document(server: str, path: str, status: int, problem: str) -> None:
    answer = httpx.get(f"{server}/open311/v2/{path}")
    assert answer.status_code == status, answer.text
    body = check_answer(answer, "errors")
    description = body[0]["description"] if isinstance(body, list) else body.findtext("error/description")
    assert problem in description, description


def test_a_broken_multipart_body_or_too_many_files_is_a_400_document(server: str, key: str) -> None:
    broken = httpx.post(
        f"{server}/open311/v2/requests.xml",
        content=b"--xyz\r\nContent-Disposition: form-data; name=api_key\r\n\r\nx\r\n--xyz--\r\n",
        headers={"Content-Type": "multipart/form-data"},  # no boundary: the parser cannot read it
    )
    assert broken.status_code == 400, broken.text
    assert check_answer(broken, "errors").findtext("error/code") == "400"
    files = [("media", (f"{i}.jpg", PHOTO, "image/jpeg")) for i in range(7)]
    many = httpx.post(f"{server}/open311/v2/requests.json", data={"api_key": key, **REPORT}, files=files)
    assert many.status_code == 400 and "Maximum number of files is 5" in many.json()[0]["description"], many.text


def test_an_unencoded_plus_in_a_date_is_read_as_the_offset_it_was(server: str, key: str) -> None:
    assert post(server, key).status_code == 200
    today = (utcnow() + timedelta(hours=7)).date()
    # `+07:00` typed into a URL arrives as ` 07:00`: the day in Batu, whatever UTC says.
    raw = f"{server}/open311/v2/requests.json?start_date={today}T00:00:00+07:00&end_date={today}T23:59:59+07:00"
    answer = httpx.get(raw)
    assert answer.status_code == 200, answer.text
    assert [r["service_request_id"] for r in answer.json()] == ["1"]
    yesterday = today - timedelta(days=1)
    before = httpx.get(f"{server}/open311/v2/requests.json?end_date={yesterday}T23:59:59+07:00")
    assert before.status_code == 200 and before.json() == []


# --- reading: filters -----------------------------------------------------------------------------------------


def test_filters_lists_of_codes_ids_the_90_day_window_and_pages(server: str, key: str) -> None:
    post(server, key, service_code="roads")
    post(server, key, service_code="fire", **{"attribute[trapped]": "no"})
    post(server, key, service_code="waste", address_string="Jl. Panglima Sudirman 1")
    old = sms_ticket(reporter="+6281234500009", text="JALAN rusak lama", category="roads")
    with unit_of_work() as session:
        row = session.get(Ticket, old)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=100)
    base = f"{server}/open311/v2/requests.json"

    def ids(**params: str) -> list[str]:
        answer = httpx.get(base, params=params)
        assert answer.status_code == 200, answer.text
        return [r["service_request_id"] for r in check_answer(answer, "requests")]

    assert ids() == ["3", "2", "1"]  # the last 90 days: not the old one
    assert ids(service_code="roads,fire") == ["2", "1"]
    assert ids(service_request_id=f"{old},1") == [str(old), "1"]  # ids override the window
    start = (utcnow() - timedelta(days=101)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(start_date=start) == [str(old)]  # 90 days from the start date
    assert ids(page_size="2") == ["3", "2"] and ids(page_size="2", page="2") == ["1"]
    assert ids(status="open,closed", jurisdiction_id="kotabatu.example") == ["3", "2", "1"]


def test_services_in_english_and_definitions_from_city_data(server: str) -> None:
    services = httpx.get(f"{server}/open311/v2/services.json", params={"jurisdiction_id": "kotabatu.example:en"})
    fire = check_answer(services, "services")[0]
    assert (fire["service_name"], fire["description"], fire["group"]) == (
        "Fire",
        "A fire: house, land or vehicle",
        "Darurat",
    )
    definition = check_answer(httpx.get(f"{server}/open311/v2/services/fire.json"), "service_definition")
    assert [(a["code"], a["datatype"], a["required"], a["order"]) for a in definition["attributes"]] == [
        ("trapped", "singlevaluelist", True, 1),
        ("floors", "number", False, 2),
    ]
    assert definition["attributes"][0]["values"] == [{"key": "yes", "name": "Ya"}, {"key": "no", "name": "Tidak"}]
    flood = check_answer(httpx.get(f"{server}/open311/v2/services/flood.xml"), "service_definition")
    assert flood.findtext("service_code") == "flood" and len(flood.find("attributes")) == 0


def test_requests_name_their_service_in_the_language_asked(server: str, key: str) -> None:
    assert post(server, key, service_code="fire", **{"attribute[trapped]": "no"}).status_code == 200
    for path in ("requests.json", "requests/1.json"):
        english = httpx.get(f"{server}/open311/v2/{path}", params={"jurisdiction_id": "kotabatu.example:en"})
        indonesian = httpx.get(f"{server}/open311/v2/{path}")
        assert [r["service_name"] for r in check_answer(english, "requests")] == ["Fire"]
        assert [r["service_name"] for r in check_answer(indonesian, "requests")] == ["Kebakaran"]


# --- servicerequestupdates: the public steps of the timelines ---------------------------------------------


def step(number: int, target: str, actor: str, note: str | None = None) -> None:
    """A step of ticket `number`'s timeline as the domain takes it (a crew's SMS, an operator, the reporter)."""
    with unit_of_work() as session:
        row = session.get(Ticket, number, with_for_update=True)
        assert row is not None
        if target == "reopened":
            reopen(session, config=current_config(), ticket=row, actor="+6281234567890")
        else:
            transition(session, ticket=row, target=target, actor=actor, note=note)


def test_updates_follow_the_timeline_with_the_state_of_each_step(server: str, key: str) -> None:
    """Every kind of step, in order, each once; a joined report carries the state the request was in; an
    operator's note and the joined report's own text stay in the console."""
    here = {"lat": "-7.871234", "long": "112.523456"}  # the second report is 10 m away: it joins the first
    assert post(server, key, phone="081234567890", **here).status_code == 200
    step(1, "accepted", "member:1", "otw, hubungi pelapor di 0812 3456 7890")
    there = {"lat": "-7.871300", "long": "112.523500"}
    joined = post(server, key, description="Aspal ambles, kata Pak Harjo di 0813-9999-1111", **there)
    assert joined.json()[0]["service_notice"] == "merged into open request 1", joined.text
    step(1, "on_site", "member:1")
    step(1, "resolved", "Operator Sari", "catatan internal: pelapor rewel")
    step(1, "reopened", "")
    step(1, "cancelled", "Operator Sari", "reporter's BATAL confirmed")

    answer = httpx.get(f"{server}/open311/v2/servicerequestupdates.json")
    rows = check_answer(answer, "updates")
    assert [(r["external_status_code"], r["status"]) for r in rows] == [
        ("accepted", "action_scheduled"),
        ("merged", "action_scheduled"),  # the request was accepted when the second report joined it
        ("on_site", "in_progress"),
        ("resolved", "fixed"),
        ("reopened", "open"),
        ("cancelled", "closed"),
    ]
    assert {r["service_request_id"] for r in rows} == {"1"}
    assert [int(r["update_id"]) for r in rows] == sorted({int(r["update_id"]) for r in rows})
    assert rows[0]["description"].endswith("Catatan petugas: otw, hubungi pelapor di [telepon]")
    assert rows[1]["description"] == "Laporan lain tentang masalah yang sama digabungkan ke laporan ini."
    assert rows[3]["description"] == "Petugas menyatakan laporan ini selesai ditangani."
    for leaked in ("0812", "0813", "Harjo", "internal", "BATAL", "Sari", "member:", "+62"):
        assert leaked not in answer.text, leaked
    # pages of the same order; XML against the schema
    page = httpx.get(f"{server}/open311/v2/servicerequestupdates.xml", params={"page_size": "2", "page": "2"})
    ids = [e.findtext("update_id") for e in check_answer(page, "updates").iter("request_update")]
    assert ids == [rows[2]["update_id"], rows[3]["update_id"]]
    # a window before the report holds none of its steps
    early = {"end_date": (utcnow() - timedelta(days=1)).isoformat()}
    assert check_answer(httpx.get(f"{server}/open311/v2/servicerequestupdates.json", params=early), "updates") == []


def test_a_private_categorys_updates_are_listed_without_the_crews_note(server: str, key: str) -> None:
    assert post(server, key).status_code == 200
    assert post(server, key, service_code="other", address_string="Jl. Mawar 3 rumah Bu RT").status_code == 200
    for number in (1, 2):
        step(number, "accepted", "member:1", "sudah di Jl. Mawar 3, rumah cat hijau")
    rows = check_answer(httpx.get(f"{server}/open311/v2/servicerequestupdates.json"), "updates")
    described = {r["service_request_id"]: r["description"] for r in rows}
    assert described["1"].endswith("Catatan petugas: sudah di Jl. Mawar 3, rumah cat hijau")  # roads: public
    assert described["2"] == "Laporan diterima tim petugas dan akan ditangani."  # other: private


# --- filing: every documented field kept --------------------------------------------------------------------


def test_every_posted_field_is_kept_for_the_console(server: str, key: str) -> None:
    answer = httpx.post(
        f"{server}/open311/v2/requests.json",
        params={"api_key": key},  # in the query string, as some clients send it
        data={
            "service_code": "fire",
            "description": "Asap dari gudang",
            "address_id": "PERSIL-0042",  # alone: a location the city's own system knows
            "email": "warga@example.id",
            "device_id": "android-7f3a",
            "account_id": "batt-991",
            "first_name": "Budi",
            "last_name": "Santoso",
            "phone": "+62 812-3456-7000",
            "media_url": "https://cdn.batt.example/p/1.jpg",
            "attribute[trapped]": "yes",
            "attribute[floors]": "2",
        },
        files={"media": ("gudang.jpg", PHOTO, "image/jpeg")},
    )
    assert answer.status_code == 200, answer.text
    [created] = check_answer(answer, "created")
    assert created["account_id"] == "batt-991" and created["service_request_id"] == "1"
    row = ticket(1)
    assert (row.text, row.location_text, row.reporter_phone) == (
        "Asap dari gudang",
        "address_id PERSIL-0042",
        "+6281234567000",
    )
    with unit_of_work() as session:
        sub = session.scalar(select(Open311Submission))
        assert sub is not None
        assert (sub.first_name, sub.last_name, sub.email, sub.device_id, sub.address_id) == (
            "Budi", "Santoso", "warga@example.id", "android-7f3a", "PERSIL-0042"
        )  # fmt: skip
        assert sub.attributes == {"trapped": "yes", "floors": "2"}
        assert sub.media_urls == ["https://cdn.batt.example/p/1.jpg"]
        photo = session.scalar(select(TicketAttachment))
        assert photo is not None and (photo.filename, photo.content_type, photo.data) == (
            "gudang.jpg",
            "image/jpeg",
            PHOTO,
        )
    assert audit_of("open311:batt-app") == ["open311.post", "ticket.create"]


def test_a_photo_larger_than_the_general_body_limit_is_taken_and_a_non_photo_refused(server: str, key: str) -> None:
    big = PHOTO[:-2] + b"\0" * (1024 * 1024) + PHOTO[-2:]  # 1 MiB: over the 256 KiB every other body gets
    assert post(server, key, files={"media": ("big.jpg", big, "image/jpeg")}).status_code == 200
    refused = post(server, key, files={"media": ("x.html", b"<html>", "image/jpeg")})
    assert refused.status_code == 400 and "a JPEG, PNG, GIF or WebP photo" in refused.text
    too_big = post(
        server, key, files={"media": ("huge.jpg", b"\xff\xd8\xff" + b"\0" * (6 * 1024 * 1024), "image/jpeg")}
    )
    assert too_big.status_code == 413 and too_big.json()[0]["code"] == 413  # the spec's error document
    elsewhere = httpx.post(
        f"{server}/api/v1/tickets", content=b"x" * (300 * 1024), headers={"Content-Type": "text/plain"}
    )
    assert elsewhere.status_code == 413  # the larger limit is Open311's POST only


# --- the public view ----------------------------------------------------------------------------------------


def test_public_answers_hold_no_reporter_details(server: str, key: str) -> None:
    post(
        server,
        key,
        description="Saya Budi Santoso (NIK 3507121212900001), telp 0812 3456 7000 / budi@example.id",
        first_name="Budi",
        last_name="Santoso",
        phone="081234567000",
        email="budi@example.id",
    )
    sms = sms_ticket(
        reporter="+6281299990000", text="JALAN rusak, hubungi 6281299990000 / 81299990000", category="roads"
    )
    for fmt in ("json", "xml"):
        answer = httpx.get(f"{server}/open311/v2/requests.{fmt}")
        check_answer(answer, "requests")
        for secret in ("Budi", "Santoso", "3507121212900001", "0812 3456 7000", "budi@example.id", "81299990000"):
            assert secret not in answer.text, (secret, answer.text)
    rows = httpx.get(f"{server}/open311/v2/requests.json").json()
    assert rows[1]["description"] == "Saya [nama] (NIK [NIK]), telp [telepon] / [email]"
    assert (
        rows[0]["service_request_id"] == str(sms)
        and rows[0]["description"] == "JALAN rusak, hubungi [telepon] / [telepon]"
    )
    assert "Budi Santoso" in ticket(1).text  # the console keeps the full text


def test_a_whatsapp_reporters_profile_name_is_not_published(
    server: str, fake_twilio: Any, graph_server: FakeGraph
) -> None:
    with whatsapp(graph_server, fake_twilio.base_url, server) as graph:  # the fixture's profile is Siti Rahayu
        text = "KEBAKARAN di Jl. Diponegoro 12 Sisir. Saya Siti Rahayu, wa 812 3456 7890"
        assert graph.text("+6281234567890", text).status_code == 200
        drain_queue()
    assert ticket(1).text == text  # the console keeps it all
    for fmt in ("json", "xml"):
        answer = httpx.get(f"{server}/open311/v2/requests.{fmt}")
        check_answer(answer, "requests")
        assert "Siti" not in answer.text and "Rahayu" not in answer.text and "3456" not in answer.text, answer.text
    [row] = httpx.get(f"{server}/open311/v2/requests/1.json").json()
    assert row["description"] == "KEBAKARAN di Jl. Diponegoro 12 Sisir. Saya [nama], wa [telepon]"


def test_private_categories_round_the_gps_and_publish_no_photo(server: str, key: str) -> None:
    public = post(server, key, lat="-7.871234", long="112.523456", files={"media": ("a.jpg", PHOTO, "image/jpeg")})
    private = post(
        server, key, service_code="other", lat="-7.871234", long="112.523456", address_string="Jl. Mawar 3 rumah Bu RT",
        files={"media": ("b.jpg", PHOTO, "image/jpeg")},
    )  # fmt: skip
    assert public.status_code == private.status_code == 200
    rows = {r["service_code"]: r for r in httpx.get(f"{server}/open311/v2/requests.json").json()}
    assert (rows["roads"]["lat"], rows["roads"]["long"]) == (-7.871234, 112.523456)
    assert (rows["other"]["lat"], rows["other"]["long"]) == (-7.87, 112.52)  # private_gps_decimals: 2
    assert rows["other"]["address"] is None and rows["other"]["media_url"] is None
    xml = httpx.get(f"{server}/open311/v2/requests/2.xml").text
    assert "<lat>-7.87</lat>" in xml and "871234" not in xml and "Mawar" not in xml
    with unit_of_work() as session:
        ids = list(session.scalars(select(TicketAttachment.id).order_by(TicketAttachment.id)))
    published = httpx.get(rows["roads"]["media_url"])
    assert published.status_code == 200 and b"HotlineTestPhone" not in published.content
    assert published.content.endswith(PHOTO[-200:])  # the picture itself unchanged
    assert httpx.get(f"{server}/open311/v2/media/{ids[1]}").status_code == 404
    assert ticket(2).latitude == -7.871234  # exact for the console


# --- a partner's updates on its reports (POST servicerequestupdates) -----------------------------------------


def post_update(server: str, key: str, fmt: str = "json", **fields: str) -> httpx.Response:
    form = {"api_key": key, "service_request_id": "1", "description": "Apinya makin besar", **fields}
    return httpx.post(f"{server}/open311/v2/servicerequestupdates.{fmt}", data=form, timeout=10)


def info_steps() -> list[tuple[str, str | None, dict[str, Any]]]:
    with unit_of_work() as session:
        rows = session.scalars(select(TicketEvent).where(TicketEvent.kind == "info_added").order_by(TicketEvent.id))
        return [(e.actor, e.note, dict(e.data or {})) for e in rows]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_partner_adds_a_citizens_update_to_its_report_once_however_often_it_is_posted(
    server: str, key: str, fmt: str
) -> None:
    assert post(server, key).status_code == 200
    fields = {"update_id": "fms-77", "status": "OPEN", "first_name": "Siti", "last_name": "Aminah"}
    first = post_update(server, key, fmt, **fields)
    assert first.status_code == 200, first.text
    body = check_answer(first, "updates")
    taken = body[0] if fmt == "json" else {child.tag: child.text for child in body.find("request_update")}
    assert (taken["service_request_id"], taken["status"]) == ("1", "open")
    again = post_update(server, key, fmt, **fields)  # FixMyStreet posts again when it missed the answer
    again_body = check_answer(again, "updates")
    again_id = again_body[0]["update_id"] if fmt == "json" else again_body.findtext("request_update/update_id")
    assert again.status_code == 200 and again_id == taken["update_id"]
    [(actor, note, data)] = info_steps()
    assert (actor, note) == ("open311:batt-app", "Apinya makin besar")
    assert data["partner_update_id"] == "fms-77" and data["partner_status"] == "OPEN" and data["name"] == "Siti Aminah"
    with unit_of_work() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.text == "Jalan berlubang\nApinya makin besar"  # the crew reads it
        event = session.scalar(select(TicketEvent).where(TicketEvent.kind == "info_added"))
        assert event is not None and str(event.id) == taken["update_id"]
    assert audit_of("open311:batt-app") == ["open311.post", "ticket.create", "open311.update", "ticket.info_added",
                                            "open311.update"]  # fmt: skip
    # never published: FixMyStreet's poll would hand the citizen's words back as the city's
    poll = httpx.get(f"{server}/open311/v2/servicerequestupdates.json")
    assert poll.status_code == 200 and poll.json() == []


def test_one_update_posted_several_times_at_once_is_added_once(server: str, key: str) -> None:
    """A retry racing the first post (FixMyStreet's sender runs from cron, and a slow answer is sent again)."""
    assert post(server, key).status_code == 200
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: post_update(server, key, update_id="fms-race"), range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert len({a.json()[0]["update_id"] for a in answers}) == 1
    assert len(info_steps()) == 1


def test_an_update_joins_the_public_description_without_its_writers_name_or_number(server: str, key: str) -> None:
    """As an SMS follow-up's words do; the writer may not be the reporter (anyone on FixMyStreet may add one)."""
    assert post(server, key).status_code == 200
    words = "Saya Budi Santoso, WA 81299990000: lubangnya makin lebar"
    writer = {"first_name": "Budi", "last_name": "Santoso", "phone": "0812 9999 0000"}
    assert post_update(server, key, description=words, **writer).status_code == 200
    [request] = httpx.get(f"{server}/open311/v2/requests/1.json").json()
    described = request["description"]
    assert described.startswith("Jalan berlubang") and "lubangnya makin lebar" in described, described
    assert "Budi" not in described and "Santoso" not in described and "81299990000" not in described, described
    assert "[nama]" in described and "[telepon]" in described


def test_an_update_on_a_closed_report_is_kept_without_changing_it(server: str, key: str) -> None:
    assert post(server, key, phone="081234567000").status_code == 200  # the reporter: a number, not the app
    with unit_of_work() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None
        transition(session, ticket=ticket, target="cancelled", actor="ops")
    writer = {
        "first_name": "Budi",
        "last_name": "-",
        "phone": "081299990000",
        "media_url": "https://fms.example/p/8.jpg",
    }
    answer = post_update(server, key, description="Masih berlubang", status="OPEN", **writer)
    assert answer.status_code == 200 and answer.json()[0]["status"] == "closed", answer.text
    assert [(note, data.get("partner_status")) for _, note, data in info_steps()] == [("Masih berlubang", "OPEN")]
    with unit_of_work() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and (ticket.status, ticket.text) == ("cancelled", "Jalan berlubang")
    make_user("ops", "operator")
    make_user("pupr", "agency_staff", "PUPR")
    page = console_login(server, "ops").get("/console/tickets/1").text
    assert "Aplikasi mitra batt-app menambah keterangan: <q>Masih berlubang</q>" in page
    # the command center can call the citizen who wrote it back; agency staff read the update, not who wrote it
    shown = page.split('data-testid="open311-update"')[1].split("</dl>")[0]
    assert "Budi · 081299990000" in shown and "OPEN" in shown and "https://fms.example/p/8.jpg" in shown, shown
    staff = console_login(server, "pupr").get("/console/tickets/1").text
    assert "Masih berlubang" in staff and "081299990000" not in staff and "Budi" not in staff


@pytest.mark.parametrize(
    ("fields", "status", "problem"),
    [
        ({"api_key": ""}, 403, "api_key is required to post an update"),
        ({"api_key": "o311_forged"}, 403, "not a valid partner key"),
        ({"service_request_id": ""}, 400, "service_request_id is required"),
        ({"service_request_id": "abc"}, 404, "no request 'abc' was filed with this api_key"),
        ({"service_request_id": "2"}, 404, "no request 2 was filed with this api_key"),
        ({"service_request_id": "99999999999"}, 404, "was filed with this api_key"),
        ({"description": " "}, 400, "description is required"),
        ({"description": "x" * 4001}, 400, "description: at most 4000 characters"),
        ({"update_id": "u" * 101}, 400, "update_id: at most 100 characters"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url: an http(s) URL"),
        ({"jurisdiction_id": "jakarta.go.id"}, 404, "jurisdiction_id 'jakarta.go.id' is not served here"),
    ],
)
def test_refused_updates_get_the_specs_error_document_and_add_nothing(
    server: str, key: str, fields: dict[str, str], status: int, problem: str
) -> None:
    assert post(server, key).status_code == 200
    assert post(server, make_partner("other-app")).status_code == 200  # request 2: not this key's
    answer = post_update(server, key, "xml", **fields)
    assert answer.status_code == status, answer.text
    body = check_answer(answer, "errors")
    assert body.findtext("error/code") == str(status) and problem in (body.findtext("error/description") or "")
    assert info_steps() == []


def test_an_update_with_a_file_part_is_a_400_document(server: str, key: str) -> None:
    assert post(server, key).status_code == 200
    files = {"media": ("a.jpg", PHOTO, "image/jpeg")}
    form = {"api_key": key, "service_request_id": "1", "description": "foto"}
    answer = httpx.post(f"{server}/open311/v2/servicerequestupdates.json", data=form, files=files, timeout=10)
    assert answer.status_code == 400 and "Maximum number of files is 0" in answer.json()[0]["description"], answer.text
    assert info_steps() == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_database_outage_is_the_specs_503_document(server: str, key: str, fmt: str) -> None:
    """The partner keeps the report and sends it again (FixMyStreet does); its log names the outage."""
    with database_unreachable():
        answers = [
            post(server, key, fmt),
            post_update(server, key, fmt),
            httpx.get(f"{server}/open311/v2/requests.{fmt}"),
        ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        body = check_answer(answer, "errors")
        description = body[0]["description"] if fmt == "json" else body.findtext("error/description")
        assert "database is unavailable" in description, description
    assert post(server, key, fmt).status_code == 200  # back: the same report is taken


# --- partner keys -------------------------------------------------------------------------------------------


def test_a_partner_key_opens_open311_only_and_an_operator_token_is_not_a_key(server: str, key: str) -> None:
    assert httpx.get(f"{server}/api/v1/tickets", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    operator = make_token("ops", "operator")
    refused = post(server, operator)
    assert refused.status_code == 403 and "not a valid partner key" in refused.json()[0]["description"]
    reading = httpx.get(f"{server}/open311/v2/services.json", params={"api_key": key})
    assert reading.status_code == 200
    assert httpx.get(f"{server}/open311/v2/services.json", params={"api_key": "o311_forged"}).status_code == 403
    assert audit_of("open311:batt-app") == ["open311.read"]


def test_a_key_is_limited_per_minute(server: str, backend: Any) -> None:
    key = make_partner("small-app", per_minute=2)
    assert [post(server, key).status_code for _ in range(2)] == [200, 200]
    third = post(server, key)
    assert third.status_code == 429 and third.headers["retry-after"] == "60"
    assert third.json()[0]["code"] == 429
    poll = httpx.get(f"{server}/open311/v2/servicerequestupdates.xml", params={"api_key": key})  # reads count too
    assert poll.status_code == 429 and check_answer(poll, "errors").findtext("error/code") == "429"
    polled = httpx.get(f"{server}/open311/v2/servicerequestupdates.xml", params={"api_key": make_partner("poller")})
    assert polled.status_code == 200 and audit_of("open311:poller") == ["open311.read"]
    assert make_partner("other-app") and post(server, make_partner("third-app")).status_code == 200  # per key


def test_cli_adds_lists_and_revokes_partner_keys(server: str) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["partner", "add", "BATT-App", "--per-minute", "5"])
    assert added.exit_code == 0, added.output
    key = added.output.strip()
    assert key.startswith("o311_") and post(server, key).status_code == 200
    again = runner.invoke(app, ["partner", "add", "batt-app"])
    assert again.exit_code == 1 and "exists already" in again.output
    listed = runner.invoke(app, ["partner", "list"])
    assert listed.exit_code == 0 and "batt-app\t5/min" in listed.output and "active" in listed.output
    assert key not in listed.output  # shown once, stored as a hash
    revoked = runner.invoke(app, ["partner", "revoke", "batt-app"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert post(server, key).status_code == 403
    assert "revoked" in runner.invoke(app, ["partner", "list"]).output
    assert runner.invoke(app, ["partner", "revoke", "nobody"]).exit_code == 1
    assert audit_of("cli") == ["partner.add", "partner.revoke"]


def test_the_console_keeps_the_photo_as_it_came_for_those_who_may_see_the_ticket(server: str, key: str) -> None:
    post(server, key, first_name="Siti", phone="081234567000", files={"media": ("a.jpg", PHOTO, "image/jpeg")})
    with unit_of_work() as session:
        photo_id = session.scalar(select(TicketAttachment.id))
    url = f"/console/tickets/1/attachments/{photo_id}"
    make_user("ops", "operator")
    make_user("pupr", "agency_staff", "PUPR")  # roads go to PUPR in the suite's city
    make_user("pmk", "agency_staff", "PMK")
    ops, staff, other = (console_login(server, name) for name in ("ops", "pupr", "pmk"))
    kept = ops.get(url)
    assert kept.status_code == 200 and kept.content == PHOTO  # with its EXIF: the evidence
    assert kept.headers["content-type"] == "image/jpeg" and kept.headers["x-content-type-options"] == "nosniff"
    assert "Siti" in ops.get("/console/tickets/1").text
    assert staff.get(url).status_code == 200
    page = staff.get("/console/tickets/1").text
    assert "batt-app" in page and "Siti" not in page  # agency staff: not the reporter's name and contacts
    assert other.get(url).status_code == 404
    assert httpx.get(f"{server}{url}").status_code in (303, 401)
