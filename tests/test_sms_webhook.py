"""POST /twilio/sms: signature, idempotency, bad input; the report is stored before anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hotline.core.queue import queue
from hotline.models import InboundMessage, Ticket
from tests.conftest import AUTH_TOKEN, FIXTURES, Phone, drain_queue
from tests.helpers import count, inbound, scrape


def test_captured_payload_is_stored_and_answered_with_empty_twiml(phone: Phone) -> None:
    params = json.loads((FIXTURES / "twilio" / "inbound_sms.json").read_text())
    response = phone.post("/twilio/sms", params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    [stored] = inbound()
    assert (stored.provider_sid, stored.from_e164, stored.body, stored.status) == (
        params["MessageSid"],
        "+6281234567890",
        "KEBAKARAN di Jl. Diponegoro 12 Sisir",
        "received",
    )
    assert stored.payload["FromCountry"] == "ID"
    assert queue().job_ids == [f"inbound-{stored.id}"]


def test_redelivered_webhook_creates_nothing_new(phone: Phone, fake_twilio: Any) -> None:
    for _ in range(3):
        assert (
            phone.sms("+6281234567890", "BANJIR di Temas", sid="SMsame000000000000000000000000001").status_code == 200
        )
    assert count(InboundMessage) == 1
    assert len(queue().job_ids) == 1
    drain_queue()
    assert count(Ticket) == 1
    assert len(fake_twilio.sent_to("+6281234567890")) == 1


def test_missing_or_forged_signature_is_refused_and_nothing_stored(phone: Phone) -> None:
    params = phone.payload("+6281234567890", "KEBAKARAN di Jl. Diponegoro")
    assert phone.post("/twilio/sms", params, signature="").status_code == 403
    assert phone.post("/twilio/sms", params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert phone.post("/twilio/sms", params, token="another-accounts-token").status_code == 403
    tampered = dict(params, Body="something else")
    sig = phone.post("/twilio/sms", params).request.headers["X-Twilio-Signature"]
    assert phone.post("/twilio/sms", tampered, signature=sig).status_code == 403
    assert count(InboundMessage) == 1  # only the one correctly signed request


def test_signature_uses_the_public_url_not_the_socket_address(phone: Phone) -> None:
    params = phone.payload("+6281234567890", "BANJIR")
    from twilio.request_validator import RequestValidator

    wrong_url_sig = RequestValidator(AUTH_TOKEN).compute_signature("https://proxy.example/twilio/sms", params)
    assert phone.post("/twilio/sms", params, signature=wrong_url_sig).status_code == 403


def test_bad_input_gets_a_clear_error_not_a_crash(phone: Phone) -> None:
    params = phone.payload("+6281234567890", "x")
    del params["MessageSid"], params["SmsSid"], params["SmsMessageSid"]
    response = phone.post("/twilio/sms", params)
    assert response.status_code == 400 and "MessageSid" in response.text
    garbage = phone.client.post(
        phone.base_url + "/twilio/sms",
        content=b"\xff\xfe\x00not a form",
        headers={"Content-Type": "multipart/form-data; boundary=zzz", "X-Twilio-Signature": "x"},
    )
    assert garbage.status_code in (400, 403)
    assert count(InboundMessage) == 0


def test_alphanumeric_sender_and_non_ascii_text_are_kept(phone: Phone) -> None:
    assert phone.sms("TELKOMSEL", "Pohon tumbang 🌳 di Jl. Panglima Sudirman").status_code == 200
    [stored] = inbound()
    assert stored.from_e164 == "TELKOMSEL"
    assert "🌳" in stored.body


def test_health_and_readiness(phone: Phone) -> None:
    assert phone.client.get(phone.base_url + "/healthz").json() == {"status": "ok"}
    assert phone.client.get(phone.base_url + "/readyz").json() == {"database": "ok", "redis": "ok", "spool": "empty"}
    phone.sms("+6281234567890", "BANJIR di Temas")
    drain_queue()
    metrics = scrape(phone.base_url)
    assert 'hotline_tickets{category="flood",channel="sms",status="routed"} 1.0' in metrics
    assert 'hotline_inbound_sms{outcome="ticket_created",status="processed"} 1.0' in metrics
    assert 'hotline_outbound_sms{purpose="alert",status="sent"} 3.0' in metrics
    assert 'hotline_queue_jobs{state="queued"} 0.0' in metrics
    assert 'hotline_webhook_seconds_count{route="/twilio/sms",status="200"}' in metrics


def test_a_database_connection_that_died_is_replaced_and_the_report_still_stored(phone: Phone) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from hotline.db import get_engine

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no server connection to lose")
    assert phone.sms("+6281234567890", "BANJIR di Temas").status_code == 200  # the pool now holds connections
    admin_engine = create_engine(engine.url, poolclass=NullPool)
    with admin_engine.connect() as admin:  # what a PostgreSQL restart does to every pooled connection
        killed = admin.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert killed >= 1 and engine.pool.checkedin() >= 1  # the next request gets a dead connection
    response = phone.sms("+6281234567891", "KEBAKARAN di Jl. Diponegoro")
    assert response.status_code == 200, response.text
    assert [m.from_e164 for m in inbound()] == ["+6281234567890", "+6281234567891"]


def test_the_first_job_after_a_database_restart_is_processed_not_left_for_the_sweeper(phone: Phone) -> None:
    """Every pooled connection dies with a PostgreSQL restart; the first inbound job after it (the spool's
    replay, typically) retries once on a fresh one instead of failing and waiting for the sweeper's grace."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from hotline.db import get_engine
    from hotline.jobs.inbound import process_inbound_sms

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no server connection to lose")
    with engine.connect() as conn:  # the pool holds a connection, as a worker's does between jobs
        conn.execute(text("SELECT 1"))
    from hotline.channels.gateway import InboundSms
    from hotline.channels.gateway_sink import take_inbound

    new_id = take_inbound(InboundSms("twilio", "SMrestart1", "+6281234567892", "KEBAKARAN di Temas"), queue=False)
    assert new_id is not None
    with create_engine(engine.url, poolclass=NullPool).connect() as admin:
        admin.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert process_inbound_sms(new_id) == "ticket_created"
