"""The fake ARI reproduces a real Asterisk 22 call (issue 17, item 7): the same caller, played through the app on
the fake, makes the events the `hotline` app got from Asterisk 22.10.1 in
tests/fixtures/asterisk/real_call_hotline_events.json (from shared/asterisk-captures), in the same order and with
the same playbacks, media URIs, states, keys and recording, and every prompt that played to its end takes its
real length (scaled down: the 50 s call runs in a few seconds)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from hotline.channels.ari.calls import CallPort
from hotline.ivr import actions as a
from hotline.ivr.state import CallState
from hotline.ivr.turn import Turn
from tests.ari_harness import ari_line, requires_ari_docs, run

pytestmark = requires_ari_docs

CAPTURE = json.loads((Path(__file__).parent / "fixtures/asterisk/real_call_hotline_events.json").read_text())["events"]
SCALE = 0.05  # the real lengths, 20 times faster
STATE = CallState("capture", "v1", phase="input")


def played_through() -> dict[str, float]:
    """Each media URI that played to its end in the real call, and how long it took (seconds)."""
    lengths: dict[str, float] = {}
    started: dict[str, tuple[str, float]] = {}
    for e in CAPTURE:
        if e["type"] == "PlaybackStarted":
            started[e["playback"]] = (e["media"], e["t"])
        elif e["type"] in ("PlaybackContinuing", "PlaybackFinished") and e["playback"] in started:
            media, t = started.pop(e["playback"])
            if not (
                e["type"] == "PlaybackFinished" and any(x.get("digit") for x in CAPTURE if 0 <= e["t"] - x["t"] < 0.02)
            ):
                lengths[media] = e["t"] - t
    return lengths


def turns() -> list[tuple[a.MediaAction, ...]]:
    """The call's turns as the real call's playbacks show them: the media each playback started with."""
    media: dict[str, list[str]] = {}
    for e in CAPTURE:
        if e["type"] == "PlaybackStarted":
            media.setdefault(e["playback"], []).append(e["media"])
        elif e["type"] == "PlaybackFinished" and e.get("next_media"):  # cut by a key: the next never started
            media[e["playback"]].append(e["next_media"])

    def prompts(uris: list[str]) -> tuple[a.Prompt, ...]:
        return tuple(a.Prompt(u.rsplit("/", 1)[1], "id", "") for u in uris)

    p = [prompts(media[k]) for k in sorted(media)]
    return [
        (a.Gather(p[0], 1, 1, 3.0, 3.0, "#", "id", listen=True),),  # welcome: listens for a voice
        (a.Gather(p[1], 1, 1, 6.0, 3.0, "#", "id"),),  # category
        (a.Gather(p[2], 1, 1, 6.0, 3.0, "#", "id"),),  # kecamatan
        (a.Gather(p[3], 1, 1, 6.0, 3.0, "#", "id"),),  # desa
        (a.Record(p[4], 60, 5.0, "#", False, "id"),),  # the real call used Asterisk's beep: no events of its own
        (*p[5], a.Hangup()),  # the number, the SMS, goodbye
    ]


class Replay:
    """The call service of the captured call: each answer moves to the next turn."""

    def __init__(self) -> None:
        self.turns, self.at = turns(), 0
        self.events: list[a.Event] = []

    async def begin(self, *, call_id: str, caller: str, called: str) -> Turn:
        return Turn(STATE, self.turns[0], ())

    async def send(self, *, call_id: str, event: a.Event, after_queue: bool = False) -> Turn:
        self.events.append(event)
        if isinstance(event, a.HangUp):
            return Turn(STATE, (), ())
        self.at += 1
        return Turn(STATE, self.turns[self.at], ())

    async def recording_ready(self, *, call_id: str, url: str, seconds: float | None) -> None:
        return None

    def apology(self, *, then: Literal["operator", "hangup"]) -> Turn:
        return Turn(STATE, (a.Hangup(),), ())


def shape(e: dict[str, Any]) -> tuple[Any, ...]:
    """What must be the same in the real and the fake event: not ids, times or snapshots."""
    pb = e["playback"] if isinstance(e.get("playback"), dict) else {}
    rec = e["recording"] if isinstance(e.get("recording"), dict) else {}
    return (
        e["type"],
        pb.get("media_uri", e.get("media")),
        pb.get("next_media_uri", e.get("next_media")),
        pb.get("state", e.get("state")),
        e.get("digit"),
        rec.get("state", e.get("recording_state")),
        e.get("cause"),
        e.get("soft"),
    )


def seconds(stamp: str) -> float:
    return datetime.strptime(stamp[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def test_the_fake_replays_a_real_asterisk_22_call_event_for_event() -> None:
    lengths = played_through()
    real_keys = {e["t"]: e["digit"] for e in CAPTURE if e["type"] == "ChannelDtmfReceived"}
    port = Replay()
    out: dict[str, Any] = {}

    def timed(fake: Any) -> None:
        fake.media_seconds = lambda uri: SCALE * lengths[uri] if uri in lengths else 60.0  # cut by a key

    async def scenario() -> None:
        calls: CallPort = port
        async with ari_line(calls=calls, configure=timed) as line:
            fake = line.fake
            channel = await fake.dial("081234567801", answered=True)  # the dialplan answered it

            async def seen(kind: str, media: str = "") -> None:
                while not any(
                    e["type"] == kind and (not media or (e.get("playback") or {}).get("media_uri", "").endswith(media))
                    for e in fake.events
                ):
                    await asyncio.sleep(0.002)

            await seen("PlaybackStarted", "/welcome")
            await fake.talk(channel, 404)  # "halo?" over the welcome
            await seen("PlaybackFinished", "/welcome")
            await line.settled()
            assert line.call(channel).expire_timer()  # the welcome's 3 s with no key: a caller who talked
            for menu, key in zip(("/ask_category", "/ask_kecamatan", "/ask_desa"), real_keys.values(), strict=True):
                await seen("PlaybackStarted", menu)
                await fake.press(channel, key)
            await seen("RecordingStarted")
            await fake.speak(channel, 10)
            await seen("StasisEnd")
            await line.settled()
            out["events"] = [e for e in fake.events if _of(e, channel)]

    run(scenario())
    fake_events = out["events"]
    assert [shape(e) for e in fake_events] == [shape(e) for e in CAPTURE]
    assert len(fake_events) == 32  # a.k.a. what the app hears of one real call: not 4 times fewer
    # Timing: a prompt that played through took (scaled) as long as on the real Asterisk.
    for i, e in enumerate(fake_events):
        if e["type"] == "PlaybackStarted" and e["playback"]["media_uri"] in lengths:
            end = next(x for x in fake_events[i + 1 :] if (x.get("playback") or {}).get("id") == e["playback"]["id"])
            took = seconds(end["timestamp"]) - seconds(e["timestamp"])
            assert took >= SCALE * lengths[e["playback"]["media_uri"]] - 0.002, e["playback"]["media_uri"]
    assert [type(e).__name__ for e in port.events] == ["Speech", "Digits", "Digits", "Digits", "Recorded", "HangUp"]


def _of(event: dict[str, Any], channel: str) -> bool:
    for key in ("playback", "recording"):
        if key in event:
            return bool(event[key]["target_uri"] == f"channel:{channel}")
    return bool((event.get("channel") or {}).get("id") == channel)
