"""SMS Gateway for Android's webhooks: citizen SMS (sms:received) and the fate of ours (sms:sent, sms:delivered,
sms:failed), each one signed.

    POST /android-sms/webhook?gateway=<name>   (register it in the app for each of the four events)
    {"deviceId", "event", "id", "payload": {...}, "webhookId"}   X-Signature, X-Timestamp

- The signature: hex HMAC-SHA256 of the raw body followed by X-Timestamp, under the app's signing key
  (HOTLINE_GATEWAY_<NAME>_SIGNING_KEY); a timestamp more than 5 minutes off is refused (a replayed request).
  Bad or missing: 403, nothing stored.
- sms:received is stored under the event's `id` (the app keeps it across its retries; its `messageId` is made
  from the text, so two equal texts would share it). Malformed: 400. Answered 200 at once (the app retries
  what is not 2xx within 30 s, for up to about two days).
- sms:sent / sms:delivered / sms:failed name our message by the id we gave it (hotline/channels/android/client.py).
- Other events (system:ping, MMS): 200, ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response

from hotline.channels.gateway import DeliveryReport, DeliveryStatus, InboundSms
from hotline.channels.gateway_sink import InboundRefused, gateways_named, take_or_spool, take_report
from hotline.channels.twilio.webhooks import database_slots
from hotline.core.gateway_config import GatewaySpec
from hotline.web.safe import plain_int, same_secret

log = logging.getLogger(__name__)
router = APIRouter(prefix="/android-sms")

MAX_CLOCK_SKEW = 300  # seconds
REPORTS: dict[str, DeliveryStatus] = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}


def signature(key: str, body: bytes, timestamp: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def _plain(text: str, status_code: int) -> Response:
    return Response(text, status_code=status_code, media_type="text/plain")


def _gateway(request: Request) -> GatewaySpec | Response:
    name = request.query_params.get("gateway", "").strip().lower()
    found = gateways_named("android", name or None)
    if not found:
        return _plain(f"no SMS Gateway for Android gateway{' named ' + repr(name) if name else ''} is configured", 404)
    if len(found) > 1:
        return _plain(f"several Android gateways ({', '.join(g.name for g in found)}): add ?gateway=<name>", 400)
    return found[0]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@router.post("/webhook", include_in_schema=False)
async def android_webhook(request: Request) -> Response:
    spec = _gateway(request)
    if isinstance(spec, Response):
        return spec
    key = spec.get("SIGNING_KEY")
    if not key:
        return _plain(f"{spec.env('SIGNING_KEY')} is not set: this gateway's events are refused until it is", 403)
    body = await request.body()
    stamp = request.headers.get("X-Timestamp", "")
    given = request.headers.get("X-Signature", "")
    when = plain_int(stamp, max_digits=12)
    if when is None or not same_secret(given.lower(), signature(key, body, stamp)):
        return _plain("invalid or missing X-Signature / X-Timestamp", 403)
    if abs(time.time() - when) > MAX_CLOCK_SKEW:
        return _plain(
            f"X-Timestamp is more than {MAX_CLOCK_SKEW} s from our clock (a replay, or a phone clock off)", 403
        )
    try:
        event = json.loads(body)
    except ValueError:
        return _plain("the body is not JSON", 400)
    if not isinstance(event, dict) or not isinstance(event.get("payload"), dict):
        return _plain("expected an object with event, id and payload", 400)
    kind, payload = _text(event.get("event")), event["payload"]
    if kind == "sms:received":
        sms = InboundSms(
            gateway=spec.name,
            gateway_id=_text(event.get("id")),
            sender=_text(payload.get("phoneNumber")) or _text(payload.get("sender")),
            to=_text(payload.get("recipient")),
            body=payload.get("message") if isinstance(payload.get("message"), str) else "",
            line=str(payload["simNumber"]) if isinstance(payload.get("simNumber"), int) else None,
            payload={
                "device_id": _text(event.get("deviceId")),
                "message_id": _text(payload.get("messageId")),
                "received_at": _text(payload.get("receivedAt")),
            },
        )
        if not isinstance(payload.get("message"), str):
            return _plain("sms:received without a message text", 400)
        try:
            await run_sync(lambda: take_or_spool(sms, kind="android"), limiter=database_slots(request))
        except InboundRefused as exc:
            return _plain(str(exc), 400)
        return _plain("", 200)
    if kind in REPORTS:
        message_id = _text(payload.get("messageId"))
        if not message_id:
            return _plain(f"{kind} without a messageId", 400)
        reason = _text(payload.get("reason"))
        report = DeliveryReport(
            gateway=spec.name,
            status=REPORTS[kind],
            provider_sid=message_id,
            error_code="android" if kind == "sms:failed" else None,
            detail=reason or None,
        )
        await run_sync(lambda: take_report(report), limiter=database_slots(request))
        if kind == "sms:failed":
            log.warning("SMS Gateway for Android: %s not sent: %s", message_id, reason)
        return _plain("", 200)
    return _plain("", 200)  # system:ping, MMS...: nothing for us
