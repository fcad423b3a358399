"""kiosk tokens for the wallboard, and an index for the tickets finished today

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

A wall screen opens /console/wallboard with a read-only kiosk token (`hotline kiosk add`); only its SHA-256 is
stored. tickets.resolved_at gets an index so the wallboard's "finished today" reads today's rows, not the history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kiosk_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_kiosk_tokens_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_kiosk_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_tickets_resolved_at"), "tickets", ["resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_resolved_at"), table_name="tickets")
    op.drop_table("kiosk_tokens")
