"""Odd input that used to answer 500 (issue 18, "500s that must be 4xx"): each is now a 4xx, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hotline.channels.kannel.sms_client import dlr_token
from hotline.settings import get_settings
from tests.accounts import console_login, make_token, make_user
from tests.gateway_env import gateways

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


def test_kannel_dlr_with_odd_digits_is_a_4xx(kannel: str) -> None:
    secret = get_settings().secret_key
    token = dlr_token(secret, 1, "s1")
    cases = [
        {"id": "²", "sid": "s1", "token": token, "status": "1"},  # str.isdigit() says yes, int() says no
        {"id": "1", "sid": "s1", "token": token, "status": "9" * 5000},  # past int()'s 4,300 digits
        {"id": "1", "sid": "s1", "token": token, "status": "²"},
        {"id": "9" * 5000, "sid": "s1", "token": token, "status": "1"},
        {"id": "1", "sid": "s1", "token": "tökén", "status": "1"},  # compare_digest refuses non-ASCII str
    ]
    for params in cases:
        answer = httpx.get(f"{kannel}/kannel/dlr", params=params)
        assert 400 <= answer.status_code < 500, (params["id"][:10], params["status"][:10], answer.status_code)


def test_non_ascii_csrf_is_a_403_not_a_500(server: str) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    answer = client.post("/console/tickets/1/note", data={"note": "x", "csrf": "ü" * 10})
    assert answer.status_code == 403
    login = httpx.Client(base_url=server).post("/console/login", data={"username": "a", "password": "b", "csrf": "é"})
    assert login.status_code == 403


def test_android_signature_with_odd_characters_is_a_403(server: str) -> None:
    env = {
        "HOTLINE_SMS_GATEWAYS": "phone",
        "HOTLINE_GATEWAY_PHONE_TYPE": "android",
        "HOTLINE_GATEWAY_PHONE_URL": "http://127.0.0.1:9",
        "HOTLINE_GATEWAY_PHONE_USERNAME": "u",
        "HOTLINE_GATEWAY_PHONE_PASSWORD": "p",
        "HOTLINE_GATEWAY_PHONE_SIGNING_KEY": "k" * 20,
    }
    with gateways(env):
        for stamp, signature in (("²", "ab"), ("1", "ü"), ("9" * 5000, "ab")):
            answer = httpx.post(
                f"{server}/android-sms/webhook",
                content=b"{}",
                headers={"X-Timestamp": stamp.encode(), "X-Signature": signature.encode()},
            )
            assert answer.status_code == 403, (stamp[:5], signature)


def test_open311_extreme_dates_are_a_400(server: str) -> None:
    for params in (
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"end_date": "9999-12-31T23:59:59-23:59"},
    ):
        answer = httpx.get(f"{server}/open311/v2/requests.json", params=params)
        assert answer.status_code == 400, (params, answer.status_code, answer.text[:200])


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "Banjir", "latitude": NaN, "longitude": 112.5}',
        b'{"text": "Banjir", "latitude": Infinity, "longitude": 112.5}',
        b'{"text": "Banjir", "latitude": -Infinity, "longitude": 112.5}',
        b'{"text": "Banjir", "latitude": 1e400, "longitude": 112.5}',
        b'{"text": "Banjir \\ud800 di Pendem"}',
        b'{"text": "Banjir", "location": "\\udfff"}',
    ],
)
def test_api_tickets_refuses_non_numbers_and_lone_surrogates(server: str, body: bytes) -> None:
    token = make_token("api", "operator")
    answer = httpx.post(
        f"{server}/api/v1/tickets",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, (body, answer.status_code, answer.text[:200])
    answer.json()  # a readable answer


def test_api_patch_refuses_lone_surrogates(server: str) -> None:
    token = make_token("api", "operator")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    made = httpx.post(f"{server}/api/v1/tickets", json={"text": "Jalan rusak"}, headers=headers)
    assert made.status_code == 201
    number = made.json()["number"]
    answer = httpx.patch(f"{server}/api/v1/tickets/{number}", content=b'{"text": "a\\ud800"}', headers=headers)
    assert answer.status_code == 422, answer.text[:200]
