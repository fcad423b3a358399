"""The console in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium, no browser
download) against the app served by uvicorn on localhost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounts import PASSWORD, make_user
from tests.conftest import Caller, Phone, drain_queue

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()  # closes the live stream too, so the server can stop


def sign_in(page: Any, username: str) -> None:
    page.goto("/console/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_test_id("me")).to_have_text(username)


def test_sign_in_and_a_waiting_call_appears_without_reload(page: Any, phone: Phone) -> None:
    make_user("ani", "operator")
    sign_in(page, "ani")
    queue = page.locator("#queue")
    expect(queue).to_contain_text("Tidak ada penelepon yang menunggu")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on")  # the stream is open
    caller = Caller(phone)
    caller.dial()
    caller.press("1")  # the emergency key: ticket #1, then the operator queue
    row = queue.get_by_role("row").filter(has_text="+6281234567890")
    expect(row).to_be_visible()  # pushed by the server: the page was never reloaded
    expect(row).to_contain_text("darurat")  # the emergency badge; what happened is not known yet
    expect(row).to_contain_text("#1")
    expect(row.get_by_role("button", name=re.compile("Angkat"))).to_be_visible()
    drain_queue()


def test_create_a_ticket_then_reassign_it(page: Any) -> None:
    make_user("ani", "supervisor")  # a supervisor reassigns (and works tickets as an operator does)
    sign_in(page, "ani")
    page.get_by_label("Nomor pelapor").fill("081234567890")
    page.get_by_label("Kategori").select_option("roads")
    page.get_by_label("Isi laporan").fill("Jembatan retak di Desa Oro-Oro Ombo")
    page.get_by_label("Kecamatan").select_option("Batu")
    page.get_by_role("button", name="Buat laporan").click()
    expect(page).to_have_url(re.compile(r"/console/tickets/1"))
    expect(page.get_by_test_id("status")).to_have_text("routed")
    expect(page.get_by_test_id("agency")).to_have_text("PUPR")

    page.get_by_label("Dinas", exact=True).select_option("BPBD")
    page.get_by_role("button", name="Alihkan").click()
    expect(page.get_by_test_id("agency")).to_have_text("BPBD")
    expect(page.locator(".timeline")).to_contain_text("reassigned")
    page.get_by_role("textbox", name="Catatan").fill("Warga menelepon ulang")
    page.get_by_role("button", name="Tambah catatan").click()
    expect(page.locator(".timeline")).to_contain_text("Warga menelepon ulang")


def test_agency_staff_cannot_see_another_agencys_ticket(page: Any, browser: Any, server: str) -> None:
    make_user("ani", "operator")
    sign_in(page, "ani")
    for category, text in (("fire", "Gudang terbakar"), ("roads", "Jalan berlubang")):  # #1 PMK, #2 PUPR
        page.goto("/console")
        page.get_by_label("Kategori").select_option(category)
        page.get_by_label("Isi laporan").fill(text)
        page.get_by_role("button", name="Buat laporan").click()
        expect(page.get_by_test_id("status")).to_have_text("routed")

    make_user("pupr1", "agency_staff", "PUPR")
    staff = browser.new_context(base_url=server)
    staff.set_default_timeout(10_000)
    tab = staff.new_page()
    sign_in(tab, "pupr1")
    expect(tab).to_have_url(re.compile(r"/console/tickets$"))  # no call queue for agency staff
    table = tab.locator("#live-region")
    expect(table).to_contain_text("Jalan berlubang")
    expect(table).not_to_contain_text("Gudang terbakar")
    answer = tab.goto("/console/tickets/1")
    assert answer is not None and answer.status == 404
    tab.goto("/console/tickets/2")
    expect(tab.get_by_role("button", name="Alihkan")).to_have_count(0)  # read only: no reassign form
    staff.close()


def test_language_switch_to_english(page: Any) -> None:
    make_user("ani", "operator")
    sign_in(page, "ani")
    page.get_by_role("link", name="EN").click()
    expect(page.get_by_role("heading", name="Call queue")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_split_a_merged_reporter_with_its_button(page: Any, phone: Phone) -> None:
    for sender, text in (("+6281234500001", "LONGSOR di Sumberbrantas"), ("+6281234500002", "longsor Sumberbrantas")):
        phone.sms(sender, text)
        drain_queue()
    make_user("ani", "supervisor")  # splitting a merged report is a supervisor's decision
    sign_in(page, "ani")
    page.goto("/console/tickets/1")
    expect(page.get_by_test_id("reporters")).to_have_text("2")
    linked = page.get_by_test_id("linked-reporters")
    expect(linked).to_contain_text("+6281234500002")
    linked.get_by_role("button", name="Pisahkan jadi laporan baru").click()
    expect(page.locator(".flash")).to_contain_text("Dipisahkan")
    expect(page.get_by_test_id("reporters")).to_have_text("1")
    linked.get_by_role("link", name="#2").click()
    expect(page.get_by_test_id("status")).to_have_text("routed")
    drain_queue()


def test_the_board_shows_counts_and_the_most_urgent_then_the_list_pages_on(page: Any) -> None:
    from datetime import timedelta

    from hotline.services.board import BOARD_ROWS
    from tests.helpers import open_tickets

    ids = open_tickets("PUPR", [timedelta(minutes=m) for m in range(-30, 31) if m])  # 60 open, 30 of them late
    make_user("ani", "operator")
    sign_in(page, "ani")
    page.goto("/console/board")
    card = page.locator("section", has=page.get_by_role("heading", name=re.compile("^PUPR")))
    expect(card.locator(".count-open")).to_have_text("60 terbuka")
    expect(card.locator(".count-late")).to_have_text("30 terlambat")
    expect(card.locator("tbody tr")).to_have_count(BOARD_ROWS)
    expect(card.locator("tbody tr").first.get_by_role("link")).to_have_text(f"#{ids[0]}")  # 30 minutes late
    card.get_by_role("link", name=re.compile("Tampilkan semua")).click()
    expect(page).to_have_url(re.compile(r"/console/tickets\?agency=PUPR&status=open$"))
    expect(page.locator("table.grid tbody tr")).to_have_count(50)
    page.get_by_role("link", name=re.compile("Berikutnya")).click()
    expect(page.locator("table.grid tbody tr")).to_have_count(10)
    expect(page.get_by_role("link", name="Terbaru")).to_be_visible()
    page.get_by_role("link", name="EN").click()
    expect(page.get_by_role("link", name="Newest")).to_be_visible()
    page.goto("/console/board")
    card = page.locator("section", has=page.get_by_role("heading", name=re.compile("^PUPR")))
    expect(card.locator(".count-late")).to_have_text("30 late")
    expect(card.get_by_role("link", name=re.compile("Show all"))).to_have_text("Show all (50 more reports)")


def test_the_shield_pages_back_through_older_decisions(page: Any, server: str) -> None:
    from hotline.services.shield_report import SHIELD_PAGE
    from tests.test_shield_paging import log_history

    newest_first = log_history(120)
    make_user("sari", "supervisor")
    sign_in(page, "sari")
    page.goto("/console/shield")
    rows = page.locator('tr[data-decision="silent"]')
    expect(rows).to_have_count(SHIELD_PAGE)
    page.get_by_role("link", name="Keputusan lebih lama").click()
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text(newest_first[SHIELD_PAGE][1])  # the 101st newest heads the older page
    page.get_by_role("link", name="Kembali ke yang terbaru").click()
    expect(rows).to_have_count(SHIELD_PAGE)
