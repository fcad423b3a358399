"""escalations.chain: a re-routed ticket starts a new chain whose steps do not collide with the old one's

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_constraint("uq_escalations_ticket_phase_step_round", type_="unique")
        batch_op.create_unique_constraint(
            "uq_escalations_ticket_chain_phase_step_round", ["ticket_id", "chain", "phase", "step", "round"]
        )


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_escalations_ticket_chain_phase_step_round", type_="unique")
        batch_op.create_unique_constraint(
            "uq_escalations_ticket_phase_step_round", ["ticket_id", "phase", "step", "round"]
        )
        batch_op.drop_column("chain")
