"""scorecard_rollups: closed months' scorecards, frozen at close; indexes for the shield's lists (issue 25)

- scorecard_rollups, one row per (month, agency).
- gauge_counts and gauge_deltas, and the triggers that keep them (hotline/gauge_triggers.py): the /metrics gauges
  counted as rows are written, so the refresher reads counts instead of recounting every table. The upgrade counts
  each table once (seconds at 1M tickets) in its transaction.
- call_screening: (at, id) for the decisions list newest first, paged by (at, id); the same partial over the
  held-back decisions (4 % of the rows: the console's default leaves `allowed` out); flags not cleared by `until`;
  callbacks not made by (at, id). Each list then reads its page, not the log.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Empty after the upgrade: a closed month is frozen the first time it is asked for, or all at once by
`hotline scorecard freeze --all` (the scorecard needs the city's routing/ data, which a migration does not read).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hotline.models.base
from hotline import gauge_triggers

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scorecard_rollups",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("as_of", hotline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("month", "agency_code", name="pk_scorecard_rollups"),
    )

    op.create_table(
        "gauge_counts",
        sa.Column("family", sa.String(length=48), nullable=False),
        sa.Column("labels", sa.String(length=400), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("family", "labels", name="pk_gauge_counts"),
    )
    op.create_table(
        "gauge_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("family", sa.String(length=48), nullable=False),
        sa.Column("labels", sa.String(length=400), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gauge_deltas"),
    )
    gauge_triggers.install(op.get_bind())
    _screening_index("ix_call_screening_at_id", ["at", "id"], None)
    _screening_index("ix_call_screening_held_at_id", ["at", "id"], "decision <> 'allowed'")
    _screening_index("ix_call_screening_flag_until", ["until"], "decision = 'flagged' AND done_at IS NULL")
    _screening_index(
        "ix_call_screening_callback_at_id", ["at", "id"], "decision = 'callback_queued' AND done_at IS NULL"
    )


def _screening_index(name: str, columns: list[str], where: str | None) -> None:
    condition = sa.text(where) if where else None
    op.create_index(name, "call_screening", columns, postgresql_where=condition, sqlite_where=condition)


def downgrade() -> None:
    for name in (
        "ix_call_screening_callback_at_id",
        "ix_call_screening_flag_until",
        "ix_call_screening_held_at_id",
        "ix_call_screening_at_id",
    ):
        op.drop_index(name, table_name="call_screening")
    gauge_triggers.uninstall(op.get_bind())
    op.drop_table("gauge_deltas")
    op.drop_table("gauge_counts")
    op.drop_table("scorecard_rollups")
