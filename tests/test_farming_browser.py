"""Dinas Pertanian's page in a real browser: the "Petani" link, a farmer corrected after a refused form, the
outbreak with its downloads, and a farm ticket's page with its farmer (Dinas staff) or without (an operator)."""

from __future__ import annotations

from typing import Any

from tests.accounts import make_user
from tests.conftest import Phone, drain_queue
from tests.farmers import farmer_rows, import_registry, no_farmers  # noqa: F401
from tests.screens import shot
from tests.test_accessibility_browser import serious_violations
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401


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
    ticket = _last_farm_ticket()
    page.goto(f"/console/tickets/{ticket}")
    facts = page.get_by_test_id("farm-facts")
    expect(facts).to_contain_text("Hama dan penyakit")
    expect(page.get_by_test_id("farm-farmer")).to_be_visible()
    shot(page, "ticket-with-farmer")
    assert serious_violations(page) == []  # axe-core, as tests/test_accessibility_browser.py runs it
    page.get_by_test_id("farm-outbreak").get_by_role("link").click()
    expect(page.locator("[data-outbreak]:target")).to_be_visible()  # the outbreak's row on the farmers page
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


def test_an_operator_sees_the_farm_ticket_without_the_farmer(page: Any, phone: Phone, no_farmers: None) -> None:  # noqa: F811
    rows = farmer_rows()[:300]
    import_registry(rows)
    farmer = next(r for r in rows if r[4] == "apel" and r[2] == "Bumiaji")
    phone.sms(farmer[1], "TANI HAMA kutu daun di kebun apel")
    drain_queue()
    make_user("ops", "operator")
    sign_in(page, "ops")
    page.goto(f"/console/tickets/{_last_farm_ticket()}")
    expect(page.get_by_test_id("farm-subcategory")).to_have_text("Hama dan penyakit")
    expect(page.get_by_test_id("farm-commodity")).to_have_text("Apel")
    expect(page.get_by_test_id("farm-farmer")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(farmer[0])
    shot(page, "ticket-without-farmer")


def _last_farm_ticket() -> int:
    from sqlalchemy import func, select

    from hotline.db import unit_of_work
    from hotline.models import FarmReport

    with unit_of_work() as session:
        number = session.scalar(select(func.max(FarmReport.ticket_id)))
    assert number is not None
    return number
