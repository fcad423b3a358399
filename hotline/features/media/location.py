"""A shared place (WhatsApp location, Twilio's Latitude/Longitude, a photo's EXIF GPS) on a ticket: its
coordinates, and through the city's data its desa and kecamatan (the nearest desa point: Kota Batu has no
outlines), which routing and duplicate merging (GPS radius) already read."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.tickets import place
from hotline.features.tickets.tickets import record
from hotline.models import Ticket


def coordinates_of(payload: Mapping[str, object] | None) -> tuple[float, float] | None:
    """The point a stored message carried (hotline/channels/gateway.py `extras_payload`), or None."""
    lat, lon = (payload or {}).get("latitude"), (payload or {}).get("longitude")
    try:
        point = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return point if -90 <= point[0] <= 90 and -180 <= point[1] <= 180 else None


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
    """Give the ticket this point when it has none (a later point never moves the first), and the desa and
    kecamatan it lies in when the ticket names none. Returns whether anything changed."""
    if ticket.latitude is not None and ticket.longitude is not None:
        return False
    ticket.latitude, ticket.longitude = point
    desa, kecamatan = area_at(config, *point)
    record(
        session, ticket, "location_shared", actor=actor, source=source, latitude=point[0], longitude=point[1], desa=desa
    )
    if desa and ticket.desa is None:
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
