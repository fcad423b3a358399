"""Open tickets placed on the map (a desa, or GPS), written as rows: the map reads only what they hold."""

from __future__ import annotations

import secrets
from datetime import timedelta

from hotline import clock
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.models import Ticket
from tests.helpers import agency_id


def placed_ticket(
    *,
    agency: str = "PUPR",
    category: str = "roads",
    priority: str = "normal",
    desa: str | None = "Sisir",
    gps: tuple[float, float] | None = None,
    status: str = "routed",
    due_in: timedelta = timedelta(minutes=30),
    text: str = "Jalan berlubang",
) -> int:
    now = clock.now()
    with unit_of_work() as session:
        t = Ticket(
            channel="sms",
            reporter_phone="+6281200000" + secrets.token_hex(2),
            category=category,
            priority=priority,
            text=text,
            status=status,
            agency_id=agency_id(agency),
            desa=desa,
            kecamatan=current_config().kecamatan_of(desa) if desa else None,
            latitude=gps[0] if gps else None,
            longitude=gps[1] if gps else None,
            routed_at=now - timedelta(minutes=5),
            accept_due_at=now + due_in,
            resolve_due_at=now + due_in,
        )
        session.add(t)
        session.flush()
        return t.id
