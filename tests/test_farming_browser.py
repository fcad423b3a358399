"""Dinas Pertanian's page in a real browser: the "Petani" link, a farmer corrected after a refused form, and the
outbreak with its downloads."""

from __future__ import annotations

from typing import Any

from tests.accounts import make_user
from tests.conftest import Phone, drain_queue
from tests.farmers import farmer_rows, import_registry, no_farmers  # noqa: F401
from tests.screens import shot
from tests.test_console_browser import browser, expect, page, pytestmark, sign_in  # noqa: F401


def test_dinas_staff_correct_a_farmer_and_see_the_outbreak(page: Any, phone: Phone, no_farmers: None) -> None:  # noqa: F811
    rows = farmer_rows()[:300]
    import_registry(rows)
    for row in [r for r in rows if r[4] == "apel" and r[2] in ("Bumiaji", "Punten")][:5]:
        phone.sms(row[1], "TANI HAMA kutu daun di kebun apel")
        drain_queue()
    make_user("tani", "agency_staff", agency="DISTAN")
    sign_in(page, "tani")
    page.locator("#nav-more summary").click()  # the header's "More" menu
    page.get_by_role("link", name="Petani").click()
    expect(page.get_by_role("heading", name="Wabah", exact=True)).to_be_visible()
    outbreak = page.locator("[data-outbreak]")
    expect(outbreak).to_contain_text("Bumiaji")
    expect(outbreak.get_by_role("link", name="Petani yang diperingatkan (CSV)")).to_be_visible()
    shot(page, "dinas-view")
    name = rows[9][0]
    page.get_by_label("Nama, nomor atau kelompok tani").fill(name)
    page.get_by_role("button", name="Terapkan").click()
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name="Perbaiki data petani")).to_be_visible()
    page.get_by_label("No HP").fill("12")
    page.get_by_role("button", name="Simpan petani").click()
    expect(page.locator("[data-problems]")).to_contain_text("phone '12' is not a valid number")
    shot(page, "refused")
    page.get_by_label("No HP").fill(rows[9][1])
    page.get_by_label("Kelompok tani").fill("Poktan Apel Makmur")
    page.get_by_role("button", name="Simpan petani").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.get_by_label("Kelompok tani")).to_have_value("Poktan Apel Makmur")
