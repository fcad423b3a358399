"""kiosk tokens for the wallboard, and an index for the tickets finished today

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

A wall screen opens /console/wallboard with a read-only kiosk token (`hotline kiosk add`); only its SHA-256 is
stored. tickets.resolved_at gets an index so the wallboard's "finished today" reads today's rows, not the history;
ix_tickets_open_map holds what the console map reads of open tickets (2 % of the rows after years).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision: str = "0021"
down_revision: str | None = "0020"
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
    # the console map's columns of open tickets (hotline/features/map/markers.py): its queries read no heap page
    open_where = sa.text("status IN ('awaiting_category', 'routed', 'accepted', 'on_site')")
    op.create_index(
        "ix_tickets_open_map",
        "tickets",
        [
            "priority",
            "desa",
            "latitude",
            "longitude",
            "id",
            "agency_id",
            "category",
            "status",
            "kecamatan",
            "accept_due_at",
            "resolve_due_at",
        ],
        unique=False,
        postgresql_where=open_where,
        sqlite_where=open_where,
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_open_map", table_name="tickets")
    op.drop_index(op.f("ix_tickets_resolved_at"), table_name="tickets")
    op.drop_table("kiosk_tokens")
