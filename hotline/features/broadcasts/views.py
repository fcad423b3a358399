"""A broadcast as plain data: for the console, `GET /api/v1/broadcasts/...` and the map (per-desa tally)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.broadcasts import checkin
from hotline.features.broadcasts.progress import progress


def tally_json(session: Session, *, config: CityConfig, broadcast_id: int) -> dict[str, Any]:
    """Check-in answers per desa with the desa's point (routing/areas.yaml), the shape the map reads."""
    p = progress(session, broadcast_id=broadcast_id)
    desa = []
    for row in checkin.tally(session, broadcast_id=broadcast_id):
        point = config.point_of(row.desa)
        desa.append(
            {
                "desa": row.desa,
                "kecamatan": config.kecamatan_of(row.desa),
                "lat": point[0] if point else None,
                "lon": point[1] if point else None,
                "recipients": row.recipients,
                "sent": row.sent,
                "aman": row.aman,
                "bantu": row.bantu,
                "no_answer": row.silent,
            }
        )
    return {
        "broadcast": p.broadcast_id,
        "hazard": p.hazard,
        "status": p.status,
        "checkin_minutes": p.checkin_minutes,
        "desa": desa,
    }


def progress_json(session: Session, *, broadcast_id: int) -> dict[str, Any]:
    p = progress(session, broadcast_id=broadcast_id)
    return {
        "broadcast": p.broadcast_id,
        "hazard": p.hazard,
        "status": p.status,
        "desa": p.desa,
        "created_by": p.created_by,
        "approved_by": p.approved_by,
        "checkin_minutes": p.checkin_minutes,
        "total": p.total,
        "finished": p.finished,
        "percent": p.percent,
        "counts": p.counts,
    }
