"""Open311 GeoReport v2 against the real clients, on the app served for real (uvicorn):

- the `georeport` library (0.3.1, a dev dependency) in JSON and in XML mode: it discovers services, reads a
  service definition, lists and reads requests. It has no POST method, so the report it reads back is filed
  with FixMyStreet's request;
- FixMyStreet's perllib/Open311.pm, replayed request by request (XML only; multipart `photo1` upload,
  `attribute[...]`, `jurisdiction_id` on every call, `api_key` on POST only, W3CDTF dates, tokens/{id}.xml),
  its updates poll (Open311/GetServiceRequestUpdates.pm: servicerequestupdates.xml with `api_key` and a
  window ending now, read as UpdatesBase.pm reads it) and a citizen's update sent to the city
  (post_service_request_update: POST servicerequestupdates.xml);
- the `three` client (codeforamerica/three core.py), replayed: `{endpoint}discovery.json`, `count` sent as
  `page_size`, dates as `%Y-%m-%dT%H:%M:%SZ`, POST with `address_string`, split `name`, a `media` file.

Every answer is checked against the spec's documented fields (tests/open311_spec.py), XML against its schema.
No answer carries the reporter's name, phone number or e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import georeport.georeport
import httpx
import pytest
import requests
import xmltodict
from georeport import GeoReport

from tests.accounts import make_partner
from tests.clocked import sms
from tests.conftest import Phone
from tests.open311_spec import check_answer, check_json, check_xml
from tests.suite_city import CITY_DIR, members

PHOTO = (Path(__file__).parent / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()
JURISDICTION = "kotabatu.example"
REPORTER = {"first_name": "Siti", "last_name": "Aminah", "email": "siti.aminah@example.id", "phone": "081234567890"}
SECRETS = ("Siti", "Aminah", "siti.aminah@example.id", "081234567890", "6281234567890", "3579012345678901")


def assert_private(answer: bytes | str) -> None:
    text = answer if isinstance(answer, str) else answer.decode()
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"a public answer holds {leaked}: {text[:400]}"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[requests.Response]]:
    """Every answer the georeport client receives (it calls requests.get): checked by the test afterwards."""
    seen: list[requests.Response] = []
    real_get = requests.get

    def get(*args: Any, **kwargs: Any) -> requests.Response:
        answer = real_get(*args, **kwargs)
        seen.append(answer)
        return answer

    monkeypatch.setattr(georeport.georeport.requests, "get", get)
    yield seen


def fms_post(server: str, key: str, **extra: str) -> httpx.Response:
    """FixMyStreet's send_service_request with upload_files/always_upload_photos: a multipart form-data POST to
    requests.xml with the photo as `photo1`, api_key and jurisdiction_id added by _request."""
    params = {
        "description": "Lampu jalan mati\n\nTiang roboh di depan SD, hubungi 0812-3456-7890\n\nhttps://fms.example/r/9\n",
        "service_code": "roads",
        **{k: REPORTER[k] for k in ("first_name", "last_name", "email")},
        "lat": "-7.871234",
        "long": "112.523456",
        "attribute[size]": "large",
        "attribute[uprn]": "10023",  # FixMyStreet always sends some of its own
        "jurisdiction_id": JURISDICTION,
        "api_key": key,
        **extra,
    }
    files = {"photo1": ("9.0.full.jpeg", PHOTO, "image/jpeg")}
    return httpx.post(f"{server}/open311/v2/requests.xml", data=params, files=files, timeout=10)


def fms_xml(answer: httpx.Response) -> dict[str, Any]:
    """The document valid against the schema, read as FixMyStreet's _get_xml_object reads it (XML::Simple,
    ForceArray on the list tags)."""
    check_xml(answer.content)
    force = ("service", "attribute", "value", "request", "error", "request_update")
    parsed: dict[str, Any] = xmltodict.parse(answer.content, force_list=force)
    return parsed


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_discovers_services_and_reads_back_a_report_with_its_photo(
    server: str, fake_twilio: Any, recorded: list[requests.Response], fmt: str
) -> None:
    key = make_partner("fixmystreet")
    client = GeoReport(f"{server}/open311/v2", jurisdiction=JURISDICTION, output_format=fmt)

    services = client.get_service_list()
    assert [s["service_code"] for s in services][:4] == ["fire", "landslide", "flood", "roads"]
    roads = next(s for s in services if s["service_code"] == "roads")
    assert roads["group"] == "Infrastruktur" and str(roads["metadata"]).lower() == "true"
    definition = client.get_service_definition("roads")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    attributes = attributes if isinstance(attributes, list) else [attributes]
    assert [a["code"] for a in attributes] == ["size"]

    filed = fms_post(server, key)
    assert filed.status_code == 200, filed.text
    number = fms_xml(filed)["service_requests"]["request"][0]["service_request_id"]

    one = client.get_service_request(number)
    assert (one["service_code"], one["status"]) == ("roads", "open")
    assert "Lampu jalan mati" in one["description"] and "[telepon]" in one["description"]
    photo = httpx.get(one["media_url"], timeout=10)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content.startswith(b"\xff\xd8") and b"HotlineTestPhone" not in photo.content  # no EXIF published
    listed = client.get_service_requests(service_code="roads,fire", status="open")
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one <request> is a dict
    assert [r["service_request_id"] for r in listed] == [number]
    by_id = client.get_service_requests(service_request_id=f"{number},999")
    assert (by_id if isinstance(by_id, list) else [by_id])[0]["service_request_id"] == number

    assert len(recorded) == 5
    kinds = ["services", "service_definition", "requests", "requests", "requests"]
    for answer, kind in zip(recorded, kinds, strict=True):
        assert answer.status_code == 200 and answer.url.split("?")[0].endswith(f".{fmt}")
        if fmt == "xml":
            check_xml(answer.content)
        else:
            check_json(kind, answer.json())
        assert_private(answer.content)


def test_fixmystreet_request_set(server: str, fake_twilio: Any, phone: Phone) -> None:
    key = make_partner("fixmystreet")
    base = f"{server}/open311/v2/"
    jurisdiction = {"jurisdiction_id": JURISDICTION}

    listing = httpx.get(base + "services.xml", params=jurisdiction)
    services = fms_xml(listing)["services"]["service"]
    assert {"fire", "roads", "other"} <= {s["service_code"] for s in services}
    fire = next(s for s in services if s["service_code"] == "fire")
    assert (fire["metadata"], fire["group"], fire["type"]) == ("true", "Darurat", "realtime")
    # PopulateServiceList splits keywords on ',' and marks a category with `private` non-public on its own site
    keywords = {s["service_code"]: (s["keywords"] or "").split(",") for s in services}
    assert keywords["fire"] == ["api", "kebakaran"] and "private" in keywords["other"]
    assert [code for code, words in keywords.items() if "private" in words] == ["farm", "other"]
    meta = httpx.get(base + "services/fire.xml", params=jurisdiction)
    attributes = fms_xml(meta)["service_definition"]["attributes"]["attribute"]
    trapped = next(a for a in attributes if a["code"] == "trapped")
    assert trapped["required"] == "true" and [v["key"] for v in trapped["values"]["value"]] == ["yes", "no"]

    filed = fms_post(server, key, **{k: REPORTER[k] for k in ("phone",)})
    assert filed.status_code == 200, filed.text
    request = fms_xml(filed)["service_requests"]["request"][0]
    number, token = request["service_request_id"], request["token"]
    assert number == "1" and token

    # get_service_request_id_from_token
    by_token = httpx.get(base + f"tokens/{token}.xml", params=jurisdiction)
    assert fms_xml(by_token)["service_requests"]["request"][0]["service_request_id"] == number
    # get_service_requests: report_ids joined with ',', W3CDTF dates an hour apart
    now = datetime.now(UTC)
    window = {
        "start_date": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
        "end_date": (now + timedelta(minutes=1)).isoformat(timespec="seconds"),
    }
    for params in ({"service_request_id": f"{number},77"}, window):
        answer = httpx.get(base + "requests.xml", params={**params, **jurisdiction})
        assert answer.status_code == 200, answer.text
        rows = fms_xml(answer)["service_requests"]["request"]
        assert [r["service_request_id"] for r in rows] == [number]
        row = rows[0]
        assert row["lat"] and row["long"] and row["media_url"].startswith(base + "media/")
        assert_private(answer.content)

    # _process_error reads <errors><error><code>/<description>
    refused = fms_post(server, "o311_not-a-key")
    assert refused.status_code == 403
    error = fms_xml(refused)["errors"]["error"][0]
    assert error["code"] == "403" and "api_key" in error["description"]
    missing = fms_post(server, key, **{"attribute[size]": "enormous"})
    assert missing.status_code == 400
    assert "attribute[size]" in fms_xml(missing)["errors"]["error"][0]["description"]

    # post_service_request_update: a citizen's comment on FixMyStreet, form-encoded as _populate_service_request_
    # update_params writes it (the comment's id as update_id, W3CDTF time, split name, its photo's URL), the answer
    # read as it reads it (request_update->[0]->update_id). Sent again (a lost answer), the same id comes back.
    comment = {
        "updated_datetime": datetime.now(UTC).astimezone(timezone(timedelta(hours=7))).isoformat(timespec="seconds"),
        "service_request_id": number,
        "status": "OPEN",
        "description": "Tiangnya sudah miring ke jalan, bahaya untuk motor",
        **{k: REPORTER[k] for k in ("first_name", "last_name", "email")},
        "update_id": "4567",
        "media_url": "https://fms.example/photo/c/4567.0.full.jpeg",
        "jurisdiction_id": JURISDICTION,
        "api_key": key,
    }
    taken = [httpx.post(base + "servicerequestupdates.xml", data=comment, timeout=10) for _ in range(2)]
    ids = [fms_xml(answer)["service_request_updates"]["request_update"][0]["update_id"] for answer in taken]
    assert all(a.status_code == 200 for a in taken) and ids[0] and ids[0] == ids[1], [a.text for a in taken]
    for answer in taken:
        assert_private(answer.content)
    not_ours = httpx.post(base + "servicerequestupdates.xml", data={**comment, "api_key": make_partner("other")})
    assert not_ours.status_code == 404 and fms_xml(not_ours)["errors"]["error"][0]["code"] == "404"

    # The crew takes the report and finishes it by SMS; FixMyStreet's updates poll then hears both steps.
    crew = members("PUPR")[0]
    sms(phone, crew, f"TERIMA {number}")
    sms(phone, crew, f"SELESAI {number} tiang diganti, sudah kabari Siti Aminah di 081234567890 / NIK 3579012345678901")
    updates = fms_poll(server, key, start=datetime.now(UTC) - timedelta(hours=2))
    assert [(u["service_request_id"], u["status"], u["external_status_code"]) for u in updates] == [
        (number, "action_scheduled", "accepted"),
        (number, "fixed", "resolved"),
    ]
    ids = [int(u["update_id"]) for u in updates]
    assert ids == sorted(set(ids)), ids  # each once, in the order they happened
    times = [datetime.fromisoformat(u["updated_datetime"]) for u in updates]
    assert times == sorted(times) and all(t.utcoffset() == timedelta(hours=7) for t in times)
    assert updates[0]["description"] == "Laporan diterima tim petugas dan akan ditangani."
    # the crew's note is published, redacted like every public description
    assert updates[1]["description"] == (
        "Petugas menyatakan laporan ini selesai ditangani. Catatan petugas: tiang diganti, sudah kabari [nama] di "
        "[telepon] / NIK [NIK]"
    )
    assert updates[1]["media_url"] is None
    # FixMyStreet's next poll starts after the last update it has: nothing new
    assert fms_poll(server, key, start=times[-1] + timedelta(seconds=1)) == []
    # the same window in JSON and English, checked field by field against the extension's fields
    window = {"start_date": (times[0] - timedelta(minutes=1)).isoformat(), "jurisdiction_id": f"{JURISDICTION}:en"}
    answer = httpx.get(base + "servicerequestupdates.json", params={**window, "api_key": key})
    english = check_answer(answer, "updates")
    assert [u["update_id"] for u in english] == [str(i) for i in ids]
    assert english[0]["description"] == "The crew has accepted the report and will handle it."
    assert_private(answer.content)


def fms_poll(server: str, key: str, *, start: datetime) -> list[dict[str, Any]]:
    """get_service_request_updates: servicerequestupdates.xml with api_key, jurisdiction_id and a W3CDTF window
    that ends now (UTC, whole seconds); every answer checked against the schema and for the reporter's details."""
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    params = {
        "api_key": key,
        "start_date": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "jurisdiction_id": JURISDICTION,
    }
    answer = httpx.get(f"{server}/open311/v2/servicerequestupdates.xml", params=params)
    assert answer.status_code == 200, answer.text
    assert_private(answer.content)
    document = fms_xml(answer)["service_request_updates"]
    return list((document or {}).get("request_update", []))


def test_three_client_request_shapes(server: str, fake_twilio: Any) -> None:
    key = make_partner("three")
    endpoint = f"{server}/open311/v2/"  # three's _configure_endpoint: a trailing slash
    keywords = {"jurisdiction_id": JURISDICTION}

    discovery = httpx.get(endpoint + "discovery.json")
    assert check_answer(discovery, "discovery")["endpoints"][0]["url"] == f"{server}/open311/v2"
    assert discovery.json()["contact"] == "Command Center (suite city), hotline@kotabatu.example"
    check_answer(httpx.get(f"{server}/open311/discovery.xml"), "discovery")
    check_answer(httpx.get(endpoint + "services.json", params=keywords), "services")
    check_answer(httpx.get(endpoint + "services/fire.json", params=keywords), "service_definition")

    # post('roads', address='...', name='Siti Aminah', phone=..., description=..., media=open(...))
    posted = httpx.post(
        endpoint + "requests.json",
        data={
            "service_code": "waste",
            "address_string": "Jl. Panglima Sudirman 5, Batu",
            "first_name": "Siti",
            "last_name": "Aminah",
            "phone": "081234567890",
            "description": "Sampah menumpuk. Saya Siti Aminah, NIK 3579012345678901, wa +62 812 3456 7890",
            "jurisdiction_id": JURISDICTION,
            "api_key": key,
        },
        files={"media": ("photo.jpg", PHOTO)},
    )
    assert posted.status_code == 200, posted.text
    created = check_answer(posted, "created")[0]
    assert created["service_request_id"] == "1"
    check_answer(httpx.get(endpoint + f"tokens/{created['token']}.json", params=keywords), "token")

    # requests(code, count=..., start='12-01-2026'): page_size and '%Y-%m-%dT%H:%M:%SZ' dates
    today = datetime.now(UTC)
    params = {
        **keywords,
        "service_code": "waste",
        "page_size": "50",
        "start_date": (today - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (today + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    listed = httpx.get(endpoint + "requests.json", params=params)
    rows = check_answer(listed, "requests")
    assert [r["service_request_id"] for r in rows] == ["1"]
    assert rows[0]["description"] == "Sampah menumpuk. Saya [nama], NIK [NIK], wa [telepon]"
    assert rows[0]["address"] == "Jl. Panglima Sudirman 5, Batu"
    one = httpx.get(endpoint + "requests/1.json", params=keywords)
    assert check_answer(one, "requests") == rows
    for answer in (discovery, listed, one, posted):
        assert_private(answer.content)


def test_the_fixture_city_names_the_jurisdiction_the_clients_use() -> None:
    assert f"jurisdiction_id: {JURISDICTION}" in (CITY_DIR / "routing" / "open311.yaml").read_text()
