"""ticket_events.at indexed: Open311's servicerequestupdates polls a window of the whole timeline by time

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

One index; nothing to copy. FixMyStreet asks for the last two hours every few minutes: without it each poll
reads every accepted/resolved event of the city's history.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_events_at", "ticket_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_events_at", table_name="ticket_events")
