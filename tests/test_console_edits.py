"""The ticket page's edits against a ticket others change meanwhile, the console's error pages and its first
run, over HTTP (the browser walks are in test_console_browser.py)."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from hotline.db import unit_of_work
from hotline.features.merging.edit_merge import plan_edit
from hotline.first_run import FIRST_ADMIN_HINT, ask_first_admin, console_url, no_user_yet
from tests.accounts import console_login, csrf_of, error_after, make_token, make_user
from tests.conftest import Phone, drain_queue
from tests.helpers import events, outbound, ticket
from tests.suite_city import members

CITIZEN = "+6281234567890"


def edit_form(client: httpx.Client, number: int) -> dict[str, str]:
    """The edit form's fields as the page shows them: csrf, version, base_* and the fields themselves."""
    page = client.get(f"/console/tickets/{number}").text
    form = page[page.index('id="edit-form"') : page.index("</form>", page.index('id="edit-form"'))]
    fields = {
        m[1]: html.unescape(m[2]) for m in re.finditer(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form)
    }
    fields["text"] = html.unescape(re.search(r'<textarea id="e-text" name="text"[^>]*>(.*?)</textarea>', form, re.S)[1])
    fields["status"] = re.search(r'<option value="([a-z_]+)" selected>', form[form.index('id="e-status"') :])[1]
    fields["csrf"] = csrf_of(page)
    return fields


@pytest.fixture
def landslide(phone: Phone) -> int:
    phone.sms(CITIZEN, "LONGSOR di Sumberbrantas")
    drain_queue()
    assert ticket(1).status == "routed"
    return 1


@pytest.mark.parametrize(
    ("wanted", "base", "current", "changes", "conflicts"),
    [
        # the case: the status field still shows routed after the crew's TERIMA; only the text is saved
        (
            {"text": "new", "status": "routed"},
            {"text": "old", "status": "routed"},
            {"text": "old", "status": "accepted"},
            {"text": "new"},
            {},
        ),
        # both changed the status, differently: a conflict, nothing saved
        ({"status": "on_site"}, {"status": "routed"}, {"status": "resolved"}, {}, {"status": "resolved"}),
        # both changed it to the same: nothing to do, no conflict
        ({"status": "accepted"}, {"status": "routed"}, {"status": "accepted"}, {}, {}),
        # CRLF from the browser and stray spaces are not a change
        ({"text": "a\r\nb "}, {"text": "a\nb"}, {"text": "a\nb"}, {}, {}),
        # a form without its base (the API, an old page): what is sent is saved, as before
        ({"text": "x"}, {}, {"text": "y"}, {"text": "x"}, {}),
    ],
)
def test_plan_edit(
    wanted: dict[str, str],
    base: dict[str, str],
    current: dict[str, str],
    changes: dict[str, str],
    conflicts: dict[str, str],
) -> None:
    full = {"text": "", "location": "", "desa": "", "kecamatan": "", "category": "", "status": "routed", **current}
    plan = plan_edit(wanted=wanted, base=base, current=full)
    assert (plan.changes, plan.conflicts) == (changes, conflicts)


def test_a_form_shown_before_the_crews_terima_saves_the_text_and_keeps_the_acceptance(
    landslide: int, phone: Phone
) -> None:
    make_user("ani", "operator")
    operator = console_login(phone.base_url, "ani")
    form = edit_form(operator, landslide)
    assert (form["status"], form["base_status"]) == ("routed", "routed")
    phone.sms(members("BPBD")[0], f"TERIMA {landslide}")
    drain_queue()
    saved = operator.post(f"/console/tickets/{landslide}/edit", data={**form, "text": "Longsor menutup jalan"})
    assert saved.status_code == 303, saved.text  # was: "cannot go from accepted to routed", the text lost
    assert (ticket(landslide).status, ticket(landslide).text) == ("accepted", "Longsor menutup jalan")


def test_a_field_changed_by_someone_else_meanwhile_is_a_conflict_that_keeps_the_typed_text(
    landslide: int, phone: Phone
) -> None:
    make_user("ani", "operator")
    make_user("budi", "operator")
    ani, budi = console_login(phone.base_url, "ani"), console_login(phone.base_url, "budi")
    form = edit_form(ani, landslide)
    budis = edit_form(budi, landslide)
    assert (
        budi.post(f"/console/tickets/{landslide}/edit", data={**budis, "text": "Longsor, 3 rumah"}).status_code == 303
    )

    typed = "Longsor besar menutup jalan ke Sumberbrantas"
    answer = ani.post(f"/console/tickets/{landslide}/edit", data={**form, "text": typed})
    assert answer.status_code == 409
    page = html.unescape(answer.text)
    assert f">{typed}</textarea>" in page  # what ani typed is still in the form
    assert "Laporan ini berubah sejak Anda mulai mengubahnya" in page
    assert "Sekarang: Longsor, 3 rumah" in page  # what the field holds now
    assert "Petugas budi mengubah isi laporan" in page  # what changed since ani's version
    assert ticket(landslide).text == "Longsor, 3 rumah"  # nothing of ani's saved yet

    again = edit_form(ani, landslide) | {"text": typed}  # the page after the conflict carries the new version
    assert ani.post(f"/console/tickets/{landslide}/edit", data=again).status_code == 303
    assert ticket(landslide).text == typed


def test_an_edit_refused_halfway_keeps_nothing_of_it_and_one_that_succeeds_tells_the_crew(
    landslide: int, phone: Phone
) -> None:
    """The new text and place are applied before the status is refused (a routed ticket cannot go back to waiting
    for a category): the page says why and nothing of the edit stays, neither the text, the place, their timeline
    lines nor the crew's SMS about the new place, although the request answers normally (its transaction is rolled
    back, hotline/web/db_session.py all_or_nothing). The same edit without the status is saved, and its SMS sent."""
    make_user("ani", "operator")
    operator = console_login(phone.base_url, "ani")
    before, kinds, sent = ticket(landslide), events(landslide), len(outbound())
    edit = {"text": "Longsor besar", "location": "Jembatan Sumberbrantas"}
    refused = operator.post(
        f"/console/tickets/{landslide}/edit",
        data={**edit_form(operator, landslide), **edit, "status": "awaiting_category"},
    )
    assert "tidak bisa dari" in error_after(operator, refused)
    after = ticket(landslide)
    assert (after.text, after.location_text, after.status) == (before.text, before.location_text, "routed")
    assert events(landslide) == kinds and len(outbound()) == sent

    saved = operator.post(f"/console/tickets/{landslide}/edit", data={**edit_form(operator, landslide), **edit})
    assert saved.status_code == 303
    assert (ticket(landslide).text, ticket(landslide).location_text) == ("Longsor besar", "Jembatan Sumberbrantas")
    told = outbound()[sent:]  # the crew hears of the new place: queued after the commit, sent by the worker
    assert told and all("Jembatan Sumberbrantas" in m.body for m in told)
    drain_queue()
    assert all(m.status == "sent" for m in outbound()[sent:])


def test_console_pages_have_styled_404_and_403_while_the_api_keeps_json(landslide: int, phone: Phone) -> None:
    make_user("ani", "operator")
    operator = console_login(phone.base_url, "ani")
    for path in ("/console/tickets/999", "/console/no-such-page"):
        answer = operator.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html"), path
        assert "Halaman atau laporan ini tidak ada" in answer.text and 'href="/console"' in answer.text
    operator.cookies.set("hotline_lang", "en")
    forbidden = operator.get("/console/users")  # an admin's page
    assert forbidden.status_code == 403 and "You may not do this." in forbidden.text
    stale = operator.post(f"/console/tickets/{landslide}/edit", data={"csrf": "old", "text": "x"})
    assert stale.status_code == 403 and "This form expired or did not come from the console." in stale.text
    token = make_token("app", "operator")
    api = httpx.get(f"{phone.base_url}/api/v1/tickets/999", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"


def test_the_root_url_leads_to_the_console_and_a_fresh_install_says_how_to_get_in(server: str) -> None:
    root = httpx.get(f"{server}/")
    assert root.status_code == 307 and root.headers["location"] == "/console"
    assert no_user_yet()
    login = httpx.get(f"{server}/console/login")
    assert "hotline user add NAMA --role admin" in login.text
    make_user("ani", "admin")
    assert "hotline user add" not in httpx.get(f"{server}/console/login").text  # no hint once someone exists
    assert console_url("0.0.0.0", 8000) == "http://127.0.0.1:8000/console"


def test_hotline_up_asks_for_the_first_admin_on_a_terminal(backend: dict[str, str]) -> None:
    said: list[str] = []
    assert ask_first_admin(ask=lambda _: "", secret=lambda _: "x", say=said.append) is None  # skipped
    assert said[-1] == FIRST_ADMIN_HINT and no_user_yet()
    secrets = iter(["sandi panjang sekali", "lain", "sandi panjang sekali", "sandi panjang sekali"])
    names = iter(["kepala", "kepala"])
    said.clear()
    name = ask_first_admin(ask=lambda _: next(names), secret=lambda _: next(secrets), say=said.append)
    assert name == "kepala" and "The two passwords differ; again." in said
    assert not no_user_yet()
    with unit_of_work() as session:
        from sqlalchemy import select

        from hotline.models import User

        assert session.scalar(select(User.role).where(User.username == "kepala")) == "admin"


def test_what_cannot_be_done_is_said_in_words_in_the_error_box(server: str) -> None:
    make_user("sri", "supervisor")
    supervisor = console_login(server, "sri")
    csrf = csrf_of(supervisor.get("/console/shield").text)
    bad = supervisor.post("/console/shield/prank", data={"phone": "bukan nomor", "csrf": csrf})
    assert error_after(supervisor, bad) == "Tidak bisa: Nomor telepon tidak valid."  # was a JSON 422
    took = supervisor.post("/console/calls/999/take", data={"csrf": csrf})
    assert "Isi dulu di mana Anda menerima panggilan" in error_after(supervisor, took)  # was English, in green
    for page in ("/console/scorecard", "/console/shield"):
        shown = supervisor.get(page, params={"month": "2026-13"}).text
        assert "Bulan 2026-13 tidak bisa dibaca; tulis TTTT-BB" in shown, page
