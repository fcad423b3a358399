"""Early warnings (issue 21): subscribing by SMS, drafting and approving (two people), sending, cancelling,
a gateway down mid-way, opt-outs, CSV import; real database, Redis/RQ and the fake Twilio gateway."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.broadcasts import drafting
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.features.broadcasts.csv_import import import_csv
from hotline.features.broadcasts.errors import BadMessage, CsvRejected, NotAllowed, UnknownDesa
from hotline.features.broadcasts.progress import progress
from hotline.features.broadcasts.subscribers import counts_per_desa, subscribe
from hotline.models import AuditEntry, Subscriber
from tests.broadcast_helpers import recipients, send_broadcasts, statuses
from tests.conftest import Phone, drain_queue

SUMBERBRANTAS = [f"+62812000001{i:02d}" for i in range(4)]
PUNTEN = [f"+62812000002{i:02d}" for i in range(3)]
ELSEWHERE = "+6281200000300"  # subscribed to Sisir: never warned for Sumberbrantas or Punten


def _subscribe(phone: str, desa: str, language: str = "id") -> None:
    config = current_config()
    kecamatan = config.kecamatan_of(desa)
    assert kecamatan is not None
    with unit_of_work() as session:
        subscribe(
            session,
            phone=phone,
            desa=desa,
            kecamatan=kecamatan,
            language=language,
            channel="sms",
            source="csv",
            consent="test",
        )


def _city() -> None:
    for phone in SUMBERBRANTAS:
        _subscribe(phone, "Sumberbrantas")
    for phone in PUNTEN:
        _subscribe(phone, "Punten", language="en")
    _subscribe(ELSEWHERE, "Sisir")


def _approved(areas: list[str], checkin: int | None = None) -> int:
    with unit_of_work() as session:
        broadcast = drafting.draft(
            session, config=current_config(), hazard="landslide", areas=areas, author="spv-a", checkin_minutes=checkin
        )
        number = broadcast.id
    with unit_of_work() as session:
        drafting.approve(session, broadcast_id=number, approver="spv-b")
    return number


def test_subscribe_by_sms_unknown_desa_and_berhenti(phone: Phone, fake_twilio: Any) -> None:
    data = broadcast_data(current_config())
    phone.sms(SUMBERBRANTAS[0], "DAFTAR sumberbrantas")
    phone.sms(SUMBERBRANTAS[1], "daftar Atlantis")
    phone.sms(PUNTEN[0], "SUBSCRIBE Punten")
    drain_queue()
    assert fake_twilio.sent_to(SUMBERBRANTAS[0])[-1].body == data.say("subscribed", "id", desa="Sumberbrantas")
    assert fake_twilio.sent_to(SUMBERBRANTAS[1])[-1].body == data.say("unknown_desa", "id", desa="Atlantis")
    assert fake_twilio.sent_to(PUNTEN[0])[-1].body == data.say("subscribed", "en", desa="Punten")
    with unit_of_work() as session:
        assert counts_per_desa(session) == {"Punten": 1, "Sumberbrantas": 1}
        row = session.scalar(select(Subscriber).where(Subscriber.phone == PUNTEN[0]))
        assert row is not None and (row.language, row.channel, row.source) == ("en", "sms", "sms")
        assert "SUBSCRIBE Punten" in row.consent
    phone.sms(PUNTEN[0], "STOP")  # opted out: not counted, not warned
    drain_queue()
    with unit_of_work() as session:
        assert counts_per_desa(session) == {"Sumberbrantas": 1}
    number = _approved(["Sumberbrantas", "Punten"])
    assert [r.phone for r in recipients(number)] == [SUMBERBRANTAS[0]]


def test_two_people_send_it_each_subscriber_once_in_their_language(fake_twilio: Any) -> None:
    _city()
    with unit_of_work() as session:
        broadcast = drafting.draft(
            session,
            config=current_config(),
            hazard="landslide",
            areas=["Sumberbrantas", "punten"],
            author="spv-a",
            checkin_minutes=30,
        )
        number = broadcast.id
        body_id, body_en = broadcast.body_id, broadcast.body_en
    assert "Sumberbrantas, Punten" in body_id and body_id.endswith(broadcast_data(current_config()).checkin["id"])
    with unit_of_work() as session, pytest.raises(NotAllowed, match="another person"):
        drafting.approve(session, broadcast_id=number, approver="spv-a")
    with unit_of_work() as session, pytest.raises(NotAllowed, match="needs an approver"):
        drafting.approve(session, broadcast_id=number, approver=" ")
    assert recipients(number) == []  # nothing listed, nothing sent before a second person approves
    with unit_of_work() as session:
        assert drafting.approve(session, broadcast_id=number, approver="spv-b") == 7
    with unit_of_work() as session, pytest.raises(NotAllowed, match="not a draft"):
        drafting.approve(session, broadcast_id=number, approver="spv-c")
    send_broadcasts()
    assert sorted(m.to for m in fake_twilio.messages) == sorted(SUMBERBRANTAS + PUNTEN)
    assert {m.body for m in fake_twilio.messages if m.to in SUMBERBRANTAS} == {body_id}
    assert {m.body for m in fake_twilio.messages if m.to in PUNTEN} == {body_en}
    assert set(statuses(number).values()) == {"sent"}
    assert all(r.provider_sid for r in recipients(number))
    send_broadcasts()  # again: nothing is sent twice
    assert len(fake_twilio.messages) == 7
    with unit_of_work() as session:
        p = progress(session, broadcast_id=number)
        assert (p.status, p.counts["sent"], p.percent) == ("done", 7, 100)
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "broadcast")))
        assert actions == ["broadcast.draft", "broadcast.approve"]


@pytest.mark.parametrize(
    ("areas", "texts", "error", "match"),
    [
        (["Atlantis"], None, UnknownDesa, "Atlantis"),
        ([], None, UnknownDesa, "no desa"),
        (["Punten"], {"id": "  ", "en": "x"}, BadMessage, "id text is empty"),
        (["Punten"], {"id": "x" * 500, "en": "x"}, BadMessage, "SMS parts"),
    ],
)
def test_bad_drafts_are_refused_with_reasons(
    backend: Any, areas: list[str], texts: Any, error: type, match: str
) -> None:
    with unit_of_work() as session, pytest.raises(error, match=match):
        drafting.draft(session, config=current_config(), hazard="landslide", areas=areas, author="a", texts=texts)
    with unit_of_work() as session, pytest.raises(BadMessage, match="unknown hazard"):
        drafting.draft(session, config=current_config(), hazard="tsunami", areas=["Punten"], author="a")


def test_a_kecamatan_means_its_desa(backend: Any) -> None:
    with unit_of_work() as session:
        broadcast = drafting.draft(
            session, config=current_config(), hazard="flood", areas=["Kecamatan Bumiaji", "Batu"], author="a"
        )
        assert {"Sumberbrantas", "Punten", "Bumiaji", "Sisir"} <= set(broadcast.desa)
        assert "Junrejo" not in broadcast.desa and len(broadcast.desa) == 17
        only = drafting.draft(session, config=current_config(), hazard="flood", areas=["bumiaji"], author="a")
        assert only.desa == ["Bumiaji"]  # the desa of that name, not its kecamatan


def test_cancel_mid_way_sends_no_more(fake_twilio: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _city()
    monkeypatch.setenv("HOTLINE_BROADCAST_BATCH", "3")
    from hotline.settings import get_settings

    get_settings.cache_clear()
    number = _approved(["Sumberbrantas", "Punten"])
    send_broadcasts(turns=1)
    assert len(fake_twilio.messages) == 3
    with unit_of_work() as session:
        assert drafting.cancel(session, broadcast_id=number, actor="spv-b") == 4
    send_broadcasts()
    assert len(fake_twilio.messages) == 3
    assert sorted(statuses(number).values()) == ["cancelled"] * 4 + ["sent"] * 3
    with unit_of_work() as session, pytest.raises(NotAllowed, match="already cancelled"):
        drafting.cancel(session, broadcast_id=number, actor="spv-b")
    get_settings.cache_clear()


def test_gateway_down_mid_broadcast_retries_and_sends_none_twice(fake_twilio: Any) -> None:
    _city()
    number = _approved(["Sumberbrantas"])
    fake_twilio.fail_next(2)  # Twilio answers 500 twice: those two wait for their retry
    send_broadcasts()
    assert len(fake_twilio.messages) == 2
    rows = recipients(number)
    waiting = [r for r in rows if r.status == "queued"]
    assert len(waiting) == 2 and all("500" in (r.last_error or "") or r.last_error for r in waiting)
    with unit_of_work() as session:  # their back-off is over
        from sqlalchemy import update

        from hotline.models import BroadcastRecipient, utcnow

        session.execute(
            update(BroadcastRecipient).where(BroadcastRecipient.status == "queued").values(next_attempt_at=utcnow())
        )
    send_broadcasts()
    assert sorted(m.to for m in fake_twilio.messages) == sorted(SUMBERBRANTAS)
    assert set(statuses(number).values()) == {"sent"}


def test_berhenti_after_approval_is_still_honoured(phone: Phone, fake_twilio: Any) -> None:
    _city()
    number = _approved(["Sumberbrantas"])
    phone.sms(SUMBERBRANTAS[2], "BERHENTI")
    drain_queue()
    fake_twilio.reset()
    send_broadcasts()
    assert SUMBERBRANTAS[2] not in {m.to for m in fake_twilio.messages}
    assert statuses(number)[SUMBERBRANTAS[2]] == "skipped"


def test_csv_import_all_or_nothing_with_file_row_errors(backend: Any) -> None:
    config = current_config()
    bad = (
        "phone,desa,consent,language\n"
        "081200000100,Sumberbrantas,formulir RT 03,id\n"
        "not-a-phone,Sumberbrantas,formulir RT 03,id\n"
        "081200000101,Atlantis,formulir RT 03,en\n"
        "081200000102,Punten,,en\n"
        "081200000100,Punten,lisan,fr\n"
    )
    with unit_of_work() as session, pytest.raises(CsvRejected) as refused:
        import_csv(session, config=config, text=bad, file_name="warga.csv")
    assert refused.value.problems == [
        "warga.csv:3: phone 'not-a-phone' is not a phone number",
        "warga.csv:4: desa 'Atlantis' is not a desa of the city",
        "warga.csv:5: consent is empty (say how the person agreed)",
        "warga.csv:6: language 'fr': one of id, en",
        "warga.csv:6: phone +6281200000100 is already on row 2",
    ]
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0  # nothing half-imported
    with unit_of_work() as session, pytest.raises(CsvRejected, match=r"warga\.csv:1: missing column"):
        import_csv(session, config=config, text="phone,desa\n0812,Punten\n", file_name="warga.csv")
    good = (
        "\ufeffPhone,Desa,Consent,Channel\n"
        "081200000100,sumberbrantas,formulir RT 03,whatsapp\n"
        "081200000101,Punten,lisan,\n"
    )
    with unit_of_work() as session:
        assert import_csv(session, config=config, text=good, file_name="warga.csv") == 2
    with unit_of_work() as session:
        assert counts_per_desa(session) == {"Punten": 1, "Sumberbrantas": 1}
        channels = dict(session.execute(select(Subscriber.phone, Subscriber.channel)).all())
        assert channels == {"+6281200000100": "whatsapp", "+6281200000101": "sms"}


def test_delivery_reports_reach_the_recipients(phone: Phone, fake_twilio: Any) -> None:
    _city()
    number = _approved(["Punten"])
    send_broadcasts()
    first, second, third = [m for m in fake_twilio.messages if m.to in PUNTEN]
    assert fake_twilio.report_status(first.sid, "delivered").status_code in (200, 204)
    assert fake_twilio.report_status(second.sid, "undelivered", error_code="30005").status_code in (200, 204)
    assert statuses(number) == {first.to: "delivered", second.to: "failed", third.to: "sent"}
    with unit_of_work() as session:
        counts = progress(session, broadcast_id=number).counts
    assert (counts["delivered"], counts["failed"], counts["sent"]) == (1, 1, 1)


def test_a_wrong_broadcasts_file_names_each_problem(tmp_path: Any) -> None:
    from hotline.cityconfig.errors import ConfigErrors
    from hotline.features.broadcasts.city_data import load

    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "broadcasts.yaml").write_text('hazards:\n  quake: {category: nope, id: "x"}\n')
    with pytest.raises(ConfigErrors) as bad:
        load(tmp_path, {"landslide"})
    lines = str(bad.value).splitlines()
    assert "sms/broadcasts.yaml:0: hazards.quake.category: 'nope' is not a category of routing/categories.yaml" in lines
    assert "sms/broadcasts.yaml:0: hazards.quake: has no 'en' text" in lines
    assert "sms/broadcasts.yaml:0: keywords.subscribe: has no words (add id: [...] and en: [...])" in lines
