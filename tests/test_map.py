"""The console map's JSON (/console/map/tickets.json) and page: markers, filters, bounds, agency limits, errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from hotline import clock
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.accounts.accounts import Principal
from hotline.features.map.markers import MapFilter, map_view
from hotline.settings import get_settings
from hotline.web.console.maps import view_json
from tests.accounts import console_login, make_user
from tests.map_tickets import placed_ticket
from tests.test_growth import statements  # noqa: F401 (a fixture)

SISIR = current_config().point_of("Sisir")


@pytest.fixture
def operator(server: str) -> httpx.Client:
    make_user("ani", "operator")
    return console_login(server, "ani")


def markers(client: httpx.Client, **params: str) -> dict[str, Any]:
    answer = client.get("/console/map/tickets.json", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_open_tickets_are_placed_by_gps_else_by_their_desa(operator: httpx.Client) -> None:
    by_desa = placed_ticket(desa="Sisir", category="fire", agency="PMK", priority="critical")
    by_gps = placed_ticket(desa="Sisir", gps=(-7.8801, 112.5299))
    nowhere = placed_ticket(desa=None)
    closed = placed_ticket(desa="Temas", status="resolved")
    data = markers(operator)
    shown = {m["id"]: m for m in data["markers"]}
    assert set(shown) == {by_desa, by_gps}  # neither the ticket with no place nor the closed one
    assert (shown[by_desa]["lat"], shown[by_desa]["lon"], shown[by_desa]["exact"]) == (*SISIR, False)
    assert (shown[by_gps]["lat"], shown[by_gps]["lon"], shown[by_gps]["exact"]) == (-7.8801, 112.5299, True)
    # words, never codes: the category, priority and status in the reader's language (Bahasa Indonesia first)
    first = data["markers"][0]
    assert first["id"] == by_desa  # critical first
    assert (first["category"], first["priority"], first["status"]) == ("Kebakaran", "kritis", "Menunggu diterima tim")
    assert first["url"] == f"/console/tickets/{by_desa}" and first["due_label"] == "Batas diterima"
    assert (data["total"], data["shown"], data["no_place"], data["left_out"]) == (3, 2, 1, 0)
    assert "1 tanpa lokasi" in data["summary"] and nowhere not in shown and closed not in shown
    sisir = next(d for d in data["desa"] if d["name"] == "Sisir")
    assert sisir["open"] == 2 and len(data["desa"]) == len(current_config().desa_points)
    operator.cookies.set("hotline_lang", "en")
    english = markers(operator)
    assert english["markers"][0]["category"] == "Fire" and english["markers"][0]["priority"] == "critical"


def test_filters_narrow_the_markers_and_late_only_keeps_the_late(operator: httpx.Client) -> None:
    fire = placed_ticket(category="fire", agency="PMK", priority="critical", desa="Temas")
    late_road = placed_ticket(desa="Beji", due_in=timedelta(minutes=-10))
    road = placed_ticket(desa="Punten")
    assert [m["id"] for m in markers(operator, category="fire")["markers"]] == [fire]
    assert [m["id"] for m in markers(operator, priority="normal")["markers"]] == [late_road, road]  # late first
    assert [m["id"] for m in markers(operator, agency="PMK")["markers"]] == [fire]
    assert [m["id"] for m in markers(operator, kecamatan="Junrejo")["markers"]] == [late_road]
    late = markers(operator, late="true")
    assert [m["id"] for m in late["markers"]] == [late_road] and late["markers"][0]["late"] is True


def test_a_ticket_asked_for_by_number_is_drawn_whatever_the_filters(operator: httpx.Client) -> None:
    road = placed_ticket(desa="Punten")
    fire = placed_ticket(category="fire", agency="PMK", desa="Temas")
    focused = markers(operator, category="fire", focus=str(road))
    assert [m["id"] for m in focused["markers"]] == [fire, road] and focused["focus"] == road
    assert focused["shown"] == 1  # the counts stay the filter's
    assert markers(operator, focus="999")["focus"] is None  # no such ticket: nothing more
    page = operator.get(f"/console/tickets/{road}").text
    assert f'href="/console/map?focus={road}"' in page and "Lihat di peta" in page
    assert f'data-focus="{road}"' in operator.get(f"/console/map?focus={road}").text


def test_a_filter_the_city_does_not_know_is_a_clear_400(operator: httpx.Client) -> None:
    for params, words in (
        ({"category": "volcano"}, "Kategori 'volcano' tidak dikenal."),
        ({"priority": "urgentest"}, "Prioritas 'urgentest' tidak dikenal."),
        ({"agency": "NASA"}, "Dinas 'NASA' tidak dikenal."),
        ({"kecamatan": "Atlantis"}, "Kecamatan 'Atlantis' tidak dikenal."),
    ):
        answer = operator.get("/console/map/tickets.json", params=params)
        assert answer.status_code == 400 and answer.json()["detail"] == words
    assert operator.get("/console/map/tickets.json", params={"late": "maybe"}).status_code == 422  # FastAPI's own


def test_agency_staff_see_only_their_agencys_tickets(server: str) -> None:
    mine = placed_ticket(agency="PUPR", desa="Sisir")
    placed_ticket(agency="PMK", category="fire", desa="Sisir")
    make_user("pupr1", "agency_staff", "PUPR")
    staff = console_login(server, "pupr1")
    data = markers(staff)
    assert [m["id"] for m in data["markers"]] == [mine] and data["total"] == 1
    assert [m["id"] for m in markers(staff, agency="PMK")["markers"]] == [mine]  # their own, whatever is asked
    assert next(d for d in data["desa"] if d["name"] == "Sisir")["open"] == 1
    assert 'name="agency"' not in staff.get("/console/map").text  # no agency choice for them


def test_the_answer_is_bounded_and_counts_what_it_left_out(backend: dict[str, str]) -> None:
    for _ in range(7):
        placed_ticket(desa="Sisir")
    placed_ticket(desa="Temas", priority="critical")
    with unit_of_work() as session:
        view = map_view(
            session,
            config=current_config(),
            principal=Principal(1, "x", "operator", None),
            filters=MapFilter(),
            now=clock.now(),
            limit=3,
        )
    assert len(view.markers) == 3 and view.total == 8 and view.left_out == 5
    assert view.markers[0].priority == "critical"
    answer = view_json(view, "id")
    assert answer["summary"] == (
        "3 dari 8 laporan terbuka di peta. 5 lainnya tidak ditampilkan (batas peta); saring untuk melihatnya."
    )


def test_the_map_binds_no_list_that_grows_with_open_tickets(
    operator: httpx.Client,
    statements: list[tuple[str, Any]],  # noqa: F811
) -> None:
    def bound_values() -> tuple[int, int]:
        """(SQL statements on tickets, the most values any of them bound) for one map answer."""
        statements.clear()
        markers(operator)
        ticket_sql = [(sql, params) for sql, params in statements if "FROM tickets" in sql]
        assert any("LIMIT" in sql for sql, _ in ticket_sql)
        return len(ticket_sql), max(len(p) if isinstance(p, dict | list | tuple) else 0 for _, p in ticket_sql)

    placed_ticket(desa="Sisir")
    few = bound_values()
    for minutes in range(40):
        placed_ticket(
            desa="Temas", gps=(-7.87, 112.54) if minutes % 2 else None, due_in=timedelta(minutes=minutes - 20)
        )
    assert bound_values() == few  # the city's desa, the statuses and the filters: never the tickets' numbers
    assert few[0] == 2  # the per-desa counts and the markers


def test_the_map_page_names_its_tile_server_in_the_policy_only_when_there_is_one(
    operator: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = operator.get("/console/map")
    assert page.status_code == 200 and 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in page.text
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in page.headers["content-security-policy"]
    assert "tile.openstreetmap.org" not in operator.get("/console/tickets").headers["content-security-policy"]
    assert "/console/vendor/leaflet/leaflet.js" in page.text
    assert operator.get("/console/vendor/leaflet/leaflet.js").status_code == 200
    assert operator.get("/console/vendor/markercluster/leaflet.markercluster.js").status_code == 200
    monkeypatch.setenv("HOTLINE_MAP_TILES_URL", "none")
    get_settings.cache_clear()
    try:
        offline = operator.get("/console/map")
        assert 'data-tiles=""' in offline.text and 'data-testid="offline-note"' in offline.text
        assert "img-src 'self' data:;" in offline.headers["content-security-policy"]
    finally:
        monkeypatch.delenv("HOTLINE_MAP_TILES_URL")
        get_settings.cache_clear()


def test_signed_out_the_map_sends_to_sign_in(server: str) -> None:
    answer = httpx.get(f"{server}/console/map/tickets.json")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
