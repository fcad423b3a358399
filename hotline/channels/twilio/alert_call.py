"""Twilio webhooks of the voice-call alert (placed by hotline/jobs/alert_calls.py). Signature-checked like
every /twilio/ route; the DB work is hotline/services/voice_alerts.py.

    POST /twilio/voice/alert?attempt=N                 the member answered      -> the alert, <Gather numDigits=1>
    POST /twilio/voice/alert/answer?attempt=N&round=R  <Gather> action: Digits  -> accepted / again / goodbye
    POST /twilio/voice/alert/status?attempt=N          CallStatus               -> 204 (busy, no-answer: failover)

Bad or missing X-Twilio-Signature: 403; no CallSid or attempt: 400; an attempt we do not know: <Hangup/>.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from hotline.channels.twilio.voice_twiml import say_voice
from hotline.channels.twilio.webhooks import database_slots, signed_form, twiml
from hotline.db import retry_if_disconnected, unit_of_work
from hotline.jobs.alert_calls import ALERT_PATH
from hotline.services import failover, voice_alerts
from hotline.services.city import current_config
from hotline.services.voice_alerts import AlertCallTurn, UnknownAlertCall
from hotline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix=ALERT_PATH)
GATHER_SECONDS = 8  # after the alert is said: time to press 1


def render_turn(turn: AlertCallTurn, *, answer_url: str) -> str:
    """TwiML of one turn: the texts inside a one-key <Gather> (pressing 1 may interrupt them), or the texts
    and <Hangup/>."""
    response = VoiceResponse()
    if turn.gather:
        gather = response.gather(
            input="dtmf", num_digits=1, timeout=GATHER_SECONDS, action=answer_url, action_on_empty_result=True
        )
        for language, text in turn.texts:
            gather.say(text, **say_voice(language))
    else:
        for language, text in turn.texts:
            response.say(text, **say_voice(language))
        response.hangup()
    return str(response)


def answer_url(request: Request, attempt_id: int, round_: int) -> str:
    # The URL Twilio is sent to must be the one it signs: HOTLINE_PUBLIC_URL, else this request's own base.
    base = (get_settings().public_url or str(request.base_url)).rstrip("/")
    return f"{base}{ALERT_PATH}/answer?attempt={attempt_id}&round={round_}"


@router.post("")
async def alert_answered(request: Request) -> Response:
    return await _turn(
        request,
        lambda session, attempt_id, sid, _form: voice_alerts.answered(
            session, config=current_config(), attempt_id=attempt_id, call_sid=sid
        ),
        next_round=1,
    )


@router.post("/answer")
async def alert_key_pressed(request: Request) -> Response:
    round_ = _number(request.query_params.get("round", ""), default=1)
    return await _turn(
        request,
        lambda session, attempt_id, sid, form: voice_alerts.pressed(
            session,
            config=current_config(),
            attempt_id=attempt_id,
            call_sid=sid,
            digits=str(form.get("Digits") or "").strip(),
            round_=round_,
        ),
        next_round=round_ + 1,
    )


@router.post("/status")
async def alert_call_status(request: Request) -> Response:
    signed = await _signed(request)
    if isinstance(signed, Response):
        return signed
    form, attempt_id, sid = signed
    status = str(form.get("CallStatus") or "").strip()

    def apply() -> None:
        with unit_of_work() as session:
            failover.on_call_status(session, attempt_id=attempt_id, call_sid=sid, status=status)

    await run_sync(lambda: retry_if_disconnected(apply), limiter=database_slots(request))
    return Response(status_code=204)


Step = Callable[[Session, int, str, dict[str, str]], AlertCallTurn]


async def _turn(request: Request, step: Step, *, next_round: int) -> Response:
    signed = await _signed(request)
    if isinstance(signed, Response):
        return signed
    form, attempt_id, sid = signed

    def once() -> AlertCallTurn:
        with unit_of_work() as session:
            return step(session, attempt_id, sid, form)

    try:
        turn = await run_sync(lambda: retry_if_disconnected(once), limiter=database_slots(request))
    except UnknownAlertCall:
        log.warning("%s: no alert call %s (%s); hanging up", request.url.path, attempt_id, sid)
        response = VoiceResponse()
        response.hangup()
        return twiml(str(response))
    return twiml(render_turn(turn, answer_url=answer_url(request, attempt_id, next_round)))


async def _signed(request: Request) -> tuple[dict[str, str], int, str] | Response:
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    raw = request.query_params.get("attempt", "")
    sid = str(form.get("CallSid") or "").strip()
    if not raw.isdigit() or not sid:
        return Response("attempt and CallSid are required", status_code=400, media_type="text/plain")
    return {k: v for k, v in form.items() if isinstance(v, str)}, int(raw), sid


def _number(text: str, *, default: int) -> int:
    return int(text) if text.isdigit() else default
