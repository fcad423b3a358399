"""The console's defences in real Chromium (issue 18): no Content-Security-Policy violation on any page (the
console's script still runs), a session that ends with logout even for a copied cookie, no banner text from a
link, no framing, and what each role is offered."""

from __future__ import annotations

import re
from typing import Any

from tests.accounts import make_user
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401  (fixtures)


def _violations(tab: Any) -> list[str]:
    found: list[str] = []
    tab.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def test_no_csp_violation_and_the_live_script_runs(page: Any) -> None:  # noqa: F811
    violations = _violations(page)
    make_user("adm", "admin")
    sign_in(page, "adm")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on")  # console.js ran under the CSP
    page.get_by_label("Kategori").select_option("roads")
    page.get_by_label("Isi laporan").fill("Jalan ambles")
    page.get_by_role("button", name="Buat laporan").click()
    expect(page.locator(".flash")).to_have_text("Tersimpan.")
    for path in (
        "/console/tickets",
        "/console/tickets/1",
        "/console/board",
        "/console/scorecard",
        "/console/shield",
        "/console/users",
    ):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        assert "frame-ancestors 'none'" in (answer.headers.get("content-security-policy") or "")
    page.wait_for_timeout(300)
    assert violations == []


def test_logout_ends_the_session_for_a_copied_cookie_too(page: Any, browser: Any, server: str) -> None:  # noqa: F811
    make_user("ani", "operator")
    sign_in(page, "ani")
    other = browser.new_context(base_url=server)
    other.add_cookies([c for c in page.context.cookies() if c["name"] == "hotline_session"])
    tab = other.new_page()
    tab.goto("/console/tickets")
    expect(tab.get_by_test_id("me")).to_have_text("ani")  # the copy works while the session lives
    page.get_by_test_id("me").click()  # the account menu (issue 19: the header is one row)
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    tab.goto("/console/tickets")
    expect(tab).to_have_url(re.compile(r"/console/login$"))  # ended on the server, not only in this browser
    other.close()


def test_a_link_cannot_put_words_in_the_banner(page: Any) -> None:  # noqa: F811
    make_user("ani", "operator")
    sign_in(page, "ani")
    page.goto("/console?flash=Akun+Anda+diblokir.+Telepon+0812-0000-0000")
    expect(page.get_by_role("heading", name="Antrean panggilan")).to_be_visible()
    expect(page.locator(".flash")).to_have_count(0)
    page.goto("/console?flash=saved")
    expect(page.locator(".flash")).to_have_text("Tersimpan.")


def test_the_console_cannot_be_framed(page: Any, server: str) -> None:  # noqa: F811
    make_user("ani", "operator")
    page.goto("/healthz")  # a page of the same origin, so the frame is not refused for another reason
    page.set_content(f'<iframe id="f" src="{server}/console/login"></iframe>')
    page.wait_for_timeout(500)
    frame = page.frames[-1]
    assert "Nama pengguna" not in frame.content()


def test_each_role_is_offered_what_it_may_do(page: Any, browser: Any, server: str) -> None:  # noqa: F811
    make_user("op", "operator")
    make_user("sup", "supervisor")
    make_user("adm", "admin")
    sign_in(page, "op")
    page.get_by_label("Kategori").select_option("roads")
    page.get_by_label("Isi laporan").fill("Jalan ambles")
    page.get_by_role("button", name="Buat laporan").click()
    expect(page.get_by_role("button", name="Tambah catatan")).to_be_visible()  # an operator works the ticket
    expect(page.get_by_role("button", name="Alihkan")).to_have_count(0)  # but does not reassign it
    expect(page.get_by_role("link", name="Pengguna")).to_have_count(0)
    page.goto("/console/shield")
    expect(page.get_by_role("button", name="Bersihkan nomor")).to_have_count(0)
    expect(
        page.get_by_text("Membersihkan nomor atau menandai panggilan iseng dilakukan oleh supervisor.")
    ).to_be_visible()

    supervisor = browser.new_context(base_url=server)
    tab = supervisor.new_page()
    sign_in(tab, "sup")
    tab.goto("/console/tickets/1")
    expect(tab.get_by_role("button", name="Alihkan")).to_be_visible()
    supervisor.close()

    admin = browser.new_context(base_url=server)
    tab = admin.new_page()
    sign_in(tab, "adm")
    tab.locator("#nav-more summary").click()  # the header's "More" menu
    tab.get_by_role("link", name="Pengguna").click()
    row = tab.locator('tr[data-user="op"]')
    expect(row).to_contain_text("Operator")
    row.get_by_role("button", name=re.compile("Nonaktifkan")).click()
    expect(tab.locator(".flash")).to_contain_text("Pengguna dinonaktifkan")
    expect(tab.locator('tr[data-user="op"]')).to_contain_text("tidak")
    admin.close()
    page.reload()
    expect(page).to_have_url(re.compile(r"/console/login$"))  # the operator's session ended with the account
