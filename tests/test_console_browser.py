"""The console in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium, no browser
download) against the app served by uvicorn on localhost."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.accounts import PASSWORD, make_user
from tests.conftest import CHROMIUM, Caller, Phone, drain_queue
from tests.screens import shot
from tests.suite_city import members as suite_members

ELSEWHERE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    # Nothing leaves this machine: a request to another host (the map's OpenStreetMap tiles) is refused at once
    # instead of waiting on the closed network (the map page's load once waited past 10 s for its tiles). A test
    # that wants tiles serves them itself (page.route, tests/test_map_browser.py: a page's routes come first).
    context.route(ELSEWHERE, lambda route: route.abort())
    tab = context.new_page()
    yield tab
    # What the test left on screen, for a person (tests/screens.py); a page that crashed leaves no picture.
    with contextlib.suppress(Exception):
        shot(tab, "last")
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
    expect(page.get_by_test_id("status")).to_have_text("Menunggu diterima tim")
    expect(page.get_by_test_id("agency")).to_have_text("PUPR")

    page.get_by_label("Dinas", exact=True).select_option("BPBD")
    page.get_by_role("button", name="Alihkan").click()
    expect(page.get_by_test_id("agency")).to_have_text("BPBD")
    expect(page.locator(".timeline")).to_contain_text("Petugas ani mengalihkan laporan ke BPBD")
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
        expect(page.get_by_test_id("status")).to_have_text("Menunggu diterima tim")

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
    expect(page.get_by_test_id("status")).to_have_text("Menunggu diterima tim")
    drain_queue()


def test_the_board_shows_counts_and_the_most_urgent_then_the_list_pages_on(page: Any) -> None:
    from datetime import timedelta

    from hotline.features.tickets.board import BOARD_ROWS
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
    from hotline.features.shield.shield_report import SHIELD_PAGE
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


# --- plain language: no internal code on any page, in either language --------------------------------------

CODE_SECTIONS = ("status", "event", "grade", "decision", "role", "priority", "reporter_status", "message_status")
NOT_CODES = {"other", "place_told", "escalated_again", "escalated_accept", "escalated_resolve"}  # sentence parts
PAGES = (
    "/console",
    "/console/tickets",
    "/console/tickets?status=open",
    "/console/tickets/1",
    "/console/tickets/2",
    "/console/board",
    "/console/scorecard",
    "/console/shield",
    "/console/users",
    "/console/admin/tokens",
    "/console/admin/audit",
    "/console/tickets/999",  # the console's own 404 page
)
LEAVES = """() => [...document.querySelectorAll('body *')]
    .filter((e) => !e.children.length && (e.offsetParent !== null || e.tagName === 'OPTION'))
    .map((e) => e.textContent.trim()).filter(Boolean)"""


def _codes() -> set[str]:
    from hotline.catalog import catalog

    return {code for section in CODE_SECTIONS for code in catalog("id")[section]} - NOT_CODES


def _catalog_words(lang: str) -> set[str]:
    from hotline.catalog import catalog

    return {w for entries in catalog(lang).values() for v in entries.values() for w in re.findall(r"[\w-]+", v)}


def raw_codes_on(page: Any, lang: str) -> list[str]:
    """Internal codes a reader would see: a code as a whole cell/badge/option, snake_case codes, key=value
    pairs, ISO timestamps and UTC times anywhere; in Indonesian also any code as a word (English words)."""
    codes = _codes()
    leaves: list[str] = page.evaluate(LEAVES)
    text = page.evaluate("() => document.body.innerText") + "\n" + "\n".join(leaves)
    from hotline.catalog import catalog

    said = {v for entries in catalog(lang).values() for v in entries.values()}  # "processed" is English too
    found = [leaf for leaf in leaves if leaf in codes and leaf not in said]
    found += re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text)  # awaiting_category, rate_limited, agency_staff
    found += re.findall(r"\b[a-z_]+=\S+", text)  # previous=routed
    found += re.findall(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\bUTC\b", text)
    if lang == "id":  # a code that is no Indonesian word of the catalog's own is an English leak
        own = _catalog_words("id")
        found += [w for w in re.findall(r"\b[a-z]+\b", text) if w in codes and w not in own]
    return found


def test_every_console_page_speaks_plain_language_in_both_languages(page: Any, phone: Phone) -> None:
    bpbd = suite_members("BPBD")
    for sender, text in (
        ("+6281234500001", "LONGSOR di Sumberbrantas"),  # #1, routed to BPBD
        ("+6281234500002", "longsor Sumberbrantas"),  # the same landslide: joins #1, raises its priority
        (bpbd[0], "TERIMA 1"),
        (bpbd[1], "SELESAI 1"),
        ("+6281234500001", "2"),  # "not fixed yet": reopened with a new finish deadline
    ):
        phone.sms(sender, text)
        drain_queue()
    caller = Caller(phone, "+6281234599999")
    caller.dial()
    caller.press("1")  # #2, a caller waiting in the queue (and the shield's decision on the number)
    make_user("kepala", "admin")
    sign_in(page, "kepala")
    page.goto("/console/shield")  # a decision of the shield to show: a prank call marked by a supervisor
    page.get_by_label("Panggilan iseng dari nomor").fill("081234599999")
    page.get_by_role("button", name="Tandai iseng").click()
    expect(page.locator(".flash")).to_have_text("Tersimpan.")
    for lang in ("id", "en"):
        page.goto(f"/console/lang/{lang}")
        for path in PAGES:
            answer = page.goto(path)
            assert answer is not None and answer.status == (404 if path.endswith("/999") else 200), path
            assert raw_codes_on(page, lang) == [], f"{path} ({lang})"
            expect(page.get_by_test_id("timezone")).to_contain_text("WIB")
    page.goto("/console/tickets/1")  # still English: the deadline says which, the timeline who did what
    expect(page.get_by_test_id("deadline-label")).to_have_text("Finish by")
    expect(page.locator(".timeline")).to_contain_text("Ketua TRC BPBD accepted the report")
    expect(page.locator(".timeline")).to_contain_text("answered it is not fixed; reopened, finish by")
    drain_queue()


# --- the live ticket page ----------------------------------------------------------------------------------


def test_the_ticket_page_follows_the_crew_and_keeps_the_operators_edit(page: Any, phone: Phone) -> None:
    phone.sms("+6281234500001", "LONGSOR di Sumberbrantas")
    drain_queue()
    bpbd = suite_members("BPBD")
    make_user("ani", "operator")
    sign_in(page, "ani")
    page.goto("/console/tickets/1")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on")
    status, text_box = page.get_by_test_id("status"), page.get_by_label("Isi laporan")
    expect(status).to_have_text("Menunggu diterima tim")
    expect(page.get_by_test_id("deadline-label")).to_have_text("Batas diterima")
    text_box.fill("Longsor menutup jalan desa, dua rumah terancam")  # begun before the crew answers

    phone.sms(bpbd[0], "TERIMA 1")  # through the real intake: webhook, job, transition
    drain_queue()
    expect(status).to_have_text("Diterima tim")  # no reload: header, deadline, timeline and status field follow
    expect(page.get_by_test_id("deadline-label")).to_have_text("Batas selesai")
    expect(page.locator(".timeline")).to_contain_text("menerima laporan")
    expect(page.get_by_label("Status", exact=True)).to_have_value("accepted")
    expect(text_box).to_have_value("Longsor menutup jalan desa, dua rumah terancam")  # the typing is kept
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator(".flash")).to_have_text("Tersimpan.")
    expect(status).to_have_text("Diterima tim")
    expect(page.locator("#live-region")).to_contain_text("dua rumah terancam")

    page.get_by_label("Status", exact=True).select_option("on_site")  # the operator's choice, then the crew's
    phone.sms(bpbd[1], "SELESAI 1")
    drain_queue()
    expect(status).to_have_text("Selesai")
    expect(page.get_by_label("Status", exact=True)).to_have_value("on_site")  # touched: not overwritten
    page.get_by_role("button", name="Simpan").click()
    conflict = page.get_by_test_id("conflict")
    expect(conflict).to_contain_text("Laporan ini berubah sejak Anda mulai mengubahnya")
    expect(conflict).to_contain_text("menyatakan selesai")
    expect(page.get_by_test_id("conflict-status")).to_have_text("Sekarang: Selesai")
    expect(page.get_by_label("Status", exact=True)).to_have_value("on_site")  # still what the operator chose
    drain_queue()
