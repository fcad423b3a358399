"""Engine media actions (hotline/ivr/actions.py) as ARI requests. Pure: actions in, requests out.

A turn's media become one playback and one waiting step:

    prompts   every Prompt / ReadDigits of the turn and the Gather's or Record's own prompts, in order:
              one POST /channels/{id}/play with all their media URIs (comma separated). A key stops it
              (DELETE /playbacks/{id}; barge-in, hotline/ivr/actions.py): at a Gather the key is the first
              of the answer, at a Record the recording starts, before Enqueue/Hangup they are cut short.
    wait      Gather (digits collected by the executor, with its timers), Record (POST .../record),
              Enqueue (holding bridge + music on hold), Hangup (DELETE /channels/{id})

Prompt media. The Asterisk 22 docs (channels.json, `play`) name the URI schemes playback accepts:
sound:, recording:, number:, digits:, characters:, tone:. So prompts are `sound:` URIs:

- `sounds` (the default, robust): `sound:hotline/{lang}/{key}`, the files `hotline prompts build` made,
  copied to Asterisk's sounds folder (/var/lib/asterisk/sounds/hotline/{lang}/{key}.wav). No HTTP at
  call time, nothing to cache, and Asterisk picks the file by name whatever its format.
- `http`: `sound:{public_url}/ivr/prompts/{lang}/{key}.wav`, fetched by Asterisk's res_http_media_cache.
  Not among the documented schemes; it works where that module is loaded, and a slow or unreachable
  web server means silence on the line. For trials, not for the 112 line.

Numbers (ReadDigits) play the flow's own digit prompts (digit_0..digit_9), like Twilio: Asterisk ships no
Indonesian digit sounds, so `digits:123` (with `lang`) is used only when an action has no digit prompts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hotline.ivr import actions as a

PromptSource = Literal["sounds", "http"]
SOUNDS_FOLDER = "hotline"  # below Asterisk's sounds directory
BEEP = "beep"  # our own beep before a recording: sound:hotline/beep (hotline prompts export writes it)
HOLD_TONE = "tone:ring"  # a caller waiting with no music at all hears ringing (indications.conf, always there)
RECORDING_FORMAT = "wav"
TERMINATE_KEYS = ("*", "#")  # what ARI's record terminateOn takes besides none/any


@dataclass(frozen=True)
class AriRequest:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()

    def query(self) -> dict[str, str]:
        return dict(self.params)


@dataclass(frozen=True)
class PromptMedia:
    """How prompts become media URIs: `source` and, for `http`, the public base URL of the web app."""

    source: PromptSource = "sounds"
    public_url: str = ""

    def uri(self, prompt: a.Prompt) -> str:
        if self.source == "http":
            return f"sound:{self.public_url.rstrip('/')}/ivr/prompts/{prompt.language}/{prompt.key}.wav"
        return f"sound:{SOUNDS_FOLDER}/{prompt.language}/{prompt.key}"

    def beep_uri(self) -> str | None:
        """Our beep (a stock Asterisk without the core sounds has no `beep`, and a recording asked to beep
        then records nothing). None with `http` prompts: Asterisk's own beep is used."""
        return None if self.source == "http" else f"sound:{SOUNDS_FOLDER}/{BEEP}"

    def uris(self, action: a.Prompt | a.ReadDigits) -> list[str]:
        if isinstance(action, a.Prompt):
            return [self.uri(action)]
        if action.prompts:
            return [self.uri(p) for p in action.prompts]
        return [f"digits:{action.digits}"] if action.digits else []


Wait = a.Gather | a.Record | a.Enqueue | a.Hangup


@dataclass(frozen=True)
class TurnPlan:
    prompts: tuple[str, ...]  # every media URI of the turn, in order: one playback, which a key stops
    wait: Wait | None  # None only when the call has left the engine (rule 3 of actions.py)


def plan_turn(media: Sequence[a.MediaAction], prompts: PromptMedia) -> TurnPlan:
    uris: list[str] = []
    for action in media:
        match action:
            case a.Prompt() | a.ReadDigits():
                uris += prompts.uris(action)
            case a.Gather():
                return TurnPlan(tuple(uris + [prompts.uri(p) for p in action.prompts]), action)
            case a.Record():
                beep = prompts.beep_uri() if action.beep else None
                return TurnPlan(
                    tuple(uris + [prompts.uri(p) for p in action.prompts] + ([beep] if beep else [])), action
                )
            case a.Enqueue() | a.Hangup():
                return TurnPlan(tuple(uris), action)
            case _:
                raise TypeError(f"not a media action: {action!r}")
    return TurnPlan(tuple(uris), None)


# --- the requests ------------------------------------------------------------------------------------


def play(channel_id: str, playback_id: str, uris: Sequence[str]) -> AriRequest:
    # One playback for all the URIs: one PlaybackFinished to wait for and one DELETE to stop them all.
    return AriRequest("POST", f"/channels/{channel_id}/play", (("media", ",".join(uris)), ("playbackId", playback_id)))


def stop_playback(playback_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/playbacks/{playback_id}")


def answer(channel_id: str) -> AriRequest:
    return AriRequest("POST", f"/channels/{channel_id}/answer")


def talk_detect(channel_id: str, talk: a.TalkDetection | None = None) -> AriRequest:
    """TALK_DETECT(set): the channel then sends ChannelTalkingStarted and ChannelTalkingFinished, which tell a
    caller who speaks from a silent call (`Gather.listen`). `talk`: the city's threshold (the flow's
    `talk_detection`), as `<silence ms>,<talking threshold>`; None: Asterisk's defaults (2500 ms, 256)."""
    if talk is None:
        # No `value`: Asterisk then writes "" (default thresholds); an empty `value=` is refused as a bad query.
        return AriRequest("POST", f"/channels/{channel_id}/variable", (("variable", "TALK_DETECT(set)"),))
    value = f"{talk.silence_ms},{talking_threshold(talk.threshold_dbfs)}"
    return AriRequest("POST", f"/channels/{channel_id}/variable", (("variable", "TALK_DETECT(set)"), ("value", value)))


def talking_threshold(dbfs: float) -> int:
    """Asterisk's dsp_talking_threshold (the average absolute sample value of a frame, 16-bit) for steady
    noise at `dbfs` RMS: for noise the average absolute value is sqrt(2/pi), about 0.8, of the RMS. -40 dBFS is
    262, next to Asterisk's default 256; hiss at -37 dBFS averages 370 (talking), at -43 dBFS 185 (not)."""
    return max(1, round(32768 * 10 ** (dbfs / 20) * math.sqrt(2 / math.pi)))


def talk_detect_off(channel_id: str) -> AriRequest:
    """TALK_DETECT(remove): past the greeting, talking events would only be load (every word of a recording)."""
    return AriRequest("POST", f"/channels/{channel_id}/variable", (("variable", "TALK_DETECT(remove)"),))


# Where a call goes when the database cannot be reached: config/asterisk/extensions.conf's [hotline-fallback]
# (the operators' desk phones, then a recorded message: hotline-fallback-*, made a ticket by fallback_messages.py).
FALLBACK_CONTEXT, FALLBACK_EXTENSION = "hotline-fallback", "s"


def continue_to_fallback(channel_id: str) -> AriRequest:
    """The channel leaves the app for the dialplan's fallback (ARI continueInDialplan)."""
    params = (("context", FALLBACK_CONTEXT), ("extension", FALLBACK_EXTENSION), ("priority", "1"))
    return AriRequest("POST", f"/channels/{channel_id}/continue", params)


def hangup(channel_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/channels/{channel_id}", (("reason", "normal"),))


def record(channel_id: str, name: str, action: a.Record, *, beep: bool | None = None) -> AriRequest:
    """`beep`: Asterisk's own beep (None: as the action says). Hotline plays its own beep as the last media of
    the instruction (`PromptMedia.beep_uri`) and asks for none here."""
    key = action.finish_on_key if action.finish_on_key in TERMINATE_KEYS else "none"
    beep = action.beep if beep is None else beep
    return AriRequest(
        "POST",
        f"/channels/{channel_id}/record",
        (
            ("name", name),
            ("format", RECORDING_FORMAT),
            ("maxDurationSeconds", str(action.max_seconds)),
            ("maxSilenceSeconds", str(max(1, math.ceil(action.silence_timeout_seconds)))),
            ("ifExists", "fail"),  # names are unique per question (executor.recording_name): never overwrite one
            ("beep", "true" if beep else "false"),
            ("terminateOn", key),
        ),
    )


def holding_bridge(bridge_id: str, queue: str) -> AriRequest:
    return AriRequest("POST", f"/bridges/{bridge_id}", (("type", "holding"), ("name", f"queue:{queue}")))


def mixing_bridge(bridge_id: str) -> AriRequest:
    return AriRequest("POST", f"/bridges/{bridge_id}", (("type", "mixing"), ("name", "operator")))


def add_channel(bridge_id: str, channel_id: str) -> AriRequest:
    return AriRequest("POST", f"/bridges/{bridge_id}/addChannel", (("channel", channel_id),))


def remove_channel(bridge_id: str, channel_id: str) -> AriRequest:
    return AriRequest("POST", f"/bridges/{bridge_id}/removeChannel", (("channel", channel_id),))


def bridge_moh(bridge_id: str, music_class: str | None) -> AriRequest:
    return AriRequest("POST", f"/bridges/{bridge_id}/moh", (("mohClass", music_class),) if music_class else ())


def channel_moh(channel_id: str, music_class: str | None) -> AriRequest:
    return AriRequest("POST", f"/channels/{channel_id}/moh", (("mohClass", music_class),) if music_class else ())


def channel_moh_off(channel_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/channels/{channel_id}/moh")


def destroy_bridge(bridge_id: str) -> AriRequest:
    return AriRequest("DELETE", f"/bridges/{bridge_id}")


def originate(endpoint: str, *, app: str, app_args: str, channel_id: str, caller_id: str, timeout: int) -> AriRequest:
    params = [("endpoint", endpoint), ("app", app), ("appArgs", app_args), ("channelId", channel_id)]
    if caller_id:
        params.append(("callerId", caller_id))
    params.append(("timeout", str(timeout)))
    return AriRequest("POST", "/channels", tuple(params))


def stored_recording_url(ari_url: str, name: str) -> str:
    """Where the recording can be fetched (with the ARI credentials): GET /ari/recordings/stored/{name}/file."""
    return f"{ari_url.rstrip('/')}/ari/recordings/stored/{name}/file"
