"""farming: the farmer registry, the farm facts of a ticket, outbreaks

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

Issue 22: farmers known by number, reports to their desa's field officer, pest outbreaks seen early.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "farmers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("desa", sa.String(length=100), nullable=False),
        sa.Column("kecamatan", sa.String(length=100), nullable=True),
        sa.Column("kelompok_tani", sa.String(length=200), nullable=False),
        sa.Column("commodities", sa.JSON(), nullable=False),
        sa.Column("land_area_ha", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farmers")),
        sa.UniqueConstraint("phone", name=op.f("uq_farmers_phone")),
    )
    op.create_index(op.f("ix_farmers_desa"), "farmers", ["desa"], unique=False)
    op.create_table(
        "farm_outbreaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subcategory", sa.String(length=32), nullable=False),
        sa.Column("commodity", sa.String(length=32), nullable=True),
        sa.Column("desa", sa.JSON(), nullable=False),
        sa.Column("places", sa.JSON(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("last_report_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farm_outbreaks")),
    )
    op.create_index(op.f("ix_farm_outbreaks_raised_at"), "farm_outbreaks", ["raised_at"], unique=False)
    op.create_table(
        "farm_reports",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("farmer_id", sa.Integer(), nullable=True),
        sa.Column("farmer_name", sa.String(length=200), nullable=True),
        sa.Column("kelompok_tani", sa.String(length=200), nullable=True),
        sa.Column("subcategory", sa.String(length=32), nullable=True),
        sa.Column("commodity", sa.String(length=32), nullable=True),
        sa.Column("desa", sa.String(length=100), nullable=True),
        sa.Column("kecamatan", sa.String(length=100), nullable=True),
        sa.Column("outbreak_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_farm_reports_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["farmer_id"], ["farmers.id"], name=op.f("fk_farm_reports_farmer_id_farmers")),
        sa.ForeignKeyConstraint(
            ["outbreak_id"], ["farm_outbreaks.id"], name=op.f("fk_farm_reports_outbreak_id_farm_outbreaks")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_farm_reports")),
    )
    op.create_index(op.f("ix_farm_reports_farmer_id"), "farm_reports", ["farmer_id"], unique=False)
    op.create_index(op.f("ix_farm_reports_outbreak_id"), "farm_reports", ["outbreak_id"], unique=False)
    op.create_index("ix_farm_reports_sub_created", "farm_reports", ["subcategory", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_farm_reports_sub_created", table_name="farm_reports")
    op.drop_index(op.f("ix_farm_reports_outbreak_id"), table_name="farm_reports")
    op.drop_index(op.f("ix_farm_reports_farmer_id"), table_name="farm_reports")
    op.drop_table("farm_reports")
    op.drop_index(op.f("ix_farm_outbreaks_raised_at"), table_name="farm_outbreaks")
    op.drop_table("farm_outbreaks")
    op.drop_index(op.f("ix_farmers_desa"), table_name="farmers")
    op.drop_table("farmers")
