"""Read and fold the counts the database keeps of itself (hotline/gauge_triggers.py).

A family's count for a set of labels is its folded count plus the deltas appended since: one query over a few
hundred rows, whatever the size of the history. The metrics refresher folds the deltas into the counts each turn
(in one transaction), so they stay as few as the events of one interval.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, func, select, text, union_all
from sqlalchemy.orm import Session

from hotline.models import GaugeCount, GaugeDelta

Counts = dict[str, dict[tuple[str, ...], int]]


def read_counts(session: Session) -> Counts:
    """{family: {labels: n}} for every label set with a count other than 0."""
    rows = union_all(
        select(GaugeCount.family, GaugeCount.labels, GaugeCount.n.label("n")),
        select(GaugeDelta.family, GaugeDelta.labels, GaugeDelta.delta.label("n")),
    ).subquery()
    total = func.sum(rows.c.n)
    counts: Counts = {}
    stmt = select(rows.c.family, rows.c.labels, total).group_by(rows.c.family, rows.c.labels).having(total != 0)
    for family, labels, n in session.execute(stmt.order_by(rows.c.family, rows.c.labels)):
        counts.setdefault(family, {})[tuple("None" if v is None else str(v) for v in json.loads(labels))] = int(n)
    return counts


def fold(session: Session) -> int:
    """Move the deltas appended so far into the counts; returns how many label sets changed. The DELETE returns
    exactly the rows it removed (a delta committed meanwhile is either among them or left for the next fold, still
    counted by read_counts), and the counts take their sum in the same transaction."""
    summed: dict[tuple[str, str], int] = {}
    for family, labels, delta in session.execute(
        delete(GaugeDelta).returning(GaugeDelta.family, GaugeDelta.labels, GaugeDelta.delta)
    ):
        summed[family, labels] = summed.get((family, labels), 0) + delta
    for (family, labels), n in sorted(summed.items()):  # one order: two folds at once cannot deadlock
        session.execute(
            text(
                "INSERT INTO gauge_counts (family, labels, n) VALUES (:family, :labels, :n) "
                "ON CONFLICT (family, labels) DO UPDATE SET n = gauge_counts.n + excluded.n"
            ),
            {"family": family, "labels": labels, "n": n},
        )
    return len(summed)
