"""bench/ticket_export: the console's ticket CSV export and scorecard charts as the history grows (issue 19 item 7).

    .venv/bin/python bench/ticket_export.py run --sizes 10k 100k        # seed, probe each size, print the table
    .venv/bin/python bench/ticket_export.py drop                         # drop the databases

Seeds PostgreSQL databases bench_export_<size> (SQL only: N tickets spread over the last 3 years, 6 agencies
from routing/), then probes each size in a fresh process, so each peak is its own:

- export: every ticket through `export_rows` (the query of the list page's filters, yield_per) and `ticket_csv`
  (words, local times, defused cells), as the console streams it; the chunks are counted, not kept. Time, and the
  process's peak RSS over its RSS before the export (ru_maxrss).
- naive: for contrast, the same tickets loaded whole as ORM objects (what a `list(...)` of the query would hold).
- charts: the scorecard page's data for 12 months (recent_cards, closed months from their frozen rows, the open
  month from Redis) and its SVG, after a first call that froze the closed months; median of 5.

The table gives each figure per size and the ratio largest / smallest: an export's time grows with its rows, its
memory must not; the charts' time must not grow with the history.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg
from bench_services import database_url, drop_database, hotline_env, reset_database

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SIZES = {"10k": 10_000, "100k": 100_000}
REDIS_URL = "redis://127.0.0.1:6379/7"

SEED_SQL = """
INSERT INTO tickets (id, channel, reporter_phone, language, category, priority, urgent, text, status, agency_id,
    desa, kecamatan, category_prompts, created_at, updated_at, routed_at, accepted_at, resolved_at, cancelled_at,
    sla_accept_minutes, sla_resolve_minutes, accept_due_at, resolve_due_at, partial, reporter_count)
SELECT i, 'sms', '+62812' || lpad(mod(i::bigint * 7919, 400000)::text, 7, '0'), 'id', ag.category, 'normal', false,
    'Laporan warga nomor ' || i || ': jalan rusak dan berlubang di dekat sekolah, mohon segera diperbaiki',
    CASE WHEN mod(i, 10) = 0 THEN 'cancelled' WHEN mod(i, 50) = 1 THEN 'routed' ELSE 'resolved' END,
    ag.agency_id, 'Sisir', 'Batu', 0, c, c, c,
    CASE WHEN mod(i, 10) = 0 OR mod(i, 50) = 1 THEN NULL ELSE c + make_interval(mins => 3 + mod(i, 25)) END,
    CASE WHEN mod(i, 10) = 0 OR mod(i, 50) = 1 THEN NULL ELSE c + make_interval(mins => 60 + mod(i * 7, 400)) END,
    CASE WHEN mod(i, 10) = 0 THEN c + interval '20 minutes' END,
    15, 240, c + interval '15 minutes', c + interval '240 minutes', false, 1
FROM generate_series(1, %(n)s) AS i
CROSS JOIN LATERAL (SELECT now() - interval '1095 days' * (1 - i::float8 / %(n)s) AS c) AS t
JOIN (SELECT row_number() OVER (ORDER BY code) - 1 AS idx, id AS agency_id,
             CASE code WHEN 'PMK' THEN 'fire' WHEN 'BPBD' THEN 'flood' WHEN 'PUPR' THEN 'roads'
                       WHEN 'DLH' THEN 'waste' WHEN 'DISTAN' THEN 'farm' ELSE 'other' END AS category
      FROM agencies WHERE active) AS ag ON ag.idx = mod(i * 31, 6);
SELECT setval('tickets_id_seq', %(n)s)
"""


def db_name(size: str) -> str:
    return f"bench_export_{size}"


def env_for(size: str) -> dict[str, str]:
    return hotline_env(
        HOTLINE_DATABASE_URL=database_url(db_name(size)),
        HOTLINE_REDIS_URL=REDIS_URL,
        HOTLINE_QUEUE=f"bench-export-{uuid.uuid4().hex[:8]}",
        HOTLINE_DATA_DIR=str(BENCH / "results" / "export-var"),
    )


def seed(size: str) -> None:
    reset_database(db_name(size))
    subprocess.run([sys.executable, "-m", "hotline", "db", "upgrade"], env=env_for(size), cwd=ROOT, check=True)
    dsn = f"postgresql://postgres@127.0.0.1:5432/{db_name(size)}"
    with psycopg.connect(dsn) as conn:
        for statement in SEED_SQL.split(";\n"):
            conn.execute(statement.replace("%(n)s", str(SIZES[size])))  # type: ignore[arg-type]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def probe(what: str) -> dict[str, Any]:
    """In this process (a fresh one per size and per `what`)."""
    from hotline import clock
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.accounts.accounts import Principal
    from hotline.features.tickets.ticket_export import export_rows
    from hotline.features.tickets.ticket_queries import TicketFilter
    from hotline.reports.ticket_csv import ticket_csv

    everyone = Principal(0, "bench", "supervisor", None)
    names = {c.code: c.name("id") for c in current_config().categories}
    with unit_of_work() as session:  # warm-up: imports, connection, catalogs
        rows = export_rows(session, principal=everyone, filters=TicketFilter(), now=clock.now())
        for _ in ticket_csv(islice(rows, 200), lang="id", category_names=names):
            pass
    before = _rss_kib()
    started = time.perf_counter()
    out: dict[str, Any] = {}
    if what == "export":
        size = rows = 0
        with unit_of_work() as session:
            for chunk in ticket_csv(
                export_rows(session, principal=everyone, filters=TicketFilter(), now=clock.now()),
                lang="id",
                category_names=names,
            ):
                size += len(chunk)
                rows += chunk.count("\r\n")
        out = {"rows": rows - 1, "chars": size}
    elif what == "naive":
        from sqlalchemy import select

        from hotline.models import Ticket

        with unit_of_work() as session:
            held = list(session.scalars(select(Ticket)))
            out = {"rows": len(held)}
    elif what == "charts":
        return _charts()
    out |= {"seconds": time.perf_counter() - started, "peak_over_start_mib": (_rss_kib() - before) / 1024}
    return out


def _charts() -> dict[str, Any]:
    from hotline import clock
    from hotline.core.city import current_config
    from hotline.features.scorecard import Month, city_timezone
    from hotline.features.scorecard.trend import agency_trends, recent_cards
    from hotline.reports.svg_charts import median_chart, share_chart, trend_chart

    tz, config = city_timezone(), current_config()
    month = Month.containing(clock.now(), tz)

    def page() -> None:
        cards = recent_cards(config=config, last=month, tz=tz, now=clock.now())
        card = cards[-1]
        rows = list(card.agencies)
        trends = agency_trends(cards, [r.code for r in rows])
        share_chart(rows, card.thresholds, month=card.month, lang="id")
        median_chart(rows, month=card.month, lang="id")
        for r in rows:
            trend_chart(r.code, r.name, trends[r.code], card.thresholds, lang="id")

    t0 = time.perf_counter()
    page()  # freezes the closed months never viewed, judges the open one: once
    first = time.perf_counter() - t0
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        page()
        times.append(time.perf_counter() - t0)
    return {"first_seconds": first, "median_ms": statistics.median(times) * 1000}


def run(sizes: list[str]) -> None:
    results: dict[str, dict[str, Any]] = {}
    for size in sizes:
        t0 = time.perf_counter()
        seed(size)
        print(f"seeded {db_name(size)} ({SIZES[size]} tickets) in {time.perf_counter() - t0:.1f} s", flush=True)
        results[size] = {}
        for what in ("export", "naive", "charts"):
            done = subprocess.run(
                [sys.executable, str(Path(__file__)), "probe", what],
                env=env_for(size),
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            results[size][what] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {size} {what}: {results[size][what]}", flush=True)
    small, large = sizes[0], sizes[-1]
    lines = [
        ("export CSV, s", "export", "seconds", "{:.2f}"),
        ("export CSV, peak RSS over start, MiB", "export", "peak_over_start_mib", "{:.1f}"),
        ("naive list of ORM rows, peak RSS over start, MiB", "naive", "peak_over_start_mib", "{:.1f}"),
        ("scorecard charts (12 months), ms", "charts", "median_ms", "{:.1f}"),
    ]
    print(f"\n| figure | {' | '.join(sizes)} | {large} / {small} |\n|---|" + "---|" * (len(sizes) + 1))
    for label, what, key, fmt in lines:
        values = [results[s][what][key] for s in sizes]
        ratio = values[-1] / values[0] if values[0] else float("nan")
        print(f"| {label} | {' | '.join(fmt.format(v) for v in values)} | {ratio:.1f} |")
    load = os.getloadavg()
    print(f"\nload average after: {load}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = BENCH / "results" / f"ticket-export-{stamp}.json"
    path.parent.mkdir(exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    path.write_text(json.dumps({"commit": commit.strip(), "load_after": load, "results": results}, indent=2))
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run")
    run_p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    probe_p = sub.add_parser("probe")
    probe_p.add_argument("what", choices=["export", "naive", "charts"])
    sub.add_parser("drop")
    args = parser.parse_args()
    if args.command == "run":
        run(args.sizes)
    elif args.command == "probe":
        print(json.dumps(probe(args.what)))
    else:
        for size in SIZES:
            drop_database(db_name(size))
        print("dropped")


if __name__ == "__main__":
    main()
