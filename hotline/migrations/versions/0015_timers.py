"""timers: one table of due work for every kind of deadline (escalation steps, alert failover, activation)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

What was pending before is copied in, so nothing due is lost across the upgrade: pending escalation steps,
alerts waiting for a delivery report, and voice tickets routed in the last two days still waiting for their
activation (the job that pins their deadlines and alerts the URC; it does nothing for one that needs none).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import hotline.models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", hotline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", hotline.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
        sa.UniqueConstraint("kind", "ref", "seq", name="uq_timers_kind_ref_seq"),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index("ix_timers_due_at", ["due_at"], unique=False)

    now = datetime.now(UTC)
    op.execute(
        sa.text(
            "INSERT INTO timers (kind, ref, seq, due_at, created_at) "
            "SELECT 'escalation', id, 0, due_at, :now FROM escalations WHERE status = 'pending'"
        ).bindparams(_at("now", now))
    )
    op.execute(
        sa.text(
            "INSERT INTO timers (kind, ref, seq, due_at, created_at) "
            "SELECT 'failover', id, position, due_at, :now FROM alert_deliveries "
            "WHERE status = 'pending' AND due_at IS NOT NULL"
        ).bindparams(_at("now", now))
    )
    op.execute(
        sa.text(
            "INSERT INTO timers (kind, ref, seq, due_at, created_at) "
            "SELECT 'activation', id, 0, routed_at, :now FROM tickets "
            "WHERE status = 'routed' AND escalation_chain IS NULL AND routed_at > :since"
        ).bindparams(_at("now", now), _at("since", now - timedelta(days=2)))
    )


def _at(name: str, moment: datetime) -> sa.BindParameter[datetime]:
    return sa.bindparam(name, moment, type_=hotline.models.base.UTCDateTime(timezone=True))


def downgrade() -> None:
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index("ix_timers_due_at")
    op.drop_table("timers")
