"""An outbreak's warning: the farmers of its desa who grow its commodity (a CSV the broadcast feature can take
later; docs/interface.md), and its map as GeoJSON (one point per desa with its count of reports)."""

from __future__ import annotations

import csv
import io
import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.farming.errors import FarmerNotFound
from hotline.features.farming.outbreaks import outbreak_text
from hotline.models import Farmer, FarmOutbreak

WARNING_COLUMNS = ("phone", "name", "desa", "kelompok_tani", "commodities", "message")


def get_outbreak(session: Session, outbreak_id: int) -> FarmOutbreak:
    outbreak = session.get(FarmOutbreak, outbreak_id)
    if outbreak is None:
        raise FarmerNotFound(f"no outbreak {outbreak_id}")
    return outbreak


def list_outbreaks(session: Session) -> list[FarmOutbreak]:
    return list(session.scalars(select(FarmOutbreak).order_by(FarmOutbreak.id.desc())))


def warned_farmers(session: Session, outbreak: FarmOutbreak) -> list[Farmer]:
    """The registered farmers of the outbreak's desa (of its commodity, when it has one)."""
    stmt = select(Farmer).where(Farmer.desa.in_(outbreak.desa)).order_by(Farmer.desa, Farmer.name, Farmer.id)
    farmers = list(session.scalars(stmt))
    return [f for f in farmers if outbreak.commodity is None or outbreak.commodity in (f.commodities or [])]


def warning_message(config: CityConfig, outbreak: FarmOutbreak) -> str:
    """The ready-made warning to farmers (routing/farming.yaml texts.warning), in Bahasa Indonesia."""
    rules = config.farming
    sub = rules.subcategory(outbreak.subcategory)
    commodity = rules.commodity(outbreak.commodity)
    agency = config.agency(rules.agency)
    fields = {
        "subcategory": sub.name("id") if sub else outbreak.subcategory,
        "commodity": commodity.name("id") if commodity else "",
        "places": ", ".join(sorted(outbreak.desa)),
        "agency": agency.sms_name if agency else rules.agency,
    }
    return " ".join(string.Formatter().vformat(rules.warning_text, (), fields).split())


def warning_csv(session: Session, *, config: CityConfig, outbreak_id: int) -> str:
    """phone,name,desa,kelompok_tani,commodities,message: one row per farmer to warn (docs/interface.md)."""
    outbreak = get_outbreak(session, outbreak_id)
    message = warning_message(config, outbreak)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WARNING_COLUMNS)
    for farmer in warned_farmers(session, outbreak):
        writer.writerow(
            [farmer.phone, farmer.name, farmer.desa, farmer.kelompok_tani, " ".join(farmer.commodities or []), message]
        )
    return out.getvalue()


def outbreak_geojson(config: CityConfig, outbreak: FarmOutbreak) -> dict[str, Any]:
    """The outbreak's map: a FeatureCollection, one Point per desa (GeoJSON is lon, lat) with its report count."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [place["lon"], place["lat"]]},
            "properties": {"desa": desa, "kecamatan": config.kecamatan_of(desa), "reports": int(place["count"])},
        }
        for desa, place in sorted(outbreak.places.items())
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "outbreak": outbreak.id,
            "subcategory": outbreak.subcategory,
            "commodity": outbreak.commodity,
            "reports": outbreak.report_count,
            "raised_at": outbreak.raised_at.isoformat(),
            "summary": outbreak_text(config, outbreak),
        },
    }
