"""Indexes for costs that do not grow with the city's history (issue 25)

- ticket_events (kind, ticket_id): the scorecard's "reopened" EXISTS probes one kind of one ticket instead of
  hashing the whole timeline table.
- tickets: partial indexes over open tickets only (2 % of the rows at 1M), so the board and the filtered
  lists read open tickets without touching the closed history:
  ix_tickets_open (id, agency_id, status, accept_due_at, resolve_due_at, category, kecamatan) for "open,
  newest first" lists: their page of numbers comes from the index alone (an index-only scan), whatever the filter;
  ix_tickets_routed_due (agency_id, accept_due_at) and ix_tickets_working_due (agency_id, resolve_due_at)
  for the board's most urgent tickets, per-agency counts and overdue counts, and the stale-ticket digest.
- alert_deliveries (ticket_id) WHERE status = 'exhausted': the board's "not reached" count.
- outbound_messages (created_at) WHERE purpose = 'digest': whether today's stale-ticket digest went out.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('awaiting_category', 'routed', 'accepted', 'on_site')"
ROUTED = "status = 'routed'"
WORKING = "status IN ('accepted', 'on_site')"
OPEN_COLUMNS = ["id", "agency_id", "status", "accept_due_at", "resolve_due_at", "category", "kecamatan"]


def _partial(name: str, columns: list[str], where: str) -> None:
    op.create_index(
        name, "tickets", columns, unique=False, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
    )


def upgrade() -> None:
    op.create_index("ix_ticket_events_kind_ticket", "ticket_events", ["kind", "ticket_id"], unique=False)
    _partial("ix_tickets_open", OPEN_COLUMNS, OPEN)
    _partial("ix_tickets_routed_due", ["agency_id", "accept_due_at"], ROUTED)
    _partial("ix_tickets_working_due", ["agency_id", "resolve_due_at"], WORKING)
    exhausted = sa.text("status = 'exhausted'")
    op.create_index(
        "ix_alert_deliveries_exhausted",
        "alert_deliveries",
        ["ticket_id"],
        postgresql_where=exhausted,
        sqlite_where=exhausted,
    )
    digest = sa.text("purpose = 'digest'")
    op.create_index(
        "ix_outbound_digest_created", "outbound_messages", ["created_at"], postgresql_where=digest, sqlite_where=digest
    )


def downgrade() -> None:
    op.drop_index("ix_outbound_digest_created", table_name="outbound_messages")
    op.drop_index("ix_alert_deliveries_exhausted", table_name="alert_deliveries")
    for name in ("ix_tickets_working_due", "ix_tickets_routed_due", "ix_tickets_open"):
        op.drop_index(name, table_name="tickets")
    op.drop_index("ix_ticket_events_kind_ticket", table_name="ticket_events")
