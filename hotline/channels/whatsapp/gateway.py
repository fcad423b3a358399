"""WhatsApp (Cloud API) as an `SmsGateway` and a `MediaSource`: replies and notices go back as WhatsApp
messages to those who wrote on it (hotline/features/sms/sms_routes.py picks it, inside the 24-hour window), and
the photos, voice notes and documents they sent are fetched by media id.

Delivery reports come back through the webhook's `statuses` (webhook.py) under the wamid `send` returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hotline.channels.gateway import FetchedMedia, MediaFetchError, OutgoingSms, SendError, SendResult
from hotline.channels.whatsapp.graph import GraphClient, GraphError
from hotline.sms.template_text import TEMPLATE_VARIABLE, fit

TEXT_LIMIT = 4096  # a text message's body, in characters
INTERACTIVE_BODY = 1024  # an interactive message's body
TEMPLATE_PARAMETER = TEMPLATE_VARIABLE  # a template body parameter


def wa_number(to: str) -> str:
    """WhatsApp numbers are digits with the country code, no '+'."""
    return "".join(ch for ch in to if ch.isdigit())


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"preview_url": False, "body": body[:TEXT_LIMIT]}}


def template(body: str, name: str, language: str) -> dict[str, Any]:
    """The city's approved template (sms/whatsapp.yaml) with the message's text as its one body parameter."""
    parameters = [{"type": "text", "text": fit(body, TEMPLATE_PARAMETER)}]  # at a word, with "…"
    components = [{"type": "body", "parameters": parameters}]
    return {"type": "template", "template": {"name": name, "language": {"code": language}, "components": components}}


def interactive(body: str, choices: Mapping[str, object] | None) -> dict[str, Any] | None:
    """The question with WhatsApp's own buttons (hotline/core/outbox.py Choices), or None to send the text: the
    text says the same, so anything WhatsApp would refuse (too long, too many rows) goes as text."""
    kind = (choices or {}).get("kind")
    raw = (choices or {}).get("options")
    options = (
        [(str(o[0]), str(o[1])) for o in raw if isinstance(o, list | tuple) and len(o) == 2]
        if isinstance(raw, list)
        else []
    )
    if kind == "image" and isinstance((choices or {}).get("url"), str) and len(body) <= INTERACTIVE_BODY:
        return {"type": "image", "image": {"link": str((choices or {})["url"]), "caption": body}}
    if not kind or len(body) > INTERACTIVE_BODY:
        return None
    if kind == "location":
        action: dict[str, Any] = {"name": "send_location"}
        return {
            "type": "interactive",
            "interactive": {"type": "location_request_message", "body": {"text": body}, "action": action},
        }
    if kind == "list" and 1 <= len(options) <= 10:
        rows = [{"id": key, "title": title[:24]} for key, title in options]
        label = str((choices or {}).get("button") or "Pilih")[:20]
        action = {"button": label, "sections": [{"title": label, "rows": rows}]}
        return {"type": "interactive", "interactive": {"type": "list", "body": {"text": body}, "action": action}}
    if kind == "buttons" and 1 <= len(options) <= 3:
        buttons = [{"type": "reply", "reply": {"id": key, "title": title[:20]}} for key, title in options]
        return {
            "type": "interactive",
            "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
        }
    return None


class WhatsAppGateway:
    kind = "whatsapp"

    def __init__(self, *, name: str, client: GraphClient):
        self.name, self.client = name, client

    def send(self, sms: OutgoingSms) -> SendResult:
        to = wa_number(sms.to)
        if not to:
            raise SendError(f"{sms.to!r} is not a WhatsApp number", permanent=True)
        if sms.template is not None:  # outside the 24-hour window: only an approved template gets through
            message = {"to": to, **template(sms.body, *sms.template)}
        else:
            message = {"to": to, **(interactive(sms.body, sms.choices) or text(sms.body))}
        try:
            wamid = self.client.send(message)
        except GraphError as exc:
            raise SendError(str(exc), code=str(exc.code or exc.status), permanent=not exc.retryable) from exc
        return SendResult(self.name, self.kind, wamid, "accepted")

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        return None  # the Cloud API cannot be asked what was sent; a repeat is one more chat message, not a charge

    def fetch_media(self, ref: str, *, max_bytes: int) -> FetchedMedia:
        """`ref` is the media id of the webhook. Its URL is asked for each time: it expires within minutes."""
        try:
            info = self.client.media_info(ref)
            if info.file_size is not None and info.file_size > max_bytes:
                raise MediaFetchError(f"media {ref}: {info.file_size} bytes, over {max_bytes}", permanent=True)
            data = self.client.download(info.url, max_bytes=max_bytes)
        except GraphError as exc:
            # 404 on the id: deleted (30 days) or never ours. An expired URL answers 401/404 on the download:
            # asked again (a fresh URL) with the other transient errors.
            gone = exc.status in (400, 404) and "download" not in str(exc)
            raise MediaFetchError(str(exc), permanent=gone or exc.status == 413) from exc
        return FetchedMedia(data, info.mime_type)
