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


# --- playbacks and recordings as Asterisk runs them (/work/shared/asterisk-captures) -------------------


def playback_events(fake: FakeAri, playback_id: str) -> list[tuple[str, str, str | None, str]]:
    """(type, media_uri, next_media_uri, state) of one playback's events, in order."""
    return [
        (e["type"], e["playback"]["media_uri"], e["playback"].get("next_media_uri"), e["playback"]["state"])
        for e in fake.events
        if e.get("playback", {}).get("id") == playback_id
    ]


async def until(condition: Any, timeout: float = 5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def test_a_playback_of_three_prompts_takes_their_time_with_an_event_per_prompt() -> None:
    async def scenario() -> tuple[str, float, list[tuple[str, str, str | None, str]]]:
        fake = FakeAri(media_seconds=lambda uri: 0.1)
        base = await fake.start()
        channel = await fake.dial()
        headers = {"Authorization": basic_auth(fake.username, fake.password)}
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            started = asyncio.get_running_loop().time()
            r = await http.post(f"/channels/{channel}/play", params={"media": "sound:a,sound:b,sound:c"})
            await until(lambda: not fake.playbacks)
            took = asyncio.get_running_loop().time() - started
        await fake.stop()
        return r.json()["state"], took, playback_events(fake, r.json()["id"])

    answered, took, events = asyncio.run(scenario())
    assert answered == "queued"  # Asterisk answers before the channel runs the command
    assert took >= 0.3
    assert events == [
        ("PlaybackStarted", "sound:a", "sound:b", "playing"),
        ("PlaybackContinuing", "sound:a", "sound:b", "continuing"),
        ("PlaybackStarted", "sound:b", "sound:c", "playing"),
        ("PlaybackContinuing", "sound:b", "sound:c", "continuing"),
        ("PlaybackStarted", "sound:c", None, "playing"),
        ("PlaybackFinished", "sound:c", None, "done"),
    ]


def test_a_key_does_not_stop_a_playback_stopping_it_does_and_cancels_what_was_queued_behind() -> None:
    async def scenario() -> dict[str, Any]:
        fake = FakeAri(playback_seconds=None)  # prompts play until stopped
        base = await fake.start()
        channel = await fake.dial()
        headers = {"Authorization": basic_auth(fake.username, fake.password)}
        out: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            first = (await http.post(f"/channels/{channel}/play", params={"media": "sound:a,sound:b"})).json()
            second = (await http.post(f"/channels/{channel}/play", params={"media": "sound:c"})).json()
            record = await http.post(f"/channels/{channel}/record", params={"name": "r1", "format": "wav"})
            await until(lambda: playback_events(fake, first["id"]))
            await fake.press(channel, "4")
            await asyncio.sleep(0.05)
            out["after_key"] = playback_events(fake, first["id"])
            out["second_state"] = second["state"]
            out["cancel_queued"] = (await http.delete(f"/playbacks/{second['id']}")).status_code
            out["second_before"] = playback_events(fake, second["id"])
            stop = await http.delete(f"/playbacks/{first['id']}")
            out["stop"] = stop.status_code
            out["first_when_stop_answered"] = playback_events(fake, first["id"])
            await until(lambda: "r1" in fake.recordings and fake.recordings["r1"].state == "recording")
            out["second_after"] = playback_events(fake, second["id"])
            out["record_answer"] = record.json()["state"]
            out["order"] = [e["type"] for e in fake.events if e["type"].startswith(("Playback", "Recording"))]
        await fake.stop()
        return out

    out = asyncio.run(scenario())
    assert out["after_key"] == [("PlaybackStarted", "sound:a", "sound:b", "playing")]  # still playing
    assert out["second_state"] == "queued" and out["record_answer"] == "queued"
    assert out["cancel_queued"] == 204 and out["second_before"] == []
    assert out["stop"] == 204
    assert out["first_when_stop_answered"][-1] == ("PlaybackFinished", "sound:a", "sound:b", "done")
    assert out["second_after"] == [("PlaybackFinished", "sound:c", None, "done")]  # never started
    assert out["order"] == ["PlaybackStarted", "PlaybackFinished", "PlaybackFinished", "RecordingStarted"]


def test_hanging_up_mid_playback_fails_it_and_a_recording_cannot_finish_before_it_starts() -> None:
    async def scenario() -> tuple[list[tuple[str, str, str | None, str]], str]:
        fake = FakeAri(playback_seconds=None)
        base = await fake.start()
        channel = await fake.dial()
        headers = {"Authorization": basic_auth(fake.username, fake.password)}
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            played = (await http.post(f"/channels/{channel}/play", params={"media": "sound:a"})).json()
            await http.post(f"/channels/{channel}/record", params={"name": "r1", "format": "wav"})
            await until(lambda: playback_events(fake, played["id"]))
            with pytest.raises(AssertionError, match="has not started"):
                await fake.speak(channel, 5)  # the caller talks over the prompt: nothing is recorded yet
            await fake.hang_up(channel)
        await fake.stop()
        kinds = [e["type"] for e in fake.events if e["type"].startswith("Recording")]
        return playback_events(fake, played["id"]), ",".join(kinds)

    events, recording_events = asyncio.run(scenario())
    assert events[-1] == ("PlaybackFinished", "sound:a", None, "failed")
    assert recording_events == ""  # the queued recording never started: no event


# --- as unkind as a real Asterisk 22 (issue 17, item 7) ------------------------------------------------------


def test_any_route_can_be_made_to_fail_as_asterisk_fails_it() -> None:
    async def scenario() -> list[tuple[int, str]]:
        fake = FakeAri()
        base = await fake.start()
        channel = await fake.dial()
        fake.fail("POST /bridges/{bridgeId}/moh", 500, "Allocation failed", times=None)  # no chan_bridge_media
        fake.fail("POST /channels/{channelId}/answer", 500)  # once
        headers = {"Authorization": basic_auth(fake.username, fake.password)}
        out = []
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            for method, path in [
                ("POST", "/bridges/b1?type=holding"),
                ("POST", "/bridges/b1/moh"),
                ("POST", "/bridges/b1/moh"),
                ("POST", f"/channels/{channel}/answer"),
                ("POST", f"/channels/{channel}/answer"),
            ]:
                r = await http.request(method, path)
                out.append((r.status_code, r.json().get("message", "") if r.content else ""))
        with pytest.raises(ValueError, match="not an ARI route"):
            fake.fail("POST /bridges/{bridgeId}/whisper")
        await fake.stop()
        return out

    assert asyncio.run(scenario()) == [
        (200, ""),
        (500, "Allocation failed"),
        (500, "Allocation failed"),
        (500, "Internal Server Error"),
        (204, ""),
    ]


def test_answer_and_variables_wait_behind_a_running_playback_until_it_ends() -> None:
    async def scenario() -> dict[str, Any]:
        fake = FakeAri(playback_seconds=None)  # plays until stopped
        base = await fake.start()
        channel = await fake.dial()
        headers = {"Authorization": basic_auth(fake.username, fake.password)}
        out: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            played = (await http.post(f"/channels/{channel}/play", params={"media": "sound:a"})).json()
            await until(lambda: playback_events(fake, played["id"]))
            variable = asyncio.create_task(
                http.post(f"/channels/{channel}/variable", params={"variable": "TALK_DETECT(set)"})
            )
            await until(lambda: any(r.operation == "play" for r in fake.requests))
            await asyncio.sleep(0.05)  # nothing moves: the channel is busy playing (not a timing assertion)
            out["answered_while_playing"] = variable.done()
            await http.delete(f"/playbacks/{played['id']}")
            out["status"] = (await variable).status_code
            out["set"] = "TALK_DETECT(set)" in fake.channels[channel].variables
        await fake.stop()
        return out

    assert asyncio.run(scenario()) == {"answered_while_playing": False, "status": 204, "set": True}


def test_a_missing_prompt_is_skipped_and_a_beep_without_core_sounds_records_nothing() -> None:
    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        fake.missing_media = {"sound:b", "sound:d"}
        fake.core_sounds = False
        base = await fake.start()
        channel = await fake.dial()
        headers = {"Authorization": basic_auth(fake.username, fake.password)}
        out: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=base + "/ari", headers=headers) as http:
            first = (await http.post(f"/channels/{channel}/play", params={"media": "sound:a,sound:b,sound:c"})).json()
            second = (await http.post(f"/channels/{channel}/play", params={"media": "sound:d"})).json()
            await http.post(f"/channels/{channel}/record", params={"name": "r1", "format": "wav", "beep": "true"})
            await until(lambda: any(e["type"] == "RecordingFinished" for e in fake.events))
            out["first"] = playback_events(fake, first["id"])
            out["second"] = playback_events(fake, second["id"])
            out["finished"] = next(e["recording"] for e in fake.events if e["type"] == "RecordingFinished")
            out["stored"] = (await http.get("/recordings/stored/r1")).status_code
        out["warnings"] = fake.warnings
        await fake.stop()
        return out

    out = asyncio.run(scenario())
    assert out["first"] == [
        ("PlaybackStarted", "sound:a", "sound:b", "playing"),
        ("PlaybackContinuing", "sound:a", "sound:b", "continuing"),
        ("PlaybackStarted", "sound:b", "sound:c", "playing"),
        ("PlaybackContinuing", "sound:b", "sound:c", "continuing"),  # skipped: only a warning
        ("PlaybackStarted", "sound:c", None, "playing"),
        ("PlaybackFinished", "sound:c", None, "done"),
    ]
    assert out["second"] == [
        ("PlaybackStarted", "sound:d", None, "playing"),
        ("PlaybackFinished", "sound:d", None, "failed"),
    ]
    assert out["finished"]["state"] == "done" and "duration" not in out["finished"]  # done, yet nothing in it
    assert out["stored"] == 404
    assert out["warnings"] == [
        "Playback failed for sound:b",
        "Playback failed for sound:d",
        "File beep does not exist in any format",
    ]
