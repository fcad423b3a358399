"""What the SMS intake does with a message's media and shared place (hotline/features/sms/sms_intake.py calls
these): a place or a photo alone adds to the sender's open report or waits for the words of a new one; the
report made then gets them (its coordinates, desa and kecamatan before routing and merging read them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.media.location import area_at, coordinates_of, locate
from hotline.features.media.media_items import adopt, media_of, pending_point, register
from hotline.models import InboundMessage, Ticket


def can_carry_extras(message: InboundMessage) -> bool:
    """Whether the sender's gateway carries media or places at all (WhatsApp, Twilio): plain SMS gateways skip
    the look for a photo or place sent just before, a query less on every SMS."""
    payload = message.payload or {}
    return bool(payload.get("wa_type") or "NumMedia" in payload or payload.get("media_count"))


def only_extras(message: InboundMessage) -> bool:
    """A shared place, or media without a word: no report by itself."""
    payload = message.payload or {}
    return payload.get("wa_type") == "location" or (bool(media_of(payload)) and not message.body.strip())


def report_place(
    session: Session, *, config: CityConfig, message: InboundMessage, desa: str | None, kecamatan: str | None
) -> tuple[float | None, float | None, str | None, str | None]:
    """(latitude, longitude, desa, kecamatan) for a new report: the point it carried or one shared just before,
    and the desa it lies in when the words named none."""
    point = coordinates_of(message.payload)
    if point is None and can_carry_extras(message):
        point = pending_point(session, sender=message.from_e164, before_id=message.id)
    if point is None:
        return None, None, desa, kecamatan
    if desa is None:
        desa, kecamatan = area_at(config, *point)
    return point[0], point[1], desa, kecamatan


def after_intake(
    session: Session, *, config: CityConfig, message: InboundMessage, ticket_id: int | None, role: str = "report"
) -> None:
    """The message was handled: its media are kept for the ticket (fetched after commit), media sent just before
    join it, and its place goes on the ticket when the ticket has none."""
    register(session, message=message, ticket_id=ticket_id, role=role)
    if ticket_id is None or not can_carry_extras(message):
        return
    adopt(session, sender=message.from_e164, ticket_id=ticket_id, role=role)
    point = coordinates_of(message.payload)
    ticket = session.get(Ticket, ticket_id)
    if point is not None and ticket is not None and role == "report":
        locate(
            session,
            config=config,
            ticket=ticket,
            point=point,
            actor=message.from_e164,
            source="shared_location",
            inbound_id=message.id,
        )
