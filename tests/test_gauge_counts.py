"""The /metrics gauges the database counts itself (issue 25): after real events (reports, replies, escalations,
cancellations, edits, deletions) the kept counts equal a full recount of every table, before and after a fold, on
SQLite and PostgreSQL; the refresher reads them without reading the tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text, update

from hotline.db import get_engine, unit_of_work
from hotline.gauge_triggers import FAMILIES
from hotline.gauges import Counts, fold, read_counts
from hotline.metrics import database_samples, refresh_database_metrics
from hotline.models import GaugeDelta, Ticket
from tests.accounts import make_token
from tests.clocked import set_clock, sms, tick
from tests.conftest import Phone
from tests.suite_city import members

pytestmark = pytest.mark.usefixtures("real_clock")

T0 = datetime(2030, 3, 10, 2, 0, tzinfo=UTC)
PMK, PUPR = members("PMK"), members("PUPR")


def recount() -> Counts:
    """Every self-counted family counted the slow way: a GROUP BY over its whole table."""
    counts: Counts = {}
    with unit_of_work() as session:
        for family in FAMILIES:
            labels = ", ".join(expr.format(r=family.table) for expr in family.labels)
            where = family.where.format(r=family.table) if family.where else "1 = 1"
            sql = f"SELECT {labels}, count(*) FROM {family.table} WHERE {where} GROUP BY {labels}"
            for *values, n in session.execute(text(sql)):
                key = tuple("None" if v is None else str(v) for v in values)
                counts.setdefault(family.family, {})[key] = counts.get(family.family, {}).get(key, 0) + n
    return counts


def kept() -> Counts:
    with unit_of_work() as session:
        return read_counts(session)


@pytest.fixture
def table_reads() -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_kept_counts_follow_every_insert_change_and_delete(phone: Phone) -> None:
    set_clock(T0)
    sms(phone, "+6281234500001", "KEBAKARAN di Sisir")
    sms(phone, "+6281234500002", "JALAN berlubang di Jl. Imam Bonjol 3 Temas")
    sms(phone, "+6281234500003", "KEBAKARAN di Temas")
    sms(phone, "+6281234500003", "BATAL 3")
    phone.client.post(
        f"{phone.base_url}/api/v1/tickets/3/cancel-request/confirm",
        headers={"Authorization": f"Bearer {make_token('desk', 'operator')}"},
    )
    tick(6)  # escalations fire
    sms(phone, PMK[0], "TERIMA 1")
    sms(phone, PMK[0], "SELESAI 1")
    sms(phone, "+6281234500001", "STATUS 1")
    assert kept() == recount() and kept()["hotline_tickets"]  # counted before any fold, as written

    with unit_of_work() as session:  # an edit of a counted label and a deletion, as an operator or a purge would
        session.execute(update(Ticket).where(Ticket.id == 2).values(category=None))
        session.execute(text("DELETE FROM escalations WHERE id = (SELECT min(id) FROM escalations)"))
    assert kept() == recount()
    with unit_of_work() as session:
        assert fold(session) > 0
    with unit_of_work() as session:
        assert session.query(GaugeDelta).count() == 0
    assert kept() == recount()
    sms(phone, PUPR[0], "TERIMA 2")
    assert kept() == recount()


def test_the_refresher_reads_the_counts_not_the_tables(phone: Phone, table_reads: list[str]) -> None:
    set_clock(T0)
    sms(phone, "+6281234500001", "KEBAKARAN di Sisir")
    refresh_database_metrics()
    table_reads.clear()
    with unit_of_work() as session:
        samples = database_samples(session)
    assert [labels for labels, _ in samples["hotline_tickets"]] == [["sms", "fire", "routed"]]
    for statement in table_reads:  # the big tables are counted by the database as they are written
        assert not any(f"FROM {t} " in statement for t in ("tickets", "inbound_messages", "escalations", "calls"))
        if "FROM outbound_messages" in statement:  # only the alert SMS a failover attempt sent, found by attempt
            assert "JOIN alert_attempts ON alert_attempts.outbound_id = outbound_messages.id" in statement
