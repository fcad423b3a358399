"""bench/merging: what the duplicate lookup and decision cost per new report with 10,000 open tickets.

    flock /tmp/hotline-bench.lock .venv/bin/python bench/merging.py                 # both backends, ~2 min
    flock /tmp/hotline-bench.lock .venv/bin/python bench/merging.py --backend sqlite --reports 500

One run per backend, in one process, no workers and no Redis (SMS rows are written, never dispatched):
1. A fresh database (SQLite: a temp file; PostgreSQL: database hotline_bench_merging_<pid> on
   127.0.0.1:5432, created here and dropped at the end), migrated with the real migrations, and the
   city's agencies synced.
2. Seed `--open` (10,000) open tickets like a disaster afternoon, with bulk Core inserts: categories
   weighted (landslide 35 %, flood 25 %, roads 15 %, disaster 10 %, waste 10 %, fire 5 %), a random desa of
   routing/areas.yaml, created uniformly over the last 6 hours, 30 % with GPS inside Kota Batu, texts
   made of a category word, a place and filler words. Plus 2,000 resolved tickets (not candidates).
3. Draw `--reports` new reports from the same mix. For each, three measurements, each in its own
   transaction that is rolled back (the database stays at 10,000 open tickets), in the same run:
   - baseline: `open_ticket` (insert, route, alert SMS rows, pin the deadlines) without any lookup;
   - lookup:   `merging.find_match` alone (advisory lock, the candidate query, the pure matcher);
   - query:    the candidate query alone (`merging.candidates`: the rows made into Candidates), to split
               the lookup into database and matcher;
   - merged:   `merging.open_or_merge`, whatever it decides (a merge, or a new ticket).
   Timed with perf_counter around the call only. Progress every 250 reports.
4. EXPLAIN of the candidate query (PostgreSQL: ANALYZE, BUFFERS; SQLite: QUERY PLAN): the index
   ix_tickets_category_status_created must be used.

Reported per backend: p50/p99/mean in ms for each, lookup/baseline and merged/baseline ratios of the
medians, candidates per lookup, the share of reports merged (and by which rule). Writes
bench/results/merging-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_services import database_url, drop_database, reset_database
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig, load_city_config
from hotline.core.city import sync_routing
from hotline.core.outbox import NO_DISPATCH
from hotline.db import make_engine
from hotline.duplicates import NewReport, Place
from hotline.features.merging import merging
from hotline.features.tickets.tickets import open_ticket
from hotline.migrate import upgrade
from hotline.models import Agency, Ticket, Urc
from hotline.router import RouteFacts, initial_priority, route
from hotline.settings import PROJECT_ROOT

RESULTS = Path(__file__).resolve().parent / "results"
MIX = {"landslide": 35, "flood": 25, "roads": 15, "disaster": 10, "waste": 10, "fire": 5}
WORDS = {
    "landslide": "longsor",
    "flood": "banjir",
    "roads": "jalan berlubang",
    "disaster": "angin puting beliung",
    "waste": "sampah menumpuk",
    "fire": "kebakaran",
}
FILLER = ("rumah warga jalan tertutup tanah air deras dekat masjid sekolah pasar sungai jembatan tolong segera").split()  # noqa: SIM905
# Kota Batu, roughly: the near-GPS rule only matters where points can be within a few hundred metres.
LAT, LON = (-7.93, -7.75), (112.45, 112.60)
SEED_HOURS = 6


def say(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def fake_report(rng: random.Random, config: CityConfig) -> dict[str, Any]:
    category = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    area = rng.choice(config.areas)
    desa = rng.choice(area.desa)
    gps = rng.random() < 0.3
    words = " ".join(rng.sample(FILLER, 4))
    return {
        "category": category,
        "desa": desa,
        "kecamatan": area.name,
        "latitude": rng.uniform(*LAT) if gps else None,
        "longitude": rng.uniform(*LON) if gps else None,
        "text": f"{WORDS[category].upper()} di {desa} {words}",
    }


def seed(engine: Engine, config: CityConfig, *, open_tickets: int, closed: int, rng: random.Random) -> None:
    with Session(engine) as session:
        agencies = {a.code: a.id for a in session.scalars(select(Agency))}
        urcs = {u.code: u.id for u in session.scalars(select(Urc))}
    now = datetime.now(UTC)
    rows = []
    for i in range(open_tickets + closed):
        report = fake_report(rng, config)
        spec = config.category(report["category"])
        priority = initial_priority(spec, False)
        decision = route(config.rules, config.agencies, RouteFacts(report["category"], priority, report["kecamatan"]))
        created = now - timedelta(seconds=rng.uniform(0, SEED_HOURS * 3600))
        rows.append(
            {
                **report,
                "channel": "sms",
                "reporter_phone": f"+62813{i:08d}",
                "language": "id",
                "priority": priority,
                "urgent": False,
                "location_text": report["desa"],
                "status": "routed" if i < open_tickets else "resolved",
                "agency_id": agencies[decision.agency],
                "urc_id": urcs[decision.urc],
                "routing_rule": decision.rule,
                "created_at": created,
                "updated_at": created,
                "routed_at": created,
                "category_prompts": 0,
                "partial": False,
                "reporter_count": 1,
            }
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(Ticket), rows[start : start + 2000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE tickets"))
        else:
            conn.execute(text("ANALYZE"))


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Session]:
    session = Session(engine)
    session.info[NO_DISPATCH] = True
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def timed(engine: Engine, work: Callable[[Session], Any]) -> tuple[float, Any]:
    with rolled_back(engine) as session:
        session.connection()  # the connection checkout is not what is measured
        started = time.perf_counter()
        result = work(session)
        session.flush()
        return (time.perf_counter() - started) * 1000, result


def explain(engine: Engine, config: CityConfig) -> str:
    """The plan of the real candidate query, for a landslide report naming a desa (the common case)."""
    rule = config.merging.for_category("landslide")
    report = NewReport("x", Place("Punten", "Bumiaji"), datetime.now(UTC))
    query = merging.candidate_query(category="landslide", rule=rule, report=report)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        rows = conn.execute(text(prefix + str(compiled))).all()
    return "\n".join(str(r[-1]) if engine.dialect.name != "postgresql" else str(r[0]) for r in rows)


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "p50": round(pct(50), 3),
        "p99": round(pct(99), 3),
        "mean": round(statistics.fmean(ordered), 3),
        "max": round(ordered[-1], 3),
    }


def run_backend(name: str, url: str, config: CityConfig, args: argparse.Namespace) -> dict[str, Any]:
    say(f"{name}: migrating {url.split('@')[-1]}")
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        sync_routing(session, config=config)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    seed(engine, config, open_tickets=args.open, closed=args.closed, rng=rng)
    say(f"{name}: seeded {args.open} open + {args.closed} resolved tickets in {time.perf_counter() - started:.1f} s")
    plan = explain(engine, config)
    say(f"{name}: candidate query plan:\n{plan}")
    baseline: list[float] = []
    lookup: list[float] = []
    query: list[float] = []
    merged: list[float] = []
    candidates: list[int] = []
    outcomes: Counter[str] = Counter()
    reports = [fake_report(rng, config) for _ in range(args.reports)]
    for i, report in enumerate(reports, 1):
        place = Place(report["desa"], report["kecamatan"], report["latitude"], report["longitude"])
        facts = NewReport(report["text"], place, datetime.now(UTC))
        rule = config.merging.for_category(report["category"])
        common = {
            "config": config,
            "channel": "sms",
            "reporter": f"+62814{i:08d}",
            "language": "id",
            **report,
        }
        ms, _ = timed(engine, lambda s, c=common: open_ticket(s, **c))
        baseline.append(ms)
        ms, _ = timed(
            engine, lambda s, r=report, f=facts: merging.find_match(s, config=config, category=r["category"], report=f)
        )
        lookup.append(ms)
        ms, found = timed(
            engine, lambda s, r=report, f=facts, u=rule: merging.candidates(s, category=r["category"], rule=u, report=f)
        )
        query.append(ms)
        candidates.append(len(found))
        ms, intake = timed(engine, lambda s, c=common: merging.open_or_merge(s, **c))
        merged.append(ms)
        outcomes[intake.match.rule if intake.match else "new ticket"] += 1
        if i % 250 == 0 or i == len(reports):
            say(
                f"{name}: {i}/{len(reports)} reports; p50 baseline {statistics.median(baseline):.2f} ms, "
                f"lookup {statistics.median(lookup):.2f} ms, open_or_merge {statistics.median(merged):.2f} ms"
            )
    engine.dispose()
    result = {
        "backend": name,
        "open_tickets": args.open,
        "reports": args.reports,
        "baseline_open_ticket_ms": stats(baseline),
        "lookup_ms": stats(lookup),
        "candidate_query_ms": stats(query),
        "open_or_merge_ms": stats(merged),
        "lookup_over_baseline_p50": round(statistics.median(lookup) / statistics.median(baseline), 3),
        "open_or_merge_over_baseline_p50": round(statistics.median(merged) / statistics.median(baseline), 3),
        "candidates": {"p50": statistics.median(candidates), "max": max(candidates)},
        "outcomes": dict(outcomes),
        "plan": plan,
    }
    return result


def report(results: list[dict[str, Any]]) -> None:
    print()
    print(
        "| backend | baseline open_ticket p50 / p99 ms | lookup p50 / p99 ms | lookup / baseline (p50) "
        "| of which candidate query p50 / p99 ms "
        "| open_or_merge p50 / p99 ms | open_or_merge / baseline (p50) | candidates p50 (max) | outcomes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        b, lk, q, m = r["baseline_open_ticket_ms"], r["lookup_ms"], r["candidate_query_ms"], r["open_or_merge_ms"]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
        cells = [
            r["backend"],
            f"{b['p50']} / {b['p99']}",
            f"{lk['p50']} / {lk['p99']}",
            r["lookup_over_baseline_p50"],
            f"{q['p50']} / {q['p99']}",
            f"{m['p50']} / {m['p99']}",
            r["open_or_merge_over_baseline_p50"],
            f"{r['candidates']['p50']} ({r['candidates']['max']})",
            outcomes,
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--open", type=int, default=10_000, help="open tickets in the database")
    parser.add_argument("--closed", type=int, default=2_000, help="resolved tickets (never candidates)")
    parser.add_argument("--reports", type=int, default=1_000, help="new reports measured per backend")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    config = load_city_config(PROJECT_ROOT)
    results = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-merging-") as tmp:
        if args.backend in ("sqlite", "both"):
            results.append(run_backend("sqlite", f"sqlite:///{tmp}/merging.db", config, args))
        if args.backend in ("postgresql", "both"):
            name = f"hotline_bench_merging_{os.getpid()}"
            reset_database(name)
            try:
                results.append(run_backend("postgresql", database_url(name), config, args))
            finally:
                drop_database(name)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"merging-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps({"args": vars(args), "cpus": os.cpu_count(), "results": results}, indent=2))
    report(results)
    say(f"wrote {out}")


if __name__ == "__main__":
    main()
