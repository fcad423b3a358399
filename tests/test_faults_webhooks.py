"""Fault tests at the webhooks: what Twilio (or anyone on the internet) may send us in a bad hour.

Duplicates and out-of-order webhooks, oversized, malformed and non-UTF-8 bodies, forged signatures, and a
flood of SMS from one number. Each bad request gets a clear 4xx (never a 500) and stores nothing; each good
one is stored exactly once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from hotline.db import unit_of_work
from hotline.features.calls.calls import call_log
from hotline.models import Call, InboundMessage, Ticket, TicketEvent
from hotline.settings import get_settings
from tests.conftest import AUTH_TOKEN, Caller, Phone, drain_queue
from tests.helpers import count, inbound, outbound

CITIZEN = "+6281234567890"


# --- duplicates and order ----------------------------------------------------------------------------------


def test_the_same_sms_webhook_ten_times_at_once_is_one_report(phone: Phone, fake_twilio: Any) -> None:
    payload = phone.payload(CITIZEN, "BANJIR di Temas")
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: phone.post("/twilio/sms", payload).status_code, range(10)))
    assert answers == [200] * 10
    drain_queue()
    assert count(InboundMessage) == 1 and count(Ticket) == 1
    assert len(fake_twilio.sent_to(CITIZEN)) == 1  # one reply


def _action(response: httpx.Response, verb: str = "Gather") -> str:
    """The action URL of the TwiML's <Gather> (or <Record>), as Twilio would call it."""
    found = re.search(rf'<{verb} action="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1).replace("&amp;", "&")


def _post_to(caller: Caller, url: str, fixture: str, **params: str) -> httpx.Response:
    path = url.removeprefix(caller.phone.base_url)
    return caller.phone.post(path, caller.payload(fixture, **params))


def _path(caller: Caller) -> list[tuple[str, str | None]]:
    with unit_of_work() as s:
        call = s.scalar(select(Call).where(Call.provider_call_id == caller.sid))
        assert call is not None
        return [(e.node, e.input) for e in call_log(s, call_id=call.id)]


def test_a_duplicated_gather_webhook_steps_the_call_once_and_gets_the_same_twiml(phone: Phone) -> None:
    caller = Caller(phone)
    welcome = caller.dial()
    menu = _post_to(caller, _action(welcome), "gather_digits", Digits="2")  # a report
    category_url = _action(menu)
    first = _post_to(caller, category_url, "gather_digits", Digits="4")  # roads
    path_after_first = _path(caller)
    again = _post_to(caller, category_url, "gather_digits", Digits="4")  # Twilio sends it again
    assert again.status_code == 200 and again.text == first.text  # the same TwiML, replayed
    assert _path(caller) == path_after_first  # not stepped twice
    assert path_after_first.count(("routine", "4")) == 1

    late = _post_to(caller, _action(welcome), "gather_empty")  # a webhook for an older turn, arriving late
    assert late.text == first.text and _path(caller) == path_after_first
    nxt = _post_to(caller, _action(first), "gather_digits", Digits="2")  # the call goes on from where it is
    assert ("kecamatan", "2") in _path(caller) and nxt.text != first.text


def test_delivery_callbacks_out_of_order_never_move_a_status_back(phone: Phone, fake_twilio: Any) -> None:
    assert phone.sms(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12").status_code == 200
    drain_queue()
    [reply] = fake_twilio.sent_to(CITIZEN)
    for status in ("delivered", "sent", "queued", "delivered"):  # 'delivered' overtook 'sent'; then a repeat
        assert fake_twilio.report_status(reply.sid, status).status_code == 204
    [row] = [m for m in outbound() if m.to_number == CITIZEN]
    assert row.status == "delivered"


# --- bodies ------------------------------------------------------------------------------------------------


def test_an_oversized_body_gets_413_before_it_is_read(server: str) -> None:
    limit = get_settings().max_body_bytes
    big = urlencode({"From": CITIZEN, "Body": "x" * limit, "MessageSid": "SMbig"})
    answer = httpx.post(
        f"{server}/twilio/sms", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413 and str(limit) in answer.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(limit // 4096 + 2):
            yield b"Body=" + b"y" * 4091

    chunked = httpx.post(
        f"{server}/twilio/sms", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert chunked.status_code == 413
    assert count(InboundMessage) == 0


def test_malformed_bodies_get_4xx_and_store_nothing(phone: Phone, server: str) -> None:
    signed = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(f"{server}/twilio/sms", {})}
    bodies = [
        ("multipart/form-data", b"--x\r\nnot a part"),  # no boundary in the header
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--"),
        ("application/x-www-form-urlencoded", b"From=" + b"&" * 500),  # too many fields
        ("application/json", b'{"From": "+6281234567890", "Body": "KEBAKARAN"}'),
    ]
    answers = []
    for content_type, body in bodies:
        for path in ("/twilio/sms", "/twilio/voice", "/twilio/voice/gather"):
            headers = {"Content-Type": content_type, **signed}
            answers.append(httpx.post(f"{server}{path}", content=body, headers=headers).status_code)
    assert all(400 <= code < 500 for code in answers), answers
    assert count(InboundMessage) == 0 and count(Call) == 0


def test_non_utf8_and_control_characters_are_stored_and_become_a_report(phone: Phone, fake_twilio: Any) -> None:
    """A GSM gateway or a broken phone sends Latin-1 bytes; they arrive as U+FFFD, the report is kept."""
    url = f"{phone.base_url}/twilio/sms"
    raw = b"From=%2B6281234567890&MessageSid=SMlatin1&Body=KEBAKARAN+di+caf%E9+%FF%FE+Jl.+Diponegoro"
    decoded = {"From": CITIZEN, "MessageSid": "SMlatin1", "Body": "KEBAKARAN di caf\ufffd \ufffd\ufffd Jl. Diponegoro"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, decoded)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    assert httpx.post(url, content=raw, headers=headers).status_code == 200
    drain_queue()
    [stored] = inbound()
    assert stored.status == "processed" and "\ufffd" in stored.body
    with unit_of_work() as s:
        t = s.get(Ticket, stored.ticket_id)
        assert t is not None and t.category == "fire"


# --- who may call us -----------------------------------------------------------------------------------------


def test_forged_voice_webhooks_are_refused_and_change_nothing(phone: Phone) -> None:
    caller = Caller(phone)
    params = caller.payload("incoming")
    assert phone.post("/twilio/voice", params, signature="").status_code == 403
    assert phone.post("/twilio/voice", params, token="another-accounts-token").status_code == 403
    assert count(Call) == 0
    assert caller.dial().status_code == 200
    before = _path(caller)
    forged = caller.payload("gather_digits", Digits="1")
    assert phone.post("/twilio/voice/gather", forged, token="another-accounts-token").status_code == 403
    sig = phone.post("/twilio/voice/gather", caller.payload("gather_digits", Digits="4")).request.headers
    assert (
        phone.post(
            "/twilio/voice/status", caller.payload("status_completed"), signature=sig["X-Twilio-Signature"]
        ).status_code
        == 403
    )
    assert _path(caller)[: len(before)] == before


# --- a flood from one number ----------------------------------------------------------------------------------


def test_a_flood_from_one_number_is_kept_and_merged_while_other_citizens_go_through(
    phone: Phone, fake_twilio: Any
) -> None:
    flooder, others = "+6281299990000", [f"+62812888800{n:02d}" for n in range(5)]
    per_minute = get_settings().sms_per_minute
    flood = [f"KEBAKARAN di Jl. Diponegoro, pesan {n}" for n in range(30)]
    for n, text in enumerate(flood):
        assert phone.sms(flooder, text).status_code == 200
        if n % 6 == 0:  # the other citizens' reports arrive in the middle of the flood
            desa = ("Songgokerto", "Sisir", "Temas", "Punten", "Beji")[n // 6]  # five landslides, not one merged
            assert phone.sms(others[n // 6], f"LONGSOR di {desa} {n}").status_code == 200
    drain_queue()

    rows = inbound()
    assert len(rows) == len(flood) + len(others) and {m.status for m in rows} == {"processed"}  # nothing dropped
    with unit_of_work() as s:
        flood_tickets = s.scalars(select(Ticket).where(Ticket.reporter_phone == flooder).order_by(Ticket.id)).all()
        merged = s.scalars(select(TicketEvent.note).where(TicketEvent.kind == "flood_merged")).all()
        other_tickets = s.scalars(select(Ticket).where(Ticket.reporter_phone.in_(others))).all()
    # the first `per_minute` were handled as usual: a report, then the same person's same report again, which
    # joins their open ticket as added info (duplicate merging, routing/merging.yaml) instead of a new ticket
    assert len(flood_tickets) == 1
    assert sum(m.outcome == "info_added" for m in rows if m.from_e164 == flooder) == per_minute - 1
    assert len(merged) == len(flood) - per_minute  # the rest joined the open ticket
    assert all(text in flood_tickets[-1].text for text in flood[per_minute:])  # every word kept
    replies = [(m.purpose, m.status, m.attempts, m.last_error) for m in outbound() if m.to_number == flooder]
    assert len(fake_twilio.sent_to(flooder)) == per_minute, replies  # no reply per merged message
    assert sorted(t.reporter_phone for t in other_tickets) == others  # everyone else: a ticket each
    assert all(len(fake_twilio.sent_to(number)) == 1 for number in others)  # and their reply
