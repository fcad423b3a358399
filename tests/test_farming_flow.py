"""Issue 22's "done when", through the real SMS path (signed webhook -> worker -> tickets, alerts, outbox rows):
a registered apple farmer of Bumiaji texts a pest report and the apple PPL of his desa is alerted with his name,
kelompok tani and commodity; five such reports in a week from neighbouring desa alert the head of Dinas Pertanian."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hotline import clock
from hotline.core.city import current_config
from hotline.db import get_engine, get_sessionmaker, unit_of_work
from hotline.features.farming import outbreaks
from hotline.models import FarmOutbreak, FarmReport, OutboundMessage, Ticket, Urc
from tests.clocked import tick
from tests.conftest import Caller, Phone, drain_queue
from tests.farmers import farmer_rows, registry  # noqa: F401  (the module's registry fixture, used below)
from tests.suite_city import heads, members, prompt
from tests.test_voice_webhooks import outline

pytestmark = pytest.mark.usefixtures("registry")  # the 3,000 generated farmers, imported once
HEAD = heads("DISTAN")[0]
APPLE_TEXT = "TANI HAMA kutu daun di kebun apel"


def _apple_farmers(desa: str) -> list[tuple[str, ...]]:
    return [r for r in farmer_rows() if r[2] == desa and r[4] == "apel"]


def _ppl(code: str) -> list[str]:
    with unit_of_work() as session:
        urc = session.scalar(select(Urc).where(Urc.code == code))
        assert urc is not None, code
        return [m.phone for m in urc.members]


def _sent(to: str, purpose: str | None = None) -> list[OutboundMessage]:
    with unit_of_work() as session:
        stmt = select(OutboundMessage).where(OutboundMessage.to_number == to).order_by(OutboundMessage.id)
        if purpose:
            stmt = stmt.where(OutboundMessage.purpose == purpose)
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def test_a_registered_apple_farmer_reaches_his_desas_apple_ppl_by_name(phone: Phone, fake_twilio: Any) -> None:
    name, number, _desa, group, _crop, _ha = _apple_farmers("Bumiaji")[0]
    assert phone.sms(number, APPLE_TEXT).status_code == 200
    drain_queue()
    with unit_of_work() as session:
        ticket = session.scalars(select(Ticket)).one()
        report = session.get(FarmReport, ticket.id)
        assert report is not None
        assert (ticket.category, ticket.desa, ticket.kecamatan) == ("farm", "Bumiaji", "Bumiaji")  # from the registry
        assert (report.farmer_name, report.kelompok_tani, report.subcategory, report.commodity) == (
            name,
            group,
            "hama",
            "apel",
        )
        assert ticket.routing_rule is not None and ticket.routing_rule.endswith("ppl Bumiaji")
        assert ticket.sla_accept_minutes == 240  # the pest sub-category's SLA, not the agency's for "normal"
    [ppl] = _ppl("PPL-DESA-BUMIAJI-APEL")
    alert = fake_twilio.sent_to(ppl)[-1].body
    assert alert.startswith(f"Petani {name} ({group}, Apel, Bumiaji): Hama dan penyakit.")
    assert alert.endswith("Balas TERIMA 1 / TOLAK 1") and len(alert) <= 160  # one SMS: the quote made room
    for general in _ppl("PPL-DESA-BUMIAJI"):  # the desa's other PPL do apples no more than the kecamatan's
        assert not fake_twilio.sent_to(general)
    assert not fake_twilio.sent_to(members("DISTAN", "PPL-BUMIAJI")[0])
    [reply] = fake_twilio.sent_to(number)  # one answer: his number, no question about the place
    assert reply.body.startswith("Laporan No. 1 (Pertanian) diterima")


def test_an_unknown_number_is_routed_by_the_place_it_names(phone: Phone, fake_twilio: Any) -> None:
    phone.sms("+6281299990001", "TANI ulat di kebun kubis desa Punten")
    drain_queue()
    with unit_of_work() as session:
        ticket = session.scalars(select(Ticket)).one()
        report = session.get(FarmReport, ticket.id)
        assert report is not None and report.farmer_id is None
        assert (ticket.desa, report.subcategory, report.commodity) == ("Punten", "hama", "sayur")
    for ppl in _ppl("PPL-DESA-PUNTEN"):  # the desa's PPL (cabbage: not the apple one), nobody to name
        body = fake_twilio.sent_to(ppl)[-1].body
        assert "Punten, Kec. Bumiaji. Pertanian BIASA, No. 1." in body and not body.startswith("Petani")
    assert not _sent(_ppl("PPL-DESA-PUNTEN-APEL")[0])


def test_five_reports_in_a_week_from_neighbouring_desa_alert_the_head(
    phone: Phone, fake_twilio: Any, real_clock: None
) -> None:
    reporters = _apple_farmers("Bumiaji")[:2] + _apple_farmers("Punten")[:2] + _apple_farmers("Giripurno")[:1]
    for i, row in enumerate(reporters):
        phone.sms(row[1], APPLE_TEXT)
        drain_queue()
        if i < 4:
            assert not _sent(HEAD, "farm_outbreak"), f"raised after {i + 1} reports"
        clock.advance(timedelta(days=1, hours=10))  # five reports over six days
    [alert] = _sent(HEAD, "farm_outbreak")
    assert alert.body.startswith("WASPADA WABAH No. ")
    assert "5 laporan Hama dan penyakit Apel dalam 7 hari: Bumiaji 2, Punten 2, Giripurno 1." in alert.body
    with unit_of_work() as session:
        [outbreak] = session.scalars(select(FarmOutbreak)).all()
        assert outbreak.report_count == 5 and sorted(outbreak.desa) == ["Bumiaji", "Giripurno", "Punten"]
        assert outbreak.places["Bumiaji"]["count"] == 2
    # a sixth report joins the same outbreak: the head is not texted again
    phone.sms(_apple_farmers("Punten")[3][1], APPLE_TEXT)
    drain_queue()
    assert len(_sent(HEAD, "farm_outbreak")) == 1
    with unit_of_work() as session:
        assert session.scalars(select(FarmOutbreak)).one().report_count == 6


def test_the_ppls_advice_by_sms_reaches_the_farmer_and_counts_as_the_response(phone: Phone, fake_twilio: Any) -> None:
    number = _apple_farmers("Bumiaji")[0][1]
    phone.sms(number, APPLE_TEXT)
    drain_queue()
    [ppl] = _ppl("PPL-DESA-BUMIAJI-APEL")
    phone.sms(ppl, "SARAN 1 semprot abamektin sore hari, buang daun yang keriting")
    drain_queue()
    assert fake_twilio.sent_to(number)[-1].body == (
        "Saran PPL PPL Apel Bumiaji untuk laporan No. 1: semprot abamektin sore hari, buang daun yang keriting"
    )
    assert fake_twilio.sent_to(ppl)[-1].body == "Saran untuk No. 1 terkirim ke pelapor."
    with unit_of_work() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.status == "accepted" and ticket.accepted_at is not None
    phone.sms(members("DISTAN", "PPL-BATU")[0], "SARAN 1 coba ini")  # as TERIMA: any member of the agency
    drain_queue()
    assert fake_twilio.sent_to(number)[-1].body.endswith("coba ini")  # any Dinas Pertanian officer may advise


def test_nobody_takes_a_farm_report_the_kecamatan_coordinator_then_the_head(
    phone: Phone, fake_twilio: Any, real_clock: None
) -> None:
    number = _apple_farmers("Punten")[0][1]
    phone.sms(number, "TANI PUPUK urea langka")  # fertiliser: accept within 480 minutes (farming.yaml)
    drain_queue()
    with unit_of_work() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.sla_accept_minutes == 480
    tick(480 + 29)
    assert not _sent("+6285700000552", "escalation")
    tick(2)  # 30 minutes past the deadline: Bumiaji's PPL coordinator (Punten is in Bumiaji)
    [to_coordinator] = _sent("+6285700000552", "escalation")
    assert "TERIMA" not in to_coordinator.body  # a supervisor reads the head's text
    assert not _sent("+6285700000551") and not _sent(HEAD, "escalation")
    tick(30)
    assert _sent(HEAD, "escalation")


def test_a_registered_farmer_who_calls_gets_the_farm_report_first_and_no_place_question(
    phone: Phone, fake_twilio: Any
) -> None:
    name, number, _desa, group, *_ = _apple_farmers("Punten")[1]
    caller = Caller(phone, number=number)
    assert outline(caller.dial()) == ["Gather", f"Say: {prompt('welcome_farmer')}"]
    assert outline(caller.press("2"))[1] == f"Say: {prompt('ask_description')}"  # straight to the recording
    assert outline(caller.speak(10))[0] == f"Say: {prompt('your_number_is')}"
    caller.hang_up()
    drain_queue()
    with unit_of_work() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.channel, ticket.category, ticket.desa, ticket.kecamatan) == (
            "voice",
            "farm",
            "Punten",
            "Bumiaji",
        )
    [ppl] = _ppl("PPL-DESA-PUNTEN-APEL")  # his commodity from the registry: the call said none
    assert fake_twilio.sent_to(ppl)[-1].body.startswith(f"Petani {name} ({group}, Apel, Punten):")
    other = Caller(phone, number="+6281299990002")  # not registered: the usual welcome
    assert outline(other.dial()) == ["Gather", f"Say: {prompt('welcome')}"]


def _farm_report(session: Session, desa: str) -> FarmReport:
    """A routed pest report on apples from `desa` (Bumiaji, Punten and Giripurno are within 5 km of each other)."""
    ticket = Ticket(channel="sms", reporter_phone="+6281299990009", category="farm", text=APPLE_TEXT, status="routed")
    session.add(ticket)
    session.flush()
    report = FarmReport(ticket_id=ticket.id, subcategory="hama", commodity="apel", desa=desa, kecamatan="Bumiaji")
    session.add(report)
    session.flush()
    return report


def test_two_reports_watched_at_the_same_moment_raise_one_outbreak(backend: dict[str, str]) -> None:
    """A has the fifth report and raises the outbreak, its transaction still open; B's sixth report, routed
    meanwhile, must wait for A (the advisory lock per sub-category and commodity) and then join A's outbreak.
    Without the lock B counts four committed reports and its own, sees no outbreak, and raises a second one."""
    if get_engine().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one writer at a time, so two watches never overlap there")
    config = current_config()
    with unit_of_work() as session:
        for desa in ("Bumiaji", "Bumiaji", "Punten", "Punten"):
            _farm_report(session, desa)  # four committed reports: one short of an outbreak
    outcome: dict[str, object] = {}

    def other_worker() -> None:
        try:
            with unit_of_work() as b:
                outcome["raised"] = outbreaks.watch(b, config=config, report=_farm_report(b, "Punten"))
        except Exception as exc:  # noqa: BLE001 - B's failure, whatever it is, is shown by the test's thread
            outcome["error"] = exc

    a = get_sessionmaker()()
    try:
        assert outbreaks.watch(a, config=config, report=_farm_report(a, "Giripurno")) is not None  # the fifth
        a.flush()
        b_thread = threading.Thread(target=other_worker, daemon=True)
        b_thread.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock():  # B's watch is blocked on A
            assert time.monotonic() < deadline and b_thread.is_alive(), f"B did not wait for A: {outcome}"
            time.sleep(0.02)
        a.commit()
    finally:
        a.close()
    b_thread.join(10)
    assert not b_thread.is_alive() and "error" not in outcome, outcome
    assert outcome["raised"] is None  # B joined A's outbreak instead of raising its own
    with unit_of_work() as session:
        [outbreak] = session.scalars(select(FarmOutbreak)).all()
        assert outbreak.report_count == 6 and outbreak.places["Punten"]["count"] == 3
    assert len(_sent(HEAD, "farm_outbreak")) == 1  # the head is told once


def _waiting_on_a_lock() -> bool:
    with unit_of_work() as session:
        waiting = session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
    return bool(waiting)
