"""No report lost while the database cannot be reached (issue 18): the real app, served by uvicorn, with
HOTLINE_DATABASE_URL pointed at a PostgreSQL port where nothing listens (a real refused connection, not a
mock). Signed SMS from Twilio, Kannel and SMS Gateway for Android are spooled and answered 200; the app's own
replayer (hotline/spool/replay.py) stores them through the normal intake once the database is back: one
ticket each, the citizen's reply, even when a gateway's retry stored the same SMS first. A call gets the
fallback TwiML (the desk phone, then a recorded message) and its message becomes a voice ticket."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.models import Call, Ticket, TicketEvent
from hotline.spool.store import current_spool
from tests.conftest import Caller, Phone, drain_queue
from tests.gateway_env import MODEM, gateways
from tests.helpers import inbound, outbound
from tests.outage import database_unreachable, empty_spool, replayed

CITIZEN = "+6281234500001"
DESK = "+62341512345"


def _replayed() -> None:
    replayed()


def _tickets() -> list[Ticket]:
    with unit_of_work() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


@pytest.fixture
def spool_empty(server: str) -> Iterator[None]:
    empty_spool()
    yield
    _replayed()


def test_a_signed_sms_while_the_database_is_down_is_spooled_answered_200_and_becomes_one_ticket(
    phone: Phone, fake_twilio: object, spool_empty: None
) -> None:
    payload = phone.payload(CITIZEN, "KEBAKARAN di Jl. Diponegoro 5 desa Sisir")
    with database_unreachable():
        answer = phone.post("/twilio/sms", payload)
        assert answer.status_code == 200 and answer.text.endswith("<Response/>")  # no reply promised
        forged = phone.post("/twilio/sms", phone.payload(CITIZEN, "palsu"), token="not-the-token")
        assert forged.status_code == 403
        assert current_spool().depth() == 1  # the forged one is kept nowhere
        assert "hotline_spool_pending 1.0" in phone.client.get(f"{phone.base_url}/metrics").text
        ready = phone.client.get(f"{phone.base_url}/readyz")
        assert ready.status_code == 503 and ready.json()["spool"] == "1 pending"
    _replayed()
    drain_queue()
    [message] = inbound()
    assert (message.provider_sid, message.status) == (payload["MessageSid"], "processed")
    [ticket] = _tickets()
    assert (ticket.category, ticket.reporter_phone) == ("fire", CITIZEN)
    assert [m.to_number for m in outbound() if m.purpose == "reply"] == [CITIZEN]  # the citizen's reply, once
    # Twilio's Fallback URL, or a retry, with the same SMS after it was replayed: still one report
    assert phone.post("/twilio/sms/fallback", payload).status_code == 200
    _replayed()
    drain_queue()
    assert len(inbound()) == 1 and len(_tickets()) == 1
    assert "hotline_spool_pending 0.0" in phone.client.get(f"{phone.base_url}/metrics").text


def test_spooled_reports_replay_in_arrival_order_through_the_normal_intake(phone: Phone, spool_empty: None) -> None:
    """A report, then the same citizen's follow-up that only makes sense after it: replayed in that order, the
    follow-up is added to the report's ticket (not a ticket of its own)."""
    with database_unreachable():
        assert phone.sms(CITIZEN, "BANJIR di desa Temas").status_code == 200
        assert phone.sms(CITIZEN, "dekat masjid, air setinggi lutut").status_code == 200
        assert current_spool().depth() == 2
    _replayed()
    drain_queue()
    [ticket] = _tickets()
    assert ticket.text.splitlines() == ["BANJIR di desa Temas", "dekat masjid, air setinggi lutut"]
    assert [m.outcome for m in inbound()] == ["ticket_created", "info_added"]


def test_a_report_stored_by_a_retry_and_also_spooled_is_one_report(phone: Phone, spool_empty: None) -> None:
    payload = phone.payload(CITIZEN, "KEBAKARAN di desa Ngaglik")
    with database_unreachable():
        assert phone.post("/twilio/sms", payload).status_code == 200
        spooled = current_spool().pending()
    with current_spool().replay_lock():  # hold the replayer off while the gateway's retry gets in first
        assert phone.post("/twilio/sms", payload).status_code == 200
        assert len(inbound()) == 1
    _replayed()
    drain_queue()
    assert len(inbound()) == 1 and len(_tickets()) == 1
    assert not any(p.exists() for p in spooled)
    assert [m.to_number for m in outbound() if m.purpose == "reply"] == [CITIZEN]


def test_an_unreadable_record_is_set_aside_and_does_not_block_the_rest(phone: Phone, spool_empty: None) -> None:
    spool = current_spool()
    spool.pending_dir.mkdir(parents=True, exist_ok=True)
    torn = spool.pending_dir / "00000000000000000001-1-torn.json"
    torn.write_bytes(b'{"v": 1, "type": "sms", "kind": "twi')  # a record cut off (a disk that lost its end)
    (spool.tmp_dir / "left-by-a-crash.json").parent.mkdir(parents=True, exist_ok=True)
    (spool.tmp_dir / "left-by-a-crash.json").write_bytes(b'{"v": 1')  # never renamed in: never replayed
    with database_unreachable():
        assert phone.sms(CITIZEN, "KEBAKARAN di desa Songgokerto").status_code == 200
    _replayed()
    drain_queue()
    assert len(_tickets()) == 1
    assert (spool.bad_dir / torn.name).exists()
    ready = phone.client.get(f"{phone.base_url}/readyz").json()
    assert ready["spool"] == "empty, 1 bad (see spool/bad/)"


def test_kannel_and_android_sms_while_the_database_is_down_are_kept(server: str, spool_empty: None) -> None:
    import hashlib
    import hmac
    import json
    import time

    env = {
        "HOTLINE_SMS_GATEWAYS": "kannel,android",
        "HOTLINE_GATEWAY_KANNEL_URL": "http://127.0.0.1:9/cgi-bin/sendsms",
        "HOTLINE_GATEWAY_KANNEL_USERNAME": "hotline",
        "HOTLINE_GATEWAY_KANNEL_PASSWORD": "kannel-password",
        "HOTLINE_GATEWAY_KANNEL_SECRET": "kannel-post-secret-for-tests",
        "HOTLINE_GATEWAY_ANDROID_URL": "http://127.0.0.1:9",
        "HOTLINE_GATEWAY_ANDROID_USERNAME": "u",
        "HOTLINE_GATEWAY_ANDROID_PASSWORD": "android-password-for-tests",
        "HOTLINE_GATEWAY_ANDROID_SIGNING_KEY": "android-signing-key-for-tests",
    }
    kannel = {"secret": env["HOTLINE_GATEWAY_KANNEL_SECRET"], "id": "k-1", "from": CITIZEN, "to": MODEM}
    event = {
        "deviceId": "d",
        "event": "sms:received",
        "id": "ev-spool-1",
        "payload": {"messageId": "m", "message": "LONGSOR di desa Pesanggrahan", "phoneNumber": "+6281234500002"},
    }
    body = json.dumps(event).encode()

    def android() -> httpx.Response:
        stamp = str(int(time.time()))
        key = env["HOTLINE_GATEWAY_ANDROID_SIGNING_KEY"].encode()
        signature = hmac.new(key, body + stamp.encode(), hashlib.sha256).hexdigest()
        return httpx.post(
            f"{server}/android-sms/webhook?gateway=android",
            content=body,
            headers={"X-Signature": signature, "X-Timestamp": stamp},
        )

    with gateways(env), database_unreachable():
        assert (
            httpx.post(
                f"{server}/kannel/sms?gateway=kannel", params=kannel, content=b"BANJIR di desa Temas"
            ).status_code
            == 200
        )
        assert (
            httpx.post(f"{server}/kannel/sms?gateway=kannel", params={**kannel, "secret": "wrong"}).status_code == 403
        )
        assert android().status_code == 200
        assert current_spool().depth() == 2
    with gateways(env):
        _replayed()
        # both gateways deliver again what they had (a retry, a redelivery): nothing new
        assert (
            httpx.post(
                f"{server}/kannel/sms?gateway=kannel", params=kannel, content=b"BANJIR di desa Temas"
            ).status_code
            == 200
        )
        assert android().status_code == 200
        drain_queue()
        assert sorted((m.provider, m.provider_sid) for m in inbound()) == [
            ("android", "android:ev-spool-1"),
            ("kannel", "kannel:k-1"),
        ]
        assert sorted(t.category or "" for t in _tickets()) == ["flood", "landslide"]


def _verbs(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [f"{el.tag}:{(el.text or '').strip()}" if el.tag == "Dial" else el.tag for el in ET.fromstring(answer.text)]


def test_a_call_while_the_database_is_down_reaches_the_desk_or_leaves_a_message_that_becomes_a_ticket(
    phone: Phone, spool_empty: None
) -> None:
    caller = Caller(phone, number=CITIZEN)
    with database_unreachable(HOTLINE_VOICE_FALLBACK_NUMBER=DESK):
        assert _verbs(caller.dial()) == ["Say", f"Dial:{DESK}"]  # the apology, then the command center's desk
        no_answer = caller.payload("incoming", DialCallStatus="no-answer")
        assert _verbs(phone.post("/twilio/voice/fallback/dialed", no_answer)) == ["Say", "Record", "Redirect"]
        message = caller.payload("record", RecordingDuration="17")
        assert _verbs(phone.post("/twilio/voice/fallback/recorded", message)) == ["Say", "Hangup"]
        assert current_spool().depth() == 1
        # Twilio's Voice Fallback URL without a desk number set: straight to the message
    with database_unreachable():
        assert _verbs(phone.post("/twilio/voice/fallback", Caller(phone).payload("incoming"))) == [
            "Say",
            "Say",
            "Record",
            "Redirect",
        ]
    _replayed()
    drain_queue()
    with unit_of_work() as s:
        call = s.scalar(select(Call).where(Call.provider_call_id == caller.sid))
        assert call is not None and call.ticket_id is not None
        assert (call.caller, call.stopped_at, call.recording_url) == (
            CITIZEN,
            "outage_fallback",
            message["RecordingUrl"],
        )
        ticket = s.get(Ticket, call.ticket_id)
        assert ticket is not None and (ticket.channel, ticket.reporter_phone) == ("voice", CITIZEN)
        kinds = list(s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)))
    assert "outage_message" in kinds and "recording" in kinds
    # replayed again (a crash before the record was removed): nothing twice
    from datetime import UTC, datetime

    from hotline.spool.records import VoiceMessage, voice_record
    from hotline.spool.replay import replay

    again = VoiceMessage("twilio", caller.sid, CITIZEN, "", message["RecordingUrl"], 17.0, datetime.now(UTC))
    current_spool().append(voice_record(again))
    replay()
    assert len(_tickets()) == 1


def test_a_signed_call_is_answered_the_fallback_and_an_unsigned_one_is_refused(phone: Phone, spool_empty: None) -> None:
    caller = Caller(phone)
    assert phone.post("/twilio/voice/fallback", caller.payload("incoming"), token="wrong").status_code == 403
    recorded = caller.payload("record")
    assert phone.post("/twilio/voice/fallback/recorded", recorded, token="wrong").status_code == 403
    assert current_spool().depth() == 0
