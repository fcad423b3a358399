"""scorecard_rollups: closed months' scorecards, frozen at close, one row per (month, agency)

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07

Empty after the upgrade: a closed month is frozen the first time it is asked for, or all at once by
`hotline scorecard freeze --all` (the scorecard needs the city's routing/ data, which a migration does not read).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hotline.models.base

revision: str = "0017"
down_revision: str | None = "0015"
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


def downgrade() -> None:
    op.drop_table("scorecard_rollups")
