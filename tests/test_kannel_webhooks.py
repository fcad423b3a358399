"""What Kannel's requests to us may get wrong, against the real app: malformed or unauthorised citizen SMS
(a clear 4xx, nothing stored), delivery reports for messages we do not know (no 500), and a token of one
message presented for another (refused: the SID fallback that marked message Y delivered is gone)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from hotline.channels.kannel.sms_client import dlr_token, dlr_url
from hotline.db import unit_of_work
from hotline.models import OutboundMessage
from hotline.settings import get_settings
from tests.conftest import AUTH_TOKEN, Phone
from tests.gateway_env import CITIZEN, MODEM, gateways
from tests.helpers import inbound, outbound

SECRET = "kannel-post-secret-for-tests"


@pytest.fixture
def kannel(server: str) -> Iterator[str]:
    env = {
        "HOTLINE_SMS_GATEWAYS": "kannel",
        "HOTLINE_GATEWAY_KANNEL_URL": "http://127.0.0.1:9/cgi-bin/sendsms",
        "HOTLINE_GATEWAY_KANNEL_USERNAME": "hotline",
        "HOTLINE_GATEWAY_KANNEL_PASSWORD": "kannel-password",
        "HOTLINE_GATEWAY_KANNEL_SECRET": SECRET,
    }
    with gateways(env):
        yield server


def _sms(server: str, params: dict[str, str], body: bytes = b"BANJIR di Pendem", **kw: object) -> httpx.Response:
    return httpx.post(f"{server}/kannel/sms", params=params, content=body, **kw)  # type: ignore[arg-type]


GOOD = {"secret": SECRET, "id": "7a1e", "from": CITIZEN, "to": MODEM, "smsc": "modem1"}


def test_malformed_or_unauthorised_sms_are_refused_and_nothing_is_stored(kannel: str) -> None:
    cases = [
        ({**GOOD, "id": ""}, 400, "id is missing"),
        ({k: v for k, v in GOOD.items() if k != "from"}, 400, "from is missing"),
        ({**GOOD, "id": "x" * 80}, 400, "message id must be"),
        ({**GOOD, "secret": "wrong"}, 403, "secret"),
        ({**GOOD, "secret": AUTH_TOKEN}, 403, "secret"),  # Twilio's token is no key to Kannel's door
        ({k: v for k, v in GOOD.items() if k != "secret"}, 403, "secret"),
        ({**GOOD, "gateway": "nosuch"}, 404, "no Kannel gateway named"),
    ]
    for params, status, says in cases:
        response = _sms(kannel, params)
        assert (response.status_code, says in response.text) == (status, True), (params, response.text)
    assert inbound() == []
    # The same request done right is stored, with an empty answer (nothing for Kannel to send back).
    ok = _sms(kannel, GOOD)
    assert (ok.status_code, ok.text) == (200, "")
    assert [(m.provider_sid, m.body) for m in inbound()] == [("kannel:7a1e", "BANJIR di Pendem")]


def test_get_url_form_and_a_ucs2_body_are_read(kannel: str) -> None:
    response = httpx.get(f"{kannel}/kannel/sms", params={**GOOD, "id": "g1", "text": "KEBAKARAN di Songgokerto"})
    assert response.status_code == 200
    utf16 = "BANJIR di Pendém".encode("utf-16-be")
    response = _sms(kannel, {**GOOD, "id": "u1"}, utf16, headers={"Content-Type": "text/plain; charset=UTF-16BE"})
    assert response.status_code == 200
    assert [m.body for m in inbound()] == ["KEBAKARAN di Songgokerto", "BANJIR di Pendém"]


def test_a_source_outside_the_allow_list_is_refused(kannel: str) -> None:
    import os

    os.environ["HOTLINE_GATEWAY_KANNEL_ALLOW"] = "10.0.0.0/8"
    get_settings.cache_clear()
    response = _sms(kannel, GOOD)
    assert response.status_code == 403 and "may not use gateway kannel" in response.text
    assert inbound() == []


def test_no_secret_configured_refuses_every_sms(kannel: str) -> None:
    import os

    del os.environ["HOTLINE_GATEWAY_KANNEL_SECRET"]
    get_settings.cache_clear()
    response = _sms(kannel, GOOD)
    assert response.status_code == 403 and "HOTLINE_GATEWAY_KANNEL_SECRET is not set" in response.text


# --- delivery reports ------------------------------------------------------------------------------------------


def _sent(to: str, sid: str) -> int:
    with unit_of_work() as session:
        row = OutboundMessage(
            to_number=to, body="x", purpose="reply", status="sent", provider="kannel", gateway="kannel"
        )
        row.provider_sid = f"kannel:{sid}"
        session.add(row)
        session.flush()
        return row.id


def _report(url: str, status: int) -> httpx.Response:
    return httpx.get(url.replace("%d", str(status)).replace("%A", "ACK"))


def _status(message_id: int) -> str:
    return next(m.status for m in outbound() if m.id == message_id)


def test_a_token_is_good_for_its_own_message_and_send_only(kannel: str) -> None:
    secret, base = get_settings().secret_key, kannel
    x, y = _sent("+6285700000101", "KNx"), _sent("+6285700000102", "KNy")
    url_x = dlr_url(base, secret, x, "KNx", "kannel")
    query = dict(parse_qsl(urlsplit(url_x).query))
    token_x = query["token"]

    def dlr(**params: str) -> httpx.Response:
        return httpx.get(f"{base}/kannel/dlr", params={"gateway": "kannel", "status": "1", **params})

    assert dlr(id=str(y), sid="KNx", token=token_x).status_code == 403  # X's token for message Y
    assert dlr(id=str(x), sid="KNy", token=token_x).status_code == 403  # X's token with Y's send
    # The token of before (bound to the id only): the report must still be about that message's own send.
    legacy_x = dlr_token(secret, x)
    refused = dlr(id=str(x), sid="KNy", token=legacy_x)
    assert refused.status_code == 409  # was: Y marked delivered through the SID fallback
    assert (_status(x), _status(y)) == ("sent", "sent")
    assert dlr(id=str(x), sid="KNx", token=legacy_x).status_code == 200
    assert _report(url_x, 1).status_code == 200
    assert (_status(x), _status(y)) == ("delivered", "sent")


def test_reports_we_cannot_use_get_a_clear_answer_never_a_500(kannel: str) -> None:
    secret, base = get_settings().secret_key, kannel
    unknown = dlr_url(base, secret, 999_999, "KNgone", "kannel")  # a message deleted, or of another install
    assert _report(unknown, 1).status_code == 200
    x = _sent("+6285700000101", "KNx")
    url = dlr_url(base, secret, x, "KNx", "kannel")
    assert httpx.get(url.replace("%d", "").replace("%A", "")).status_code == 400  # no report type
    assert httpx.get(url.replace("%d", "delivered").replace("%A", "")).status_code == 400
    assert httpx.get(f"{base}/kannel/dlr?id=abc&token=x").status_code == 403
    assert _status(x) == "sent"
    for report in (8, 1, 8):  # out of order and repeated: never back down the ladder
        assert _report(url, report).status_code == 200
    assert _status(x) == "delivered"


def test_a_twilio_status_callback_cannot_reach_another_message_by_its_sid(kannel: str, phone: Phone) -> None:
    import os

    os.environ["TWILIO_AUTH_TOKEN"] = AUTH_TOKEN  # Twilio's webhooks are signed with it
    get_settings.cache_clear()
    x, y = _sent("+6285700000101", "KNx"), _sent("+6285700000102", "KNy")
    with unit_of_work() as session:
        row = session.get(OutboundMessage, y)
        assert row is not None
        row.provider_sid = "SMy0000000000000000000000000000000"
    form = {"MessageSid": "SMy0000000000000000000000000000000", "MessageStatus": "failed", "AccountSid": "AC"}
    assert phone.post(f"/twilio/sms/status?id={x}", form).status_code == 204
    assert (_status(x), _status(y)) == ("sent", "sent")
