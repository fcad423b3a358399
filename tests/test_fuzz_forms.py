"""Hypothesis against what strangers can send that the OpenAPI document does not describe (issue 18): forms,
query strings and headers of the gateways' webhooks and the console, and JSON that is not quite JSON (NaN,
Infinity, 1e400, lone surrogates). Whatever comes, the answer is never a 5xx. Every request here is one the
review's 500s were made of: Unicode digits ('²'), 5,000-digit numbers, non-ASCII secrets, dates at the ends
of the calendar. Derandomized, so a failure is reproducible; sized to run in about 10 s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.channels.kannel.sms_client import dlr_token
from hotline.settings import get_settings
from tests.accounts import console_login, csrf_of, make_token, make_user
from tests.conftest import Phone
from tests.gateway_env import gateways

SECRET = "kannel-post-secret-for-tests"
FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)

# Text with everything odd in it: Unicode digits and numbers ('²', '٣'), controls, NUL, astral characters.
odd_text = st.text(st.characters(codec="utf-8"), max_size=40)
# What an HTTP header can carry (h11 refuses controls and surrounding blanks before it is sent)
header_text = odd_text.map(lambda s: "".join(c for c in s if c.isprintable()).strip())
# ... and lone surrogates, which only JSON escapes and Python str can carry.
any_text = st.text(st.characters(), max_size=40)
digits = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),  # '²', '٣', '߂' ...
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),  # int() refuses past 4,300 digits
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: json.dumps(f, allow_nan=True)),
    st.sampled_from(["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "0", "-91", "180.0000001"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
w3c_dates = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=offsets).map(
        datetime.isoformat
    ),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "2026-02-30T00:00:00Z", "x"]),
    odd_text,
)


def never_5xx(answer: httpx.Response, what: object) -> None:
    assert answer.status_code < 500, (what, answer.status_code, answer.text[:300])


@pytest.fixture
def kannel(server: str) -> Iterator[str]:
    env = {
        "HOTLINE_SMS_GATEWAYS": "kannel,phone",
        "HOTLINE_GATEWAY_KANNEL_URL": "http://127.0.0.1:9/cgi-bin/sendsms",
        "HOTLINE_GATEWAY_KANNEL_USERNAME": "hotline",
        "HOTLINE_GATEWAY_KANNEL_PASSWORD": "kannel-password",
        "HOTLINE_GATEWAY_KANNEL_SECRET": SECRET,
        "HOTLINE_GATEWAY_PHONE_TYPE": "android",
        "HOTLINE_GATEWAY_PHONE_URL": "http://127.0.0.1:9",
        "HOTLINE_GATEWAY_PHONE_USERNAME": "u",
        "HOTLINE_GATEWAY_PHONE_PASSWORD": "p",
        "HOTLINE_GATEWAY_PHONE_SIGNING_KEY": "k" * 20,
    }
    with gateways(env):
        yield server


def test_gateway_webhooks_never_answer_5xx(kannel: str) -> None:
    client = httpx.Client(base_url=kannel, timeout=10)
    key = get_settings().secret_key

    @FUZZ
    @given(raw_id=digits, sid=odd_text, status=digits, answer=odd_text, good_token=st.booleans(), token=odd_text)
    def dlr(raw_id: str, sid: str, status: str, answer: str, good_token: bool, token: str) -> None:
        if good_token and raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 4000:
            token = dlr_token(key, int(raw_id), sid)
        params = {"id": raw_id, "sid": sid, "status": status, "answer": answer, "token": token}
        never_5xx(client.get("/kannel/dlr", params=params), params)

    @FUZZ
    @given(
        secret=st.one_of(st.just(SECRET), odd_text),
        message_id=odd_text,
        sender=odd_text,
        body=st.binary(max_size=200),
        charset=st.one_of(st.just(""), header_text.filter(str.isascii)),
    )
    def sms(secret: str, message_id: str, sender: str, body: bytes, charset: str) -> None:
        params = {"secret": secret, "id": message_id, "from": sender, "to": "+62811000000"}
        headers = {"Content-Type": f"text/plain; charset={charset}".encode("latin-1", "replace")}
        never_5xx(client.post("/kannel/sms", params=params, content=body, headers=headers), params)

    @FUZZ
    @given(stamp=digits, signature=header_text, body=st.binary(max_size=100))
    def android(stamp: str, signature: str, body: bytes) -> None:
        headers = {"X-Timestamp": stamp.encode(), "X-Signature": signature.encode()}
        never_5xx(client.post("/android-sms/webhook", content=body, headers=headers), (stamp[:20], signature))

    dlr()
    sms()
    android()


def test_signed_twilio_sms_with_any_text_never_answers_5xx(phone: Phone) -> None:
    @FUZZ
    @given(sender=odd_text, body=odd_text)
    def signed(sender: str, body: str) -> None:
        never_5xx(phone.sms(sender or "+6281234567890", body), (sender, body))

    signed()


def test_console_forms_never_answer_5xx(server: str) -> None:
    make_user("ani", "supervisor")
    client = console_login(server, "ani")
    csrf = csrf_of(client.get("/console").text)
    anonymous = httpx.Client(base_url=server, timeout=10)
    login_csrf = csrf_of(anonymous.get("/console/login").text)

    @settings(FUZZ, max_examples=10)  # each is an argon2 check: the slowest request there is
    @given(username=odd_text, password=odd_text, good=st.booleans(), token=odd_text)
    def login(username: str, password: str, good: bool, token: str) -> None:
        data = {"username": username, "password": password, "csrf": login_csrf if good else token}
        never_5xx(anonymous.post("/console/login", data=data), data)

    @FUZZ
    @given(
        action=st.sampled_from(
            [
                "/console/tickets",
                "/console/tickets/1/edit",
                "/console/tickets/1/note",
                "/console/tickets/1/reassign",
                "/console/tickets/1/sms",
                "/console/shield/clear",
                "/console/me/answer-at",
            ]
        ),
        fields=st.dictionaries(
            st.sampled_from(
                [
                    "reporter",
                    "text",
                    "category",
                    "location",
                    "kecamatan",
                    "desa",
                    "status",
                    "note",
                    "agency",
                    "to",
                    "body",
                    "phone",
                    "answer_at",
                    "urgent",
                ]
            ),
            odd_text,
            max_size=6,
        ),
        good=st.booleans(),
        token=odd_text,
    )
    def forms(action: str, fields: dict[str, str], good: bool, token: str) -> None:
        answer = client.post(action, data={**fields, "csrf": csrf if good else token})
        never_5xx(answer, (action, fields))

    @settings(FUZZ, max_examples=25)
    @given(flash=odd_text, error=odd_text, month=odd_text, phone=odd_text)
    def pages(flash: str, error: str, month: str, phone: str) -> None:
        for path, params in (
            ("/console", {"flash": flash, "error": error}),
            ("/console/scorecard", {"month": month}),
            ("/console/shield", {"phone": phone, "month": month}),
        ):
            never_5xx(client.get(path, params=params), (path, params))

    login()
    client.post("/console/tickets", data={"csrf": csrf, "category": "roads", "text": "Jalan ambles"})  # ticket 1
    forms()
    pages()


def test_json_that_is_not_quite_json_and_extreme_dates_never_answer_5xx(server: str) -> None:
    api = httpx.Client(
        base_url=server,
        headers={"Authorization": f"Bearer {make_token('fuzz', 'operator')}", "Content-Type": "application/json"},
        timeout=10,
    )

    @FUZZ
    @given(text=any_text, location=any_text, latitude=numbers, longitude=numbers)
    def tickets(text: str, location: str, latitude: str, longitude: str) -> None:
        # json.dumps escapes a lone surrogate as \udxxx, as a client's JSON would carry it
        body = (
            f'{{"text": {json.dumps(text or "x")}, "location": {json.dumps(location)}, '
            f'"latitude": {latitude}, "longitude": {longitude}}}'
        )
        never_5xx(api.post("/api/v1/tickets", content=body.encode()), body)

    @FUZZ
    @given(start=w3c_dates, end=w3c_dates)
    def open311(start: str, end: str) -> None:
        params = {"start_date": start, "end_date": end}
        never_5xx(httpx.get(f"{server}/open311/v2/requests.json", params=params), params)

    tickets()
    open311()
