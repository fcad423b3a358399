"""junk-call shield: call_screening, every decision about a caller's number

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hotline.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_screening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", hotline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("until", hotline.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", hotline.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_screening_call_id_calls")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_screening")),
    )
    with op.batch_alter_table("call_screening", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_screening_call_id"), ["call_id"], unique=False)
        batch_op.create_index("ix_call_screening_phone_at", ["phone", "at"], unique=False)
        batch_op.create_index("ix_call_screening_decision_at", ["decision", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_screening", schema=None) as batch_op:
        batch_op.drop_index("ix_call_screening_decision_at")
        batch_op.drop_index("ix_call_screening_phone_at")
        batch_op.drop_index(batch_op.f("ix_call_screening_call_id"))

    op.drop_table("call_screening")
