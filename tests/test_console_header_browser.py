"""The console's header at 1366x768 (issue 19): one row for the admin, who sees the most links, in both
languages; the supervisor's and admin's screens sit in one "More" disclosure that the keyboard opens."""

from __future__ import annotations

import re
from typing import Any

from tests.accounts import make_user
from tests.screens import shot
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401  (fixtures)

# One row of the header: its buttons (about 34 px) and padding; a second row would add 30 px and more.
ONE_ROW = 60
MOVED = {
    "id": ["Peringatan dini", "Layar besar", "Pengguna", "Token API", "Log audit"],
    "en": ["Early warnings", "Wallboard", "Users", "API tokens", "Audit log"],
}


def test_the_admin_header_is_one_row_and_its_more_menu_works_by_keyboard(page: Any) -> None:  # noqa: F811
    make_user("kepala", "admin")
    sign_in(page, "kepala")
    for lang, more in (("id", "Lainnya"), ("en", "More")):
        page.goto(f"/console/lang/{lang}")
        page.goto("/console")
        header = page.locator("header.top")
        height = header.evaluate("(el) => el.getBoundingClientRect().height")
        shot(page, f"header-{lang}")
        assert height < ONE_ROW, f"{lang}: the header is {height} px high at 1366 px"
        nav = page.get_by_role("navigation", name="Menu utama" if lang == "id" else "Main menu")
        assert nav.locator("> ul").evaluate("(el) => el.getBoundingClientRect().height") < 30  # one line of links
        for name in MOVED[lang]:
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_hidden()  # until the menu opens
        # The keyboard: Tab from the last of the call-taker's links reaches the menu, Enter opens it, Tab walks it.
        nav.get_by_role("link", name="Call shield" if lang == "en" else "Saring panggilan").focus()
        page.keyboard.press("Tab")
        summary = nav.locator("summary")
        expect(summary).to_be_focused()
        expect(summary).to_have_text(more)
        page.keyboard.press("Enter")
        expect(nav.get_by_role("link", name=MOVED[lang][0], exact=True)).to_be_visible()
        shot(page, f"more-open-{lang}")
        reached = []
        for _ in range(nav.locator(".more a").count()):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("() => document.activeElement.textContent.trim()"))
        assert set(MOVED[lang]) <= set(reached), reached
        page.keyboard.press("Escape")  # closes it and gives the keyboard back to "More"
        expect(summary).to_be_focused()
        expect(nav.get_by_role("link", name=MOVED[lang][0], exact=True)).to_be_hidden()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # the first moved link, followed
        expect(page).to_have_url(re.compile(r"/console/broadcasts$"))
    # The account menu (who, the time zone, signing out) opens by keyboard too.
    account = page.locator("#account-menu summary")
    account.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("timezone")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign out")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/login$"))


def test_the_map_and_the_board_use_a_wide_screen_and_the_lists_keep_their_measure(page: Any) -> None:  # noqa: F811
    make_user("kepala", "admin")
    sign_in(page, "kepala")
    page.set_viewport_size({"width": 1920, "height": 1080})
    width = "() => document.getElementById('main').getBoundingClientRect().width"
    for path in ("/console/map", "/console/board"):
        page.goto(path)
        assert page.evaluate(width) >= 1900, path  # no third of the screen left empty
        shot(page, f"wide-{path.rsplit('/', 1)[1]}")
    page.goto("/console/tickets")
    assert page.evaluate(width) <= 1440  # a list of tickets keeps a readable line length
