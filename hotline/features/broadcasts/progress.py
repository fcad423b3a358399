"""Where a broadcast stands: recipients per status, for the console's bar and `hotline broadcast status`."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.features.broadcasts.errors import NotFound
from hotline.models import Broadcast, BroadcastRecipient, RecipientStatus

STATUSES = tuple(RecipientStatus)  # queued, sending, sent, delivered, failed, skipped, cancelled: the bar's order


@dataclass(frozen=True)
class Progress:
    broadcast_id: int
    status: str
    hazard: str
    desa: list[str]
    created_by: str
    approved_by: str | None
    checkin_minutes: int | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def handed(self) -> int:
        """Handed to a gateway (sent, delivered, or failed after it took it)."""
        return self.counts.get(RecipientStatus.SENT, 0) + self.counts.get(RecipientStatus.DELIVERED, 0)

    @property
    def finished(self) -> int:
        return self.total - self.counts.get(RecipientStatus.QUEUED, 0) - self.counts.get(RecipientStatus.SENDING, 0)

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(100 * self.finished / self.total)


def progress(session: Session, *, broadcast_id: int) -> Progress:
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise NotFound(f"no broadcast {broadcast_id}")
    r = BroadcastRecipient
    rows = session.execute(select(r.status, func.count()).where(r.broadcast_id == broadcast_id).group_by(r.status))
    counts = {status: 0 for status in STATUSES} | {s: int(n) for s, n in rows}
    return Progress(
        broadcast.id,
        broadcast.status,
        broadcast.hazard,
        list(broadcast.desa),
        broadcast.created_by,
        broadcast.approved_by,
        broadcast.checkin_minutes,
        counts,
    )


def recent(session: Session, *, limit: int = 50) -> list[Broadcast]:
    return list(session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))
