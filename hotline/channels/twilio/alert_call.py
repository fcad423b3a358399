"""Twilio webhooks of the URC voice alert (placed by hotline/channels/twilio/voice_gateway.py). The call runs the
city's alert flow (hotline/features/alerts/voice_alerts.py) like any call: its <Gather> and status come back to the
usual /twilio/voice/ routes (hotline/channels/twilio/voice_webhooks.py); only its start and status are its own.

    POST /twilio/voice/alert?attempt=N          the member answered   -> the alert flow's first turn (TwiML)
    POST /twilio/voice/alert/status?attempt=N   CallStatus            -> 204 (busy, no-answer, failed: failover)

Bad or missing X-Twilio-Signature: 403; no CallSid or attempt: 400; an attempt we do not know: <Hangup/>.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from hotline.channels.twilio.voice_gateway import ALERT_PATH, PROVIDER, TwilioVoice
from hotline.channels.twilio.voice_webhooks import signed_call, status_callback, turn_response
from hotline.channels.voice import NOT_REACHED, OVER
from hotline.cityconfig import CityConfig
from hotline.features.alerts import voice_alerts
from hotline.features.calls.calls import continue_call, find_call
from hotline.ivr import actions as a
from hotline.ivr.turn import Turn
from hotline.settings import get_settings

router = APIRouter(prefix=ALERT_PATH)


@router.post("")
async def alert_answered(request: Request) -> Response:
    attempt_id = _attempt(request)
    signed = await signed_call(request)
    if isinstance(signed, Response):
        return signed
    _, sid = signed
    if attempt_id is None:
        return Response("attempt is required", status_code=400, media_type="text/plain")

    def begin(session: Session, config: CityConfig) -> Turn:
        return voice_alerts.answered(
            session, config=config, provider=PROVIDER, provider_call_id=sid, attempt_id=attempt_id
        )

    return await turn_response(request, sid, begin)


@router.post("/status")
async def alert_call_status(request: Request) -> Response:
    attempt_id = _attempt(request)
    signed = await signed_call(request)
    if isinstance(signed, Response):
        return signed
    form, sid = signed
    if attempt_id is None:
        return Response("attempt is required", status_code=400, media_type="text/plain")
    status = TwilioVoice.from_settings(get_settings()).call_status(str(form.get("CallStatus") or ""))
    if status is None or status not in OVER:
        return Response(status_code=204)  # queued, ringing, in-progress: the answer URL says it first

    def settle(session: Session, config: CityConfig) -> None:
        if status in NOT_REACHED:
            voice_alerts.not_reached(session, attempt_id=attempt_id, provider_call_id=sid, status=status)
        if find_call(session, provider=PROVIDER, provider_call_id=sid) is not None:  # the flow ran: it ends
            continue_call(session, provider=PROVIDER, provider_call_id=sid, event=a.HangUp(), config=config)

    await status_callback(request, sid, settle)
    return Response(status_code=204)


def _attempt(request: Request) -> int | None:
    raw = request.query_params.get("attempt", "")
    return int(raw) if raw.isdigit() else None
