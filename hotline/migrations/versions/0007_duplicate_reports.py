"""linked reporters of merged tickets (ticket_reporters), GPS and reporter count on tickets

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hotline.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("reporter_count", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index("ix_tickets_category_status_created", ["category", "status", "created_at"], unique=False)
        batch_op.create_index("ix_tickets_category_desa_created", ["category", "desa", "created_at"], unique=False)

    op.create_table(
        "ticket_reporters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("location_text", sa.String(length=500), nullable=True),
        sa.Column("desa", sa.String(length=100), nullable=True),
        sa.Column("kecamatan", sa.String(length=100), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("merged_at", hotline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ended_at", hotline.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("split_into_ticket_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_ticket_reporters_call_id_calls")),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"], name=op.f("fk_ticket_reporters_inbound_id_inbound_messages")
        ),
        sa.ForeignKeyConstraint(
            ["split_into_ticket_id"], ["tickets.id"], name=op.f("fk_ticket_reporters_split_into_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_reporters_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_reporters")),
    )
    with op.batch_alter_table("ticket_reporters", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_reporters_phone", ["phone"], unique=False)
        batch_op.create_index("ix_ticket_reporters_ticket_status", ["ticket_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_reporters", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_reporters_ticket_status")
        batch_op.drop_index("ix_ticket_reporters_phone")
    op.drop_table("ticket_reporters")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_category_desa_created")
        batch_op.drop_index("ix_tickets_category_status_created")
        batch_op.drop_column("reporter_count")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
