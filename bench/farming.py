"""bench/farming: importing the 3,000-farmer registry, and what recognising a registered farmer adds to an SMS.

    .venv/bin/python bench/farming.py              # about a minute
    .venv/bin/python bench/farming.py --messages 100

One process, on the embedded default (a SQLite file and an embedded redis-server in a temp dir) and the suite's
city (tests/city: its 80 generated PPL and routing/farming.yaml); the registry is tests/farmers.py's generated
3,000 farmers (not real people).

1. Import: the 3,000 rows as CSV and as XLSX into an empty registry (read + check + insert + commit), then the
   same CSV again (every farmer compared, none changed), 3 rounds each; the baseline in the same run is reading
   the CSV with the csv module alone. Target (issue 22): under 10 s.
2. Recognition: SMS "TANI PUPUK urea langka di kebun apel desa <D>" from a registered farmer of desa D and from an
   unregistered number with the same text, alternating (`--messages` pairs), each stored as the webhook stores it
   and then processed as the worker does (`process_inbound` in its own unit of work, commit included). Both go to
   the same PPL team, and the fertiliser sub-category is not watched for outbreaks, so the two paths differ only by
   the recognition (the registry lookup, the farmer's facts, the farmer's line in the alert). Measured as CPU time
   of this process (the machine is shared: wall time is reported too), and the registry lookup alone (1,000 found,
   1,000 not). Target: median difference under 2 ms.

Prints a table and writes bench/results/farming-<time>.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = Path(__file__).resolve().parent / "results"
TEXT = "TANI PUPUK urea langka di kebun apel desa {desa}"


def _env(tmp: Path) -> Any:
    from hotline.embedded_redis import EmbeddedRedis

    redis = EmbeddedRedis(tmp / "redis")
    os.environ.update(
        HOTLINE_CONFIG_DIR=str(ROOT / "tests" / "city"),
        HOTLINE_DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
        HOTLINE_REDIS_URL=redis.start(),
        HOTLINE_DATA_DIR=str(tmp / "var"),
        HOTLINE_QUEUE=f"bench-farming-{uuid.uuid4().hex[:6]}",
        HOTLINE_SMS_PROVIDER="log",
        HOTLINE_ENV="development",
    )
    from hotline.cli_database import prepare_database
    from hotline.settings import get_settings
    from hotline.wiring import wire

    get_settings.cache_clear()
    wire()
    prepare_database()
    return redis


def _empty() -> None:
    from sqlalchemy import delete

    from hotline.db import unit_of_work
    from hotline.models import Farmer, FarmReport

    with unit_of_work() as session:
        session.execute(delete(FarmReport))
        session.execute(delete(Farmer))


def _import(data: bytes, name: str) -> tuple[float, Any]:
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.farming.registry import import_farmers
    from hotline.features.farming.registry_files import read_sheet

    started = time.perf_counter()
    with unit_of_work() as session:
        result = import_farmers(
            session, config=current_config(), sheet=read_sheet(data, name), region="ID", actor="bench"
        )
    return time.perf_counter() - started, result


def bench_import(rounds: int) -> dict[str, Any]:
    from tests.farmers import registry_csv, registry_xlsx

    csv_bytes, xlsx_bytes = registry_csv(), registry_xlsx()
    out: dict[str, list[float]] = {"csv_module_only": [], "csv_new": [], "xlsx_new": [], "csv_again": []}
    for _ in range(rounds):
        started = time.perf_counter()
        rows = list(csv.reader(io.StringIO(csv_bytes.decode())))
        out["csv_module_only"].append(time.perf_counter() - started)
        assert len(rows) == 3001
        _empty()
        seconds, result = _import(csv_bytes, "petani.csv")
        assert result.added == 3000, result
        out["csv_new"].append(seconds)
        seconds, result = _import(csv_bytes, "petani.csv")
        assert result.unchanged == 3000, result
        out["csv_again"].append(seconds)
        _empty()
        seconds, result = _import(xlsx_bytes, "petani.xlsx")
        assert result.added == 3000, result
        out["xlsx_new"].append(seconds)
    return {k: {"median_s": statistics.median(v), "runs_s": v} for k, v in out.items()}


def _process(sender: str, sid: str, desa: str) -> tuple[float, float]:
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.sms.sms_intake import process_inbound, store_inbound_sms

    with unit_of_work() as session:
        inbound_id, _ = store_inbound_sms(
            session,
            provider="twilio",
            provider_sid=sid,
            from_raw=sender,
            from_e164=sender,
            to_number="+15005550006",
            body=TEXT.format(desa=desa),
            payload={},
        )
    config = current_config()
    cpu, wall = time.process_time(), time.perf_counter()
    with unit_of_work() as session:
        message = process_inbound(session, inbound_id=inbound_id, config=config)
        assert message is not None and message.outcome == "ticket_created", message and message.error
    return time.process_time() - cpu, time.perf_counter() - wall


def bench_recognition(pairs: int) -> dict[str, Any]:
    from tests.farmers import farmer_rows, import_registry

    _empty()
    import_registry()
    farmers = [(r[1], r[2]) for r in farmer_rows()]
    for i in range(5):  # warm-up: caches, the first query plans
        _process(farmers[-1 - i][0], f"SMwarm{i}r", farmers[-1 - i][1])
        _process(f"+6281277700{i:03d}", f"SMwarm{i}u", farmers[-1 - i][1])
    known: list[tuple[float, float]] = []
    unknown: list[tuple[float, float]] = []
    for i in range(pairs):
        phone, desa = farmers[i]
        known.append(_process(phone, f"SMk{i:06d}", desa))
        unknown.append(_process(f"+6281277{i:06d}", f"SMu{i:06d}", desa))
    out: dict[str, Any] = {"pairs": pairs, "lookup": _lookups(farmers)}
    for index, clock in ((0, "cpu"), (1, "wall")):
        k = [m[index] * 1000 for m in known]
        u = [m[index] * 1000 for m in unknown]
        out[clock] = {
            "registered_median_ms": statistics.median(k),
            "unregistered_median_ms": statistics.median(u),
            "added_median_ms": statistics.median(k) - statistics.median(u),
            "ratio": statistics.median(k) / statistics.median(u),
            "registered_p90_ms": statistics.quantiles(k, n=10)[-1],
            "unregistered_p90_ms": statistics.quantiles(u, n=10)[-1],
        }
    return out


def _lookups(farmers: list[tuple[str, str]]) -> dict[str, float]:
    """The registry lookup alone (what every farm report pays), 1,000 registered and 1,000 unknown numbers, CPU."""
    from hotline.db import unit_of_work
    from hotline.features.farming.farm_reports import farmer_by_phone

    with unit_of_work() as session:
        cpu = time.process_time()
        for phone, _ in farmers[:1000]:
            assert farmer_by_phone(session, phone) is not None
        known = (time.process_time() - cpu) / 1000 * 1000
        cpu = time.process_time()
        for i in range(1000):
            assert farmer_by_phone(session, f"+6281277{i:06d}") is None
        unknown = (time.process_time() - cpu) / 1000 * 1000
    return {"registered_ms": known, "unknown_ms": unknown}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=200, help="pairs of SMS (registered, unregistered)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-farming-") as tmp:
        redis = _env(Path(tmp))
        try:
            imports = bench_import(args.rounds)
            recognition = bench_recognition(args.messages)
        finally:
            from hotline.db import dispose_all

            dispose_all()
            redis.stop()
    load = os.getloadavg()[0]
    result = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_1min": load},
        "import": imports,
        "recognition": recognition,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"farming-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=1))
    base = imports["csv_module_only"]["median_s"]
    print(f"import of 3,000 farmers (median of {args.rounds}; load {load:.1f}):")
    for key in ("csv_module_only", "csv_new", "csv_again", "xlsx_new"):
        median = imports[key]["median_s"]
        print(f"  {key:16} {median * 1000:8.1f} ms   x{median / base:6.1f} of reading the CSV alone")
    print(f"SMS processed, median of {recognition['pairs']} each (ms):")
    lookup = recognition["lookup"]
    print(f"  registry lookup alone (CPU): {lookup['registered_ms']:.3f} ms found, {lookup['unknown_ms']:.3f} ms not")
    for clock in ("cpu", "wall"):
        r = recognition[clock]
        print(
            f"  {clock:4} unregistered {r['unregistered_median_ms']:7.2f} (p90 {r['unregistered_p90_ms']:7.2f})"
            f"  registered {r['registered_median_ms']:7.2f} (p90 {r['registered_p90_ms']:7.2f})"
            f"  added {r['added_median_ms']:6.2f}  ratio {r['ratio']:.3f}"
        )
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
