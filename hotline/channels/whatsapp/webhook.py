"""WhatsApp Business Cloud API webhook.

    GET  /whatsapp/webhook?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...   Meta's verification:
         the challenge echoed (200) when the token is a configured gateway's VERIFY_TOKEN, else 403
    POST /whatsapp/webhook   messages and statuses, JSON, signed: X-Hub-Signature-256 = "sha256=" + hex
         HMAC-SHA256 of the raw body under the app secret (HOTLINE_GATEWAY_<NAME>_APP_SECRET). Bad or
         missing: 403, nothing stored.

Each message is stored through the one idempotent path (gateway_sink: unique by its wamid, so Meta's
redeliveries change nothing), spooled while the database is down; each status is a delivery report. The
gateway is the one whose PHONE_NUMBER_ID the change names (else the only one). Answered 200 once all is kept:
Meta retries anything else for up to 7 days, so a 5xx (the database and the spool both down) loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from functools import partial
from typing import Any

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request, Response

from hotline.channels.gateway_sink import InboundRefused, take_or_spool, take_report
from hotline.channels.twilio.webhooks import database_slots
from hotline.channels.whatsapp.payloads import NotAWebhook, parse
from hotline.core.gateway_config import GatewaySpec
from hotline.settings import get_settings
from hotline.web.safe import same_secret

log = logging.getLogger(__name__)
router = APIRouter(prefix="/whatsapp")


def signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _plain(text: str, status_code: int) -> Response:
    return Response(text, status_code=status_code, media_type="text/plain")


def _specs() -> list[GatewaySpec]:
    return get_settings().sms_routing.of_kind("whatsapp")


@router.get("/webhook", include_in_schema=False)
async def verify(request: Request) -> Response:
    params = request.query_params
    token, challenge = params.get("hub.verify_token", ""), params.get("hub.challenge", "")
    tokens = [s.get("VERIFY_TOKEN") or "" for s in _specs()]
    if params.get("hub.mode") != "subscribe" or not any(t and same_secret(token, t) for t in tokens):
        log.warning(
            "WhatsApp webhook verification refused (mode %r, token wrong or none configured)", params.get("hub.mode")
        )
        return _plain("verification refused", 403)
    return _plain(challenge, 200)


def _signed_by(body: bytes, given: str) -> list[GatewaySpec]:
    return [
        s for s in _specs() if s.get("APP_SECRET") and same_secret(given, signature(s.get("APP_SECRET") or "", body))
    ]


@router.post("/webhook", include_in_schema=False)
async def receive(request: Request) -> Response:
    if not _specs():
        return _plain("no WhatsApp gateway is configured (HOTLINE_GATEWAY_<NAME>_TYPE=whatsapp)", 404)
    body = await request.body()
    given = request.headers.get("X-Hub-Signature-256", "").strip().lower()
    signers = _signed_by(body, given) if given.startswith("sha256=") else []
    if not signers:
        log.warning(
            "WhatsApp webhook refused: X-Hub-Signature-256 missing or not by our app secret (%d bytes)", len(body)
        )
        return _plain("invalid or missing X-Hub-Signature-256", 403)
    try:
        data = json.loads(body)
        by_number = {s.get("PHONE_NUMBER_ID"): s.name for s in _specs()}
        parsed = [
            parse(_only_entry(data, change), gateway=by_number.get(number) or signers[0].name)
            for change, number in _changes(data)
        ]
    except (ValueError, NotAWebhook) as exc:
        return _plain(f"not a WhatsApp webhook: {exc}", 400)
    limiter = database_slots(request)
    for part in parsed:
        for ignored in part.ignored:
            log.info("WhatsApp %s: nothing for us", ignored)
        for sms in part.messages:
            try:
                await run_sync(partial(take_or_spool, sms, kind="whatsapp"), limiter=limiter)
            except InboundRefused as exc:  # one bad message must not make Meta resend the good ones for days
                log.warning("WhatsApp message from %s refused: %s (payload %s)", sms.sender, exc, dict(sms.payload))
        for report in part.reports:
            await run_sync(partial(take_report, report), limiter=limiter)
            if report.status == "failed":
                log.warning("WhatsApp message %s failed: %s %s", report.provider_sid, report.error_code, report.detail)
    return _plain("", 200)


def _changes(data: object) -> list[tuple[tuple[int, int], str | None]]:
    """(entry index, change index) and the phone number id it names, for each change."""
    if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
        raise NotAWebhook("expected {'object': 'whatsapp_business_account', 'entry': [...]}")
    found = []
    raw_entries = data.get("entry")
    entries: list[Any] = raw_entries if isinstance(raw_entries, list) else []
    for i, entry in enumerate(entries):
        raw = entry.get("changes") if isinstance(entry, dict) else None
        changes: list[Any] = raw if isinstance(raw, list) else []
        for j, change in enumerate(changes):
            value = change.get("value") if isinstance(change, dict) else None
            metadata = value.get("metadata") if isinstance(value, dict) else None
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            found.append(((i, j), str(number) if number is not None else None))
    return found


def _only_entry(data: dict[str, object], where: tuple[int, int]) -> dict[str, object]:
    """The webhook with only one of its changes, so each change is parsed for its own gateway."""
    i, j = where
    entry = data["entry"][i]  # type: ignore[index]
    return {"object": data["object"], "entry": [{**entry, "changes": [entry["changes"][j]]}]}
