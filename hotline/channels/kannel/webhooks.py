"""Kannel's requests to us: citizen SMS from smsbox's sms-service, and delivery reports.

    POST /kannel/sms?gateway=<name>&secret=<secret>&id=%I&from=%p&to=%P&smsc=%i&time=%T   body: the text
        (the sms-service's post-url; `get-url` works too with &text=%a, as GET). Answered 200 with an
        empty body, and the sms-service has `max-messages = 0`, so Kannel never texts anything back by
        itself. No or a wrong secret (never Twilio's token): 403; an address outside the gateway's ALLOW:
        403; no id or no sender: 400, nothing stored. A redelivered SMS (same %I) is stored once.
    GET|POST /kannel/dlr?id=<outbox id>&sid=<our id>&gateway=<name>&token=<hmac>&status=%d&answer=%A
        the dlr-url each SMS carries (hotline/channels/kannel/sms_client.py). Kannel does not sign requests:
        the token (an HMAC of that message id and that send's sid) is what proves the report is about our
        message. Bad or missing token: 403; no sid or no readable status: 400; a report whose sid is not the
        message's: 409; otherwise 200, known message or not.

`gateway=` may be left out when only one Kannel gateway is configured.
"""

from __future__ import annotations

import ipaddress
import logging
from base64 import b64decode
from binascii import Error as Base64Error

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response

from hotline.channels.gateway import DeliveryReport, DeliveryStatus, InboundSms
from hotline.channels.gateway_sink import InboundRefused, gateways_named, take_or_spool, take_report
from hotline.channels.kannel.sms_client import dlr_token
from hotline.channels.twilio.webhooks import database_slots
from hotline.core.gateway_config import GatewaySpec
from hotline.settings import get_settings
from hotline.web.safe import plain_int, same_secret

log = logging.getLogger(__name__)
router = APIRouter(prefix="/kannel")

DELIVERED, NOT_DELIVERED, BUFFERED, SMSC_SUBMIT, SMSC_REJECT = 1, 2, 4, 8, 16


def delivery_status(report: int) -> DeliveryStatus:
    """Kannel's report type (a bit of its dlr-mask) in our words."""
    if report & DELIVERED:
        return "delivered"
    if report & NOT_DELIVERED:  # also Kannel's 0x22 'expired' and 0x42 'unknown': the phone never got it
        return "undelivered"
    if report & SMSC_REJECT:
        return "failed"
    if report & SMSC_SUBMIT:
        return "sent"
    return "queued"  # buffered at the SMSC: on its way


outbox_status = delivery_status  # the name of before


def _plain(text: str, status_code: int) -> Response:
    return Response(text, status_code=status_code, media_type="text/plain")


def _gateway(request: Request) -> GatewaySpec | Response:
    """The Kannel gateway this request is for, if the caller's address may use it."""
    name = request.query_params.get("gateway", "").strip().lower()
    found = gateways_named("kannel", name or None)
    if not found and name:
        return _plain(f"no Kannel gateway named {name!r} (HOTLINE_SMS_GATEWAYS)", 404)
    if not found:
        return _plain("no Kannel gateway is configured (HOTLINE_SMS_GATEWAYS, HOTLINE_GATEWAY_<NAME>_TYPE=kannel)", 404)
    if len(found) > 1:
        names = ", ".join(g.name for g in found)
        return _plain(f"several Kannel gateways ({names}): add gateway=<name> to the URL", 400)
    spec = found[0]
    allowed = [a.strip() for a in (spec.get("ALLOW") or "").split(",") if a.strip()]
    if allowed:
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return _plain("request address unknown; the gateway only takes requests from its ALLOW list", 403)
        if not any(address in ipaddress.ip_network(a, strict=False) for a in allowed):
            return _plain(f"{host} may not use gateway {spec.name} ({spec.env('ALLOW')})", 403)
    return spec


def _secret_given(request: Request) -> str:
    given = request.query_params.get("secret", "")
    auth = request.headers.get("authorization", "")
    if not given and auth.lower().startswith("basic "):  # post-url = "http://kannel:SECRET@host/kannel/sms?..."
        try:
            given = b64decode(auth[6:].strip()).decode("utf-8", "replace").partition(":")[2]
        except (Base64Error, ValueError):
            given = ""
    return given


def _field(request: Request, name: str, header: str) -> str:
    return (request.query_params.get(name) or request.headers.get(header) or "").strip()


async def _text(request: Request) -> str:
    if request.method == "GET":
        return request.query_params.get("text", "")
    raw = await request.body()
    charset = request.query_params.get("charset") or request.headers.get("content-type", "").partition("charset=")[2]
    charset = charset.split(";")[0].strip().strip('"') or "utf-8"
    try:
        return raw.decode(charset, "replace")  # a garbled character costs less than a lost report
    except LookupError:
        return raw.decode("utf-8", "replace")


@router.api_route("/sms", methods=["GET", "POST"], include_in_schema=False)
async def kannel_sms(request: Request) -> Response:
    spec = _gateway(request)
    if isinstance(spec, Response):
        return spec
    expected = spec.get("SECRET")
    if not expected:
        return _plain(f"{spec.env('SECRET')} is not set: SMS from this Kannel are refused until it is", 403)
    if not same_secret(_secret_given(request), expected):
        return _plain("invalid or missing secret (secret=... in the post-url)", 403)
    message_id = _field(request, "id", "X-Kannel-Id")
    sender = _field(request, "from", "X-Kannel-From")
    if not message_id:
        return _plain("id is missing: put id=%I in the sms-service's post-url (docs/sms-gateways.md)", 400)
    if not sender:
        return _plain("from is missing: put from=%p in the post-url (or send-sender = true)", 400)
    smsc = _field(request, "smsc", "X-Kannel-SMSC")
    sms = InboundSms(
        gateway=spec.name,
        gateway_id=message_id,
        sender=sender,
        to=_field(request, "to", "X-Kannel-To"),
        body=await _text(request),
        line=smsc or None,
        payload={
            "kannel_time": _field(request, "time", "X-Kannel-Time"),
            "coding": _field(request, "coding", "X-Kannel-Coding"),
            "smsc": smsc,
            "service": request.headers.get("X-Kannel-Service", ""),
        },
    )
    try:
        await run_sync(lambda: take_or_spool(sms, kind="kannel"), limiter=database_slots(request))
    except InboundRefused as exc:
        return _plain(str(exc), 400)
    return _plain("", 200)  # empty: nothing for Kannel to send back (with max-messages = 0 it would not anyway)


def _text_param(request: Request, name: str) -> str:
    return request.query_params.get(name, "").strip()


# Kannel calls it by GET or POST as its dlr-url says; one route for both would be two operations with one id in
# the OpenAPI document, and a gateway callback is not part of the public API anyway.
@router.api_route("/dlr", methods=["GET", "POST"], include_in_schema=False)
async def kannel_dlr(request: Request) -> Response:
    raw_id, token, sid = _text_param(request, "id"), _text_param(request, "token"), _text_param(request, "sid")
    secret = get_settings().secret_key
    message_id = plain_int(raw_id, max_digits=10)
    if message_id is None or not (
        same_secret(token, dlr_token(secret, message_id, sid))
        # the token of before (id only), on SMS sent before the upgrade: the sid must then be the message's
        or same_secret(token, dlr_token(secret, message_id))
    ):
        return _plain("invalid or missing token", 403)
    spec = _gateway(request)
    if isinstance(spec, Response):
        return spec
    report = plain_int(_text_param(request, "status"), max_digits=9)
    if not sid or report is None:
        return _plain("sid and a numeric status are required", 400)
    status = delivery_status(report)
    answer = _text_param(request, "answer")
    delivery = DeliveryReport(
        gateway=spec.name,
        status=status,
        message_id=message_id,
        provider_sid=sid,
        error_code=f"dlr-{report}"[:16] if status in ("undelivered", "failed") else None,
        detail=answer or None,
    )
    outcome = await run_sync(lambda: take_report(delivery), limiter=database_slots(request))
    if outcome == "mismatch":
        return _plain("this report's sid is not the one this message was sent as", 409)
    if outcome == "applied" and status in ("undelivered", "failed"):
        log.warning("Kannel: SMS %s not delivered (%s): %s", raw_id, report, answer)
    return _plain("OK", 200)
