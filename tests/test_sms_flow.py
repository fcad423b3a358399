"""The whole SMS loop through real HTTP, real database, real Redis/RQ and the fake Twilio REST server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rq.job import Job

from hotline.core.outbox import URGENT_PURPOSES
from hotline.core.queue import alert_queue, queue, redis_connection
from hotline.db import unit_of_work
from hotline.models import OutboundMessage, utcnow
from tests.conftest import Phone, drain_queue
from tests.helpers import events, outbound, ticket
from tests.suite_city import members, national, reply, words

CITIZEN = "+6281234567890"
PMK = members("PMK")
PPL_JUNREJO = members("DISTAN", "PPL-JUNREJO")[0]  # farm reports from Junrejo


def test_newcomer_story_report_alert_accept_status(phone: Phone, fake_twilio: Any) -> None:
    assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
    drain_queue()
    t = ticket(1)
    assert (t.status, t.category, t.priority, t.routing_rule, t.location_text, t.kecamatan) == (
        "routed",
        "fire",
        "critical",
        "fire-to-pmk",
        "Jl. Diponegoro 12 Sisir",
        "Batu",
    )
    [answer] = fake_twilio.sent_to(CITIZEN)
    assert answer.body == reply("ticket_created", number=1, category="Kebakaran", agency="Damkar Kota Batu")
    for member in PMK:  # the place first; the citizen's words add nothing to it, so they are left out
        [alert] = fake_twilio.sent_to(member)
        assert alert.body == (
            "Jl. Diponegoro 12 Sisir, Kec. Batu. Kebakaran KRITIS, No. 1. Pelapor 081234567890. "
            "Balas TERIMA 1 / TOLAK 1"
        )
    assert len(fake_twilio.messages) == 4

    # a member answers from their phone, written the national way
    assert phone.sms(national(PMK[1]), "terima 1 meluncur").status_code == 200
    drain_queue()
    t = ticket(1)
    assert t.status == "accepted" and t.accepted_at is not None
    assert "Anda terima" in fake_twilio.sent_to(PMK[1])[-1].body
    assert fake_twilio.sent_to(CITIZEN)[-1].body == reply("citizen_accepted", number=1, agency="Damkar Kota Batu")
    assert "sudah diterima Anggota PMK Regu A 1" in fake_twilio.sent_to(PMK[0])[-1].body

    assert phone.sms("6281234567890", "STATUS 1").status_code == 200
    drain_queue()
    status = fake_twilio.sent_to(CITIZEN)[-1].body
    assert status.startswith("Laporan No. 1 (Kebakaran): SEDANG DITANGANI. Diteruskan ke Damkar Kota Batu.")
    assert events(1) == ["created", "routed", "alerted", "accepted"]


def _report(phone: Phone, text: str = "KEBAKARAN di Jl. Diponegoro 12 Sisir", sender: str = CITIZEN) -> None:
    phone.sms(sender, text)
    drain_queue()


def test_urc_lifecycle_and_mistakes(phone: Phone, fake_twilio: Any) -> None:
    _report(phone)
    cases = [
        (PMK[0], "TIBA", reply("missing_number", command="TIBA")),
        (PMK[0], "terima 99", reply("ticket_unknown", number=99)),
        (members("PUPR")[0], "TERIMA 1", reply("not_your_ticket", number=1, agency="Damkar Kota Batu")),
        ("+6289999999999", "TERIMA 1", reply("not_member", command="TERIMA")),
        (PMK[0], "Tiba  #1 sudah di lokasi", reply("member_on_site", number=1)),
        (PMK[0], "terima 1", reply("bad_transition", number=1, status=words("statuses", "on_site"), command="TERIMA")),
        (PMK[2], "DONE 1", reply("member_done", "en", number=1)),
        (
            PMK[2],
            "selesai 1",
            reply("bad_transition", number=1, status=words("statuses", "resolved"), command="SELESAI"),
        ),
    ]
    for sender, text, expected in cases:
        phone.sms(sender, text)
        drain_queue()
        assert expected in fake_twilio.sent_to(sender)[-1].body, (text, fake_twilio.sent_to(sender)[-1].body)
    t = ticket(1)
    assert t.status == "resolved" and t.on_site_at and t.resolved_at and t.accepted_at
    assert fake_twilio.sent_to(CITIZEN)[-1].body.startswith("Laporan No. 1 telah selesai ditangani")
    assert events(1)[-3:] == ["on_site", "resolved", "confirmation_asked"]


def test_all_members_decline_raises_it_to_the_command_center(phone: Phone, fake_twilio: Any) -> None:
    _report(phone, "sampah menumpuk di pasar")  # DLH has two members
    for member in members("DLH"):
        phone.sms(member, "TOLAK 1 truk rusak")
        drain_queue()
        assert fake_twilio.sent_to(member)[-1].body == reply("member_declined", number=1)
    for desk in members("COMMAND"):
        assert "Semua anggota URC Kebersihan" in fake_twilio.sent_to(desk)[-1].body
    assert events(1)[-3:] == ["declined", "declined", "all_declined"]
    assert ticket(1).status == "routed"


def test_no_category_asks_and_attaches_the_answer_to_the_same_ticket(phone: Phone, fake_twilio: Any) -> None:
    _report(phone, "tolong ada masalah di depan rumah saya, desa Tlekung")
    t = ticket(1)
    assert t.status == "awaiting_category" and t.kecamatan == "Junrejo"
    assert "Balas angka: 1 Kebakaran, 2 Tanah longsor" in fake_twilio.sent_to(CITIZEN)[-1].body
    _report(phone, "saya tidak tahu")  # unclear: asked again
    assert ticket(1).category_prompts == 2
    _report(phone, "6")  # farm
    t = ticket(1)
    assert (t.status, t.category, t.routing_rule) == ("routed", "farm", "farm-junrejo")
    assert t.priority == "high"  # farm starts normal; "tolong" made it urgent
    assert "saya tidak tahu" in t.text
    alert = fake_twilio.sent_to(PPL_JUNREJO)[-1].body  # the desa the reporter named, first
    assert alert.startswith("Tlekung, Kec. Junrejo. Pertanian TINGGI, No. 1.") and alert.endswith("TOLAK 1")
    assert events(1) == ["created", "category_asked", "category_asked", "category_set", "routed", "alerted"]


def test_unclear_twice_goes_to_the_command_center_uncategorised(phone: Phone, fake_twilio: Any) -> None:
    for text in ("ada yang aneh di sini", "hmm", "entahlah"):  # a lone "halo" first would be no report at all
        _report(phone, text)
    t = ticket(1)
    assert (t.status, t.category, t.routing_rule) == ("routed", None, "default-command-center")
    assert fake_twilio.sent_to(members("COMMAND")[0])


def test_follow_up_text_is_added_to_the_open_report(phone: Phone, fake_twilio: Any) -> None:
    _report(phone)
    _report(phone, "rumahnya yang cat hijau")
    assert ticket(1).text.endswith("rumahnya yang cat hijau")
    assert fake_twilio.sent_to(CITIZEN)[-1].body == reply("info_added", number=1)
    _report(phone, "terima kasih pak")  # courtesy: stored, no reply
    assert len(fake_twilio.sent_to(CITIZEN)) == 2


def test_english_report_gets_english_replies(phone: Phone, fake_twilio: Any) -> None:
    _report(phone, "There is a landslide near Songgokerto, people trapped", sender="+61412345678")
    answer = fake_twilio.sent_to("+61412345678")[-1].body
    assert answer == reply("ticket_created", "en", number=1, category="Landslide", agency="BPBD Kota Batu")
    assert ticket(1).priority == "critical"


def test_cancel_and_status_privacy(phone: Phone, fake_twilio: Any) -> None:
    _report(phone, "jalan berlubang di Jl. Imam Bonjol")
    _report(phone, "STATUS 1", sender="+6281299999999")
    assert fake_twilio.sent_to("+6281299999999")[-1].body == reply("not_found", number=1)
    _report(phone, "BATAL")
    assert fake_twilio.sent_to(CITIZEN)[-1].body == reply("missing_number", command="BATAL")
    _report(phone, "batal 1")  # a road report nobody accepted yet: the reporter may cancel it outright
    assert fake_twilio.sent_to(CITIZEN)[-1].body == reply("cancelled", number=1)
    stand_down = fake_twilio.sent_to(members("PUPR")[0])[-1].body  # names what and where
    assert (
        stand_down
        == "No. 1 Jalan, jembatan dan saluran, Jl. Imam Bonjol: DIBATALKAN oleh pelapor. Tidak perlu ke lokasi."
    )
    _report(phone, "BATAL 1")
    assert fake_twilio.sent_to(CITIZEN)[-1].body == reply(
        "cancel_refused", number=1, status=words("statuses", "cancelled")
    )
    assert ticket(1).status == "cancelled"


def test_stop_is_honoured_but_reports_still_count(phone: Phone, fake_twilio: Any) -> None:
    _report(phone, "BERHENTI")
    assert fake_twilio.sent_to(CITIZEN)[-1].body.startswith("Anda tidak akan menerima SMS Hotline lagi")
    _report(phone, "BANJIR di Pendem")
    assert ticket(1).status == "routed"
    assert len(fake_twilio.sent_to(CITIZEN)) == 1  # the reply was suppressed
    assert any(m.status == "suppressed" and m.to_number == CITIZEN for m in outbound())
    assert fake_twilio.sent_to(members("BPBD")[0])  # the URC is still alerted
    _report(phone, "mulai")
    assert fake_twilio.sent_to(CITIZEN)[-1].body == "SMS Hotline aktif kembali."


def test_transient_failures_retry_with_backoff_permanent_ones_stop(phone: Phone, fake_twilio: Any) -> None:
    fake_twilio.fail_next(1, status=503, code=20503, message="Service Unavailable")
    phone.sms(CITIZEN, "sampah menumpuk")
    drain_queue()
    failed = [m for m in outbound() if m.attempts == 1 and m.status == "queued"]
    assert len(failed) == 1 and failed[0].error_code == "20503"
    assert failed[0].next_attempt_at > utcnow() + timedelta(seconds=5)
    lane = alert_queue() if failed[0].purpose in URGENT_PURPOSES else queue()  # alerts go first, in their lane
    registry = lane.scheduled_job_registry
    [job_id] = registry.get_job_ids()
    # Let the backoff pass without sleeping: move the due time and hand the job to the queue.
    with unit_of_work() as s:
        s.get(OutboundMessage, failed[0].id).next_attempt_at = utcnow()
    registry.remove(job_id)
    lane.enqueue_job(Job.fetch(job_id, connection=redis_connection()))
    drain_queue()
    retried = next(m for m in outbound() if m.id == failed[0].id)
    assert (retried.status, retried.attempts) == ("sent", 2)

    fake_twilio.fail_next(1, status=400, code=21211, message="The 'To' number is not a valid phone number.")
    phone.sms("+6281234567891", "sampah lagi")
    drain_queue()
    dead = [m for m in outbound() if m.status == "failed"]
    assert len(dead) == 1 and dead[0].error_code == "21211" and dead[0].attempts == 1
    assert not registry.get_job_ids()


def test_duplicate_send_jobs_send_once(phone: Phone, fake_twilio: Any) -> None:
    from hotline.core.queue import enqueue_outbound

    _report(phone)
    first = outbound()[0]
    with unit_of_work() as s:
        s.get(OutboundMessage, first.id).status = "queued"
    before = len(fake_twilio.messages)
    enqueue_outbound([first.id], attempt=7)
    enqueue_outbound([first.id], attempt=8)
    drain_queue()
    assert len(fake_twilio.messages) == before + 1


def test_status_callbacks_update_the_message_in_any_order(phone: Phone, fake_twilio: Any) -> None:
    _report(phone)
    alert = fake_twilio.sent_to(PMK[0])[-1]
    assert alert.status_callback and alert.status_callback.startswith(phone.base_url + "/twilio/sms/status?id=")
    assert fake_twilio.report_status(alert.sid, "delivered").status_code == 204
    assert fake_twilio.report_status(alert.sid, "sent").status_code == 204  # late, out of order
    row = next(m for m in outbound() if m.provider_sid == alert.sid)
    assert row.status == "delivered"
    forged = phone.post(
        "/twilio/sms/status?id=1", {"MessageSid": alert.sid, "MessageStatus": "failed"}, signature="forged"
    )
    assert forged.status_code == 403
    failed = fake_twilio.sent_to(PMK[1])[-1]
    fake_twilio.report_status(failed.sid, "undelivered", error_code="30003")
    row = next(m for m in outbound() if m.provider_sid == failed.sid)
    assert (row.status, row.error_code) == ("undelivered", "30003")


def test_a_message_that_breaks_intake_still_becomes_a_ticket(phone: Phone, fake_twilio: Any, monkeypatch: Any) -> None:
    from hotline.features.sms import sms_intake

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated bug in intake")

    monkeypatch.setattr(sms_intake, "handle_sms", broken)
    _report(phone, "KEBAKARAN di Jl. Diponegoro")
    from tests.helpers import inbound

    [message] = inbound()
    assert message.status == "failed" and "simulated bug" in (message.error or "")
    t = ticket(message.ticket_id or 0)
    assert t.routing_rule == "default-command-center" and "intake_error" in events(t.id)
    assert fake_twilio.sent_to(members("COMMAND")[0])
