"""Twilio Voice webhooks: check the signature, turn the form into an engine event, run the call service in
one unit of work, answer with the TwiML of the turn's media (hotline/channels/twilio/voice_twiml.py).

    POST /twilio/voice                   incoming call (the number's Voice URL)       begin_call -> TwiML
    POST /twilio/voice/gather            <Gather> action: Digits, SpeechResult        Digits/NoInput/Speech/Silence
    POST /twilio/voice/record            <Record> action: RecordingUrl (or none)      Recorded / NoInput -> TwiML
    POST /twilio/voice/record?barge=1    a key stopped the Record's instruction       the <Record>, no event
    POST /twilio/voice/recording-status  <Record> recordingStatusCallback             recording_ready -> 204
    POST /twilio/voice/queue/wait        <Enqueue> waitUrl: QueueTime                 hold TwiML, no database
    POST /twilio/voice/queue/done        <Enqueue> action: QueueResult                QueueLeft / HangUp -> TwiML
    POST /twilio/voice/status            the number's status callback: CallStatus     HangUp -> 204

`POST /twilio/voice?lang=en` starts calls in another of the flow's languages (a number for English speakers).

Errors are mapped here, once:
- bad or missing X-Twilio-Signature: 403; no CallSid: 400.
- an event for a call never begun (`UnknownCall`): the flow's apology and <Hangup/>, with 200. Twilio plays
  TwiML; an HTTP error would make it say its own English "application error" instead.
- anything else failing in a turn (`EngineError`, a bug): logged, the transaction rolled back, and the
  caller hears the apology and goes to the operator queue: never silence. At the queue's own action the
  caller has already waited for an operator, so there it is the apology and <Hangup/>.
- the database unavailable: one retry on a connection that had died, then the fallback (voice_fallback.py):
  the apology, the command center's desk phone (HOTLINE_VOICE_FALLBACK_NUMBER), else a recorded message that
  is spooled and becomes a ticket when the database is back. Twilio's own "application error" would be the
  end of the call, and Twilio does not retry a Voice webhook. Status callbacks still answer 503.
- a turn without media ends the call: <Hangup/> (the call has ended, or an operator had it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TypeVar

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.channels.twilio.voice_fallback import fallback_twiml
from hotline.channels.twilio.voice_twiml import BARGE_IN, VoiceUrls, record_after_key, render, render_wait
from hotline.channels.twilio.webhooks import database_slots, signed_form, twiml
from hotline.cityconfig import CityConfig
from hotline.core.city import current_config
from hotline.db import DATABASE_UNAVAILABLE, retry_if_disconnected, unit_of_work
from hotline.features.calls.call_flows import apology_media
from hotline.features.calls.calls import UnknownCall, begin_call, continue_call, recording_ready, turn_number
from hotline.ivr import actions as a
from hotline.ivr.flow import TransferNode
from hotline.ivr.prompt_audio import PromptAudio, current_prompt_audio
from hotline.ivr.turn import Turn
from hotline.logs import bind
from hotline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio/voice")

PROVIDER = "twilio"
# CallStatus values after which the call is gone (the others: queued, ringing, in-progress).
CALL_OVER = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# QueueResult values that mean an operator had the call (the action comes after the bridge ended).
OPERATOR_HAD_IT = frozenset({"bridged", "bridging-in-process", "redirected-from-bridged"})
DEFAULT_MAX_WAIT = 120  # a transfer node's default, for a waitUrl that lost its query

Step = Callable[[Session, CityConfig], Turn]
T = TypeVar("T")


# --- the Twilio URLs -------------------------------------------------------------------------------


@router.post("")
async def incoming_call(request: Request) -> Response:
    signed = await signed_call(request)
    if isinstance(signed, Response):
        return signed
    form, sid = signed
    caller, called = _text(form, "From") or _text(form, "Caller"), _text(form, "To") or _text(form, "Called")
    language = _language(request)

    def begin(session: Session, config: CityConfig) -> Turn:
        # A retried webhook (same CallSid) gets the stored last turn: the same TwiML, nothing new.
        _, turn = begin_call(
            session,
            provider=PROVIDER,
            provider_call_id=sid,
            caller=caller,
            called=called,
            config=config,
            language=language,
        )
        return turn

    return await turn_response(request, sid, begin)


@router.post("/gather")
async def gathered(request: Request) -> Response:
    # Digits comes without the finish key; empty (or absent) when the caller pressed nothing.
    listening = request.query_params.get("listen") == "1"
    return await _event(request, lambda form: gather_event(form, listening=listening))


def gather_event(form: FormData, *, listening: bool) -> a.Event:
    """A key beats a voice; after a listening Gather (input="dtmf speech") an empty result is silence."""
    if digits := _text(form, "Digits"):
        return a.Digits(digits)
    if speech := _text(form, "SpeechResult"):
        confidence = _text(form, "Confidence")
        return a.Speech(speech, min(_number(confidence), 1.0) if confidence else None)
    return a.Silence() if listening else a.NoInput()


@router.post("/record")
async def recorded(request: Request) -> Response:
    if request.query_params.get(BARGE_IN) == "1":
        return await _record_now(request)

    def event(form: FormData) -> a.Event:
        url = _text(form, "RecordingUrl")
        if not url:  # the <Redirect> after an empty recording: Twilio skipped the action
            return a.NoInput()
        return a.Recorded(url, _number(_text(form, "RecordingDuration")))

    return await _event(request, event)


async def _record_now(request: Request) -> Response:
    """The caller pressed a key during a Record's instruction (the one-key <Gather> around it, voice_twiml.py):
    start the recording now. The call's turn is not stepped and the database is not touched: the signed URL
    carries the Record's settings and its turn, so the <Record> action comes back to the same turn."""
    signed = await signed_call(request)
    if isinstance(signed, Response):
        return signed
    record = record_after_key(request.query_params)
    return _render(request, current_config(), (record,), turn=_turn_stamp(request))


@router.post("/queue/done")
async def left_queue(request: Request) -> Response:
    def event(form: FormData) -> a.Event:
        result = _text(form, "QueueResult")
        if result == "hangup":
            return a.HangUp()
        # leave (our <Leave/> after max_wait), redirected, queue-full, error, system-error: nobody answered.
        return a.QueueLeft(answered=result in OPERATOR_HAD_IT)

    return await _event(request, event, after_queue=True)


@router.post("/queue/wait")
async def queue_wait(request: Request) -> Response:
    """Hold while the caller waits for an operator; <Leave/> after max_wait. No database: it runs every round."""
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    config = current_config()
    flow = config.default_flow
    operator = flow.nodes.get(flow.operator_node) if flow else None
    prompts = (
        [flow.prompt(key, language) for language in flow.languages for key in operator.prompts]
        if flow and isinstance(operator, TransferNode)
        else []
    )  # every language: the caller's is in the database, which this URL does not touch
    body = render_wait(
        prompts,
        waited=int(_number(_text(form, "QueueTime"))),
        max_wait=int(_number(request.query_params.get("max_wait", ""))) or DEFAULT_MAX_WAIT,
        music=request.query_params.get("music") or None,
        urls=_urls(request),
        prompt_audio=_prompt_audio(config),
    )
    return twiml(body)


@router.post("/status")
async def call_status(request: Request) -> Response:
    signed = await signed_call(request)
    if isinstance(signed, Response):
        return signed
    form, sid = signed
    status = _text(form, "CallStatus")
    if status not in CALL_OVER:
        return Response(status_code=204)  # ringing, in-progress: nothing happened to the flow

    def hang_up(session: Session, config: CityConfig) -> Turn:
        return continue_call(session, provider=PROVIDER, provider_call_id=sid, event=a.HangUp(), config=config)

    await status_callback(request, sid, hang_up)
    return Response(status_code=204)


@router.post("/recording-status")
async def recording_status(request: Request) -> Response:
    signed = await signed_call(request)
    if isinstance(signed, Response):
        return signed
    form, sid = signed
    url = _text(form, "RecordingUrl")
    if _text(form, "RecordingStatus") != "completed" or not url:
        return Response(status_code=204)  # in-progress, absent (silence), failed: nothing to keep
    seconds = _number(_text(form, "RecordingDuration"))

    def keep(session: Session, config: CityConfig) -> None:
        recording_ready(session, provider=PROVIDER, provider_call_id=sid, recording_url=url, seconds=seconds)

    await status_callback(request, sid, keep)
    return Response(status_code=204)


# --- one turn --------------------------------------------------------------------------------------


async def _event(request: Request, event_of: Callable[[FormData], a.Event], *, after_queue: bool = False) -> Response:
    signed = await signed_call(request)
    if isinstance(signed, Response):
        return signed
    form, sid = signed
    event = event_of(form)
    turn = _turn_stamp(request)

    def step(session: Session, config: CityConfig) -> Turn:
        return continue_call(session, provider=PROVIDER, provider_call_id=sid, event=event, config=config, turn=turn)

    return await turn_response(request, sid, step, after_queue=after_queue)


async def turn_response(request: Request, sid: str, step: Step, *, after_queue: bool = False) -> Response:
    """Run `step` in one unit of work (in a worker thread, within the database slots) and render its media."""
    config = current_config()
    try:
        turn = await _in_unit_of_work(request, config, step)
    except DATABASE_UNAVAILABLE as exc:  # nothing was half written; the caller still reaches someone
        log.error("%s: call %s: database unavailable (%s); the caller goes to the fallback", request.url.path, sid, exc)
        return twiml(fallback_twiml(request, config, step="start"))
    except UnknownCall:
        log.warning("%s: no call %s; the caller hears the apology", request.url.path, sid)
        return _render(request, config, apology_media(config, then="hangup"))
    except Exception:  # broad: whatever failed, the caller hears the apology and reaches a person
        log.exception("%s: call %s failed; the caller goes to an operator", request.url.path, sid)
        return _render(request, config, apology_media(config, then="hangup" if after_queue else "operator"))
    media = turn.media
    if not media:
        if not turn.state.ended:  # the engine promises this never happens; if it does, a person takes over
            log.error("%s: call %s got no media at node %s", request.url.path, sid, turn.state.node)
            return _render(request, config, apology_media(config, then="hangup" if after_queue else "operator"))
        media = (a.Hangup(),)  # the caller hung up, an operator had the call, or a late webhook
    return _render(request, config, media, turn=turn_number(turn.state))


async def status_callback(request: Request, sid: str, step: Callable[[Session, CityConfig], object]) -> None:
    """A status callback: Twilio ignores our answer, so a failure is only logged (the database's is a 503)."""
    try:
        await _in_unit_of_work(request, current_config(), step)
    except OperationalError:
        raise
    except UnknownCall:
        log.info("%s: no call %s; ignored", request.url.path, sid)
    except Exception:  # broad: Twilio ignores the answer; a failed callback is only logged (the call goes on)
        log.exception("%s: call %s failed", request.url.path, sid)


async def _in_unit_of_work(request: Request, config: CityConfig, step: Callable[[Session, CityConfig], T]) -> T:
    def once() -> T:
        with unit_of_work() as session:  # its own: retried once, and a failed commit still answers TwiML
            return step(session, config)

    return await run_sync(lambda: retry_if_disconnected(once), limiter=database_slots(request))


# --- small helpers ---------------------------------------------------------------------------------


def _render(
    request: Request, config: CityConfig, media: tuple[a.MediaAction, ...], *, turn: int | None = None
) -> Response:
    urls = _urls(request)
    if turn is not None:  # an apology is rendered without one: the call's state was rolled back
        urls = urls.for_turn(turn)
    return twiml(render(media, urls=urls, prompt_audio=_prompt_audio(config)))


def _turn_stamp(request: Request) -> int | None:
    """The `turn` our TwiML put in the action URL; absent or unreadable (an older call's TwiML): None."""
    value = request.query_params.get("turn", "")
    return int(value) if value.isdigit() else None


def _urls(request: Request) -> VoiceUrls:
    # The URLs Twilio is sent to must be the ones it signs; without HOTLINE_PUBLIC_URL (development)
    # signatures are checked against the request's own URL, so use that base.
    return VoiceUrls.under(get_settings().public_url or str(request.base_url))


def _prompt_audio(config: CityConfig) -> PromptAudio:
    settings = get_settings()
    return current_prompt_audio(config.ivr_flows.values(), config_dir=settings.config_dir, data_dir=settings.data_dir)


def _language(request: Request) -> str | None:
    """`?lang=` on the Voice URL; one the flow does not speak is a console typo, not the caller's fault."""
    language = request.query_params.get("lang") or None
    flow = current_config().default_flow
    if language is not None and flow is not None and language not in flow.languages:
        log.warning("Voice URL asks for language %r; the flow speaks %s", language, ", ".join(flow.languages))
        return None
    return language


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def signed_call(request: Request) -> tuple[FormData, str] | Response:
    """The signed form and its CallSid, or the response refusing it (403 bad signature, 400 no CallSid)."""
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    sid = _text(form, "CallSid")
    if not sid:
        return Response("CallSid is required", status_code=400, media_type="text/plain")
    bind(call_id=sid)  # every log line of this request names the call (each request runs in its own task)
    return form, sid


def _number(text: str) -> float:
    """Twilio's seconds ('12', '-1' for unknown); anything unreadable is 0."""
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0
