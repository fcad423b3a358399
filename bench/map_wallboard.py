"""bench/map_wallboard: what the console map's JSON and the wallboard's poll cost at a big city's history.

    flock /tmp/hotline-bench.lock .venv/bin/python bench/map_wallboard.py --tickets 1000000 [--keep]

A PostgreSQL database of its own (bench_map, dropped after unless --keep), migrated by this checkout, with the
shipped routing/; N tickets seeded in SQL (one INSERT over generate_series) spread evenly over 3 years, 2.1 %
still open (routed, accepted or on site, most of them long past their deadline), one in three with a reporter's
GPS point, each in one of the city's desa, priorities mixed; one timeline event per open ticket. Then VACUUM
ANALYZE (as autovacuum would have, after years).

Measured in this process (Redis db 1), each operation `--reps` times in turns after one warm-up: the agency
board's query (hotline/features/tickets/board.py, the baseline: the bounded page every console already loads),
the map's JSON for everyone and with filters, the whole wallboard (the month's scorecard cached in Redis, as the
metrics refresher keeps it), and the wallboard's unchanged poll (`version`). Prints median and p95 in ms, the
SQL statements each ran, and the ratio of its median to the baseline's; writes bench/results/map_wallboard-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from bench_services import database_url, drop_database, reset_database

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
DB = "bench_map"

SEED = """
WITH ag AS (SELECT row_number() OVER (ORDER BY id) - 1 AS idx, id AS agency_id FROM agencies WHERE active),
     d AS (SELECT row_number() OVER (ORDER BY name) - 1 AS idx, name, lat, lon
           FROM unnest(%(desa)s::text[], %(lat)s::float8[], %(lon)s::float8[]) AS x(name, lat, lon))
INSERT INTO tickets (id, channel, reporter_phone, language, category, priority, urgent, text, status, agency_id, desa,
    kecamatan, category_prompts, created_at, updated_at, routed_at, accepted_at, resolved_at, accept_due_at,
    resolve_due_at, latitude, longitude, partial, reporter_count)
SELECT i, 'sms', '+62812' || lpad(mod(i::bigint * 7919, 400000)::text, 7, '0'), 'id',
    (ARRAY['fire', 'landslide', 'flood', 'roads', 'waste', 'farm'])[1 + mod(i, 6)],
    (ARRAY['critical', 'high', 'normal', 'normal', 'low'])[1 + mod(i, 5)], false, 'Laporan warga nomor ' || i,
    CASE WHEN NOT o THEN 'resolved' WHEN mod(i, 5) IN (0, 1) THEN 'routed' WHEN mod(i, 5) IN (2, 3) THEN 'accepted'
         ELSE 'on_site' END,
    ag.agency_id, d.name, 'Batu', 0, c, c + interval '5 minutes', c + interval '2 seconds',
    CASE WHEN o AND mod(i, 5) IN (0, 1) THEN NULL ELSE c + interval '10 minutes' END,
    CASE WHEN o THEN NULL ELSE c + interval '3 hours' END,
    c + interval '15 minutes', c + interval '240 minutes',
    CASE WHEN mod(i, 3) = 0 THEN d.lat + mod(i, 17) * 0.0003 END,
    CASE WHEN mod(i, 3) = 0 THEN d.lon - mod(i, 13) * 0.0003 END,
    false, 1
FROM generate_series(1, %(n)s) AS i
CROSS JOIN LATERAL (SELECT now() - interval '1095 days' * (1 - i::float8 / %(n)s) AS c,
                           mod(i::bigint * 7919, 1000) < 21 AS o) AS t
JOIN ag ON ag.idx = mod(i * 31, (SELECT count(*) FROM ag))
JOIN d ON d.idx = mod(i * 17, (SELECT count(*) FROM d));
SELECT setval('tickets_id_seq', %(n)s);
INSERT INTO ticket_events (ticket_id, at, kind, actor, data)
SELECT id, created_at, 'routed', 'system', '{}'::json FROM tickets WHERE status IN ('routed', 'accepted', 'on_site');
VACUUM ANALYZE tickets;
VACUUM ANALYZE ticket_events;
"""


def timed(fn: Callable[[], Any], counter: list[int]) -> tuple[float, int]:
    before = counter[0]
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000, counter[0] - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database (bench_map) afterwards")
    args = parser.parse_args()

    reset_database(DB)
    os.environ.update(
        {
            "HOTLINE_DATABASE_URL": database_url(DB),
            "HOTLINE_REDIS_URL": "redis://127.0.0.1:6379/1",
            "HOTLINE_QUEUE": f"bench-map-{uuid.uuid4().hex[:8]}",
            "HOTLINE_CONFIG_DIR": str(ROOT),
            "HOTLINE_DATA_DIR": str(BENCH / "results" / "map-var"),
        }
    )
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event

    from hotline import clock
    from hotline.cli_database import prepare_database
    from hotline.core.city import current_config
    from hotline.db import get_engine, unit_of_work
    from hotline.features.accounts.accounts import Principal
    from hotline.features.map.markers import MapFilter, map_view
    from hotline.features.tickets.board import agency_loads
    from hotline.features.wallboard.board import version, wallboard
    from hotline.localtime import city_zone
    from hotline.models import Agency

    try:
        prepare_database()
        config = current_config()
        names = sorted(config.desa_points)
        started = time.perf_counter()
        with psycopg.connect(database_url(DB).replace("+psycopg", ""), autocommit=True) as conn:
            params = {
                "n": args.tickets,
                "desa": names,
                "lat": [config.desa_points[d][0] for d in names],
                "lon": [config.desa_points[d][1] for d in names],
            }
            for statement in filter(str.strip, SEED.split(";\n")):
                conn.execute(statement, {k: v for k, v in params.items() if f"%({k})s" in statement})
            open_count = conn.execute("SELECT count(*) FROM tickets WHERE status <> 'resolved'").fetchone()
        seeded_s = time.perf_counter() - started
        print(f"seeded {args.tickets:,} tickets ({open_count[0] if open_count else '?':,} open) in {seeded_s:.0f} s")

        statements = [0]
        event.listen(get_engine(), "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        everyone = Principal(0, "bench", "supervisor", None)
        now = clock.now()
        with unit_of_work() as session:
            agency_ids = list(session.scalars(Agency.__table__.select().with_only_columns(Agency.id)))

        def board() -> None:
            with unit_of_work() as session:
                agency_loads(session, agency_ids=agency_ids, now=now)

        def the_map(filters: MapFilter) -> Callable[[], None]:
            def run() -> None:
                with unit_of_work() as session:
                    map_view(session, config=config, principal=everyone, filters=filters, now=now)

            return run

        def wall() -> None:
            with unit_of_work() as session:
                wallboard(session, config=config, now=now, tz=city_zone())
                version(session)

        def poll() -> None:
            with unit_of_work() as session:
                version(session)

        ops: dict[str, Callable[[], None]] = {
            "baseline: agency board query": board,
            "map JSON, everyone": the_map(MapFilter()),
            "map JSON, late only": the_map(MapFilter(late=True)),
            "map JSON, one category": the_map(MapFilter(category="roads")),
            "wallboard, full": wall,
            "wallboard, unchanged poll": poll,
        }
        first_wall_ms, _ = timed(wall, statements)  # the month's scorecard judged once, then kept in Redis
        samples: dict[str, list[float]] = {name: [] for name in ops}
        queries: dict[str, int] = {}
        for fn in ops.values():
            fn()  # warm-up
        for _ in range(args.reps):
            for name, fn in ops.items():
                ms, n = timed(fn, statements)
                samples[name].append(ms)
                queries[name] = n
        base = statistics.median(samples["baseline: agency board query"])
        rows = []
        print(f"\n{'operation':32} {'median ms':>10} {'p95 ms':>8} {'SQL':>4} {'ratio':>6}")
        for name, values in samples.items():
            median = statistics.median(values)
            p95 = sorted(values)[max(0, int(len(values) * 0.95) - 1)]
            rows.append(
                {"op": name, "median_ms": median, "p95_ms": p95, "statements": queries[name], "ratio": median / base}
            )
            print(f"{name:32} {median:10.1f} {p95:8.1f} {queries[name]:4d} {median / base:6.2f}")
        print(f"\nthe first wallboard of the month (its scorecard judged, then cached): {first_wall_ms:.0f} ms")
        load = os.getloadavg()[0]
        print(f"load average (1 min) at the end: {load:.1f}")
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"map_wallboard-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        out.write_text(
            json.dumps(
                {
                    "tickets": args.tickets,
                    "open": open_count[0] if open_count else None,
                    "seed_s": seeded_s,
                    "first_wallboard_ms": first_wall_ms,
                    "rows": rows,
                    "load": load,
                },
                indent=2,
            )
        )
        print(f"wrote {out.relative_to(ROOT)}")
    finally:
        from hotline.db import get_engine as engine

        engine().dispose()
        if not args.keep:
            drop_database(DB)


if __name__ == "__main__":
    main()
