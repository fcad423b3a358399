"""A shared place (WhatsApp location, Twilio's Latitude/Longitude, a photo's EXIF GPS) on a ticket: its
coordinates, and through the city's data its desa and kecamatan (the nearest desa point: Kota Batu has no
outlines), which routing and duplicate merging (GPS radius) already read."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.tickets import place
from hotline.features.tickets.tickets import record
from hotline.models import Ticket, TicketEvent


def coordinates_of(payload: Mapping[str, object] | None) -> tuple[float, float] | None:
    """The point a stored message carried (hotline/channels/gateway.py `extras_payload`), or None."""
    lat, lon = (payload or {}).get("latitude"), (payload or {}).get("longitude")
    try:
        point = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return point if -90 <= point[0] <= 90 and -180 <= point[1] <= 180 else None


PHOTO_GPS = "photo_gps"


def _photo_guess(session: Session, ticket: Ticket) -> str | None:
    """When the ticket's point was read from a photo's EXIF (and nothing set it since): the desa that gave it
    ("" for none); else None."""
    last = session.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "location_shared")
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    if last is None or (last.data or {}).get("source") != PHOTO_GPS:
        return None
    return str((last.data or {}).get("desa") or "")


def area_at(config: CityConfig, lat: float, lon: float) -> tuple[str | None, str | None]:
    """(desa, kecamatan) of a point, or (None, None) outside the city (or a city without points)."""
    desa = config.nearest_desa(lat, lon)
    return (desa, config.kecamatan_of(desa)) if desa else (None, None)


def locate(
    session: Session,
    *,
    config: CityConfig,
    ticket: Ticket,
    point: tuple[float, float],
    actor: str,
    source: str,
    inbound_id: int | None = None,
) -> bool:
    """Give the ticket this point when it has none (a later point never moves the first, except that a place the
    person shared replaces one read from a photo's EXIF), and the desa and kecamatan it lies in when the ticket
    names none. Returns whether anything changed."""
    guessed: str | None = None
    if ticket.latitude is not None and ticket.longitude is not None:
        guessed = _photo_guess(session, ticket) if source != PHOTO_GPS else None
        if guessed is None:
            return False
    ticket.latitude, ticket.longitude = point
    desa, kecamatan = area_at(config, *point)
    record(
        session, ticket, "location_shared", actor=actor, source=source, latitude=point[0], longitude=point[1], desa=desa
    )
    if desa and guessed and ticket.desa == guessed and desa != guessed:  # the photo's desa: the shared place decides
        place.set_place(
            session,
            config=config,
            ticket=ticket,
            actor=actor,
            source=source,
            desa=desa,
            kecamatan=kecamatan,
            inbound_id=inbound_id,
        )
    elif desa and ticket.desa is None:
        place.fill_missing(
            session,
            config=config,
            ticket=ticket,
            actor=actor,
            source=source,
            location=None,
            desa=desa,
            kecamatan=kecamatan,
            inbound_id=inbound_id,
        )
    return True
