"""Migrations build the whole schema from empty, and the models agree with them."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hotline.migrate import upgrade
from hotline.models import Base

# It reaches the test database itself (HOTLINE_TEST_DATABASE_URL), not through the backend fixture: without
# the mark it would count as `unit`, and the PostgreSQL pass, which leaves out `unit`, would never run it.
pytestmark = pytest.mark.integration


def _empty_database(tmp_path: object) -> tuple[str, object]:
    base = os.environ.get("HOTLINE_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path}/empty.db", None
    name = f"hotline_migr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(base).set(database=name).render_as_string(hide_password=False), admin


def test_upgrade_from_empty_matches_the_models(tmp_path: object) -> None:
    url, admin = _empty_database(tmp_path)
    try:
        upgrade(url)
        upgrade(url)  # a second run is a no-op
        engine = create_engine(url)
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert {
                "tickets",
                "ticket_events",
                "inbound_messages",
                "outbound_messages",
                "agencies",
                "urcs",
                "members",
                "opt_outs",
                "alembic_version",
            } <= tables
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            assert diff == [], f"models and migrations disagree: {diff}"
        engine.dispose()
    finally:
        from hotline.db import dispose_all

        dispose_all()
        if admin is not None:
            with admin.connect() as conn:  # type: ignore[attr-defined]
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
