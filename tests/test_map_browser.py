"""The map and the wallboard in a real browser (Debian's chromium): markers, a filter, clicking through to a
ticket, the offline map with no tile server, and the wallboard on a 1920x1080 screen updating by itself."""

from __future__ import annotations

import contextlib
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from hotline.db import unit_of_work
from hotline.features.wallboard.kiosk import add_kiosk, revoke_kiosk
from hotline.settings import get_settings
from tests.accounts import make_user
from tests.helpers import sms_ticket
from tests.map_tickets import placed_ticket
from tests.screens import shot
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401  (fixtures)


def tile_png() -> bytes:
    """A plain 256x256 tile, served in place of OpenStreetMap's (the tests never leave this machine)."""
    row = b"\x00" + b"\xe8\xec\xe6" * 256
    raw = zlib.compress(row * 256)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOTLINE_MAP_TILES_URL", "none")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("HOTLINE_MAP_TILES_URL")
    get_settings.cache_clear()


def policy_errors(tab: Any) -> list[str]:
    seen: list[str] = []
    tab.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def test_markers_a_filter_and_a_click_through_to_the_ticket(page: Any) -> None:  # noqa: F811
    fire = placed_ticket(category="fire", agency="PMK", priority="critical", desa="Temas", text="Gudang terbakar")
    placed_ticket(desa="Sisir", gps=(-7.8712, 112.5221))
    placed_ticket(category="waste", agency="DLH", desa="Beji", due_in=timedelta(minutes=-20))
    tiles: list[str] = []

    def serve_tile(route: Any) -> None:
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=tile_png())

    page.route("https://tile.openstreetmap.org/**", serve_tile)
    violations = policy_errors(page)
    make_user("ani", "operator")
    sign_in(page, "ani")
    page.get_by_role("link", name="Peta").click()
    expect(page.get_by_role("heading", name="Peta laporan terbuka")).to_be_visible()
    expect(page.locator("#map-summary")).to_have_text("3 dari 3 laporan terbuka di peta.")
    expect(page.locator(".leaflet-marker-icon[data-ticket]")).to_have_count(3)
    expect(page.locator(".leaflet-tile-loaded").first).to_be_visible()  # the tile server's images are allowed
    shot(page, "map-all")

    page.get_by_label("Kategori").select_option("fire")
    expect(page.locator("#map-summary")).to_have_text("1 dari 1 laporan terbuka di peta.")
    expect(page.locator(".leaflet-marker-icon[data-ticket]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/console/map\?category=fire"))  # a filtered map can be shared
    page.locator(f'.leaflet-marker-icon[data-ticket="{fire}"]').click()
    popup = page.locator(".leaflet-popup")
    expect(popup).to_contain_text(f"#{fire} · Kebakaran")
    expect(popup).to_contain_text("kritis · Menunggu diterima tim")
    expect(popup).to_contain_text("Temas · titik tengah desa")
    shot(page, "map-popup")
    popup.get_by_role("link", name="Buka laporan").click()
    expect(page).to_have_url(re.compile(rf"/console/tickets/{fire}$"))
    expect(page.get_by_role("textbox", name="Isi laporan")).to_have_value("Gudang terbakar")
    page.get_by_test_id("on-map").click()  # and back: the ticket's own marker, its popup open
    expect(page.locator(".leaflet-popup")).to_contain_text(f"#{fire} · Kebakaran")
    shot(page, "map-from-ticket")
    assert tiles and all(t.startswith("https://tile.openstreetmap.org/") for t in tiles)
    assert violations == []


def test_offline_the_map_draws_desa_on_a_plain_background(page: Any, offline: None) -> None:  # noqa: F811
    placed_ticket(desa="Sisir")
    placed_ticket(desa="Sisir", priority="high")
    placed_ticket(desa=None)  # no place: counted, not drawn
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if "127.0.0.1" not in request.url else None)
    violations = policy_errors(page)
    make_user("ani", "operator")
    sign_in(page, "ani")
    page.goto("/console/map")
    expect(page.get_by_test_id("offline-note")).to_be_visible()
    expect(page.locator("#map-summary")).to_have_text(
        "2 dari 3 laporan terbuka di peta. 1 tanpa lokasi (tidak ada GPS maupun desa)."
    )
    expect(page.locator(".desa-label", has_text="Sisir · 2 terbuka")).to_be_visible()  # labels stay on
    expect(page.locator(".desa-label", has_text="Punten")).to_be_hidden()  # quiet desa: named when zoomed in
    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator("#map")).to_have_class(re.compile("zoomed-in"))
    expect(page.locator(".desa-label", has_text="Songgokerto")).to_be_visible()
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    shot(page, "map-offline")
    page.get_by_role("link", name="EN").click()
    expect(page.locator("#map-summary")).to_have_text(
        "2 of 3 open reports on the map. 1 have no place (neither GPS nor a desa)."
    )
    expect(page.locator(".desa-label", has_text="Sisir · 2 open")).to_be_visible()
    shot(page, "map-offline-en")
    assert outside == [] and violations == []


def test_the_wallboard_on_a_1920_screen_updates_when_a_report_comes_in(browser: Any, server: str) -> None:
    sms_ticket(reporter="+6281234500001", text="Jalan ambles di Sisir", category="roads")
    with unit_of_work() as session:
        token = add_kiosk(session, name="tv-ruang", created_by="tests")
    context = browser.new_context(base_url=server, viewport={"width": 1920, "height": 1080})
    context.set_default_timeout(10_000)
    tv = context.new_page()
    violations = policy_errors(tv)
    try:
        tv.goto(f"/console/wallboard?kiosk={token}")
        expect(tv).to_have_url(re.compile(r"/console/wallboard$"))
        expect(tv.get_by_test_id("new-today")).to_have_text("1")
        pupr = tv.locator('[data-agency="PUPR"]')
        expect(pupr).to_contain_text("harus diterima dalam")
        expect(pupr.locator(".countdown")).to_have_text(re.compile(r"^\d+:\d\d"))  # counting down
        shot(tv, "wallboard")
        fire = sms_ticket(reporter="+6281234500002", text="Kebakaran rumah", category="fire")
        expect(tv.get_by_test_id("new-today")).to_have_text("2")  # the screen's poll: no reload
        expect(tv.locator(f'[data-agency="PMK"] [data-ticket="{fire}"]')).to_be_visible()
        heights = tv.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
        assert max(heights) <= 1920  # nothing runs off the side of the screen
        shot(tv, "wallboard-updated")
        with unit_of_work() as session:
            revoke_kiosk(session, name="tv-ruang")
        expect(tv.locator("#wall-banner")).to_have_text(re.compile("sudah dicabut"))  # at the next poll
        expect(tv.locator("#wall-panel")).to_be_hidden()
        shot(tv, "wallboard-revoked")
        assert violations == []
    finally:
        with contextlib.suppress(Exception):
            shot(tv, "wallboard-last")
        context.close()


def test_an_admin_makes_a_kiosk_link_and_revokes_it(page: Any) -> None:  # noqa: F811
    make_user("root", "admin")
    sign_in(page, "root")
    page.goto("/console/users")
    page.get_by_label("Nama layar").fill("tv-ruang-kendali")
    page.get_by_role("button", name="Buat tautan kios").click()
    link = page.locator("[data-kiosk-link]")
    expect(link).to_contain_text("/console/wallboard?kiosk=kiosk_")
    row = page.locator('tr[data-kiosk="tv-ruang-kendali"]')
    expect(row).to_contain_text("aktif")
    shot(page, "kiosk-made")
    row.get_by_role("button", name="Cabut").click()
    expect(page.locator("main > .flash")).to_have_text(re.compile("Tautan kios dicabut"))
    expect(page).to_have_url(re.compile(r"/console/users\?flash=kiosk_revoked$"))  # a reload revokes nothing again
    expect(row).to_contain_text("dicabut")
    expect(page.locator("[data-kiosk-link]")).to_have_count(0)  # the link was shown once
