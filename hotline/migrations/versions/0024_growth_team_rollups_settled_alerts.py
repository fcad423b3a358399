"""scorecard_rollups keep the PPL teams' rows; settled alert deliveries counted once (issue 25)

- scorecard_rollups.kind: `agency` (every row so far) or `team` (a PPL team's row of the same frozen card); the
  primary key becomes (month, kind, agency_code). Cards frozen before have no team rows
  (`hotline scorecard-rollup --rebuild` adds them).
- alert_deliveries.counted: a settled delivery folded into the /metrics counts (hotline/alert_counts.py); a
  partial index holds those not counted yet, so the refresher reads only them. Every delivery starts uncounted:
  the refresher's first turns fold the history, a batch at a time.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_COUNTED = "NOT counted"


def upgrade() -> None:
    with op.batch_alter_table("scorecard_rollups") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=8), server_default="agency", nullable=False))
        batch.drop_constraint("pk_scorecard_rollups", type_="primary")
        batch.create_primary_key("pk_scorecard_rollups", ["month", "kind", "agency_code"])
    # A plain ALTER TABLE, not a batch: on SQLite a batch copies the table into a new one, and the copy would lose
    # the /metrics gauge triggers alert_deliveries carries (hotline/gauge_triggers.py, migration 0017).
    op.add_column("alert_deliveries", sa.Column("counted", sa.Boolean(), server_default=sa.false(), nullable=False))
    condition = sa.text(NOT_COUNTED)
    op.create_index(
        "ix_alert_deliveries_not_counted",
        "alert_deliveries",
        ["id"],
        postgresql_where=condition,
        sqlite_where=condition,
    )


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_not_counted", table_name="alert_deliveries")
    op.drop_column("alert_deliveries", "counted")  # SQLite 3.35+ drops a column in place, keeping the triggers
    op.execute("DELETE FROM scorecard_rollups WHERE kind <> 'agency'")
    with op.batch_alter_table("scorecard_rollups") as batch:
        batch.drop_constraint("pk_scorecard_rollups", type_="primary")
        batch.create_primary_key("pk_scorecard_rollups", ["month", "agency_code"])
        batch.drop_column("kind")
