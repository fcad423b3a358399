"""A new API token, partner key or kiosk link is shown once after POST/redirect/GET (issue 19): the POST makes one
and answers 303; the page it leads to shows the secret; loading that page again shows it no more and makes nothing
new; another console session cannot read it from the address."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from hotline.db import unit_of_work
from hotline.models import ApiToken, KioskToken, PartnerKey
from tests.accounts import console_login, csrf_of, make_user

CASES = [
    # (page with the form, action, form, the secret on the page, the table it is stored in)
    (
        "/console/admin/tokens",
        "/console/admin/tokens",
        {"owner": "app", "name": "city app"},
        r"<code data-new-token>(htl_[\w-]+)</code>",
        ApiToken,
    ),
    (
        "/console/users",
        "/console/partners",
        {"name": "kota-app", "per_minute": "30"},
        r"<code data-new-key>([^<]+)</code>",
        PartnerKey,
    ),
    ("/console/users", "/console/kiosks", {"name": "tv-ruang"}, r"<code data-kiosk-link>([^<]+)</code>", KioskToken),
]


def rows(table: type) -> int:
    with unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_each_secret_is_shown_once_after_a_redirect_and_a_reload_makes_nothing(server: str) -> None:
    make_user("adm", "admin")
    make_user("app", "supervisor")
    admin, other_admin = console_login(server, "adm"), console_login(server, "adm")
    for page, action, form, pattern, table in CASES:
        before = rows(table)
        posted = admin.post(action, data={**form, "csrf": csrf_of(admin.get(page).text)})
        assert posted.status_code == 303, (action, posted.text)
        where = posted.headers["location"]
        assert where.startswith(f"{page}?shown=")
        assert other_admin.get(where).status_code == 200
        assert re.search(pattern, other_admin.get(where).text) is None  # bound to the session that made it
        shown = admin.get(where)
        secret = re.search(pattern, shown.text)
        assert secret, (action, shown.text)
        assert secret.group(1) not in where  # never in the address
        assert shown.headers["cache-control"] == "no-store"
        assert rows(table) == before + 1
        for _ in range(2):  # the browser's reload: a GET of the same address
            again = admin.get(where)
            assert again.status_code == 200
            assert re.search(pattern, again.text) is None, action
            assert secret.group(1) not in again.text
        assert rows(table) == before + 1, action  # nothing new was made


def test_a_made_up_or_overlong_shown_id_shows_nothing(server: str) -> None:
    make_user("adm", "admin")
    admin = console_login(server, "adm")
    for where in ("/console/users?shown=nothing-here", "/console/admin/tokens?shown=" + "x" * 500):
        answer = admin.get(where)
        assert answer.status_code == 200
        assert "data-new-key" not in answer.text and "data-kiosk-link" not in answer.text
        assert "data-new-token" not in answer.text
    operator = httpx.Client(base_url=server)
    assert operator.get("/console/users?shown=x", follow_redirects=False).status_code == 303  # signed out: to login
