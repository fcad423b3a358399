"""twilio_whatsapp subscribers: early-warning subscribers who sent DAFTAR on WhatsApp through Twilio were stored
as SMS subscribers; they become `twilio_whatsapp` (issue 20), and so do their recipients still queued. Data only.

A subscriber's consent names the message it came by ("sms <inbound id>: DAFTAR ..."): that message's payload
says `twilio_channel: whatsapp` when it was WhatsApp through Twilio.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSENT = re.compile(r"^sms (\d+):")
CHUNK = 500


def _payload(value: object) -> dict[str, object]:
    if isinstance(value, str):  # SQLite hands JSON back as text
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    bind = op.get_bind()
    by_inbound: dict[int, int] = {}
    for subscriber_id, consent in bind.execute(
        sa.text("SELECT id, consent FROM subscribers WHERE channel = 'sms' AND source = 'sms'")
    ):
        found = CONSENT.match(consent or "")
        if found:
            by_inbound[int(found.group(1))] = subscriber_id
    moved: list[int] = []
    inbound_ids = sorted(by_inbound)
    for start in range(0, len(inbound_ids), CHUNK):
        chunk = inbound_ids[start : start + CHUNK]
        stmt = sa.text("SELECT id, payload FROM inbound_messages WHERE id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        for inbound_id, payload in bind.execute(stmt, {"ids": chunk}):
            if _payload(payload).get("twilio_channel") == "whatsapp":
                moved.append(by_inbound[inbound_id])
    for start in range(0, len(moved), CHUNK):
        ids = {"ids": moved[start : start + CHUNK]}
        expanding: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
        bind.execute(
            sa.text(
                "UPDATE subscribers SET channel = 'twilio_whatsapp', source = 'twilio_whatsapp' WHERE id IN :ids"
            ).bindparams(expanding),
            ids,
        )
        bind.execute(
            sa.text(
                "UPDATE broadcast_recipients SET channel = 'twilio_whatsapp' "
                "WHERE subscriber_id IN :ids AND status = 'queued'"
            ).bindparams(expanding),
            ids,
        )


def downgrade() -> None:
    op.execute("UPDATE subscribers SET channel = 'sms', source = 'sms' WHERE channel = 'twilio_whatsapp'")
    op.execute("UPDATE broadcast_recipients SET channel = 'sms' WHERE channel = 'twilio_whatsapp'")
