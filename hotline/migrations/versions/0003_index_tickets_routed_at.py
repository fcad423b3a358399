"""index tickets.routed_at: the monthly scorecard selects a month of tickets by it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_tickets_routed_at"), "tickets", ["routed_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_routed_at"), table_name="tickets")
