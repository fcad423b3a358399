"""The database gauges that count themselves: triggers append (family, labels, +1/-1) to `gauge_deltas` in the
transaction of every insert, delete or label change (hotline/gauges.py folds and reads them).

Append-only deltas, never an UPDATE of a shared counter row: concurrent transactions do not wait on one another
and cannot deadlock over counters. The labels are a JSON array text (`json_build_array(...)::text` on PostgreSQL,
`json_array(...)` on SQLite), built the same way by the triggers and by the backfill, so they group together.

Kept apart from the migration that installs them so a later migration can install a changed set the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class CountedFamily:
    table: str
    family: str  # a /metrics family, or an internal one (no `hotline_` prefix) that hotline/metrics.py combines
    labels: tuple[str, ...]  # SQL over the row `{r}` (NEW or OLD), one per label
    columns: tuple[str, ...]  # the columns those read: an UPDATE that changes one of them moves the count
    where: str | None = None  # only rows that satisfy this (over `{r}`) are counted


FAMILIES: tuple[CountedFamily, ...] = (
    CountedFamily(
        "tickets",
        "hotline_tickets",
        ("{r}.channel", "coalesce({r}.category, 'none')", "{r}.status"),
        ("channel", "category", "status"),
    ),
    CountedFamily(
        "inbound_messages",
        "hotline_inbound_sms",
        ("{r}.status", "coalesce({r}.outcome, 'none')"),
        ("status", "outcome"),
    ),
    CountedFamily("outbound_messages", "hotline_outbound_sms", ("{r}.purpose", "{r}.status"), ("purpose", "status")),
    CountedFamily(  # alert SMS by purpose, status and sending gateway: hotline_alerts' plain part (metrics.py)
        "outbound_messages",
        "alert_sms",
        ("{r}.purpose", "{r}.status", "coalesce({r}.gateway, {r}.provider, 'sms')"),
        ("purpose", "status", "gateway", "provider"),
        "{r}.purpose IN ('alert', 'escalation')",
    ),
    CountedFamily("escalations", "hotline_escalations", ("{r}.phase", "{r}.status"), ("phase", "status")),
    CountedFamily("calls", "hotline_calls", ("{r}.provider", "{r}.status"), ("provider", "status")),
    CountedFamily("call_screening", "hotline_call_screening", ("{r}.decision",), ("decision",)),
    CountedFamily("alert_attempts", "hotline_alert_attempts", ("{r}.channel", "{r}.status"), ("channel", "status")),
    CountedFamily("alert_deliveries", "hotline_alert_deliveries", ("{r}.status",), ("status",)),
)


def _labels(dialect: str, family: CountedFamily, row: str) -> str:
    parts = ", ".join(expr.format(r=row) for expr in family.labels)
    return f"json_build_array({parts})::text" if dialect == "postgresql" else f"json_array({parts})"


def _condition(family: CountedFamily, row: str) -> str:
    return family.where.format(r=row) if family.where else "1 = 1"


def _tables() -> dict[str, list[CountedFamily]]:
    tables: dict[str, list[CountedFamily]] = {}
    for family in FAMILIES:
        tables.setdefault(family.table, []).append(family)
    return tables


def _watched(families: list[CountedFamily]) -> list[str]:
    return sorted({c for f in families for c in f.columns})


def _insert(dialect: str, family: CountedFamily, row: str, delta: int) -> str:
    return (
        f"INSERT INTO gauge_deltas (family, labels, delta) SELECT '{family.family}', {_labels(dialect, family, row)}, "
        f"{delta} WHERE {_condition(family, row)};"
    )


def install(conn: Connection) -> None:
    """Create the triggers, then count what is there into gauge_counts (in the migration's transaction: on
    PostgreSQL writers wait for its commit, so nothing is counted twice or missed)."""
    dialect = conn.dialect.name
    for table, families in _tables().items():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _watched(families))
        if dialect == "postgresql":
            minus = "\n".join(_insert(dialect, f, "OLD", -1) for f in families)
            plus = "\n".join(_insert(dialect, f, "NEW", 1) for f in families)
            conn.execute(
                sa.text(
                    f"CREATE FUNCTION hotline_gauge_{table}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                    f"BEGIN\nIF TG_OP <> 'INSERT' THEN\n{minus}\nEND IF;\n"
                    f"IF TG_OP <> 'DELETE' THEN\n{plus}\nEND IF;\nRETURN NULL;\nEND $$"
                )
            )
            run = f"FOR EACH ROW EXECUTE FUNCTION hotline_gauge_{table}()"
            conn.execute(sa.text(f"CREATE TRIGGER hotline_gauge_{table}_ins AFTER INSERT ON {table} {run}"))
            conn.execute(sa.text(f"CREATE TRIGGER hotline_gauge_{table}_del AFTER DELETE ON {table} {run}"))
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER hotline_gauge_{table}_upd AFTER UPDATE OF {', '.join(_watched(families))} "
                    f"ON {table} FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION hotline_gauge_{table}()"
                )
            )
        else:
            sqlite_changed = changed.replace("IS DISTINCT FROM", "IS NOT")
            body = {
                "ins": ("AFTER INSERT", "", [_insert(dialect, f, "NEW", 1) for f in families]),
                "del": ("AFTER DELETE", "", [_insert(dialect, f, "OLD", -1) for f in families]),
                "upd": (
                    f"AFTER UPDATE OF {', '.join(_watched(families))}",
                    f" WHEN {sqlite_changed}",
                    [_insert(dialect, f, "OLD", -1) for f in families]
                    + [_insert(dialect, f, "NEW", 1) for f in families],
                ),
            }
            for suffix, (when, condition, statements) in body.items():
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER hotline_gauge_{table}_{suffix} {when} ON {table} FOR EACH ROW{condition} "
                        f"BEGIN {' '.join(statements)} END"
                    )
                )
    for family in FAMILIES:
        conn.execute(
            sa.text(
                f"INSERT INTO gauge_counts (family, labels, n) SELECT '{family.family}', "
                f"{_labels(dialect, family, family.table)}, count(*) FROM {family.table} "
                f"WHERE {_condition(family, family.table)} GROUP BY 2"
            )
        )


def uninstall(conn: Connection) -> None:
    for table in _tables():
        for suffix in ("ins", "del", "upd"):
            on = f" ON {table}" if conn.dialect.name == "postgresql" else ""
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS hotline_gauge_{table}_{suffix}{on}"))
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"DROP FUNCTION IF EXISTS hotline_gauge_{table}()"))
