"""open311_update_receipts: the updates partner apps post on their reports (POST servicerequestupdates)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08

A new table; nothing to copy. One row per partner and its own id of an update, so an update posted again is
answered with the ticket event it became the first time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open311_update_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_key_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.String(length=100), nullable=False),
        sa.Column("ticket_event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_key_id"], ["partner_keys.id"], name=op.f("fk_open311_update_receipts_partner_key_id_partner_keys")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_event_id"],
            ["ticket_events.id"],
            name=op.f("fk_open311_update_receipts_ticket_event_id_ticket_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_update_receipts")),
        sa.UniqueConstraint("partner_key_id", "update_id", name=op.f("uq_open311_update_receipts_partner_key_id")),
    )


def downgrade() -> None:
    op.drop_table("open311_update_receipts")
