"""TwiML for the IVR engine's media actions (hotline/ivr/actions.py). Pure: actions in, XML out.

    Prompt      <Play>{prompts}/{lang}/{key}.wav</Play> when the prompt has an audio file,
                else <Say language="id-ID"|"en-US">text</Say>
    ReadDigits  one <Play> per digit (digit_N files), or <Say>1 2 3</Say> when any digit has no file
    Gather      <Gather input="dtmf" numDigits=max finishOnKey timeout action actionOnEmptyResult="true">
                with the turn's prompts nested -- those before the Gather too --, so the first key stops
                them all and is the first of the answer (barge-in, hotline/ivr/actions.py); a
                listening Gather (`Gather.listen`): input="dtmf speech" speechTimeout="auto" language,
                and `listen=1` on the action URL
    Record      the turn's prompts nested in a one-key <Gather input="dtmf" numDigits="1" finishOnKey=""
                timeout="1" action=record URL + barge=1 and the Record's settings>, then <Record maxLength
                timeout finishOnKey playBeep action recordingStatusCallback>, then <Redirect> to the record
                URL (see VoiceUrls.record). A key stops the instruction: Twilio posts it to that URL, which
                answers the <Record> at once (`record_after_key`, no engine step). No key: Twilio's docs say a
                <Gather> with no input "falls through to the next verb", the <Record>, after its timeout --
                a positive integer, so a caller who does not press waits 1 s more before the beep.
    Enqueue     the prompts before it, then <Enqueue action waitUrl>queue</Enqueue>
    Hangup      the prompts before it, then <Hangup/>

The prompts before an <Enqueue> or a <Hangup> are not interruptible: Twilio stops a <Play>/<Say> for a key
only inside a <Gather>, and one there would hold every caller who does not press for its timeout (1 s) on
the way to an operator.

The queue's waitUrl gets `render_wait`: <Leave/> once the caller waited `max_wait` seconds, else the hold
music, else the hold prompts and a <Pause> (Twilio asks the waitUrl again when its TwiML ends).

Timeouts. Twilio's <Gather timeout> is one number: the wait for the first key *and* between keys (after
the nested prompts finish). The engine has both; we send `timeout_seconds`, so the gap allowed between
keys is that, not `inter_digit_timeout_seconds` (6 s instead of 3 s in Kota Batu): a caller typing a
multi-digit choice gets more time, never less, and a single-key menu ends at the key (numDigits=1).
Twilio wants whole seconds, so fractions are rounded up. numDigits is always `max_digits`: Twilio stops
there, which is the engine's rule; fewer digits end with finishOnKey or the timeout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from urllib.parse import urlencode, urlsplit

from twilio.twiml.voice_response import Gather as GatherVerb
from twilio.twiml.voice_response import VoiceResponse

from hotline.ivr.actions import Enqueue, Gather, Hangup, MediaAction, Prompt, ReadDigits, Record
from hotline.ivr.prompt_audio import PromptAudio

SAY_LANGUAGES = {"id": "id-ID", "en": "en-US"}  # <Say language>; others: Twilio's default voice
# Twilio's default <Say> voice ("man") does not speak id-ID, and an invalid voice/language pair fails the verb:
# Indonesian needs one of the Google voices Twilio offers for it.
SAY_VOICES = {"id": "Google.id-ID-Standard-A"}


def say_voice(language: str) -> dict[str, str]:
    """The <Say> attributes for a language: `language`, and `voice` where Twilio's default cannot speak it."""
    attributes = {"language": SAY_LANGUAGES.get(language, language)}
    if language in SAY_VOICES:
        attributes["voice"] = SAY_VOICES[language]
    return attributes


VOICE_PREFIX = "/twilio/voice"
PROMPTS_PREFIX = "/ivr/prompts"


@dataclass(frozen=True)
class VoiceUrls:
    """Absolute URLs Twilio is sent to. They must start with HOTLINE_PUBLIC_URL: Twilio signs the exact
    URL it was given, and the signature check rebuilds it from HOTLINE_PUBLIC_URL.

    What each one receives, and the engine event it becomes:
    - gather: `Digits` (finish key stripped; empty when the caller pressed nothing, thanks to
      actionOnEmptyResult) -> `Digits(d)` or `NoInput()`. After a listening Gather (`listen=1` in the
      query): `SpeechResult`/`Confidence` -> `Speech(text, confidence)`; nothing at all -> `Silence()`.
    - record: `RecordingUrl`, `RecordingDuration` -> `Recorded`. Twilio does not call the action for an
      empty recording and goes on with the next verb instead; that verb is a <Redirect> here, so the
      same URL is then requested without `RecordingUrl` -> `NoInput()`. With `barge=1` in the query it
      is the action of the one-key <Gather> around a Record's instruction: the caller pressed a key
      (`Digits`), and the answer is the <Record> of the query's settings (`record_after_key`); no event.
    - recording_status: Twilio's recording status callback (the final recording URL); no engine event.
    - queue_wait: requested in a loop while the caller waits, with `QueueTime`; the query carries
      `max_wait` (seconds) and, when the flow names one, `music`. Answer <Play>/<Pause>, or <Leave/>
      once QueueTime >= max_wait.
    - queue_action: the caller left the queue, `QueueResult`: `bridged` -> `QueueLeft(answered=True)`,
      `leave`/`redirected`/`queue-full`/`error`/`system-error` -> `QueueLeft(answered=False)`,
      `hangup` -> `HangUp()`.
    - prompts: base of the prompt audio, `{prompts}/{lang}/{key}.wav` (GET, hotline/web/prompts.py).
    """

    gather: str
    record: str
    recording_status: str
    queue_wait: str
    queue_action: str
    prompts: str

    def for_turn(self, turn: int) -> VoiceUrls:
        """The same URLs, the ones that step the call carrying `turn=<n>`: a webhook Twilio sends twice (or
        late) names a turn the call has left, and gets that turn's TwiML again instead of a second step."""
        stamp = {"turn": str(turn)}
        return replace(
            self,
            gather=_with_query(self.gather, stamp),
            record=_with_query(self.record, stamp),
            queue_action=_with_query(self.queue_action, stamp),
        )

    def __post_init__(self) -> None:
        for f in fields(self):
            url = getattr(self, f.name)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"VoiceUrls.{f.name} must be an absolute http(s) URL, got {url!r}")

    @classmethod
    def under(cls, public_url: str) -> VoiceUrls:
        """The standard URLs below HOTLINE_PUBLIC_URL (e.g. https://hotline.batukota.go.id)."""
        base = public_url.rstrip("/")
        voice = base + VOICE_PREFIX
        return cls(
            gather=f"{voice}/gather",
            record=f"{voice}/record",
            recording_status=f"{voice}/recording-status",
            queue_wait=f"{voice}/queue/wait",
            queue_action=f"{voice}/queue/done",
            prompts=base + PROMPTS_PREFIX,
        )


def render(media: Sequence[MediaAction], *, urls: VoiceUrls, prompt_audio: PromptAudio) -> str:
    """The TwiML document for one turn's media actions, in order. No actions: an empty <Response />,
    which ends the call (the engine returns none only when the call has left it)."""
    response = VoiceResponse()
    before: list[Prompt | ReadDigits] = []  # the turn's prompts so far: the waiting action decides where they go

    def speak(parent: VoiceResponse | GatherVerb, spoken: Sequence[Prompt | ReadDigits]) -> None:
        for item in spoken:
            if isinstance(item, Prompt):
                _prompt(parent, item, urls, prompt_audio)
            else:
                _digits(parent, item, urls, prompt_audio)

    for action in media:
        match action:
            case Prompt() | ReadDigits():
                before.append(action)
            case Gather():
                gather = response.gather(
                    num_digits=action.max_digits,
                    finish_on_key=action.finish_on_key,
                    timeout=_seconds(action.timeout_seconds),
                    action_on_empty_result=True,
                    **_listening(action, urls),
                )
                speak(gather, [*before, *action.prompts])
                before = []
            case Record():
                instruction = [*before, *action.prompts]
                before = []
                if instruction:
                    # A key stops the instruction and is posted to the barge-in URL, which answers the same
                    # <Record>; no key: after the timeout Twilio falls through to the <Record> below.
                    skip = response.gather(
                        input="dtmf",
                        num_digits=1,
                        finish_on_key="",  # every key, # and * too, is the one key
                        timeout=BARGE_IN_TIMEOUT,
                        action=barge_in_url(urls.record, action),
                    )
                    speak(skip, instruction)
                response.record(
                    max_length=action.max_seconds,
                    timeout=_seconds(action.silence_timeout_seconds),
                    finish_on_key=action.finish_on_key,
                    play_beep=action.beep,
                    action=urls.record,
                    recording_status_callback=urls.recording_status,
                )
                response.redirect(urls.record, method="POST")  # reached only after an empty recording
            case Enqueue():
                speak(response, before)
                before = []
                query = {"max_wait": str(action.max_wait_seconds)}
                if action.hold_music:
                    query["music"] = action.hold_music
                response.enqueue(action.queue, action=urls.queue_action, wait_url=_with_query(urls.queue_wait, query))
            case Hangup():
                speak(response, before)
                before = []
                response.hangup()
            case _:
                raise TypeError(f"not a media action: {action!r}")
    speak(response, before)  # media without a waiting action (the call has left the engine)
    return response.to_xml()


BARGE_IN = "barge"
BARGE_IN_TIMEOUT = 1  # s: Twilio's shortest <Gather timeout> (a positive integer)


def barge_in_url(record_url: str, action: Record) -> str:
    """The action of the one-key <Gather> around a Record's instruction: the record URL (with its turn) and
    the Record's settings, so the answer needs neither the database nor the engine. Twilio signs the URL
    it was given, query included, so the settings come back as we wrote them."""
    return _with_query(
        record_url,
        {
            BARGE_IN: "1",
            "max": str(action.max_seconds),
            "silence": f"{action.silence_timeout_seconds:g}",
            "finish": action.finish_on_key,
            "beep": "1" if action.beep else "0",
        },
    )


def record_after_key(query: Mapping[str, str]) -> Record:
    """The Record a barge-in URL describes, without prompts (the key stopped them). Settings that do not
    read (an older URL) fall back to the record node's defaults (ivr_flows/README.md)."""

    def number(name: str, default: float) -> float:
        try:
            value = float(query.get(name, ""))
        except ValueError:
            return default
        return value if math.isfinite(value) and value > 0 else default

    return Record(
        prompts=(),
        max_seconds=int(number("max", 60)),
        silence_timeout_seconds=number("silence", 5),
        finish_on_key=query.get("finish", "#"),
        beep=query.get("beep", "1") != "0",
        language="",
    )


def render_wait(
    prompts: Sequence[Prompt],
    *,
    waited: int,
    max_wait: int,
    music: str | None,
    urls: VoiceUrls,
    prompt_audio: PromptAudio,
    pause_seconds: int = 20,
) -> str:
    """TwiML for one round of the queue's waitUrl (the caller has been in the queue `waited` seconds)."""
    response = VoiceResponse()
    if waited >= max_wait:
        response.leave()  # back to the TwiML after <Enqueue>: Twilio calls the Enqueue action (QueueResult=leave)
    elif music:
        response.play(music)
    else:
        for prompt in prompts:
            _prompt(response, prompt, urls, prompt_audio)
        # Short enough that <Leave/> comes soon after max_wait: QueueTime is only looked at between rounds.
        response.pause(length=max(1, min(pause_seconds, max_wait - waited)))
    return response.to_xml()


def _listening(action: Gather, urls: VoiceUrls) -> dict[str, str]:
    """A listening Gather (the greeting's silent-call check) also takes speech: a caller who talks is no
    silent call. `listen=1` on the action URL tells the webhook that an empty result means silence."""
    if not action.listen:
        return {"input": "dtmf", "action": urls.gather}
    return {
        "input": "dtmf speech",
        "speech_timeout": "auto",
        "language": SAY_LANGUAGES.get(action.language, SAY_LANGUAGES["id"]),
        "action": _with_query(urls.gather, {"listen": "1"}),
    }


def prompt_url(urls: VoiceUrls, language: str, key: str) -> str:
    return f"{urls.prompts}/{language}/{key}.wav"


def speak_prompt(parent: VoiceResponse | GatherVerb, prompt: Prompt, urls: VoiceUrls, audio: PromptAudio) -> None:
    """<Play> of the prompt's audio file, else <Say> of its text."""
    _prompt(parent, prompt, urls, audio)


def _prompt(parent: VoiceResponse | GatherVerb, prompt: Prompt, urls: VoiceUrls, audio: PromptAudio) -> None:
    if (prompt.language, prompt.key) in audio:
        parent.play(prompt_url(urls, prompt.language, prompt.key))
    else:
        parent.say(prompt.text, **say_voice(prompt.language))


def _digits(response: VoiceResponse | GatherVerb, action: ReadDigits, urls: VoiceUrls, audio: PromptAudio) -> None:
    if action.prompts and all((p.language, p.key) in audio for p in action.prompts):
        for prompt in action.prompts:
            response.play(prompt_url(urls, prompt.language, prompt.key))
    elif action.digits:
        # Spaced digits are read one by one ("satu dua tiga"), not as a number ("seratus dua puluh tiga").
        response.say(" ".join(action.digits), **say_voice(action.language))


def _seconds(value: float) -> int:
    """Twilio takes positive whole seconds; round up so a caller never gets less time than the flow says."""
    return max(1, math.ceil(value))


def _with_query(url: str, query: dict[str, str]) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(query)}"
