"""Twilio Messaging webhooks: check the signature, store the message, answer at once.

    POST /twilio/sms            the number's "A message comes in" URL: stored in the database, or, while the
                                database cannot be reached, in the local spool (hotline/spool/); 200 either way
    POST /twilio/sms/fallback   the number's Fallback URL (Twilio calls it when the first URL failed or took
                                over 15 s): straight to the spool, no database, so it answers even while the
                                database hangs; the replay makes a report that both URLs took one report
    POST /twilio/sms/status     delivery status callbacks of our SMS

Twilio does not retry an SMS webhook that fails: a 5xx loses the report. So a signed SMS is never answered
5xx for want of a database; an unsigned or mis-signed one is 403 and kept nowhere.
"""

from __future__ import annotations

import logging

from anyio import CapacityLimiter
from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect

from hotline.channels.gateway import DeliveryReport, InboundSms
from hotline.channels.gateway_sink import apply_any_report, spool_sms, take_or_spool
from hotline.channels.twilio import media, signature
from hotline.channels.twilio.sms_client import delivery_status
from hotline.db import POOL_SIZE, unit_of_work
from hotline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_FORM_FIELDS = 200
MAX_SID_LENGTH = 64  # inbound_messages.provider_sid


def database_slots(request: Request) -> CapacityLimiter:
    """At most as many requests in the database as the pool has connections: past that, more threads
    only open and close overflow connections, and throughput falls off a cliff (docs/benchmarks.md)."""
    slots = getattr(request.app.state, "database_slots", None)
    if slots is None:
        slots = request.app.state.database_slots = CapacityLimiter(POOL_SIZE)
    return slots


def twiml(body: str = EMPTY_TWIML, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/xml")


async def signed_form(request: Request) -> FormData | Response:
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    # A malformed body (Starlette says 400, python-multipart a ValueError), or a client gone (or cut off by
    # BodySizeLimit, which has answered 413): a clear 400, never a crash.
    except (HTTPException, MultiPartException, ClientDisconnect, ValueError) as exc:
        return Response(f"malformed form body: {exc}", status_code=400, media_type="text/plain")
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    if not signature.is_valid(request, get_settings(), params):
        return Response("invalid or missing X-Twilio-Signature", status_code=403, media_type="text/plain")
    return form


@router.post("/sms")
async def inbound_sms(request: Request) -> Response:
    sms = await _signed_sms(request)
    if isinstance(sms, Response):
        return sms
    await run_sync(lambda: take_or_spool(sms, kind="twilio"), limiter=database_slots(request))
    return twiml()


@router.post("/sms/fallback")
async def inbound_sms_fallback(request: Request) -> Response:
    sms = await _signed_sms(request)
    if isinstance(sms, Response):
        return sms
    await run_sync(lambda: spool_sms(sms, kind="twilio"))
    return twiml()


async def _signed_sms(request: Request) -> InboundSms | Response:
    """The signed form as an InboundSms, or the response refusing it (403, 400)."""
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    sender = str(form.get("From") or "")
    if not sid or not sender:
        return Response("MessageSid and From are required", status_code=400, media_type="text/plain")
    if len(sid) > MAX_SID_LENGTH:  # Twilio's are 34 characters; cutting one could merge two reports
        return Response(f"MessageSid longer than {MAX_SID_LENGTH} characters", status_code=400, media_type="text/plain")
    twilio = get_settings().sms_routing.of_kind("twilio")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return InboundSms(
        gateway=twilio[0].name if twilio else "twilio",
        gateway_id=sid,
        sender=media.bare_sender(sender),
        to=media.bare_sender(str(form.get("To") or "")),
        body=str(form.get("Body") or ""),
        payload={**fields, **media.extras_of(fields)},  # MMS pictures, WhatsApp media and places (issue 20)
    )


@router.post("/sms/status")
async def sms_status(request: Request) -> Response:
    form = await signed_form(request)
    if isinstance(form, Response):
        return form
    raw_id = request.query_params.get("id", "")
    message_id = int(raw_id) if raw_id.isdigit() else None
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    status = str(form.get("MessageStatus") or form.get("SmsStatus") or "")
    if not sid or not status:
        return Response("MessageSid and MessageStatus are required", status_code=400, media_type="text/plain")

    def apply() -> bool:
        with unit_of_work() as session:  # its own: commit included, within the database slots (not a DbSession)
            report = DeliveryReport(
                gateway="twilio",
                status=delivery_status(status),
                message_id=message_id,
                provider_sid=sid,
                error_code=str(form.get("ErrorCode") or "") or None,
            )
            return apply_any_report(session, report, kind="twilio") == "applied"  # Twilio's status callback

    known = await run_sync(apply, limiter=database_slots(request))
    if not known:
        log.info("status %s for unknown message %s (id=%s) ignored", status, sid, raw_id)
    return Response(status_code=204)
