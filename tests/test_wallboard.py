"""The wallboard (/console/wallboard) and its read-only kiosk tokens: what it shows, what a token opens (the
wallboard only), revocation at once, the admin screen and `hotline kiosk`, and what a poll costs in queries."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from hotline import clock
from hotline.cli import app
from hotline.db import unit_of_work
from hotline.features.wallboard.kiosk import add_kiosk, revoke_kiosk
from hotline.models import AuditEntry, Call, KioskToken, Ticket, TicketEvent
from tests.accounts import console_login, csrf_of, make_user, shown_after
from tests.clocked import set_clock
from tests.map_tickets import placed_ticket
from tests.test_growth import refresher_lease, statements  # noqa: F401 (fixtures)

runner = CliRunner()


def kiosk(name: str = "tv-1") -> str:
    with unit_of_work() as session:
        return add_kiosk(session, name=name, created_by="tests")


def screen(server: str, token: str) -> httpx.Client:
    """A TV's browser that opened its kiosk link once: the token is now its cookie."""
    client = httpx.Client(base_url=server, timeout=10)
    opened = client.get("/console/wallboard", params={"kiosk": token})
    assert opened.status_code == 303 and opened.headers["location"] == "/console/wallboard"
    assert "kiosk=" not in opened.headers["location"]  # the token leaves the address bar
    cookie = opened.headers["set-cookie"]
    assert "Path=/console/wallboard" in cookie and "HttpOnly" in cookie and "Max-Age=34560000" in cookie
    return client


def test_the_board_puts_late_agencies_first_and_counts_today(
    server: str,
    refresher_lease: None,  # noqa: F811
    real_clock: None,
) -> None:
    # Midday in the city: "today" must hold the tickets routed minutes ago (from 00:00 to 00:05 WIB it did not).
    today = clock.now().astimezone(ZoneInfo("Asia/Jakarta")).date()
    set_clock(datetime(today.year, today.month, today.day, 12, 0, tzinfo=ZoneInfo("Asia/Jakarta")))
    placed_ticket(agency="PUPR", desa="Sisir")  # open, on time
    late = placed_ticket(agency="DLH", category="waste", desa="Temas", due_in=timedelta(minutes=-15))
    done = placed_ticket(agency="PMK", category="fire")
    with unit_of_work() as session:
        row = session.get(Ticket, done)
        assert row is not None
        row.status, row.resolved_at = "resolved", clock.now()
        session.add(
            Call(
                provider="twilio",
                provider_call_id="CA" + "1" * 32,
                caller="+6281234567890",
                flow_id="main",
                flow_version="1",
                state={},
                status="queued",
            )
        )
    client = screen(server, kiosk())
    data = client.get("/console/wallboard/data.json").json()
    assert [a["code"] for a in data["agencies"][:2]] == ["DLH", "PUPR"]  # late first, then the busiest
    dlh = data["agencies"][0]
    assert (dlh["open"], dlh["late"], dlh["tickets"][0]["id"]) == (1, 1, late)
    assert (
        dlh["tickets"][0]["category"] == "Sampah, pencemaran dan pohon"
        and dlh["tickets"][0]["status"] == "Menunggu diterima tim"
    )
    assert (data["new_today"], data["finished_today"], data["calls_waiting"]) == (3, 1, 1)
    assert "DLH" in data["red"] and next(a for a in data["agencies"] if a["code"] == "DLH")["red"] is True
    page = client.get("/console/wallboard").text
    assert 'data-testid="calls-waiting">1<' in page and 'data-testid="red-agencies">' in page
    assert "harus diterima dalam" in page and "RAPOR MERAH" in page


def test_a_kiosk_token_opens_the_wallboard_and_nothing_else(server: str) -> None:
    client = screen(server, kiosk())
    assert client.get("/console/wallboard").status_code == 200
    assert client.get("/console/wallboard/data.json").status_code == 200
    assert client.get("/console/wallboard/panel").status_code == 200
    token = client.cookies.get("hotline_kiosk")
    assert token
    everywhere = httpx.Client(base_url=server, timeout=10, cookies={"hotline_kiosk": token})  # sent to every path
    for path in ("/console", "/console/tickets", "/console/map", "/console/map/tickets.json", "/console/users"):
        answer = everywhere.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login", path
    for header in ({"Authorization": f"Bearer {token}"}, {"X-Api-Key": token}):
        assert httpx.get(f"{server}/api/v1/tickets", headers=header).status_code == 401
    with unit_of_work() as session:
        opened = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "kiosk:tv-1")).all()
        assert opened == ["kiosk.open"]
        row = session.scalar(select(KioskToken).where(KioskToken.name == "tv-1"))
        assert row is not None and row.token_sha256 != token and token not in row.token_sha256  # hashed


def test_a_kiosk_link_with_a_language_shows_the_screen_in_it(server: str) -> None:
    client = httpx.Client(base_url=server, timeout=10)
    assert client.get("/console/wallboard", params={"kiosk": kiosk(), "lang": "en"}).status_code == 303
    page = client.get("/console/wallboard").text
    assert "new reports today" in page and "laporan baru hari ini" not in page


def test_a_wrong_or_revoked_token_is_refused_at_once(server: str) -> None:
    wrong = httpx.get(f"{server}/console/wallboard", params={"kiosk": "kiosk_not-a-token"})
    assert wrong.status_code == 403 and "Minta tautan kios baru" in wrong.text
    assert "Nama pengguna" not in wrong.text  # never a sign-in form on a wall screen
    client = screen(server, kiosk())
    assert client.get("/console/wallboard/panel").status_code == 200
    with unit_of_work() as session:
        revoke_kiosk(session, name="tv-1")
    assert client.get("/console/wallboard/panel").status_code == 403  # the next poll
    assert client.get("/console/wallboard/data.json").status_code == 403
    page = client.get("/console/wallboard")
    assert page.status_code == 403 and "sudah dicabut" in page.text
    assert httpx.get(f"{server}/console/wallboard/data.json").status_code == 303  # no token, no session


def test_signed_in_supervisors_see_it_and_operators_do_not(server: str) -> None:
    make_user("sri", "supervisor")
    make_user("ani", "operator")
    supervisor, operator = console_login(server, "sri"), console_login(server, "ani")
    assert supervisor.get("/console/wallboard").status_code == 200
    assert 'href="/console/wallboard"' in supervisor.get("/console/tickets").text
    assert operator.get("/console/wallboard").status_code == 403
    assert 'href="/console/wallboard"' not in operator.get("/console/tickets").text
    assert 'href="/console/map"' in operator.get("/console/tickets").text


def test_an_unchanged_poll_is_a_204_of_three_queries(
    server: str,
    statements: list[tuple[str, Any]],  # noqa: F811
) -> None:
    client = screen(server, kiosk())
    placed_ticket(agency="PUPR")
    first = client.get("/console/wallboard/panel")
    version = re.search(r'id="wall-panel" data-version="([^"]+)"', first.text)
    assert first.status_code == 200 and version
    statements.clear()
    assert client.get("/console/wallboard/panel", params={"since": version.group(1)}).status_code == 204
    assert len(statements) == 3  # the token, the last ticket event, the calls waiting
    with unit_of_work() as session:  # a change: any ticket event (here a note) moves the version
        session.add(TicketEvent(ticket_id=1, kind="note", actor="tests", note="ok", data={}))
    statements.clear()
    changed = client.get("/console/wallboard/panel", params={"since": version.group(1)})
    assert changed.status_code == 200 and 'data-agency="PUPR"' in changed.text
    full = len(statements)
    for _ in range(30):
        placed_ticket(agency="PUPR")
    statements.clear()
    client.get("/console/wallboard/panel", params={"since": version.group(1)})
    assert len(statements) == full  # the same queries with 31 open tickets as with 1: bounded
    print(f"wallboard poll: unchanged 3 queries, changed {full} queries")


def test_admins_make_and_revoke_kiosk_links_on_the_users_page(server: str) -> None:
    make_user("root", "admin")
    admin = console_login(server, "root")
    posted = admin.post("/console/kiosks", data={"name": "TV-Ruang", "csrf": csrf_of(admin.get("/console/users").text)})
    assert posted.status_code == 303  # POST/redirect/GET (tests/test_shown_once.py)
    made = admin.get(posted.headers["location"])
    link = re.search(r"<code data-kiosk-link>([^<]+)</code>", made.text)
    assert made.status_code == 200 and link and "/console/wallboard?kiosk=kiosk_" in link.group(1)
    assert link.group(1) not in admin.get("/console/users").text  # shown once
    tv = httpx.Client(base_url=server, timeout=10)
    assert tv.get(link.group(1).split(server, 1)[1]).status_code == 303
    assert tv.get("/console/wallboard").status_code == 200
    bad = admin.post("/console/kiosks", data={"name": "tv ruang!", "csrf": csrf_of(admin.get("/console/users").text)})
    assert bad.status_code == 200 and "Nama layar: 1-64 huruf kecil" in bad.text
    again = admin.post("/console/kiosks", data={"name": "tv-ruang", "csrf": csrf_of(admin.get("/console/users").text)})
    assert "Layar 'tv-ruang' sudah ada" in html.unescape(again.text)
    with unit_of_work() as session:
        kiosk_id = session.scalar(select(KioskToken.id).where(KioskToken.name == "tv-ruang"))
    revoked = admin.post(f"/console/kiosks/{kiosk_id}/revoke", data={"csrf": csrf_of(admin.get("/console/users").text)})
    assert "Tautan kios dicabut" in shown_after(admin, revoked)  # POST/redirect/GET
    assert tv.get("/console/wallboard").status_code == 403
    make_user("ani", "operator")
    operator = console_login(server, "ani")
    csrf = csrf_of(operator.get("/console/tickets").text)
    assert operator.post("/console/kiosks", data={"name": "mine", "csrf": csrf}).status_code == 403
    with unit_of_work() as session:
        # In the order written (by id): PostgreSQL returns rows unordered, in space freed by earlier tests.
        kiosk_lines = select(AuditEntry.action).where(AuditEntry.target_type == "kiosk").order_by(AuditEntry.id)
        actions = session.scalars(kiosk_lines).all()
    assert actions == ["kiosk.add", "kiosk.open", "kiosk.revoke"]


def test_the_kiosk_command_adds_lists_and_revokes(backend: dict[str, str]) -> None:
    added = runner.invoke(app, ["kiosk", "add", "tv-lobby"])
    assert added.exit_code == 0 and re.fullmatch(r"http://\S+/console/wallboard\?kiosk=kiosk_\S+\n", added.stdout)
    listed = runner.invoke(app, ["kiosk", "list"])
    assert listed.exit_code == 0 and "tv-lobby" in listed.stdout and "active" in listed.stdout
    again = runner.invoke(app, ["kiosk", "add", "tv-lobby"])
    assert again.exit_code == 1 and "exists already" in again.output and "Traceback" not in again.output
    assert runner.invoke(app, ["kiosk", "add", "no spaces"]).exit_code == 1
    assert runner.invoke(app, ["kiosk", "revoke", "tv-lobby"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["kiosk", "list"]).stdout
    unknown = runner.invoke(app, ["kiosk", "revoke", "nope"])
    assert unknown.exit_code == 1 and "hotline kiosk list" in unknown.output


def test_a_poll_with_no_or_an_odd_version_gets_the_panel_or_a_clear_error(server: str) -> None:
    client = screen(server, kiosk())
    assert 'id="wall-panel"' in client.get("/console/wallboard/panel", params={"since": ""}).text
    assert 'id="wall-panel"' in client.get("/console/wallboard/panel", params={"since": "999.9"}).text  # not ours
    too_long = client.get("/console/wallboard/panel", params={"since": "x" * 41})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["query", "since"]
