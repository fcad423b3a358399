"""Open311 partner keys on the console's admin screen, in real Chromium: an admin makes a key (shown once),
a partner app files a report with it, the row shows its last use, and revoking it stops the key at once. The
ticket page shows what the app sent (the reporter's name and contacts, attributes, the photo as it came)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.accounts import make_user
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401  (fixtures)

PHOTO = (Path(__file__).parent / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()
REPORT = {"service_code": "roads", "description": "Jalan berlubang", "address_string": "Jl. Diponegoro 12"}


def test_an_admin_makes_and_revokes_a_partner_key(page: Any, server: str) -> None:  # noqa: F811
    make_user("adm", "admin")
    sign_in(page, "adm")
    page.goto("/console/users")
    expect(page.get_by_role("heading", name="Kunci mitra Open311")).to_be_visible()
    expect(page.get_by_text("Belum ada kunci mitra.")).to_be_visible()
    page.get_by_label("Nama aplikasi").fill("batt-app")
    page.get_by_label("Batas per menit").fill("20")
    page.get_by_role("button", name="Buat kunci").click()
    key = page.locator("[data-new-key]").inner_text()
    assert re.fullmatch(r"o311_[\w-]{40,}", key), key

    filed = httpx.post(
        f"{server}/open311/v2/requests.json",
        data={"api_key": key, **REPORT, "first_name": "Siti", "last_name": "Aminah", "attribute[size]": "large"},
        files={"media": ("lubang.jpg", PHOTO, "image/jpeg")},
        timeout=10,
    )
    assert filed.status_code == 200, filed.text
    page.goto("/console/tickets/1")
    filing = page.get_by_test_id("open311-filing")
    expect(filing).to_contain_text("batt-app")
    expect(filing).to_contain_text("Siti Aminah")  # the console keeps what the public view hides
    expect(filing).to_contain_text("large")
    photo = filing.get_by_role("img", name="lubang.jpg")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 8  # the photo itself loaded, from the hotline
    page.goto("/console/users")
    row = page.locator("tr[data-partner='batt-app']")
    expect(row).to_contain_text("20")
    expect(row).to_contain_text("adm")
    expect(row).not_to_contain_text("belum pernah")  # its use is shown
    expect(page.locator("[data-new-key]")).to_have_count(0)  # the key itself never again
    assert key not in page.content()

    page.get_by_label("Nama aplikasi").fill("batt-app")
    page.get_by_role("button", name="Buat kunci").click()
    expect(page.get_by_role("alert")).to_contain_text("Kunci untuk aplikasi batt-app sudah ada")  # in the error style

    row.get_by_role("button", name=re.compile("Cabut kunci")).click()
    expect(page.locator(".flash")).to_have_text("Kunci mitra dicabut.")
    expect(page.locator("tr[data-partner='batt-app']")).to_contain_text("Dicabut")
    refused = httpx.post(f"{server}/open311/v2/requests.json", data={"api_key": key, **REPORT}, timeout=10)
    assert refused.status_code == 403


def test_only_admins_see_partner_keys(page: Any, server: str) -> None:  # noqa: F811
    make_user("ops", "supervisor")
    sign_in(page, "ops")
    answer = page.goto("/console/users")
    assert answer is not None and answer.status == 403
    assert "Kunci mitra" not in page.content()
