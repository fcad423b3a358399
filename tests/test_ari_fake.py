"""The fake ARI holds the client to the Asterisk 22 docs: requests that do not match them are refused the way
Asterisk refuses them, events and bodies that do not match the models never leave the fake."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from hotline.channels.ari.client import basic_auth
from hotline.fakes.ari_spec import SpecError, ari_spec
from hotline.fakes.fake_ari import FakeAri, FakeChannel
from tests.ari_harness import requires_ari_docs

pytestmark = requires_ari_docs


def exchange(calls: list[tuple[str, str, dict[str, Any]]], *, auth: bool = True) -> list[tuple[int, str]]:
    """Each (method, path below /ari, query) against a fresh fake with one caller in Stasis."""

    async def scenario() -> list[tuple[int, str]]:
        fake = FakeAri()
        base = await fake.start()
        channel = await fake.dial()
        headers = {"Authorization": basic_auth(fake.username, fake.password)} if auth else {}
        answers = []
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            for method, path, query in calls:
                r = await http.request(method, path.replace("{ch}", channel), params=query)
                body = r.json() if r.content else {}
                answers.append((r.status_code, body.get("message", "") if isinstance(body, dict) else ""))
        await fake.stop()
        return answers

    return asyncio.run(scenario())


REFUSED = {
    "unknown path": ("POST", "/channels/{ch}/whisper", {}, 404),
    "unknown method": ("PUT", "/channels/{ch}/answer", {}, 405),
    "missing required": ("POST", "/channels/{ch}/play", {}, 400),
    "unknown parameter": ("POST", "/channels/{ch}/play", {"media": "sound:x", "volume": "3"}, 400),
    "not an integer": ("POST", "/channels/{ch}/record", {"name": "r", "format": "wav", "maxDurationSeconds": "a"}, 400),
    "below the range": (
        "POST",
        "/channels/{ch}/record",
        {"name": "r", "format": "wav", "maxSilenceSeconds": "-1"},
        400,
    ),
    "not an allowed value": ("POST", "/channels/{ch}/record", {"name": "r", "format": "wav", "terminateOn": "5"}, 400),
    "not a boolean": ("POST", "/channels/{ch}/record", {"name": "r", "format": "wav", "beep": "yes"}, 400),
    "bad hangup reason": ("DELETE", "/channels/{ch}", {"reason": "bored"}, 400),
    "credentials in the URL": ("GET", "/channels", {"api_key": "hotline:test-ari-password"}, 400),
    "media scheme Asterisk has not": ("POST", "/channels/{ch}/play", {"media": "http://x/a.wav"}, 400),
    "unknown channel": ("POST", "/channels/nope/answer", {}, 404),
    "unknown playback": ("DELETE", "/playbacks/nope", {}, 404),
    "unknown recording format": ("POST", "/channels/{ch}/record", {"name": "r", "format": "mp3"}, 422),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_requests_that_do_not_match_the_docs_are_refused(case: str) -> None:
    method, path, query, status = REFUSED[case]
    [(got, message)] = exchange([(method, path, query)])
    assert got == status and message


def test_a_repeated_parameter_is_refused_lists_are_comma_separated() -> None:
    async def scenario() -> tuple[int, int]:
        fake = FakeAri()
        base = await fake.start()
        channel = await fake.dial()
        headers = {"Authorization": basic_auth(fake.username, fake.password)}
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            twice = await http.post(f"/channels/{channel}/play", params=[("media", "sound:a"), ("media", "sound:b")])
            listed = await http.post(f"/channels/{channel}/play", params={"media": "sound:a,sound:b"})
        await fake.stop()
        return twice.status_code, listed.status_code

    assert asyncio.run(scenario()) == (400, 201)


def test_valid_requests_pass_and_no_authorization_header_is_a_401() -> None:
    ok = exchange([("POST", "/channels/{ch}/answer", {}), ("GET", "/channels", {})])
    assert [status for status, _ in ok] == [204, 200]
    assert exchange([("GET", "/channels", {})], auth=False) == [(401, "Authentication required")]


def test_the_docs_route_literal_paths_before_templates() -> None:
    spec = ari_spec()
    assert spec.find("POST", "/channels/create")[0].nickname == "create"
    assert spec.find("POST", "/channels/externalMedia")[0].nickname == "externalMedia"
    assert spec.find("POST", "/channels/abc")[0].nickname == "originateWithId"


BAD_EVENTS: dict[str, dict[str, Any]] = {
    "missing required": {"digit": "5"},
    "unknown property": {"digit": "5", "duration_ms": 100, "key": "5"},
    "wrong type": {"digit": 5, "duration_ms": 100},
    "bad nested model": {"digit": "5", "duration_ms": 100, "channel": {"state": "Dancing"}},
    "not a date": {"digit": "5", "duration_ms": 100, "timestamp": "yesterday"},
    "not an event": {"type": "Channel"},
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_events_that_do_not_match_the_models_are_refused(case: str) -> None:
    fake = FakeAri()
    channel = fake._channel_json(FakeChannel("c1", "+6281234567890", "112", state="Up", created=fake._now()))
    good = {"type": "ChannelDtmfReceived", "application": "hotline", "timestamp": fake._now(), "channel": channel}
    ari_spec().check_event({**good, "digit": "5", "duration_ms": 100})  # the good one passes
    change = dict(BAD_EVENTS[case])
    if "channel" in change:
        change["channel"] = {**channel, **change["channel"]}
    with pytest.raises(SpecError):
        ari_spec().check_event({**good, **change})
