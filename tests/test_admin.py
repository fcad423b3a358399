"""The admin screens (issue 19, item 6): adding users, roles, temporary passwords, API tokens and the audit log,
admin only and every change audited; the console and `hotline user ...` run the same domain functions."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.catalog import catalog
from hotline.cli import app as cli_app
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.accounts.accounts import AccountError, change_role, find_user
from hotline.features.accounts.audit_log import AuditFilter, audit_page
from hotline.models import ApiToken, AuditEntry, User
from tests.accounts import PASSWORD, console_login, csrf_of, error_after, make_user, shown_after

NEW_PASSWORD = "temporary pass 2026"


def post(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    return client.post(action, data={**data, "csrf": csrf_of(client.get(page).text)})


def user_id(username: str) -> int:
    with unit_of_work() as session:
        found = session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


def audited(action: str) -> list[AuditEntry]:
    with unit_of_work() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        session.expunge_all()
        return rows


def signed_in(client: httpx.Client) -> bool:
    return client.get("/console/tickets").status_code == 200


def test_an_admin_adds_a_user_who_can_then_sign_in(server: str) -> None:
    make_user("adm", "admin")
    admin = console_login(server, "adm")
    new = {"username": "siti", "role": "agency_staff", "agency": "PUPR", "password": PASSWORD, "password2": PASSWORD}
    answer = post(admin, "/console/users", "/console/users", new)
    assert shown_after(admin, answer) == "Pengguna ditambahkan."
    staff = console_login(server, "siti")
    assert "Staf dinas" in staff.get("/console/tickets").text  # the role in words, not agency_staff
    entry = audited("user.add")[-1]
    assert (entry.actor, entry.target_id, entry.data["role"]) == ("adm", str(user_id("siti")), "agency_staff")

    bad = {
        "weak": ({**new, "username": "budi", "password": "short", "password2": "short"}, "paling sedikit 10 karakter"),
        "differ": ({**new, "username": "budi", "password2": PASSWORD + "x"}, "Kedua kata sandi berbeda"),
        "no agency": ({**new, "username": "budi", "agency": ""}, "Staf dinas memerlukan dinasnya"),
        "taken": (new, "Pengguna siti sudah ada"),
        "name": ({**new, "username": "a b"}, "Nama pengguna: 1-64"),
        "role": ({**new, "username": "budi", "role": "root"}, "Pilih salah satu peran"),
        "agency": ({**new, "username": "budi", "agency": "NOPE"}, "Dinas NOPE tidak ada"),
    }
    for case, (data, said) in bad.items():
        assert said in error_after(admin, post(admin, "/console/users", "/console/users", data)), case
    with unit_of_work() as session:
        assert session.scalar(select(User).where(User.username == "budi")) is None


def test_a_role_change_applies_at_once_and_the_last_admin_stays(server: str) -> None:
    make_user("adm", "admin")
    make_user("op", "operator")
    admin, operator = console_login(server, "adm"), console_login(server, "op")
    page = f"/console/users/{user_id('op')}"
    assert "Operator" in admin.get(page).text
    answer = post(admin, page, f"{page}/role", {"role": "agency_staff", "agency": "BPBD"})
    assert shown_after(admin, answer) == "Peran diubah; sesi pengguna berakhir."
    assert not signed_in(operator)  # the old powers went with the session
    again = console_login(server, "op")
    queue = again.get("/console", follow_redirects=False)
    assert queue.status_code == 303 and queue.headers["location"] == "/console/tickets"  # agency staff: no queue
    entry = audited("user.role")[-1]
    assert (entry.actor, entry.data["role"], entry.data["agency"]) == ("adm", "agency_staff", "BPBD")

    own = f"/console/users/{user_id('adm')}"
    mine = post(admin, own, f"{own}/role", {"role": "operator"})
    assert "tidak dapat mengubah peran Anda sendiri" in error_after(admin, mine)
    with unit_of_work() as session, pytest.raises(AccountError) as refused:
        change_role(session, config=current_config(), user=find_user(session, "adm"), role="operator")
    assert refused.value.code == "last_admin"
    no_agency = post(admin, page, f"{page}/role", {"role": "agency_staff", "agency": ""})
    assert "Staf dinas memerlukan dinasnya" in error_after(admin, no_agency)


def test_a_temporary_password_ends_the_users_sessions(server: str) -> None:
    make_user("adm", "admin")
    make_user("op", "operator")
    admin, operator = console_login(server, "adm"), console_login(server, "op")
    page = f"/console/users/{user_id('op')}"
    short = post(admin, page, f"{page}/password", {"password": "short", "password2": "short"})
    assert "paling sedikit 10 karakter" in error_after(admin, short)
    assert signed_in(operator)  # nothing changed
    answer = post(admin, page, f"{page}/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert shown_after(admin, answer) == "Kata sandi sementara dipasang; sesi pengguna berakhir."
    assert not signed_in(operator)
    assert signed_in(console_login(server, "op", NEW_PASSWORD))
    entry = audited("user.password")[-1]
    assert (entry.actor, entry.target_id) == ("adm", str(user_id("op")))
    assert NEW_PASSWORD not in str(entry.data)


def test_api_tokens_are_made_once_used_listed_and_revoked_at_once(server: str) -> None:
    make_user("adm", "admin")
    make_user("app", "supervisor")
    admin = console_login(server, "adm")
    page = "/console/admin/tokens"
    assert "Belum ada token API." in admin.get(page).text
    posted = post(admin, page, page, {"owner": "app", "name": "city app", "days": "30"})
    assert posted.status_code == 303  # POST/redirect/GET: a reload of the page makes no second token
    made = admin.get(posted.headers["location"])
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    token = re.search(r"<code data-new-token>(htl_[\w-]+)</code>", made.text)
    assert token, made.text
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert httpx.get(f"{server}/api/v1/tickets", headers=bearer).status_code == 200
    listed = admin.get(page).text
    assert token.group(1) not in listed  # shown once only
    row = re.search(r'<tr data-token="(\d+)">(.*?)</tr>', listed, re.S)
    assert row and "city app" in row.group(2) and "app (Supervisor)" in row.group(2)
    assert "belum pernah" not in row.group(2)  # its use is shown
    assert "Berlaku" in row.group(2)
    with unit_of_work() as session:
        assert session.scalar(select(ApiToken.last_used_at)) is not None
    assert audited("token.issue")[-1].actor == "adm"

    for data, said in (
        ({"owner": "app", "name": ""}, "Beri nama token"),
        ({"owner": "app", "name": "x", "days": "0"}, "1 sampai 3660 hari"),
        ({"owner": "ghost", "name": "x"}, "Tidak ada pengguna ghost"),
        ({"owner": "app\x00", "name": "\x00"}, "Beri nama token"),
        ({"owner": "gh\x00ost", "name": "x"}, "Tidak ada pengguna ghost"),
    ):
        assert said in error_after(admin, post(admin, page, page, data))

    revoked = post(admin, page, f"{page}/{row.group(1)}/revoke", {})
    assert shown_after(admin, revoked) == "Token dicabut; tidak bisa dipakai lagi."
    assert httpx.get(f"{server}/api/v1/tickets", headers=bearer).status_code == 401  # at once
    assert "Dicabut" in admin.get(page).text
    entry = audited("token.revoke")[-1]
    assert (entry.actor, entry.target_type, entry.target_id) == ("adm", "token", row.group(1))
    assert "Tidak ada token #999" in error_after(admin, post(admin, page, f"{page}/999/revoke", {}))


def _entry(at: datetime, actor: str, action: str, ticket: int | None = None) -> None:
    with unit_of_work() as session:
        session.add(
            AuditEntry(
                at=at,
                actor=actor,
                action=action,
                target_type="ticket" if ticket else None,
                target_id=str(ticket) if ticket else None,
                data={},
            )
        )


def test_the_audit_log_filters_pages_and_exports(server: str) -> None:
    make_user("adm", "admin")
    # 23:30 WIB on 6 December is 16:30 UTC: the 6th in the city, whatever UTC's date
    _entry(datetime(2026, 12, 6, 16, 30, tzinfo=UTC), "ani", "ticket.note", ticket=12)
    _entry(datetime(2026, 12, 6, 17, 30, tzinfo=UTC), "ani", "ticket.edit", ticket=12)  # 00:30 WIB on the 7th
    _entry(datetime(2026, 12, 6, 18, 0, tzinfo=UTC), "budi", "ticket.note", ticket=13)
    _entry(datetime(2026, 12, 6, 18, 5, tzinfo=UTC), "budi", '=HYPERLINK("x")', ticket=14)
    admin = console_login(server, "adm")

    def rows(query: str) -> list[str]:
        page = admin.get(f"/console/admin/audit?{query}")
        assert page.status_code == 200
        return re.findall(r'<tr data-audit="\d+">(.*?)</tr>', page.text, re.S)

    assert len(rows("user=ani")) == 2
    assert all("Menambah catatan" in r for r in rows("action=ticket.note"))  # actions in words
    assert len(rows("action=ticket.note")) == 2
    assert len(rows("ticket=12")) == 2 and len(rows("ticket=%2313")) == 1
    on_6th = rows("from=2026-12-06&to=2026-12-06")
    assert len(on_6th) == 1 and "Menambah catatan" in on_6th[0] and "23:30" in on_6th[0]
    assert len(rows("user=ani&from=2026-12-07&to=2026-12-07")) == 1
    assert 'href="/console/tickets/12"' in rows("ticket=12")[0]

    for query, said in (
        ("from=07-12-2026", "Tanggal tidak terbaca"),
        ("ticket=abc", "No. laporan harus berupa angka"),
        ("from=2026-12-08&to=2026-12-01", "Tanggal awal setelah tanggal akhir"),
    ):
        page = admin.get(f"/console/admin/audit?{query}")
        assert page.status_code == 200 and said in page.text, query

    with unit_of_work() as session:  # 51 rows: one page and one more
        session.add_all(AuditEntry(actor="cici", action="login", data={}) for _ in range(51))
    first = admin.get("/console/admin/audit?user=cici").text
    assert first.count('<tr data-audit="') == 50
    older = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert older and "user=cici" in older.group(1) and "before=" in older.group(1)
    second = admin.get(older.group(1).replace("&amp;", "&")).text
    assert second.count('<tr data-audit="') == 1 and 'rel="next"' not in second

    exported = admin.get("/console/admin/audit.csv?user=budi")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0][:5] == ["id", "waktu", "pengguna", "kode_tindakan", "tindakan"]
    assert [r[2] for r in table[1:]] == ["budi", "budi"]
    assert table[1][3] == '\'=HYPERLINK("x")'  # a spreadsheet would run it: written as text
    assert table[2][1] == "2026-12-07T01:00:00+07:00" and table[2][4] == "Menambah catatan"
    assert admin.get("/console/admin/audit.csv?from=junk").status_code == 303
    for query in ({"user": "a\x00b"}, {"action": "\x00"}, {"ticket": "²"}, {"from": "0001-01-01", "to": "9999-12-31"}):
        assert admin.get("/console/admin/audit", params=query).status_code == 200, query  # never a 500
    assert "Tanggal tidak terbaca" in admin.get("/console/admin/audit", params={"to": "9999-12-31"}).text
    export = audited("audit.export")[-1]
    assert (export.actor, export.data) == ("adm", {"filter": {"user": "budi"}})  # who took a copy, and of what


def test_the_audit_log_pages_by_id_and_stays_bounded(backend: dict[str, str]) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Jakarta")
    for n in range(7):
        _entry(datetime(2026, 12, 1, n, tzinfo=UTC), "ani", "ticket.note", ticket=n + 1)
    with unit_of_work() as session:
        first, older = audit_page(session, AuditFilter(actor="ani"), zone=zone, limit=3)
        second, older2 = audit_page(session, AuditFilter(actor="ani"), zone=zone, before=older, limit=3)
        last, none = audit_page(session, AuditFilter(actor="ani"), zone=zone, before=older2, limit=3)
    assert [r.target_id for r in first + second + last] == ["7", "6", "5", "4", "3", "2", "1"]
    assert older is not None and older2 is not None and none is None


def test_only_admins_reach_the_admin_screens(server: str) -> None:
    make_user("adm", "admin")
    make_user("sup", "supervisor")
    make_user("op", "operator")
    supervisor = console_login(server, "sup")
    op = user_id("op")
    for path in ("/console/users", f"/console/users/{op}", "/console/admin/tokens", "/console/admin/audit"):
        answer = supervisor.get(path)
        assert answer.status_code == 403 and "<html" in answer.text, path  # the console's own page
    assert supervisor.get("/console/admin/audit.csv").status_code == 403
    for action, data in (
        ("/console/users", {"username": "x", "role": "admin", "password": PASSWORD, "password2": PASSWORD}),
        (f"/console/users/{op}/role", {"role": "admin"}),
        (f"/console/users/{user_id('sup')}/role", {"role": "admin"}),  # their own: 403 too, not "your own role"
        (f"/console/users/{op}/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}),
        (f"/console/users/{op}/password", {"password": NEW_PASSWORD, "password2": "differs"}),
        ("/console/admin/tokens", {"owner": "sup", "name": "mine"}),
        ("/console/admin/tokens/1/revoke", {}),
    ):
        assert post(supervisor, "/console/tickets", action, data).status_code == 403, action
    with unit_of_work() as session:
        assert session.scalar(select(User.role).where(User.id == op)) == "operator"
        assert session.scalar(select(ApiToken.id)) is None
    assert console_login(server, "adm").get("/console/admin", follow_redirects=True).status_code == 200


def test_the_cli_changes_a_role_as_the_console_does(backend: dict[str, str]) -> None:
    make_user("adm", "admin")
    make_user("op", "operator")
    result = CliRunner().invoke(cli_app, ["user", "role", "op", "--role", "agency_staff", "--agency", "PMK"])
    assert result.exit_code == 0, result.output
    assert "op is now agency_staff, PMK" in result.output
    refused = CliRunner().invoke(cli_app, ["user", "role", "adm", "--role", "operator"])
    assert refused.exit_code == 1 and "last active admin" in refused.output
    with unit_of_work() as session:
        row = find_user(session, "op")
        assert (row.role, row.agency_code) == ("agency_staff", "PMK")
    assert audited("user.role")[-1].actor == "cli"


@pytest.mark.unit
def test_every_audited_action_has_words_in_both_languages() -> None:
    source = Path(__file__).resolve().parents[1] / "hotline"
    found = set()
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'action="([a-z0-9_]+(?:\.[a-z0-9_]+)?)"', text))
        # actions passed on as a value (`_use_key(..., "open311.read")`, `_judge_number(..., "shield.prank")`)
        passed = re.findall(r'"((?:open311|shield|user|token|ticket|partner|call)\.[a-z_]+)"', text)
        found |= {code for code in passed if code.rsplit(".", 1)[1] not in ("html", "yaml", "py")}
    assert {"login", "user.role", "token.revoke", "open311.post", "shield.prank"} <= found
    for lang in ("id", "en"):
        missing = found - set(catalog(lang)["audit_action"])
        assert not missing, f"{lang}: audit actions without words: {sorted(missing)}"
