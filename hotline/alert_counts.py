"""/metrics' alerts with a failover list, counted once they have settled (issue 25).

An alert delivery ends delivered, stopped or exhausted and then stays as it is; what labels it (the channel that
got it through, that attempt's status, the SMS gateway) can still move for a little while after: a late delivery
report, an SMS still in the outbox when the ticket was accepted. So a delivery settled for longer than GRACE is
folded once into the self-kept counts (family `alert_deliveries_settled`, hotline/gauges.py) and marked `counted`;
the refresher joins only the deliveries not counted yet (a partial index holds them: the pending ones and those of
the last GRACE), whatever the size of the history. Each turn folds at most BATCH, so the first turns after
migration 0024 fold the history a batch at a time while the live join still counts what is not folded yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, select, update
from sqlalchemy.orm import Session

from hotline.models import (
    AlertAttempt,
    AlertAttemptStatus,
    AlertDelivery,
    AlertDeliveryStatus,
    GaugeDelta,
    OutboundMessage,
)

FAMILY = "alert_deliveries_settled"
SETTLED = (AlertDeliveryStatus.DELIVERED, AlertDeliveryStatus.STOPPED, AlertDeliveryStatus.EXHAUSTED)
GRACE = timedelta(days=1)
BATCH = 5000

# (purpose, delivery status, channel of the attempt counted, that attempt's status, its SMS gateway)
Outcome = tuple[str, str, str | None, str | None, str | None]


def outcomes(*where: ColumnElement[bool]) -> Select[str, str, str, str, str | None, int]:
    """Deliveries by outcome: the attempt now waited on (pending, stopped, exhausted) or the one that got through,
    one count per delivery in each group."""
    through = AlertAttempt.status.in_((AlertAttemptStatus.DELIVERED, AlertAttemptStatus.ANSWERED))
    settled = and_(AlertDelivery.status == AlertDeliveryStatus.DELIVERED, through)
    waiting = and_(
        AlertDelivery.status != AlertDeliveryStatus.DELIVERED, AlertAttempt.position == AlertDelivery.position
    )
    return (
        select(
            AlertDelivery.purpose,
            AlertDelivery.status,
            AlertAttempt.channel,
            AlertAttempt.status,
            OutboundMessage.gateway,
            func.count(func.distinct(AlertDelivery.id)),
        )
        .join(AlertAttempt, and_(AlertAttempt.delivery_id == AlertDelivery.id, settled | waiting), isouter=True)
        .outerjoin(OutboundMessage, OutboundMessage.id == AlertAttempt.outbound_id)
        .where(*where)
        .group_by(
            AlertDelivery.purpose,
            AlertDelivery.status,
            AlertAttempt.channel,
            AlertAttempt.status,
            OutboundMessage.gateway,
        )
    )


def not_counted() -> ColumnElement[bool]:
    return ~AlertDelivery.counted  # `NOT counted`: the partial index's own condition


def live_outcomes(session: Session) -> Iterator[tuple[Outcome, int]]:
    """The deliveries not folded yet, joined now."""
    for purpose, status, channel, attempt_status, gateway, n in session.execute(outcomes(not_counted())):
        yield (purpose, status, channel, attempt_status, gateway), n


def folded_outcomes(counts: dict[tuple[str, ...], int]) -> Iterator[tuple[Outcome, int]]:
    """The folded counts as read back by hotline/gauges.py (None came back as "None")."""
    for labels, n in counts.items():
        purpose, status, channel, attempt_status, gateway = (None if v == "None" else v for v in labels)
        assert purpose is not None and status is not None
        yield (purpose, status, channel, attempt_status, gateway), n


def fold_settled(session: Session, *, now: datetime, batch: int = BATCH) -> int:
    """Fold up to `batch` deliveries settled before now - GRACE into the counts; returns how many. All or none:
    when another process folded some of them meanwhile, nothing is written (the next turn goes on)."""
    due = (not_counted(), AlertDelivery.status.in_(SETTLED), AlertDelivery.updated_at < now - GRACE)
    last = session.scalar(select(AlertDelivery.id).where(*due).order_by(AlertDelivery.id).offset(batch - 1).limit(1))
    chosen = (*due, AlertDelivery.id <= last) if last is not None else due
    many = session.scalar(select(func.count()).select_from(AlertDelivery).where(*chosen)) or 0
    if not many:
        return 0
    rows = session.execute(outcomes(*chosen)).all()
    marked = session.execute(
        update(AlertDelivery)
        .where(*chosen)
        .values(counted=True, updated_at=AlertDelivery.updated_at)  # not a change of the delivery: keep its time
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != many:  # type: ignore[attr-defined]
        session.rollback()
        return 0
    session.add_all(GaugeDelta(family=FAMILY, labels=json.dumps(list(labels)), delta=n) for *labels, n in rows)
    return many
