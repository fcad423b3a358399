"""Early warnings to subscribers who came through Twilio's WhatsApp (issue 20): their DAFTAR on /twilio/sms
(`From=whatsapp:+62...`) stores them as `twilio_whatsapp`, and the broadcast sender reaches them back on WhatsApp
through Twilio: free text within their 24-hour window, the city's `broadcast` template (ContentSid) past it,
SMS when neither can. Migration 0023 moves those stored as SMS subscribers before. Through the real webhook,
database and sender, against the fake Twilio (which fails a free-form WhatsApp message outside the window)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from hotline import clock
from hotline.channels.gateway import OutgoingSms, SendResult
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.broadcasts import drafting
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.features.broadcasts.subscribers import subscribe
from hotline.jobs.broadcast_sender import Sender, build_route
from hotline.migrate import upgrade
from hotline.models import Subscriber
from tests.broadcast_helpers import recipients, send_broadcasts
from tests.clocked import set_clock
from tests.conftest import HOTLINE_NUMBER, Phone, drain_queue

pytestmark = pytest.mark.usefixtures("real_clock")

CITIZEN = "+6281234567890"
WA_CITIZEN = f"whatsapp:{CITIZEN}"
WA_SENDER = "+14155238886"  # the Twilio WhatsApp sender they wrote to
DESA = "Sumberbrantas"
BROADCAST_SID = "HXb0a1c2d3e4f5061728394a5b6c7d8e9f"  # tests/city/sms/whatsapp.yaml, broadcast
T0 = datetime(2030, 3, 10, 2, 0, tzinfo=UTC)


def _daftar_on_whatsapp(phone: Phone, fake_twilio: Any, number: str = CITIZEN) -> None:
    params = phone.payload(f"whatsapp:{number}", f"DAFTAR {DESA.lower()}")
    params["To"] = f"whatsapp:{WA_SENDER}"
    fake_twilio.whatsapp_inbound(number)  # Twilio sees it too: their window opens there
    assert phone.post("/twilio/sms", params).status_code == 200
    drain_queue()


def _approved() -> int:
    with unit_of_work() as session:
        number = drafting.draft(session, config=current_config(), hazard="landslide", areas=[DESA], author="spv-a").id
    with unit_of_work() as session:
        drafting.approve(session, broadcast_id=number, approver="spv-b")
    return number


def test_daftar_through_twilio_whatsapp_stores_a_whatsapp_subscriber_warned_on_whatsapp(
    phone: Phone, fake_twilio: Any
) -> None:
    set_clock(T0)
    _daftar_on_whatsapp(phone, fake_twilio)
    with unit_of_work() as session:
        row = session.scalar(select(Subscriber).where(Subscriber.phone == CITIZEN))
        assert row is not None and (row.channel, row.source) == ("twilio_whatsapp", "twilio_whatsapp")
    [answer] = fake_twilio.sent_to(WA_CITIZEN)  # "subscribed", on WhatsApp
    assert answer.body == broadcast_data(current_config()).say("subscribed", "id", desa=DESA)
    fake_twilio.reset()
    fake_twilio.whatsapp_inbound(CITIZEN)  # (the reset forgot it; it is still within the hour)
    number = _approved()
    send_broadcasts()
    [warning] = fake_twilio.messages
    assert (warning.to, warning.from_) == (WA_CITIZEN, f"whatsapp:{WA_SENDER}")
    assert DESA in warning.body and "ContentSid" not in warning.params and warning.error_code is None
    [row] = recipients(number)
    assert (row.status, row.gateway, row.channel) == ("sent", "twilio", "twilio_whatsapp")


def test_past_their_window_the_warning_is_the_approved_template(phone: Phone, fake_twilio: Any) -> None:
    fake_twilio.add_content("PERINGATAN DINI: {{1}}", sid=BROADCAST_SID)
    set_clock(T0)
    _daftar_on_whatsapp(phone, fake_twilio)
    clock.advance(timedelta(hours=24, minutes=1))
    fake_twilio.reset()
    number = _approved()
    send_broadcasts()
    [warning] = fake_twilio.messages
    assert (warning.to, warning.from_, warning.params["ContentSid"]) == (
        WA_CITIZEN,
        f"whatsapp:{WA_SENDER}",
        BROADCAST_SID,
    )
    variable = json.loads(warning.params["ContentVariables"])["1"]
    assert DESA in variable and warning.body == f"PERINGATAN DINI: {variable}" and "Body" not in warning.params
    assert warning.error_code is None  # Twilio takes a template outside the window (free text: 63016)
    assert recipients(number)[0].status == "sent"
    assert fake_twilio.sent_to(CITIZEN) == []  # no SMS besides


class DiesAfter:
    """The real Twilio gateway, and the sender process dying (SystemExit) after `sends` messages reached Twilio."""

    def __init__(self, real: Any, sends: int):
        self.real, self.left = real, sends

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send(self, sms: OutgoingSms) -> SendResult:
        if self.left == 0:
            raise SystemExit("killed")
        self.left -= 1
        return self.real.send(sms)  # type: ignore[no-any-return]


def test_a_sender_dying_mid_batch_finds_its_twilio_templates_again_no_doubles(phone: Phone, fake_twilio: Any) -> None:
    fake_twilio.add_content("PERINGATAN DINI: {{1}}", sid=BROADCAST_SID)
    set_clock(T0)
    others = ["+6281200000701", "+6281200000702"]
    for number in others:
        _daftar_on_whatsapp(phone, fake_twilio, number)
    clock.advance(timedelta(hours=24, minutes=1))
    fake_twilio.reset()
    broadcast = _approved()
    route = build_route()
    route.gateways["twilio"] = DiesAfter(route.gateways["twilio"], 1)
    with pytest.raises(SystemExit):
        Sender(route, 50).turn()
    assert sorted(r.status for r in recipients(broadcast)) == ["sending", "sending"]  # Twilio has one of them
    send_broadcasts()  # the next sender asks Twilio (find_sent) first
    assert Counter(m.to for m in fake_twilio.messages) == {f"whatsapp:{n}": 1 for n in others}
    assert all(m.params.get("ContentSid") == BROADCAST_SID for m in fake_twilio.messages)
    assert {r.status for r in recipients(broadcast)} == {"sent"}


def test_imported_with_no_whatsapp_sender_known_the_warning_goes_by_sms(fake_twilio: Any) -> None:
    """A CSV row on `twilio_whatsapp` who never wrote, and no TWILIO_WHATSAPP_FROM: no WhatsApp number to send
    from, so the broadcasts route's SMS takes it."""
    with unit_of_work() as session:
        subscribe(
            session,
            phone=CITIZEN,
            desa=DESA,
            kecamatan=current_config().kecamatan_of(DESA) or "",
            language="id",
            channel="twilio_whatsapp",
            source="csv",
            consent="test",
        )
    number = _approved()
    send_broadcasts()
    [warning] = fake_twilio.messages
    assert (warning.to, warning.from_) == (CITIZEN, HOTLINE_NUMBER)
    assert recipients(number)[0].status == "sent"


def test_migration_0023_moves_twilio_whatsapp_subscribers_stored_as_sms(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/before.db"
    upgrade(url, "0022")
    engine = create_engine(url)
    now = "2026-12-01 02:00:00.000000"
    with engine.begin() as conn:
        for n, (payload, sender) in enumerate(
            [({"twilio_channel": "whatsapp"}, "+6281200000001"), ({}, "+6281200000002")], start=1
        ):
            conn.execute(
                text(
                    "INSERT INTO inbound_messages (id, provider, provider_sid, from_raw, from_e164, to_number, body,"
                    " payload, status, received_at) VALUES (:id, 'twilio', :sid, :f, :f, '', 'DAFTAR sisir',"
                    " :payload, 'processed', :now)"
                ),
                {"id": n, "sid": f"SM{n}", "f": sender, "payload": json.dumps(payload), "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO subscribers (phone, desa, kecamatan, language, channel, source, consent, active,"
                    " created_at, updated_at) VALUES (:f, 'Sisir', 'Batu', 'id', 'sms', 'sms', :consent, 1, :now, :now)"
                ),
                {"f": sender, "consent": f"sms {n}: DAFTAR sisir", "now": now},
            )
        conn.execute(
            text(
                "INSERT INTO subscribers (phone, desa, kecamatan, language, channel, source, consent, active,"
                " created_at, updated_at) VALUES ('+6281200000003', 'Sisir', 'Batu', 'id', 'sms', 'csv', 'form 12',"
                " 1, :now, :now)"
            ),
            {"now": now},
        )
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT phone, channel, source FROM subscribers ORDER BY phone")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("+6281200000001", "twilio_whatsapp", "twilio_whatsapp"),  # their DAFTAR came on WhatsApp through Twilio
        ("+6281200000002", "sms", "sms"),
        ("+6281200000003", "sms", "csv"),
    ]
