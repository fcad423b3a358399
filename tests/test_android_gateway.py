"""SMS Gateway for Android as the city's whole SMS gateway (a phone on day one), against the recording fake of
its API (hotline/fakes/android_sms.py), and no Twilio configured at all. Then what goes wrong: forged or
replayed webhooks, malformed events, a gateway that is down (the next one takes the message)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from hotline.core.outbox import queue_sms
from hotline.db import unit_of_work
from hotline.fakes.android_sms import FakeAndroidGateway
from tests.conftest import drain_queue
from tests.fault_processes import free_port
from tests.gateway_env import CITIZEN, gateways
from tests.helpers import inbound, outbound, ticket
from tests.suite_city import members

PMK = members("PMK")
SIGNING_KEY = "android-signing-key-for-tests"


@pytest.fixture(scope="module")
def phone_app() -> Iterator[FakeAndroidGateway]:
    fake = FakeAndroidGateway(signing_key=SIGNING_KEY).start()
    yield fake
    fake.stop()


def _env(fake: FakeAndroidGateway, **extra: str) -> dict[str, str]:
    return {
        "HOTLINE_SMS_GATEWAYS": "android",
        "HOTLINE_GATEWAY_ANDROID_URL": fake.base_url,
        "HOTLINE_GATEWAY_ANDROID_USERNAME": fake.username,
        "HOTLINE_GATEWAY_ANDROID_PASSWORD": fake.password,
        "HOTLINE_GATEWAY_ANDROID_SIGNING_KEY": SIGNING_KEY,
        **extra,
    }


@pytest.fixture
def android(phone_app: FakeAndroidGateway, server: str) -> Iterator[FakeAndroidGateway]:
    phone_app.reset()
    phone_app.webhooks.clear()
    phone_app.register(f"{server}/android-sms/webhook")
    with gateways(_env(phone_app)):
        yield phone_app


def _texts(fake: FakeAndroidGateway, number: str) -> list[str]:
    return [m.text for m in fake.sent_to(number)]


def _phone_receives(fake: FakeAndroidGateway, sender: str, text: str) -> None:
    assert fake.receive_sms(sender, text) == [200]
    drain_queue()


def test_report_alert_accept_status_all_through_the_phone(android: FakeAndroidGateway) -> None:
    _phone_receives(android, CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir, asap tebal")
    [stored] = inbound()
    assert (stored.provider, stored.from_e164, stored.payload["hotline_line"]) == ("android", CITIZEN, "1")
    assert ticket(1).status == "routed"
    [alert] = android.sent_to(PMK[0])
    assert alert.text.endswith("Balas TERIMA 1 / TOLAK 1") and alert.ttl == 30 * 60  # a stale alert is dropped
    [reply] = android.sent_to(CITIZEN)
    assert reply.text.startswith("Laporan No. 1 ") and reply.sim_number == 1  # from the SIM the citizen texted

    for message in android.messages:
        assert android.report(message, "sms:sent") == [200]
        assert android.report(message, "sms:delivered") == [200]
    assert {(m.gateway, m.provider, m.status) for m in outbound()} == {("android", "android", "delivered")}

    _phone_receives(android, PMK[0], "TERIMA 1")
    assert ticket(1).status == "accepted"
    assert any("sedang ditangani" in t for t in _texts(android, CITIZEN))
    _phone_receives(android, CITIZEN, "STATUS 1")
    assert "No. 1" in _texts(android, CITIZEN)[-1]


def test_a_failed_alert_fails_over_to_the_next_gateway(phone_app: FakeAndroidGateway, server: str) -> None:
    """sms:failed for an alert: `sms_backup` (routing/agencies.yaml) sends it again through the next gateway
    of the alerts list, here a second phone."""
    phone_app.reset()
    phone_app.webhooks.clear()
    phone_app.register(f"{server}/android-sms/webhook?gateway=phone1")
    second = FakeAndroidGateway(signing_key=SIGNING_KEY).start()
    try:
        env = {
            "HOTLINE_SMS_GATEWAYS": "phone1,phone2",
            **{k.replace("_ANDROID_", "_PHONE1_"): v for k, v in _env(phone_app).items() if "_ANDROID_" in k},
            **{k.replace("_ANDROID_", "_PHONE2_"): v for k, v in _env(second).items() if "_ANDROID_" in k},
            "HOTLINE_GATEWAY_PHONE1_TYPE": "android",
            "HOTLINE_GATEWAY_PHONE2_TYPE": "android",
        }
        with gateways(env):
            _phone_receives(phone_app, CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
            [alert] = phone_app.sent_to(PMK[0])
            assert phone_app.report(alert, "sms:failed", reason="RESULT_ERROR_NO_SERVICE") == [200]
            drain_queue()
            [again] = second.sent_to(PMK[0])
            assert again.text == alert.text
            assert second.sent_to(CITIZEN) == []  # the reply stays on the phone the citizen texted
    finally:
        second.stop()


def test_a_gateway_that_is_down_hands_its_messages_to_the_next(phone_app: FakeAndroidGateway, server: str) -> None:
    phone_app.reset()
    phone_app.webhooks.clear()
    phone_app.register(f"{server}/android-sms/webhook?gateway=phone")
    env = {
        "HOTLINE_SMS_GATEWAYS": "modem,phone",
        "HOTLINE_GATEWAY_MODEM_TYPE": "kannel",
        "HOTLINE_GATEWAY_MODEM_URL": f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms",  # nothing listens
        "HOTLINE_GATEWAY_MODEM_USERNAME": "hotline",
        "HOTLINE_GATEWAY_MODEM_PASSWORD": "kannel-password",
        "HOTLINE_GATEWAY_PHONE_TYPE": "android",
        **{k.replace("_ANDROID_", "_PHONE_"): v for k, v in _env(phone_app).items() if "_ANDROID_" in k},
    }
    with gateways(env):
        # A report that came in through Kannel (which then went down): the reply tries Kannel first, then the
        # phone; the alerts go along the alerts list (modem, phone), the `sms` step on the modem, which cannot,
        # so `sms_backup` takes them through the phone at once.
        response = httpx.post(
            f"{server}/kannel/sms",
            params={"id": "k-1", "from": CITIZEN, "to": "+62811000000", "secret": "s3cret-post"},
            content=b"KEBAKARAN di Jl. Diponegoro 12 Sisir",
        )
        assert response.status_code == 403  # modem has no SECRET set: Kannel's SMS are refused
        assert inbound() == []
        _phone_receives(phone_app, CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
        assert _texts(phone_app, CITIZEN)[0].startswith("Laporan No. 1 ")
        assert sorted(m.phone_numbers[0] for m in phone_app.messages if "Balas TERIMA 1" in m.text) == sorted(PMK)
        rows = outbound()
        assert all(m.gateway == "phone" for m in rows if m.status == "sent")
        assert any("modem" in (m.last_error or "") for m in rows)
        # An SMS to someone who never texted us: the replies list, modem first, which is down: the phone takes it.
        with unit_of_work() as session:
            queue_sms(session, to="+6281299990000", body="Mohon hubungi posko.", purpose="operator")
        drain_queue()
        assert _texts(phone_app, "+6281299990000") == ["Mohon hubungi posko."]
        [row] = [m for m in outbound() if m.to_number == "+6281299990000"]
        assert (row.status, row.gateway) == ("sent", "phone") and "modem: Kannel unreachable" in (row.last_error or "")


# --- bad input: forged, replayed, malformed -------------------------------------------------------------------


def _post(server: str, body: bytes, *, key: str = SIGNING_KEY, stamp: int | None = None) -> httpx.Response:
    ts = str(int(time.time()) if stamp is None else stamp)
    sig = hmac.new(key.encode(), body + ts.encode(), hashlib.sha256).hexdigest()
    return httpx.post(
        f"{server}/android-sms/webhook",
        content=body,
        headers={"Content-Type": "application/json", "X-Signature": sig, "X-Timestamp": ts},
    )


def _received(event_id: str = "ev-1", **payload: object) -> bytes:
    base = {"messageId": "abc", "message": "BANJIR di Pendem", "phoneNumber": CITIZEN, "simNumber": 1}
    return json.dumps(
        {"deviceId": "d", "event": "sms:received", "id": event_id, "payload": {**base, **payload}}
    ).encode()


def test_forged_replayed_and_malformed_events_are_refused(android: FakeAndroidGateway, server: str) -> None:
    assert _post(server, _received(), key="another-key").status_code == 403
    assert _post(server, _received(), stamp=int(time.time()) - 3600).status_code == 403  # replayed an hour later
    unsigned = httpx.post(f"{server}/android-sms/webhook", content=_received())
    assert unsigned.status_code == 403
    assert _post(server, b"{not json").status_code == 400
    assert _post(server, json.dumps({"event": "sms:received", "id": "x"}).encode()).status_code == 400
    assert _post(server, _received(message=None)).status_code == 400
    assert _post(server, _received(event_id="")).status_code == 400
    assert inbound() == []
    for _ in range(2):  # the app retries an event: stored once
        assert _post(server, _received(event_id="ev-9")).status_code == 200
    assert [m.provider_sid for m in inbound()] == ["android:ev-9"]
    assert _post(server, json.dumps({"event": "system:ping", "id": "p", "payload": {}}).encode()).status_code == 200


def test_a_report_for_a_message_we_never_sent_is_answered_and_ignored(android: FakeAndroidGateway, server: str) -> None:
    body = json.dumps(
        {"event": "sms:delivered", "id": "r1", "payload": {"messageId": "not-ours", "phoneNumber": CITIZEN}}
    )
    assert _post(server, body.encode()).status_code == 200
    assert outbound() == []
