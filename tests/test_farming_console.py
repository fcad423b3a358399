"""/console/farmers: farmers' personal data for Dinas Pertanian staff and admins only; a farmer added and
corrected with a report per problem and nothing half-saved; the weekly view, PPL times and outbreak exports."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.db import unit_of_work
from hotline.models import AuditEntry, Farmer, FarmOutbreak, FarmReport, Ticket, Urc
from tests.accounts import console_login, csrf_of, make_token, make_user
from tests.conftest import Phone, drain_queue
from tests.farmers import farmer_rows, no_farmers, registry_csv, registry_xlsx  # noqa: F401  (no_farmers: below)

pytestmark = pytest.mark.usefixtures("no_farmers")  # each test starts from an empty registry


def test_only_dinas_pertanian_staff_and_admins_see_farmers(server: str) -> None:
    make_user("tani", "agency_staff", agency="DISTAN")
    make_user("root", "admin")
    make_user("ops", "operator")
    make_user("sup", "supervisor")
    make_user("damkar", "agency_staff", agency="PMK")
    for username in ("ops", "sup", "damkar"):
        client = console_login(server, username)
        assert client.get("/console/farmers").status_code == 403, username
        assert client.get("/console/farmers/export.csv").status_code == 403, username
        assert 'href="/console/farmers"' not in client.get("/console/tickets").text  # no link either
    for username in ("tani", "root"):
        client = console_login(server, username)
        page = client.get("/console/farmers")
        assert page.status_code == 200 and "Daftar petani" in page.text, username
        assert 'href="/console/farmers"' in client.get("/console/tickets").text


def test_a_farmer_is_added_corrected_and_a_bad_form_saves_nothing(server: str) -> None:
    make_user("tani", "agency_staff", agency="DISTAN")
    client = console_login(server, "tani")
    csrf = csrf_of(client.get("/console/farmers").text)
    form = {"csrf": csrf, "name": "Pak Darto", "phone": "0858-9901-2345", "desa": "Bumiaji"}
    bad = client.post("/console/farmers", data={**form, "phone": "12", "commodities": "durian", "land_area": "x"})
    assert bad.status_code == 400
    for problem in ("phone &#39;12&#39; is not a valid number", "commodity &#39;durian&#39; is unknown", "land area"):
        assert problem in bad.text
    assert 'value="Pak Darto"' in bad.text  # what was typed stays in the form
    with unit_of_work() as session:
        assert session.scalars(select(Farmer)).all() == []
    added = client.post("/console/farmers", data={**form, "kelompok_tani": "Poktan Makmur", "commodities": "apel"})
    assert added.status_code == 303
    farmer_path = added.headers["location"].split("?")[0]
    corrected = client.post(farmer_path, data={**form, "desa": "Punten", "commodities": "apel, sayur"})
    assert corrected.status_code == 303
    with unit_of_work() as session:
        [farmer] = session.scalars(select(Farmer)).all()
        assert (farmer.phone, farmer.desa, farmer.commodities, farmer.updated_by) == (
            "+6285899012345",
            "Punten",
            ["apel", "sayur"],
            "tani",
        )
        actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions[-2:] == ["farmer.add", "farmer.correct"]
    assert 'value="Punten"' in client.get(farmer_path).text or ">Punten</option>" in client.get(farmer_path).text


def test_the_dinas_view_counts_reports_and_exports_an_outbreaks_warning_list(server: str, phone: Phone) -> None:
    from tests.farmers import import_registry

    rows = farmer_rows()[:600]
    import_registry(rows)
    apple = [r for r in rows if r[4] == "apel" and r[2] in ("Bumiaji", "Punten")][:5]
    assert len(apple) == 5
    for row in apple:
        phone.sms(row[1], "TANI HAMA kutu daun di kebun apel")
        drain_queue()
    make_user("tani", "agency_staff", agency="DISTAN")
    client = console_login(server, "tani")
    with unit_of_work() as session:
        [number] = session.scalars(select(FarmOutbreak.id)).all()  # not always 1: PostgreSQL keeps its sequence
    page = client.get("/console/farmers").text
    assert f'data-outbreak="{number}"' in page and "PPL-DESA-BUMIAJI-APEL" in page
    weekly = list(csv.DictReader(io.StringIO(client.get("/console/farmers/report.csv").text)))
    assert sum(int(r["reports"]) for r in weekly) == 5
    assert {(r["kecamatan"], r["commodity"], r["subcategory"]) for r in weekly} == {("Bumiaji", "apel", "hama")}
    warned = list(csv.DictReader(io.StringIO(client.get(f"/console/farmers/outbreaks/{number}/warning.csv").text)))
    expected = {r[1] for r in rows if r[4] == "apel" and r[2] in {row[2] for row in apple}}
    assert {w["phone"] for w in warned} == expected  # the apple growers of those desa, nobody else
    assert warned[0]["message"].startswith("Dinas Pertanian Kota Batu: WASPADA Hama dan penyakit Apel di ")
    geo = json.loads(client.get(f"/console/farmers/outbreaks/{number}/map.geojson").text)
    assert sum(f["properties"]["reports"] for f in geo["features"]) == 5
    assert client.get(f"/console/farmers/outbreaks/{number + 1}/warning.csv").status_code == 404


def test_the_cli_lists_outbreaks_and_writes_their_warning_list_map_and_the_weekly_view(
    server: str, phone: Phone, tmp_path: Path
) -> None:
    from tests.farmers import import_registry

    rows = farmer_rows()[:600]
    import_registry(rows)
    for row in [r for r in rows if r[4] == "apel" and r[2] in ("Bumiaji", "Punten")][:5]:
        phone.sms(row[1], "TANI HAMA kutu daun di kebun apel")
        drain_queue()
    with unit_of_work() as session:
        [number] = session.scalars(select(FarmOutbreak.id)).all()
    runner = CliRunner()
    listed = runner.invoke(app, ["farmers", "outbreaks"])
    assert listed.exit_code == 0 and listed.stdout.split("\t")[0] == str(number)
    assert "\thama\tapel\t5\t" in listed.stdout
    out = tmp_path / "warn.csv"
    assert runner.invoke(app, ["farmers", "warning", str(number), "-o", str(out)]).exit_code == 0
    assert out.read_text().startswith("phone,name,desa,kelompok_tani,commodities,message\n")
    geo = json.loads(runner.invoke(app, ["farmers", "map", str(number)]).stdout)
    assert geo["type"] == "FeatureCollection" and geo["properties"]["reports"] == 5
    weekly = runner.invoke(app, ["farmers", "report", "--weeks", "1"]).stdout
    assert weekly.splitlines()[0] == "week,kecamatan,desa,commodity,subcategory,reports"
    ppl = runner.invoke(app, ["farmers", "ppl", "--month", "2020-01"]).stdout
    assert ppl.splitlines() == [
        ",".join(
            (
                "urc",
                "name",
                "tickets",
                "within_sla",
                "measured",
                "share_within_sla",
                "accept_median_min",
                "accept_p90_min",
                "resolve_median_min",
                "grade",
            )
        )
    ]
    missing = runner.invoke(app, ["farmers", "warning", str(number + 1)])
    assert missing.exit_code == 1 and f"no outbreak {number + 1}" in missing.stderr
    assert runner.invoke(app, ["farmers", "ppl", "--month", "2020-13"]).exit_code == 1


def test_the_registry_spreadsheet_is_uploaded_from_the_console_all_rows_or_none(server: str) -> None:
    make_user("tani", "agency_staff", agency="DISTAN")
    make_user("ops", "operator")
    client = console_login(server, "tani")
    csrf = csrf_of(client.get("/console/farmers").text)
    rows = farmer_rows()
    bad = (*rows[:10], (rows[10][0], "bukan nomor", *rows[10][2:]))
    refused = client.post(
        "/console/farmers/import", data={"csrf": csrf}, files={"file": ("petani.csv", registry_csv(bad), "text/csv")}
    )
    assert refused.status_code == 400
    assert "Tidak ada yang diimpor: 1 masalah." in refused.text
    assert "petani.csv:12: phone &#39;bukan nomor&#39; is not a valid number" in refused.text
    with unit_of_work() as session:
        assert session.scalars(select(Farmer)).all() == []
    whole = registry_xlsx()  # all 3,000
    done = client.post(
        "/console/farmers/import",
        data={"csrf": csrf},
        files={"file": ("Petani.xlsx", whole, "application/octet-stream")},
    )
    assert done.status_code == 200 and "3000 ditambah, 0 diperbarui, 0 tetap." in done.text
    big_csv = registry_csv(farmer_rows(4000))  # above the app's usual body limit (256 KiB): not refused here
    assert len(big_csv) > 256 * 1024
    again = client.post(
        "/console/farmers/import", data={"csrf": csrf}, files={"file": ("petani.csv", big_csv, "text/csv")}
    )
    assert again.status_code == 200 and "1000 ditambah, 0 diperbarui, 3000 tetap." in again.text
    operator = console_login(server, "ops")
    csrf = csrf_of(operator.get("/console/tickets").text)
    files = {"file": ("petani.csv", registry_csv(rows[:2]), "text/csv")}
    assert operator.post("/console/farmers/import", data={"csrf": csrf}, files=files).status_code == 403


def _farm_facts(page: str) -> str:
    assert 'data-testid="farm-facts"' in page
    return page.split('data-testid="farm-facts"')[1].split("</dl>")[0]


def test_the_ticket_page_shows_the_farm_facts_and_the_farmer_only_to_dinas_staff(server: str, phone: Phone) -> None:
    from tests.farmers import import_registry

    rows = farmer_rows()[:600]
    import_registry(rows)
    apple = [r for r in rows if r[4] == "apel" and r[2] in ("Bumiaji", "Punten")][:5]
    for row in apple:
        phone.sms(row[1], "TANI HAMA kutu daun di kebun apel")
        drain_queue()
    phone.sms("+6281299990001", "TANI pupuk urea langka di desa Punten")  # no farmer in the registry
    drain_queue()
    with unit_of_work() as session:
        [number] = session.scalars(select(FarmOutbreak.id)).all()
        last = max(session.scalars(select(FarmReport.ticket_id)).all())
        [ticket] = session.scalars(select(FarmReport.ticket_id).where(FarmReport.outbreak_id == number)).all()[-1:]
        farmer = session.scalar(select(Farmer).where(Farmer.phone == apple[-1][1]))
        assert farmer is not None and farmer.land_area_ha is not None
        land, kelompok = f"{farmer.land_area_ha:g}", farmer.kelompok_tani
    name = apple[-1][0]
    make_user("tani", "agency_staff", agency="DISTAN")
    make_user("root", "admin")
    make_user("ops", "operator")
    for username in ("tani", "root"):
        page = console_login(server, username).get(f"/console/tickets/{ticket}").text
        facts = _farm_facts(page)
        assert ">Hama dan penyakit<" in facts and ">Apel<" in facts, username
        assert f'href="/console/farmers#outbreak-{number}">No. {number}</a>' in facts
        assert f">{name}</a>" in facts and f'href="/console/farmers/{farmer.id}"' in facts
        assert f'data-testid="farm-kelompok">{kelompok}<' in facts and f'data-testid="farm-land">{land}<' in facts
        assert 'data-testid="farm-commodities">Apel<' in facts
        assert f"<td>Petani {name} ({kelompok}, Apel, " in page  # the PPL's alert as sent
    operator = console_login(server, "ops")
    page = operator.get(f"/console/tickets/{ticket}").text
    facts = _farm_facts(page)
    assert ">Hama dan penyakit<" in facts and f"No. {number}" in facts  # the report's facts, for everyone
    assert "/console/farmers" not in facts and 'data-testid="farm-farmer"' not in facts
    assert name not in page and kelompok not in page  # nowhere on the page: not even in the PPL's alert text
    assert "<td>Petani [petani: khusus Dinas Pertanian] ([petani: khusus Dinas Pertanian], Apel, Bumiaji)" in page
    unknown = _farm_facts(console_login(server, "tani").get(f"/console/tickets/{last}").text)
    assert ">Pupuk<" in unknown and 'data-testid="farm-farmer"' not in unknown  # not registered: no farmer


def test_the_api_masks_the_farmer_in_messages_and_timeline_except_for_dinas_staff_and_admins(
    server: str, phone: Phone
) -> None:
    """/api/v1 is the console's data for other systems: the same rule, farmers for DISTAN staff and admins only."""
    from tests.farmers import import_registry

    rows = farmer_rows()[:50]
    import_registry(rows)
    row = next(r for r in rows if r[4] == "apel")
    name = row[0]
    phone.sms(row[1], "TANI HAMA kutu daun di kebun apel")
    drain_queue()
    with unit_of_work() as session:
        ticket = max(session.scalars(select(FarmReport.ticket_id)).all())
        farmer = session.scalar(select(Farmer).where(Farmer.phone == row[1]))
        assert farmer is not None
        kelompok = farmer.kelompok_tani

    def read(token: str) -> str:
        headers = {"Authorization": f"Bearer {token}"}
        messages = httpx.get(f"{server}/api/v1/tickets/{ticket}/messages", headers=headers)
        detail = httpx.get(f"{server}/api/v1/tickets/{ticket}", headers=headers)
        assert messages.status_code == 200 and detail.status_code == 200, (messages.text, detail.text)
        return messages.text + detail.text

    for username, role, agency in (("tani", "agency_staff", "DISTAN"), ("root", "admin", None)):
        seen = read(make_token(username, role, agency))
        assert f"Petani {name} ({kelompok}, Apel, " in seen, username  # the PPL's alert as sent
    for username, role in (("ops", "operator"), ("sup", "supervisor")):
        seen = read(make_token(username, role))
        assert "Petani [petani: khusus Dinas Pertanian] ([petani: khusus Dinas Pertanian], Apel, " in seen, username
        assert name not in seen and kelompok not in seen, username


def _no_card_kept() -> None:
    """The metrics refresher's lease held (as by another API process: the server's thread judges nothing for a
    while) and no card of the open month kept, so the next read judges the month as it is now."""
    from hotline.core.queue import redis_connection
    from hotline.settings import get_settings

    queue = get_settings().queue_name
    redis_connection().set(f"hotline:metrics:lease:{queue}", "test", px=600_000)
    kept = redis_connection().keys(f"hotline:scorecard:{queue}:*")
    if kept:
        redis_connection().delete(*kept)


def test_the_scorecard_shows_and_exports_the_ppl_teams_times_and_breaches(server: str, phone: Phone) -> None:
    from datetime import timedelta

    from hotline.features.scorecard import Month
    from hotline.localtime import city_zone
    from tests.farmers import import_registry

    rows = farmer_rows()[:600]
    import_registry(rows)
    for row in [r for r in rows if r[4] == "apel" and r[2] == "Bumiaji"][:3]:
        phone.sms(row[1], "TANI HAMA kutu daun di kebun apel")  # the pest SLA: 240 min to accept, 2,880 to finish
        drain_queue()
    phone.sms(next(r for r in rows if r[4] != "apel" and r[2] == "Punten")[1], "TANI HAMA ulat di kebun kubis")
    drain_queue()
    times = [(30, 600), (300, 1000), (60, 3000)]  # minutes to accept, to finish: one late to accept, one to finish
    with unit_of_work() as session:
        apple = session.scalars(
            select(Ticket)
            .join(Urc, Urc.id == Ticket.urc_id)
            .where(Urc.code == "PPL-DESA-BUMIAJI-APEL")
            .order_by(Ticket.id)
        ).all()
        assert len(apple) == 3
        for ticket, (accept, finish) in zip(apple, times, strict=True):
            assert ticket.routed_at is not None
            ticket.accepted_at = ticket.routed_at + timedelta(minutes=accept)
            ticket.resolved_at = ticket.routed_at + timedelta(minutes=finish)
            ticket.status = "resolved"
        first = apple[0].routed_at
        assert first is not None
        month = str(Month.containing(first, city_zone()))
    _no_card_kept()  # the teams come with the month's card: one judged before the times above would be stale
    make_user("ani", "operator")
    make_user("damkar", "agency_staff", agency="PMK")
    page = console_login(server, "ani").get("/console/scorecard", params={"month": month}).text
    assert f"DISTAN: tim penyuluh (PPL) per desa, {month}" in page
    team = page[page.index('data-ppl="PPL-DESA-BUMIAJI-APEL"') :].split("</tr>")[0]
    cells = dict(re.findall(r'data-col="([\w-]+)">([^<]*)<', team))
    assert cells == {
        "tickets": "3",
        "share": "1/3 (33.3 %)",
        "accept-median": "60 mnt",  # nearest rank of 30, 60, 300
        "finish-median": "16.7 jam",  # 1,000 minutes
        "accept-breaches": "1",
        "finish-breaches": "1",
    }
    assert 'data-ppl="PPL-DESA-PUNTEN"' in page  # the other team, still open: pending, no times yet
    exported = console_login(server, "ani").get("/console/scorecard.csv", params={"month": month}).text
    by_code = {r["code"]: r for r in csv.DictReader(io.StringIO(exported))}
    ppl = by_code["PPL-DESA-BUMIAJI-APEL"]
    assert (ppl["team_of"], ppl["tickets"], ppl["accept_median_min"], ppl["resolve_median_min"]) == (
        "DISTAN",
        "3",
        "60.0",
        "1000.0",
    )
    assert (ppl["accept_breaches"], ppl["resolve_breaches"], ppl["within_sla"]) == ("1", "1", "1")
    assert by_code["DISTAN"]["team_of"] == "" and by_code["PPL-DESA-PUNTEN"]["team_of"] == "DISTAN"
    cli = CliRunner().invoke(app, ["farmers", "ppl", "--month", month]).stdout  # the same numbers as the CLI's
    assert "PPL-DESA-BUMIAJI-APEL,PPL Desa Bumiaji (apel),3,1,3,0.333,60.0,300.0,1000.0,red" in cli
    staff = console_login(server, "damkar")  # another agency's staff: not DISTAN's teams
    assert "data-ppl=" not in staff.get("/console/scorecard", params={"month": month}).text
    assert "team_of" not in staff.get("/console/scorecard.csv", params={"month": month}).text
