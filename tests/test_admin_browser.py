"""The admin screens in real Chromium (issue 19, item 6): an admin adds an agency's staff member, changes a role,
sets a temporary password, makes and revokes an API token and finds it all in the audit log, in plain words."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.accounts import make_user
from tests.screens import shot
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401  (fixtures)

STAFF_PASSWORD = "kata sandi awal 1"


def test_an_admin_manages_users_and_tokens_and_reads_the_audit_log(page: Any, server: str) -> None:  # noqa: F811
    make_user("kepala", "admin")
    make_user("ani", "operator")
    sign_in(page, "kepala")
    page.locator("#nav-more summary").click()  # the header's "More" menu
    page.get_by_role("link", name="Pengguna", exact=True).click()

    form = page.locator("form[action='/console/users']")
    form.get_by_label("Nama pengguna").fill("siti")
    form.get_by_label("Peran").select_option(label="Staf dinas")
    form.get_by_label("Dinas (khusus staf dinas)").select_option("PUPR")
    form.get_by_label("Kata sandi awal").fill(STAFF_PASSWORD)
    form.get_by_label("Ulangi kata sandi").fill(STAFF_PASSWORD)
    form.get_by_role("button", name="Tambah pengguna").click()
    expect(page.locator(".flash")).to_have_text("Pengguna ditambahkan.")
    expect(page.locator("tr[data-user='siti']")).to_contain_text("Staf dinas")  # the role in words
    shot(page, "user-added")

    page.locator("tr[data-user='ani']").get_by_role("link", name=re.compile("Kelola")).click()
    page.get_by_label("Peran", exact=True).select_option(label="Supervisor")
    page.get_by_role("button", name="Simpan peran").click()
    expect(page.locator(".flash")).to_have_text("Peran diubah; sesi pengguna berakhir.")
    expect(page.get_by_test_id("role")).to_have_text("Supervisor")
    page.get_by_label("Kata sandi sementara").fill("pendek")
    page.get_by_label("Ulangi kata sandi").fill("pendek")
    page.get_by_label("Kata sandi sementara").evaluate("e => e.form.noValidate = true")  # the server's own check
    page.get_by_role("button", name="Atur kata sandi sementara").click()
    expect(page.get_by_role("alert")).to_contain_text("paling sedikit 10 karakter")
    shot(page, "manage-user-error")

    page.get_by_role("link", name="Token API").click()
    page.get_by_label("Pemilik").select_option("ani")
    page.get_by_label("Nama token").fill("aplikasi kota")
    page.get_by_role("button", name="Buat token").click()
    token = page.locator("[data-new-token]").inner_text()
    assert re.fullmatch(r"htl_[\w-]{40,}", token), token
    assert httpx.get(f"{server}/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    shot(page, "token-once")
    page.goto("/console/admin/tokens")  # the token is not shown again
    expect(page.locator("[data-new-token]")).to_have_count(0)
    row = page.locator("tr[data-token]").filter(has_text="aplikasi kota")
    expect(row).to_contain_text("ani (Supervisor)")
    row.get_by_role("button", name=re.compile("Cabut token")).click()
    expect(page.locator(".flash")).to_have_text("Token dicabut; tidak bisa dipakai lagi.")
    expect(page.locator("tr[data-token]").filter(has_text="aplikasi kota")).to_contain_text("Dicabut")

    page.get_by_role("link", name="Log audit").click()
    page.get_by_label("Pengguna", exact=True).fill("kepala")
    page.get_by_label("Tindakan").select_option(label="Mengubah peran pengguna")
    page.get_by_role("button", name="Saring").click()
    rows = page.locator("tr[data-audit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Peran: Supervisor")
    page.get_by_label("Tindakan").select_option(label="Semua tindakan")
    page.get_by_role("button", name="Saring").click()
    for words in ("Menambah pengguna", "Membuat token API", "Mencabut token API", "Masuk"):
        expect(page.locator("#audit")).to_contain_text(words)
    shot(page, "audit-by-user")
    with page.expect_download() as download:
        page.get_by_test_id("audit-csv").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert exported.startswith("id,waktu,pengguna") and "token.revoke" in exported and "kepala" in exported
