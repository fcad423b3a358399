"""Engine media actions -> the exact ARI requests (pure), and the client's small pure parts."""

from __future__ import annotations

import pytest

from hotline.channels.ari import media as m
from hotline.channels.ari.client import Backoff, event_channel, event_key
from hotline.channels.ari.media import PromptMedia, plan_turn
from hotline.channels.ari.takeover import operator_endpoint
from hotline.features.calls.call_takeover import TakeoverError
from hotline.ivr import actions as a

SOUNDS = m.PromptMedia()
HTTP = m.PromptMedia("http", "https://hotline.batukota.go.id/")
WELCOME = a.Prompt("welcome", "id", "Selamat datang")
ASK = a.Prompt("ask_category", "id", "Pilih kategori")
GATHER = a.Gather((ASK,), 1, 1, 6.0, 3.0, "#", "id")
RECORD = a.Record((a.Prompt("ask_description", "en", "Tell us"),), 60, 4.2, "#", True, "en")
DIGITS = a.ReadDigits("12", "id", (a.Prompt("digit_1", "id", "satu"), a.Prompt("digit_2", "id", "dua")))
QUEUE = a.Enqueue("operators", "hotline-hold", 120)

PLANS = [
    ([WELCOME, GATHER], m.TurnPlan(("sound:hotline/id/welcome", "sound:hotline/id/ask_category"), GATHER)),
    ([GATHER], m.TurnPlan(("sound:hotline/id/ask_category",), GATHER)),
    (
        [DIGITS, RECORD],
        m.TurnPlan(
            (
                "sound:hotline/id/digit_1",
                "sound:hotline/id/digit_2",
                "sound:hotline/en/ask_description",
                "sound:hotline/beep",
            ),
            RECORD,
        ),
    ),
    ([a.ReadDigits("7", "id", ()), a.Hangup()], m.TurnPlan(("digits:7",), a.Hangup())),
    ([WELCOME, QUEUE], m.TurnPlan(("sound:hotline/id/welcome",), QUEUE)),
    ([], m.TurnPlan((), None)),
]


@pytest.mark.parametrize(("media", "plan"), PLANS)
def test_a_turn_s_media_become_one_playback_and_one_waiting_step(media: list[a.MediaAction], plan: m.TurnPlan) -> None:
    assert m.plan_turn(media, SOUNDS) == plan


def test_prompts_served_over_http_are_sound_uris_on_the_public_url() -> None:
    assert HTTP.uri(WELCOME) == "sound:https://hotline.batukota.go.id/ivr/prompts/id/welcome.wav"


REQUESTS = [
    (m.answer("c1"), ("POST", "/channels/c1/answer", {})),
    (
        m.play("c1", "c1.2", ["sound:a", "sound:b"]),
        ("POST", "/channels/c1/play", {"media": "sound:a,sound:b", "playbackId": "c1.2"}),
    ),
    (m.stop_playback("c1.2"), ("DELETE", "/playbacks/c1.2", {})),
    (m.hangup("c1"), ("DELETE", "/channels/c1", {"reason": "normal"})),
    (
        m.record("c1", "rec-1", RECORD),
        (
            "POST",
            "/channels/c1/record",
            {
                "name": "rec-1",
                "format": "wav",
                "maxDurationSeconds": "60",
                "maxSilenceSeconds": "5",  # 4.2 s rounded up: never less than the flow says
                "ifExists": "fail",
                "beep": "true",
                "terminateOn": "#",
            },
        ),
    ),
    (m.record("c1", "r", a.Record((), 30, 0.2, "5", False, "id")).query()["terminateOn"], "none"),
    (
        m.holding_bridge("hold-c1", "operators"),
        ("POST", "/bridges/hold-c1", {"type": "holding", "name": "queue:operators"}),
    ),
    (m.bridge_moh("hold-c1", None), ("POST", "/bridges/hold-c1/moh", {})),
    (m.bridge_moh("hold-c1", "hotline-hold"), ("POST", "/bridges/hold-c1/moh", {"mohClass": "hotline-hold"})),
    (m.mixing_bridge("call-c1"), ("POST", "/bridges/call-c1", {"type": "mixing", "name": "operator"})),
    (m.add_channel("call-c1", "c1"), ("POST", "/bridges/call-c1/addChannel", {"channel": "c1"})),
    (
        m.originate(
            "PJSIP/operator1", app="hotline", app_args="operator,c1", channel_id="op-1", caller_id="+62812", timeout=30
        ),
        (
            "POST",
            "/channels",
            {
                "endpoint": "PJSIP/operator1",
                "app": "hotline",
                "appArgs": "operator,c1",
                "channelId": "op-1",
                "callerId": "+62812",
                "timeout": "30",
            },
        ),
    ),
]


@pytest.mark.parametrize(("request_", "expected"), REQUESTS)
def test_each_step_is_one_exact_ari_request(request_: object, expected: object) -> None:
    if isinstance(request_, m.AriRequest):
        assert (request_.method, request_.path, request_.query()) == expected
    else:
        assert request_ == expected


def test_events_belong_to_their_channel_or_the_channel_their_playback_targets() -> None:
    assert event_channel({"type": "StasisStart", "channel": {"id": "c1"}}) == "c1"
    assert event_channel({"type": "PlaybackFinished", "playback": {"id": "p", "target_uri": "channel:c2"}}) == "c2"
    assert event_channel({"type": "RecordingFinished", "recording": {"name": "r", "target_uri": "channel:c3"}}) == "c3"
    assert event_channel({"type": "PlaybackFinished", "playback": {"id": "p", "target_uri": "bridge:b1"}}) is None
    assert event_channel({"type": "BridgeDestroyed", "bridge": {"id": "b1"}}) is None


def test_two_keys_are_two_events_the_same_key_delivered_twice_is_one() -> None:
    first = {"type": "ChannelDtmfReceived", "timestamp": "2026-01-01T00:00:00.100+0000", "digit": "4"}
    again = dict(first)
    later = {**first, "timestamp": "2026-01-01T00:00:00.300+0000"}
    other = {**first, "digit": "5"}
    assert event_key(first, "c1") == event_key(again, "c1")
    assert len({event_key(e, "c1") for e in (first, later, other)}) == 3


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.next_delay() for _ in range(6)]
    for attempt, delay in enumerate(delays):
        full = min(8.0, 2.0**attempt)
        assert full / 2 <= delay <= full
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_the_reconnect_backoff_never_waits_more_than_a_few_seconds() -> None:
    """Issue 17, item 4: after a 45 s Asterisk outage the old 30 s cap meant 21-23 s more without an app."""
    backoff = Backoff()
    assert max(backoff.next_delay() for _ in range(40)) <= 3.0


@pytest.mark.parametrize(
    ("answer_at", "endpoint"),
    [
        ("PJSIP/operator1", "PJSIP/operator1"),
        ("sip:operator2", "PJSIP/operator2"),
        ("+6281234567890", "PJSIP/+6281234567890@trunk"),
        (" 0341123456 ", "PJSIP/0341123456@trunk"),
    ],
)
def test_where_the_operator_answers_becomes_an_asterisk_dial_string(answer_at: str, endpoint: str) -> None:
    assert operator_endpoint(answer_at) == endpoint


@pytest.mark.parametrize("answer_at", ["client:alice", "sip:alice@example.org", "ring me"])
def test_what_asterisk_cannot_ring_is_refused_with_the_forms_it_can(answer_at: str) -> None:
    with pytest.raises(TakeoverError, match="PJSIP endpoint"):
        operator_endpoint(answer_at)


def test_the_beep_is_ours_with_sounds_and_asterisk_s_with_http_prompts_and_only_when_asked() -> None:
    beeping = a.Record((a.Prompt("ask_description", "id", "Ceritakan"),), 60, 5.0, "#", True, "id")
    quiet = a.Record((a.Prompt("ask_description", "id", "Ceritakan"),), 60, 5.0, "#", False, "id")
    sounds, http = PromptMedia("sounds"), PromptMedia("http", "https://hotline.example")
    assert plan_turn((beeping,), sounds).prompts[-1] == "sound:hotline/beep"
    assert plan_turn((quiet,), sounds).prompts == ("sound:hotline/id/ask_description",)
    assert plan_turn((beeping,), http).prompts == ("sound:https://hotline.example/ivr/prompts/id/ask_description.wav",)
    assert m.record("c", "r", beeping, beep=False).query()["beep"] == "false"  # what the executor asks with sounds
    assert m.record("c", "r", beeping).query()["beep"] == "true"  # http: Asterisk's own, as the flow says
    assert m.record("c", "r", quiet).query()["beep"] == "false"
