"""bench/ari_turns: the call service's turns of one bench_ari call, in process: CPU and SQL statements per turn.

    .venv/bin/python bench/ari_turns.py                 # 300 calls on SQLite in a temp dir
    .venv/bin/python bench/ari_turns.py --calls 100 --sql 7   # also print the SQL of the 8th call

What bench/ari_calls.py's `hotline ari` does in its turn thread, without the ARI, the event loop or the other
calls: begin (the welcome), keys 9, 4, 2, 6, the recording (the turn that opens, routes and alerts the ticket),
the hang-up; each in its own unit of work, as calls.py runs them. CPU is this thread's time per turn. SMS are
kept in the outbox (nothing is sent: no Redis). Quicker and much less noisy than ari_calls on a shared machine:
use it to see what a change to the services costs, then ari_calls for the latency.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--database-url", help="an empty database to migrate (default: SQLite in a temp dir)")
    parser.add_argument("--sql", type=int, metavar="I", help="print the statements of call number I")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-turns-"))
    os.environ.update(
        HOTLINE_DATABASE_URL=args.database_url or f"sqlite:///{tmp / 'hotline.db'}",
        HOTLINE_DATA_DIR=str(tmp / "var"),
        HOTLINE_SMS_PROVIDER="log",
        HOTLINE_REDIS_URL="",
    )
    subprocess.run([sys.executable, "-m", "hotline", "db", "upgrade"], check=True, capture_output=True, cwd=ROOT)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import delete, event, select

    import hotline.core.queue
    from hotline.channels.ari.calls import DatabaseCalls
    from hotline.core.city import current_config
    from hotline.db import get_engine, unit_of_work
    from hotline.features.calls.calls import begin_call, continue_call
    from hotline.ivr import actions as a
    from hotline.jobs.activation import activate_routed_ticket
    from hotline.models import Timer

    # The turns write a routed ticket's activation as a timer due at once (the timer core's `activation` kind);
    # the bench takes those rows itself and runs the activation as the worker would, measured as its own row.
    hotline.core.queue.enqueue_outbound = lambda *_args, **_kwargs: None  # type: ignore[assignment]

    def due_activations() -> list[int]:
        with unit_of_work() as session:
            refs = list(session.scalars(select(Timer.ref).where(Timer.kind == "activation")))
            session.execute(delete(Timer).where(Timer.kind == "activation"))
        return refs

    config = current_config()
    DatabaseCalls().warm_up()
    cpu: Counter[str] = Counter()
    statements: Counter[str] = Counter()
    now = {"turn": "", "call": -1}

    @event.listens_for(get_engine(), "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[str(now["turn"])] += 1
        if now["call"] == args.sql:
            print(f"{now['turn']:9s} {' '.join(statement.split())[:160]}")

    def turn(name: str, work: Callable[..., object], **kwargs: Any) -> None:
        now["turn"] = name
        started = time.thread_time()
        with unit_of_work() as session:
            work(session, provider="asterisk", config=config, **kwargs)
        cpu[name] += time.thread_time() - started

    def activation() -> None:
        now["turn"] = "activate"
        due = due_activations()
        started = time.thread_time()
        for ticket_id in due:
            activate_routed_ticket(ticket_id)
        cpu["activate"] += time.thread_time() - started

    events = [
        ("key 9", a.Digits("9")),  # English: the welcome again
        ("key 2", a.Digits("2")),  # a report
        ("key 1", a.Digits("1")),  # roads
        ("kec 2", a.Digits("2")),  # Bumiaji: the recording
        ("recorded", a.Recorded("http://127.0.0.1:8088/ari/recordings/stored/r/file", 10.0)),
        ("hang-up", a.HangUp()),
    ]
    for i in range(args.calls):
        now["call"], call_id = i, f"bench-{i}"
        turn("begin", begin_call, provider_call_id=call_id, caller=f"+62812{i:07d}", called="112")
        for name, engine_event in events:
            turn(name, continue_call, provider_call_id=call_id, event=engine_event)
        activation()
    print(f"{args.calls} calls, database {os.environ['HOTLINE_DATABASE_URL'].split(':', 1)[0]}")
    for name in ["begin", *(n for n, _ in events)]:
        print(f"{name:9s} CPU {cpu[name] / args.calls * 1000:6.2f} ms  statements {statements[name] / args.calls:5.1f}")
    in_call = [n for n in cpu if n != "activate"]
    total_cpu, total_statements = sum(cpu[n] for n in in_call), sum(statements[n] for n in in_call)
    print(f"per call  CPU {total_cpu / args.calls * 1000:6.2f} ms  statements {total_statements / args.calls:5.1f}")
    print(
        f"activate  CPU {cpu['activate'] / args.calls * 1000:6.2f} ms  statements "
        f"{statements['activate'] / args.calls:5.1f}  (the worker's job after the call's ticket turn)"
    )


if __name__ == "__main__":
    main()
