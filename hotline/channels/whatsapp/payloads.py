"""A Cloud API webhook body in our words: each message an `InboundSms`, each status a `DeliveryReport`.

    {"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field": "messages", "value": {
        "metadata": {"display_phone_number", "phone_number_id"}, "contacts": [{"profile": {"name"}, "wa_id"}],
        "messages": [{"from", "id", "timestamp", "type", <type>: {...}}], "statuses": [{"id", "status", ...}]}}]}]}

The text a message becomes is what the SMS grammar reads (hotline/sms/grammar.py): a text's body, a caption,
a shared place's name and address, a list or button reply's id (we give them ids the grammar knows: a
category's digit, "1"/"2" for close-the-loop), a contact card's name and number. Media and coordinates go
in the payload (hotline/channels/gateway.py `extras_payload`). Reactions and system notices are no message
for us; a type we do not know is still stored (its text empty, its type in the payload) and logged.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hotline.channels.gateway import DeliveryReport, DeliveryStatus, InboundMedia, InboundSms, extras_payload

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
IGNORED_TYPES = ("reaction", "system", "ephemeral", "request_welcome")
STATUSES: dict[str, DeliveryStatus] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "failed": "failed",
}
ID_ROOM = 40  # a wamid runs to about 60 characters; inbound_messages.provider_sid holds 64 with "<gateway>:"


@dataclass
class Parsed:
    messages: list[InboundSms] = field(default_factory=list)
    reports: list[DeliveryReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # "<type> <wamid>", for the log


class NotAWebhook(ValueError):
    """The body is not a WhatsApp Business Account webhook."""


def stored_id(wamid: str) -> str:
    """The id an inbound message is stored under: the wamid when it fits, else a digest of it (the same wamid,
    redelivered, is the same id: idempotent; the wamid itself stays in the payload)."""
    return wamid if len(wamid) <= ID_ROOM else "h" + hashlib.sha256(wamid.encode()).hexdigest()[: ID_ROOM - 1]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no place


def parse(body: Any, *, gateway: str) -> Parsed:
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        raise NotAWebhook("expected {'object': 'whatsapp_business_account', 'entry': [...]}")
    out = Parsed()
    for entry in _list(body.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            if change.get("field") != "messages":
                continue
            value = _dict(change.get("value"))
            to = _str(_dict(value.get("metadata")).get("display_phone_number"))
            names = {
                _str(c.get("wa_id")): _str(_dict(c.get("profile")).get("name"))
                for c in map(_dict, _list(value.get("contacts")))
            }
            for message in map(_dict, _list(value.get("messages"))):
                sms = _message(message, gateway=gateway, to=to, names=names, out=out)
                if sms is not None:
                    out.messages.append(sms)
            for status in map(_dict, _list(value.get("statuses"))):
                report = _status(status, gateway=gateway)
                if report is not None:
                    out.reports.append(report)
    return out


def _message(
    message: dict[str, Any], *, gateway: str, to: str, names: dict[str, str], out: Parsed
) -> InboundSms | None:
    wamid, sender, kind = _str(message.get("id")), _str(message.get("from")), _str(message.get("type"))
    if kind in IGNORED_TYPES:
        out.ignored.append(f"{kind} {wamid}")
        return None
    content = _dict(message.get(kind))
    text, media, lat, lon = "", [], None, None
    extra: dict[str, object] = {"wa_type": kind, "wamid": wamid}
    if kind == "text":
        text = message.get("text", {}).get("body", "") if isinstance(message.get("text"), dict) else ""
    elif kind in MEDIA_TYPES:
        text = _str(content.get("caption"))
        media_kind = "voice" if kind == "audio" and content.get("voice") is True else kind
        if _str(content.get("id")):
            media.append(InboundMedia(_str(content.get("id")), _str(content.get("mime_type")), media_kind))
        if _str(content.get("filename")):
            extra["filename"] = _str(content.get("filename"))
    elif kind == "location":
        lat, lon = _float(content.get("latitude")), _float(content.get("longitude"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            lat = lon = None
        text = ", ".join(p for p in (_str(content.get("name")), _str(content.get("address"))) if p)
    elif kind == "contacts":
        cards = []
        for card in map(_dict, _list(message.get("contacts"))):
            phones = [_str(_dict(p).get("phone")) for p in _list(card.get("phones"))]
            cards.append(" ".join(p for p in (_str(_dict(card.get("name")).get("formatted_name")), *phones) if p))
        text = "; ".join(c for c in cards if c)
    elif kind == "interactive":
        reply = _dict(content.get(_str(content.get("type"))))
        text = _str(reply.get("id")) or _str(reply.get("title"))
        extra["reply_title"] = _str(reply.get("title"))
    elif kind == "button":  # a template's quick-reply button
        text = _str(content.get("payload")) or _str(content.get("text"))
    else:  # "unsupported" and types newer than this code: kept, said
        errors = [f"{_dict(e).get('code')} {_str(_dict(e).get('title'))}" for e in _list(message.get("errors"))]
        log.warning(
            "WhatsApp message %s from %s of type %r kept without text (%s)",
            wamid,
            sender,
            kind,
            "; ".join(errors) or "no detail",
        )
    if _dict(message.get("context")).get("id"):
        extra["context_wamid"] = _str(_dict(message.get("context")).get("id"))
    if _str(message.get("timestamp")).isdigit():  # when the citizen sent it; stored as received when it came
        extra["sent_at"] = datetime.fromtimestamp(int(_str(message.get("timestamp"))), UTC).isoformat()
    profile = names.get(sender)
    if profile:
        extra["profile_name"] = profile
    return InboundSms(
        gateway=gateway,
        gateway_id=stored_id(wamid) if wamid else "",
        sender=f"+{sender}" if sender.isdigit() else sender,
        to=f"+{to}" if to.isdigit() else to,
        body=text if isinstance(text, str) else "",
        payload={**extra, **extras_payload(media, lat, lon)},
    )


def _status(status: dict[str, Any], *, gateway: str) -> DeliveryReport | None:
    word = STATUSES.get(_str(status.get("status")))
    wamid = _str(status.get("id"))
    if word is None or not wamid:
        return None
    errors = [_dict(e) for e in _list(status.get("errors"))]
    first = errors[0] if errors else {}
    detail = _str(first.get("title")) or _str(first.get("message"))
    return DeliveryReport(
        gateway=gateway,
        status=word,
        provider_sid=wamid,
        error_code=str(first["code"]) if "code" in first else None,
        detail=detail or None,
    )
