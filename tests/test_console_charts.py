"""The scorecard's charts and the console's downloads (issue 19 item 7): the SVG carries the computed scorecard's
numbers, the CSV exports keep the list's filters and the agency limit, defuse formulas, stream, and are audited;
the city's time zone (HOTLINE_TIMEZONE) is the one shown."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from hotline import clock
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.scorecard import Month, Scorecard
from hotline.features.scorecard.monthly import month_scorecard
from hotline.features.scorecard.trend import accept_share, finish_share
from hotline.localtime import city_zone
from hotline.models import Agency, AuditEntry, Ticket
from hotline.reports.labels import percent
from tests.accounts import console_login, make_user
from tests.clocked import set_clock

pytestmark = pytest.mark.usefixtures("real_clock")

MARCH = Month(2030, 3)
NOW = datetime(2030, 4, 10, 3, 0, tzinfo=UTC)  # March closed (frozen on first view), April open


def add_ticket(
    agency: str,
    routed: datetime,
    *,
    accept_after: float | None,  # minutes from routing; None: never accepted
    finish_after: float | None,
    category: str = "fire",
    text: str = "Gudang terbakar",
    reporter: str = "+6281234567890",
    kecamatan: str | None = "Batu",
) -> int:
    """A routed ticket with 10 min to accept and 60 to finish, as routing pins them."""
    with unit_of_work() as session:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == agency))
        done = finish_after is not None
        row = Ticket(
            channel="sms",
            reporter_phone=reporter,
            category=category,
            text=text,
            status="resolved" if done else ("accepted" if accept_after is not None else "routed"),
            agency_id=agency_id,
            kecamatan=kecamatan,
            created_at=routed - timedelta(minutes=1),
            routed_at=routed,
            accept_due_at=routed + timedelta(minutes=10),
            resolve_due_at=routed + timedelta(minutes=60),
            accepted_at=None if accept_after is None else routed + timedelta(minutes=accept_after),
            resolved_at=None if finish_after is None else routed + timedelta(minutes=finish_after),
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture
def month_of_tickets(backend: dict[str, str]) -> Iterator[None]:
    """March 2030: PMK 2 of 4 within SLA (red), PUPR 2 of 2 (green); one PMK ticket in February for the trend."""
    base = datetime(2030, 3, 5, 2, 0, tzinfo=UTC)
    add_ticket("PMK", base, accept_after=4, finish_after=30)
    add_ticket("PMK", base + timedelta(hours=1), accept_after=6, finish_after=40)
    add_ticket("PMK", base + timedelta(hours=2), accept_after=25, finish_after=50)  # accepted late
    add_ticket("PMK", base + timedelta(hours=3), accept_after=8, finish_after=90)  # finished late
    add_ticket("PUPR", base, accept_after=3, finish_after=20, category="roads")
    add_ticket("PUPR", base + timedelta(hours=5), accept_after=5, finish_after=45, category="roads")
    add_ticket("PMK", datetime(2030, 2, 14, 2, 0, tzinfo=UTC), accept_after=2, finish_after=10)
    set_clock(NOW)
    yield


def card() -> Scorecard:
    return month_scorecard(config=current_config(), month=MARCH, tz=city_zone(), now=clock.now())


def svg(page: str, testid: str) -> str:
    return page[page.index(f'data-testid="{testid}"') :].split("</figure>")[0]


def test_the_charts_carry_the_computed_scorecard(month_of_tickets: None, server: str) -> None:
    make_user("ani", "operator")
    page = console_login(server, "ani").get("/console/scorecard", params={"month": "2030-03"}).text
    share, medians = svg(page, "share-chart"), svg(page, "median-chart")
    trend = page.split('data-testid="trend-charts"')[1].split("<details")[0]
    rows = {r.code: r for r in card().agencies}
    pmk, pupr = rows["PMK"], rows["PUPR"]
    assert (pmk.within_sla, pmk.measured, pmk.grade, pupr.grade) == (2, 4, "red", "green")
    for row in (pmk, pupr):  # every figure the chart draws is the scorecard's own, and also in the table
        assert f"{percent(row.share_within_sla)} ({row.within_sla}/{row.measured})" in share
        assert f">{percent(accept_share(row))}<" in share and f">{percent(finish_share(row))}<" in share
        assert f">{row.accept_median_min:g} mnt<" in medians and f">{row.resolve_median_min:g} mnt<" in medians
        table_row = page[page.index(f'data-agency="{row.code}"') :].split("</tr>")[0]
        assert f">{percent(accept_share(row))}<" in table_row and f"{row.accept_median_min:g} mnt" in table_row
    assert (percent(accept_share(pmk)), percent(finish_share(pmk))) == ("75.0 %", "75.0 %")
    assert (pmk.accept_median_min, pmk.resolve_median_min) == (6.0, 40.0)
    # the thresholds are drawn and named; the red grade is said in words, on the chart and above it
    assert "hijau 90 %" in share and "kuning 75 %" in share and ">RAPOR MERAH<" in share
    banner = re.search(r'data-testid="red-banner">(.*?)</p>', page, re.S)
    assert banner and "Rapor merah 2030-03: PMK." in banner.group(1) and "PUPR" not in banner.group(1)
    # accessible: each chart is an image with a title and a description (the numbers in words)
    assert share.count('role="img"') == 1 and "<title id=" in share and "PMK: Merah (rapor merah)" in share
    assert "style=" not in share + medians + trend  # the CSP (style-src 'self') would drop it
    # the trend: 12 months ending with the chosen one, February's ticket in it, March from its frozen rows
    months = re.findall(r'<th scope="col">(\d{4}-\d{2})</th>', page)
    assert months[0] == "2029-04" and months[-1] == "2030-03" and len(months) == 12
    trend_rows = dict(re.findall(r'<tr><th scope="row">(\w+)</th>(.*?)</tr>', page.split("trend-numbers")[1], re.S))
    assert re.findall(r">([^<]*)</td>", trend_rows["PMK"])[-2:] == ["100.0 %", "50.0 %"]
    assert trend.count("<svg") == len(current_config().agencies) and trend.count(">merah<") == 1


def test_agency_staff_see_and_download_their_agency_only(month_of_tickets: None, server: str) -> None:
    make_user("pupr1", "agency_staff", "PUPR")
    staff = console_login(server, "pupr1")
    page = staff.get("/console/scorecard", params={"month": "2030-03"}).text
    assert 'data-agency="PUPR"' in page and "PMK" not in page  # not in the charts, the table nor the banner
    rows = list(csv.DictReader(io.StringIO(staff.get("/console/scorecard.csv", params={"month": "2030-03"}).text)))
    assert [(r["code"], r["within_sla"], r["measured"]) for r in rows] == [("PUPR", "2", "2")]
    exported = staff.get("/console/tickets.csv")
    numbers = [line[0] for line in csv.reader(io.StringIO(exported.text.lstrip("\ufeff")))][1:]
    assert len(numbers) == 2 and set(numbers) == {str(n) for n in _numbers_of("PUPR")}


def _numbers_of(agency: str) -> list[int]:
    with unit_of_work() as session:
        return list(
            session.scalars(select(Ticket.id).join(Agency, Agency.id == Ticket.agency_id).where(Agency.code == agency))
        )


def test_scorecard_downloads_csv_and_png_and_refuse_a_bad_month(month_of_tickets: None, server: str) -> None:
    make_user("ani", "operator")
    operator = console_login(server, "ani")
    page = operator.get("/console/scorecard", params={"month": "2030-03"}).text
    assert (
        'href="/console/scorecard.csv?month=2030-03"' in page and 'href="/console/scorecard.png?month=2030-03"' in page
    )
    got = operator.get("/console/scorecard.csv", params={"month": "2030-03"})
    assert got.headers["content-disposition"] == 'attachment; filename="scorecard-2030-03.csv"'
    by_code = {r["code"]: r for r in csv.DictReader(io.StringIO(got.text))}
    assert (by_code["PMK"]["within_sla"], by_code["PMK"]["grade"], by_code["PMK"]["month"]) == ("2", "red", "2030-03")
    png = operator.get("/console/scorecard.png", params={"month": "2030-03"})
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    ahead = operator.get("/console/scorecard", params={"month": "2032-01"})  # nothing yet: no trend, no error
    assert ahead.status_code == 200 and "PMK" in ahead.text and 'data-testid="trend-charts"' not in ahead.text
    for path in ("/console/scorecard.csv", "/console/scorecard.png", "/console/tickets.csv"):
        assert httpx.get(server + path).headers["location"] == "/console/login"  # signed in only
    bad = operator.get("/console/scorecard.csv", params={"month": "2030-13"})
    assert bad.status_code == 400 and "Bulan 2030-13 tidak bisa dibaca" in bad.text
    assert operator.get("/console/scorecard.png", params={"month": "maret"}).status_code == 400
    with unit_of_work() as session:
        exports = session.execute(
            select(AuditEntry.actor, AuditEntry.target_id, AuditEntry.data).where(
                AuditEntry.action == "export.scorecard"
            )
        ).all()
    assert [(a, t, d["format"]) for a, t, d in exports] == [("ani", "2030-03", "csv"), ("ani", "2030-03", "png")]


def test_ticket_csv_keeps_the_filters_says_words_and_codes_and_defuses_formulas(
    backend: dict[str, str], server: str
) -> None:
    routed = datetime(2030, 3, 5, 2, 0, tzinfo=UTC)  # 09:00 WIB
    fire = add_ticket("PMK", routed, accept_after=None, finish_after=None, text='=HYPERLINK("http://x")')
    add_ticket("PUPR", routed, accept_after=2, finish_after=None, category="roads", text="-1+2", kecamatan="Junrejo")
    add_ticket("PMK", routed, accept_after=2, finish_after=9, text="@SUM(A1)", reporter="081200000001")
    set_clock(datetime(2030, 3, 5, 2, 30, tzinfo=UTC))  # the first fire ticket's accept deadline has passed
    make_user("ani", "operator")
    operator = console_login(server, "ani")
    page = operator.get("/console/tickets", params={"category": "fire", "status": "routed"}).text
    link = re.search(r'href="([^"]+)" download data-testid="tickets-csv"', page)
    assert link and link.group(1).replace("&amp;", "&") == "/console/tickets.csv?status=routed&category=fire"

    with operator.stream("GET", "/console/tickets.csv", params={"category": "fire", "overdue": "true"}) as answer:
        assert answer.status_code == 200 and "content-length" not in answer.headers  # streamed, not built whole
        body = answer.read().decode("utf-8")
    assert answer.headers["content-disposition"].startswith('attachment; filename="tickets-')
    header, *rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert header[:5] == ["nomor", "status", "kode_status", "kategori", "kode_kategori"]
    assert header[13] == "diterima (WIB, Asia/Jakarta)"
    assert len(rows) == 1 and rows[0][:6] == [str(fire), "Menunggu diterima tim", "routed", "Kebakaran", "fire", "PMK"]
    assert rows[0][8] == "'+6281234567890" and rows[0][12] == '\'=HYPERLINK("http://x")'
    assert rows[0][13:16] == ["2030-03-05 08:59:00", "2030-03-05 09:00:00", "2030-03-05 09:10:00"]

    every = operator.get("/console/tickets.csv", params={"lang": "en"}).text.removeprefix("\ufeff")
    texts = {r["report_text"]: r for r in csv.DictReader(io.StringIO(every))}
    assert set(texts) == {'\'=HYPERLINK("http://x")', "'-1+2", "'@SUM(A1)"}
    assert (
        texts["'@SUM(A1)"]["reporter_number"] == "081200000001" and texts["'-1+2"]["status"] == "Accepted by the team"
    )

    unknown = operator.get("/console/tickets.csv", params={"category": "volcano"})
    assert unknown.status_code == 400 and unknown.text == "Filter category 'volcano' tidak dikenal."
    listed = operator.get("/console/tickets", params={"kecamatan": "Atlantis"}).text
    assert "Filter kecamatan &#39;Atlantis&#39; tidak dikenal." in listed and 'href="/console/tickets/' not in listed
    with unit_of_work() as session:
        exports = session.scalars(select(AuditEntry.data).where(AuditEntry.action == "export.tickets")).all()
    assert exports == [{"filters": {"category": "fire", "overdue": True}}, {"filters": {}}]


def test_another_city_zone_shows_everywhere(
    backend: dict[str, str], server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.settings import get_settings

    number = add_ticket("PMK", datetime(2030, 3, 5, 2, 0, tzinfo=UTC), accept_after=None, finish_after=None)
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Asia/Makassar")  # WITA, UTC+8: a city in Sulawesi or Bali
    get_settings.cache_clear()
    try:
        make_user("ani", "operator")
        operator = console_login(server, "ani")
        page = operator.get(f"/console/tickets/{number}").text
        assert 'data-testid="timezone">Semua waktu dalam WITA<' in page.replace("\n", "")
        assert "05-03-2030 10:10 WITA" in page  # the accept deadline, 02:10 UTC
        exported = operator.get("/console/tickets.csv").text
        assert "(WITA, Asia/Makassar)" in exported and "2030-03-05 10:00:00" in exported
    finally:
        monkeypatch.delenv("HOTLINE_TIMEZONE")
        get_settings.cache_clear()
    assert "WIB" in operator.get(f"/console/tickets/{number}").text


def test_a_large_export_comes_in_several_chunks(backend: dict[str, str], server: str) -> None:
    routed = datetime(2030, 3, 5, 2, 0, tzinfo=UTC)
    with unit_of_work() as session:
        pmk = session.scalar(select(Agency.id).where(Agency.code == "PMK"))
        session.add_all(
            Ticket(
                channel="sms",
                reporter_phone="+6281234567890",
                category="fire",
                text="x" * 300,
                status="routed",
                agency_id=pmk,
                created_at=routed,
                routed_at=routed,
            )
            for _ in range(400)
        )
    make_user("ani", "operator")
    with console_login(server, "ani").stream("GET", "/console/tickets.csv") as answer:
        chunks = [len(c) for c in answer.iter_raw()]
        assert answer.headers.get("transfer-encoding") == "chunked"
    assert len(chunks) >= 2 and sum(chunks) > 120_000  # written as it is read, 64 KiB at a time
