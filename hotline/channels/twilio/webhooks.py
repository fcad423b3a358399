"""Twilio Messaging webhooks: check the signature, store the message, answer at once."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from hotline.channels.twilio import signature
from hotline.db import unit_of_work
from hotline.jobs.queue import enqueue_inbound
from hotline.phone import sender_id
from hotline.services.delivery import record_delivery_status
from hotline.services.sms_intake import store_inbound_sms
from hotline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_FORM_FIELDS = 200


def twiml(body: str = EMPTY_TWIML, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/xml")


async def _signed_form(request: Request) -> FormData | Response:
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # malformed body: a clear 400, never a crash
        return Response(f"malformed form body: {exc}", status_code=400, media_type="text/plain")
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    if not signature.is_valid(request, get_settings(), params):
        return Response("invalid or missing X-Twilio-Signature", status_code=403, media_type="text/plain")
    return form


@router.post("/sms")
async def inbound_sms(request: Request) -> Response:
    form = await _signed_form(request)
    if isinstance(form, Response):
        return form
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    sender = str(form.get("From") or "")
    if not sid or not sender:
        return Response("MessageSid and From are required", status_code=400, media_type="text/plain")
    payload = {k: v for k, v in form.items() if isinstance(v, str)}
    region = get_settings().default_region

    def store() -> tuple[int, bool]:
        with unit_of_work() as session:
            return store_inbound_sms(
                session,
                provider="twilio",
                provider_sid=sid,
                from_raw=sender,
                from_e164=sender_id(sender, region),
                to_number=str(form.get("To") or ""),
                body=str(form.get("Body") or ""),
                payload=payload,
            )

    inbound_id, created = await run_in_threadpool(store)
    if created:
        try:
            await run_in_threadpool(enqueue_inbound, inbound_id)
        except Exception:  # stored is what matters; the sweeper queues it once Redis is back
            log.warning("could not queue inbound SMS %s; the sweeper will", inbound_id, exc_info=True)
    return twiml()


@router.post("/sms/status")
async def sms_status(request: Request) -> Response:
    form = await _signed_form(request)
    if isinstance(form, Response):
        return form
    raw_id = request.query_params.get("id", "")
    message_id = int(raw_id) if raw_id.isdigit() else None
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    status = str(form.get("MessageStatus") or form.get("SmsStatus") or "")
    if not sid or not status:
        return Response("MessageSid and MessageStatus are required", status_code=400, media_type="text/plain")

    def apply() -> bool:
        with unit_of_work() as session:
            return record_delivery_status(
                session,
                message_id=message_id,
                provider_sid=sid,
                status=status,
                error_code=str(form.get("ErrorCode") or "") or None,
            )

    known = await run_in_threadpool(apply)
    if not known:
        log.info("status %s for unknown message %s (id=%s) ignored", status, sid, raw_id)
    return Response(status_code=204)
