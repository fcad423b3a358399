"""Issue 21's "done when", end to end through the real webhook, database, RQ and the fake Twilio gateway: BPBD
warns two desa, 3 residents answer AMAN and 1 BANTU, the BANTU becomes a routed critical ticket, the tally per
desa shows it (the JSON the map reads), and an alert for another ticket goes out while the warning waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.broadcasts import checkin, drafting
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.models import BroadcastRecipient, utcnow
from tests.accounts import make_token
from tests.broadcast_helpers import recipients, send_broadcasts, statuses
from tests.conftest import Phone, drain_queue
from tests.helpers import events, ticket
from tests.suite_city import members

BRANTAS = ["+6281300000101", "+6281300000102", "+6281300000103"]
PUNTEN = ["+6281300000201", "+6281300000202"]
FIRE_REPORTER = "+6281300000999"


def test_bpbd_warns_two_desa_aman_bantu_tally_and_alerts_on_time(phone: Phone, fake_twilio: Any, server: str) -> None:
    config = current_config()
    data = broadcast_data(config)
    for number in BRANTAS:
        phone.sms(number, "DAFTAR Sumberbrantas")
    for number in PUNTEN:
        phone.sms(number, "DAFTAR Punten")
    drain_queue()
    with unit_of_work() as session:
        draft = drafting.draft(
            session,
            config=config,
            hazard="landslide",
            areas=["Sumberbrantas", "Punten"],
            author="spv-a",
            checkin_minutes=30,
        )
        number = draft.id
    with unit_of_work() as session:
        assert drafting.approve(session, broadcast_id=number, approver="spv-b") == 5
    fake_twilio.reset()

    # A fire elsewhere while the warning waits to go: its alerts leave at once (the warning is not in RQ's queue).
    phone.sms(FIRE_REPORTER, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    fire = ticket(1)
    assert fire.category == "fire" and all(fake_twilio.sent_to(m) for m in members("PMK"))
    assert set(statuses(number).values()) == {"queued"}

    send_broadcasts()
    warned = {m.to: m.body for m in fake_twilio.messages if m.to in BRANTAS + PUNTEN}
    assert set(warned) == set(BRANTAS + PUNTEN)
    assert all(body.endswith(data.checkin["id"]) for body in warned.values())

    # Three AMAN (one in lower case), one BANTU with words; PUNTEN[1] never answers.
    for who, text in (
        (BRANTAS[0], "AMAN"),
        (BRANTAS[1], "aman."),
        (PUNTEN[0], "Aman"),
        (BRANTAS[2], "BANTU rumah retak, tanah bergerak"),
    ):
        phone.sms(who, text)
    drain_queue()
    assert fake_twilio.sent_to(BRANTAS[0])[-1].body == data.say("safe_noted", "id")
    help_row = next(r for r in recipients(number) if r.phone == BRANTAS[2])
    assert help_row.reply == "bantu" and help_row.ticket_id is not None
    bantu = ticket(help_row.ticket_id)
    assert (bantu.status, bantu.priority, bantu.category, bantu.desa, bantu.reporter_phone) == (
        "routed",
        "critical",
        "landslide",
        "Sumberbrantas",
        BRANTAS[2],
    )
    assert "rumah retak" in (bantu.text or "")
    assert fake_twilio.sent_to(BRANTAS[2])[-1].body == data.say("help_ticket", "id", number=bantu.id)
    assert all(f"No. {bantu.id}" in fake_twilio.sent_to(m)[-1].body for m in members("BPBD"))  # the crew alerted
    assert "alerted" in events(bantu.id)

    phone.sms(BRANTAS[2], "BANTU")  # asking again opens no second ticket
    drain_queue()
    assert fake_twilio.sent_to(BRANTAS[2])[-1].body == data.say("help_ticket", "id", number=bantu.id)

    token = make_token("bpbd-desk", "operator")
    tally = httpx.get(f"{server}/api/v1/broadcasts/{number}/tally", headers={"Authorization": f"Bearer {token}"})
    assert tally.status_code == 200
    body = tally.json()
    assert body["status"] == "done"
    by_desa = {d["desa"]: d for d in body["desa"]}
    assert {k: (v["aman"], v["bantu"], v["no_answer"], v["sent"]) for k, v in by_desa.items()} == {
        "Punten": (1, 0, 1, 2),
        "Sumberbrantas": (2, 1, 0, 3),
    }
    assert by_desa["Punten"]["lat"] == config.point_of("Punten")[0]  # type: ignore[index]

    # Who to call: the BANTU at once; the silent one only once the 30 minutes have passed.
    with unit_of_work() as session:
        assert checkin.to_call(session, broadcast_id=number) == [("Sumberbrantas", BRANTAS[2])]
        session.execute(update(BroadcastRecipient).values(sent_at=utcnow() - timedelta(minutes=31)))
    with unit_of_work() as session:
        assert checkin.to_call(session, broadcast_id=number) == [("Punten", PUNTEN[1]), ("Sumberbrantas", BRANTAS[2])]


def test_aman_without_a_warning_is_an_ordinary_sms(phone: Phone, fake_twilio: Any) -> None:
    phone.sms(BRANTAS[0], "AMAN")
    drain_queue()
    assert fake_twilio.sent_to(BRANTAS[0])[-1].body != broadcast_data(current_config()).say("safe_noted", "id")
