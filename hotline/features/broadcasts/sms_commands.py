"""DAFTAR <desa> (subscribe) and AMAN/BANTU (check-in answers) by SMS or WhatsApp, before the usual intake."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import queue_sms
from hotline.features.broadcasts import checkin
from hotline.features.broadcasts.city_data import broadcast_data
from hotline.features.broadcasts.places import find_desa
from hotline.features.broadcasts.subscribers import subscribe
from hotline.models import OutboundPurpose


def handle(
    session: Session, *, config: CityConfig, phone: str, text: str, inbound_id: int | None, channel: str = "sms"
) -> tuple[str, int | None] | None:
    """(outcome, ticket id) when the SMS was one of ours, else None."""
    words = text.strip().split(None, 1)
    if not words:
        return None
    data = broadcast_data(config)
    first = words[0].strip(".,!:").upper()
    meaning, language = data.words.get(first, (None, "id"))
    if meaning == "subscribe":
        rest = words[1].strip(" .,!") if len(words) > 1 else ""
        place = find_desa(config, rest)
        if place is None:
            body = data.say("unknown_desa", language, desa=rest or "?")
            queue_sms(session, to=phone, body=body, purpose=OutboundPurpose.REPLY, inbound_id=inbound_id)
            return "subscribe_unknown_desa", None
        subscribe(
            session,
            phone=phone,
            desa=place[0],
            kecamatan=place[1],
            language=language,
            channel=channel,
            source=channel,
            consent=f"{channel} {inbound_id}: {text.strip()[:200]}",
        )
        queue_sms(
            session,
            to=phone,
            body=data.say("subscribed", language, desa=place[0]),
            purpose=OutboundPurpose.REPLY,
            inbound_id=inbound_id,
        )
        return "subscribed", None
    if meaning == "help" or (meaning == "safe" and len(words) == 1):  # "BANTU rumah retak" says more
        ticket_channel = "whatsapp" if channel == "whatsapp" else "sms"  # as other Twilio WhatsApp reports
        answered = checkin.answer(
            session, config=config, phone=phone, word=first, text=text, inbound_id=inbound_id, channel=ticket_channel
        )
        if answered is None:
            return None
        if answered.outcome == "checkin_safe":
            body = data.say("safe_noted", answered.language)
        else:
            body = data.say("help_ticket", answered.language, number=answered.ticket_id)
        queue_sms(
            session,
            to=phone,
            body=body,
            purpose=OutboundPurpose.REPLY,
            ticket_id=answered.ticket_id,
            inbound_id=inbound_id,
        )
        return answered.outcome, answered.ticket_id
    return None
