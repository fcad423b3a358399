"""Calls while the database is down: the caller still reaches a person, or leaves a message that is kept.

    POST /twilio/voice/fallback            the number's Voice "Primary handler fails" URL in Twilio's console;
                                           also what every Voice webhook answers itself while the database
                                           cannot be reached (voice_webhooks.py). No database.
    POST /twilio/voice/fallback/dialed     <Dial> action: DialCallStatus. Answered: the call row is spooled
                                           (an operator had it); otherwise: the message prompt and <Record>.
    POST /twilio/voice/fallback/recorded   <Record> action (and the <Redirect> after an empty one): the
                                           recording's URL and the caller are spooled and become a voice ticket
                                           when the database is back (hotline/features/calls/outage_calls.py).

TwiML, in the flow's first language: the apology (`operator.apology` prompts), then <Dial> to
HOTLINE_VOICE_FALLBACK_NUMBER (the command center's desk) for 30 s; nobody answers, or no number set: the
flow's `ask_description` prompt, a beep and up to 2 minutes, then `goodbye`. All of it is rendered from the
city's files, which are in memory: nothing here needs the database or Redis.
"""

from __future__ import annotations

import logging
from typing import Literal

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData
from twilio.twiml.voice_response import VoiceResponse

from hotline.channels.twilio.voice_settings import TwilioVoiceSettings
from hotline.channels.twilio.voice_twiml import VOICE_PREFIX, VoiceUrls, speak_prompt
from hotline.channels.twilio.webhooks import signed_form, twiml
from hotline.cityconfig import CityConfig
from hotline.clock import now
from hotline.core.city import current_config
from hotline.ivr.prompt_audio import current_prompt_audio
from hotline.settings import get_settings
from hotline.spool.records import VoiceMessage, voice_record
from hotline.spool.store import current_spool

log = logging.getLogger(__name__)
router = APIRouter(prefix=f"{VOICE_PREFIX}/fallback")

DIAL_SECONDS = 30
RECORD_MAX_SECONDS = 120
ANSWERED = frozenset({"completed", "answered"})  # DialCallStatus when the desk picked up
MAX_CALL_SID = 64  # calls.provider_call_id


def _base(request: Request) -> str:
    return (get_settings().public_url or str(request.base_url)).rstrip("/") + VOICE_PREFIX + "/fallback"


def fallback_twiml(request: Request, config: CityConfig, *, step: Literal["start", "message", "goodbye"]) -> str:
    """The TwiML of one step of the fallback: "start" (apology, then the desk or the message), "message" (the
    prompt and the <Record>), "goodbye"."""
    settings = get_settings()
    response = VoiceResponse()
    flow = config.default_flow
    urls = VoiceUrls.under(settings.public_url or str(request.base_url))
    audio = current_prompt_audio(config.ivr_flows.values(), config_dir=settings.config_dir, data_dir=settings.data_dir)

    def say(*keys: str) -> None:
        if flow is None:
            return
        language = flow.languages[0]
        for key in keys:
            if key in flow.prompts[flow.languages[0]]:  # a city without this prompt: nothing said
                speak_prompt(response, flow.prompt(key, language), urls, audio)

    base = _base(request)
    if step == "start":
        say(*(flow.apology if flow else ()))
        desk = settings.voice(TwilioVoiceSettings).fallback_number
        if desk:
            response.dial(desk, action=f"{base}/dialed", timeout=DIAL_SECONDS)
            return response.to_xml()
        step = "message"
    if step == "message":
        say("ask_description")
        response.record(
            max_length=RECORD_MAX_SECONDS, timeout=5, finish_on_key="#", play_beep=True, action=f"{base}/recorded"
        )
        response.redirect(f"{base}/recorded", method="POST")  # reached only after an empty recording
        return response.to_xml()
    say("goodbye")
    response.hangup()
    return response.to_xml()


@router.post("")
async def fallback(request: Request) -> Response:
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    log.warning("call %s on the Voice fallback", _text(form, "CallSid") or "?")
    return twiml(fallback_twiml(request, current_config(), step="start"))


@router.post("/dialed")
async def dialed(request: Request) -> Response:
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    if _text(form, "DialCallStatus") in ANSWERED:
        await _keep(form, outcome="dialed", recording_url=None)
        return twiml(fallback_twiml(request, current_config(), step="goodbye"))
    return twiml(fallback_twiml(request, current_config(), step="message"))


@router.post("/recorded")
async def recorded(request: Request) -> Response:
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    url = _text(form, "RecordingUrl")
    await _keep(form, outcome="recorded" if url else "hung_up", recording_url=url or None)
    return twiml(fallback_twiml(request, current_config(), step="goodbye"))


async def _keep(form: FormData, *, outcome: str, recording_url: str | None) -> None:
    """Spool what the call left (fsync'd before Twilio hears back); the replayer makes it a call row and, with a
    recording, a voice ticket. A form without a usable CallSid is kept nowhere (it could not be deduplicated)."""
    sid = _text(form, "CallSid")
    if not sid or len(sid) > MAX_CALL_SID:
        log.error("voice fallback: no usable CallSid (%r); nothing kept", sid[:80])
        return
    duration = _text(form, "RecordingDuration")
    message = VoiceMessage(
        provider="twilio",
        call_id=sid,
        caller=_text(form, "From") or _text(form, "Caller"),
        called=_text(form, "To") or _text(form, "Called"),
        recording_url=recording_url,
        seconds=float(duration) if duration.isdigit() else None,
        arrived_at=now(),
        outcome=outcome,
    )
    path = await run_sync(lambda: current_spool().append(voice_record(message)))
    log.warning("voice fallback: call %s (%s) spooled as %s", sid, outcome, path.name)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
