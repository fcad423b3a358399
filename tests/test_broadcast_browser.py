"""The early-warning pages in a real browser: a supervisor drafts a warning (its SMS parts shown), another approves
it, and the progress bar and the AMAN tally move without a reload while the sender works."""

from __future__ import annotations

from typing import Any

from hotline.db import unit_of_work
from hotline.features.broadcasts.subscribers import subscribe
from tests.accounts import make_user
from tests.broadcast_helpers import send_broadcasts
from tests.conftest import Phone, drain_queue
from tests.screens import shot
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401

RESIDENTS = ["+6281500000101", "+6281500000102", "+6281500000103"]


def test_draft_approve_and_watch_it_go(page: Any, phone: Phone, browser: Any, server: str) -> None:  # noqa: F811
    for number in RESIDENTS:
        with unit_of_work() as session:
            subscribe(
                session,
                phone=number,
                desa="Punten",
                kecamatan="Bumiaji",
                language="id",
                channel="sms",
                source="csv",
                consent="test",
            )
    make_user("spv-ani", "supervisor")
    make_user("spv-budi", "supervisor")
    sign_in(page, "spv-ani")
    page.locator("#nav-more summary").click()  # the header's "More" menu
    page.get_by_role("link", name="Peringatan dini").click()
    expect(page.locator('[data-subscribers] tr[data-desa="Punten"]')).to_contain_text("3")
    page.get_by_label("Bahaya", exact=True).select_option("landslide")
    page.get_by_label("Desa atau kecamatan").fill("Punten")
    page.get_by_label("Tanya AMAN/BANTU, daftar yang belum menjawab setelah (menit)").fill("30")
    page.get_by_role("button", name="Simpan draf").click()
    expect(page.locator('[data-text="id"]')).to_contain_text("(2 SMS,")
    expect(page.get_by_text("Supervisor lain harus menyetujuinya")).to_be_visible()
    shot(page, "draft")
    url = page.url

    other = browser.new_context(base_url=server, viewport={"width": 1366, "height": 768})
    second = other.new_page()
    sign_in(second, "spv-budi")
    second.goto(url)
    second.get_by_role("button", name="Setujui dan kirim").click()
    expect(second.locator("[data-broadcast-state]")).to_have_text("sedang dikirim")
    expect(second.locator('[data-count="queued"]')).to_have_text("3")

    send_broadcasts()  # the sender's work, while the page is open: the bar moves by itself
    expect(second.locator("[data-percent]")).to_have_text("100", timeout=15_000)
    expect(second.locator('[data-count="sent"]')).to_have_text("3")
    expect(second.locator("[data-broadcast-state]")).to_have_text("terkirim")
    phone.sms(RESIDENTS[0], "AMAN")
    drain_queue()
    expect(second.locator('[data-tally] tr[data-desa="Punten"] [data-col="aman"]')).to_have_text("1", timeout=15_000)
    shot(second, "sent-and-tallied")
    other.close()
