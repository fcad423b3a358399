"""Kannel delivery reports: Kannel requests the dlr-url we gave it (hotline/channels/kannel/sms_client.py),
with `%d` replaced by the report type. Kannel does not sign requests: the per-message token in the URL
(an HMAC of the message id under HOTLINE_SECRET_KEY) is what proves the report is about our message.

    GET|POST /kannel/dlr?id=<outbox id>&token=<hmac>&sid=<our id>&status=<%d>&answer=<%A>
    bad or missing token: 403; no sid or no readable status: 400; otherwise 200, known message or not.
"""

from __future__ import annotations

import hmac
import logging

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response

from hotline.channels.kannel.sms_client import dlr_token
from hotline.channels.twilio.webhooks import database_slots
from hotline.db import retry_if_disconnected, unit_of_work
from hotline.services.delivery import record_delivery_status
from hotline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/kannel")

DELIVERED, NOT_DELIVERED, BUFFERED, SMSC_SUBMIT, SMSC_REJECT = 1, 2, 4, 8, 16


def outbox_status(report: int) -> str:
    """Kannel's report type (a bit of its dlr-mask) as an outbox status (hotline/services/delivery.py)."""
    if report & DELIVERED:
        return "delivered"
    if report & NOT_DELIVERED:  # also Kannel's 0x22 'expired' and 0x42 'unknown': the phone never got it
        return "undelivered"
    if report & SMSC_REJECT:
        return "failed"
    if report & SMSC_SUBMIT:
        return "sent"
    return "queued"  # buffered at the SMSC: on its way


def _text(request: Request, name: str) -> str:
    return request.query_params.get(name, "").strip()


# Kannel calls it by GET or POST as its dlr-url says; one route for both would be two operations with one id in
# the OpenAPI document, and a gateway callback is not part of the public API anyway.
@router.api_route("/dlr", methods=["GET", "POST"], include_in_schema=False)
async def kannel_dlr(request: Request) -> Response:
    raw_id, token = _text(request, "id"), _text(request, "token")
    if not raw_id.isdigit() or not hmac.compare_digest(token, dlr_token(get_settings().secret_key, int(raw_id))):
        return Response("invalid or missing token", status_code=403, media_type="text/plain")
    sid, raw_status = _text(request, "sid"), _text(request, "status")
    if not sid or not raw_status.isdigit():
        return Response("sid and a numeric status are required", status_code=400, media_type="text/plain")
    report = int(raw_status)
    status = outbox_status(report)
    error_code = f"dlr-{report}"[:16] if status in ("undelivered", "failed") else None

    def apply() -> bool:
        with unit_of_work() as session:
            return record_delivery_status(
                session, message_id=int(raw_id), provider_sid=sid, status=status, error_code=error_code
            )

    known = await run_sync(lambda: retry_if_disconnected(apply), limiter=database_slots(request))
    if not known:
        log.info("Kannel report %s for unknown message %s (id=%s) ignored", report, sid, raw_id)
    elif status in ("undelivered", "failed"):
        log.warning("Kannel: SMS %s not delivered (%s): %s", raw_id, report, _text(request, "answer"))
    return Response("OK", media_type="text/plain")
