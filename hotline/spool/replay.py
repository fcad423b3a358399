"""Replaying the spool once the database is back: each record, oldest first, through the normal intake.

An SMS goes to `gateway_sink.take_inbound` (stored under its provider id, queued for the worker: routing,
alerts, the citizen's reply, as if it had just come). A voice message becomes a voice ticket
(hotline/features/calls/outage_calls.py). A record is removed only after its transaction committed; a crash in
between replays it again, and the unique provider id makes that a repeat, not a second report.

The database still down: replay stops at that record (the order is kept) and is tried again later. A record
that cannot be read, or that the intake refuses, goes to bad/ and never blocks the rest.

Who replays: every `hotline serve` process (`SpoolReplayer`, a thread that looks every second; the spool is
on the host that answered the webhook) and `hotline spool replay`. The flock in the spool makes one replayer
at a time per host.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from hotline.db import DATABASE_UNAVAILABLE
from hotline.spool.records import RecordInvalid, sms_of, voice_of
from hotline.spool.store import Spool, SpoolUnreadable, current_spool

log = logging.getLogger(__name__)

TMP_SWEEP_EVERY = 600  # replayer rounds between looks at tmp/ for what a crash left


@dataclass
class ReplayResult:
    stored: int = 0  # new reports now in the database
    repeats: int = 0  # already there (a gateway's retry got in first, or a replay was interrupted)
    bad: int = 0  # moved to bad/
    left: int = 0  # still pending (the database still down, or another replayer is at it)
    busy: bool = False  # another process holds the replay lock


def replay(spool: Spool | None = None) -> ReplayResult:
    spool = spool or current_spool()
    result = ReplayResult()
    with spool.replay_lock() as mine:
        if not mine:
            result.busy, result.left = True, spool.depth()
            return result
        for path in spool.pending():
            try:
                record = spool.read(path)
            except FileNotFoundError:
                continue  # replayed and removed by a replayer before the lock was ours
            except SpoolUnreadable as exc:
                log.error("spool: %s; moved to %s", exc, spool.quarantine(path))
                result.bad += 1
                continue
            try:
                new = apply(record)
            except DATABASE_UNAVAILABLE as exc:
                log.info("spool: database still unavailable (%s); %s waits", type(exc).__name__, path.name)
                break
            except Exception:  # broad: refused by the intake, or a bug: kept for a person, the rest go on
                log.exception("spool: record %s could not be replayed; moved to %s", path.name, spool.bad_dir)
                spool.quarantine(path)
                result.bad += 1
                continue
            spool.done(path)
            if new:
                result.stored += 1
            else:
                result.repeats += 1
        result.left = spool.depth()
    if result.stored or result.repeats or result.bad:
        log.warning(
            "spool: replayed %d report(s) (%d already stored, %d bad); %d left",
            result.stored,
            result.repeats,
            result.bad,
            result.left,
        )
    return result


def apply(record: dict[str, Any]) -> bool:
    """Put one record into the database through the normal intake. True if it made something new."""
    kind = record.get("type")
    if kind == "sms":
        from hotline.channels.gateway_sink import take_inbound

        sms, gateway_kind = sms_of(record)
        return take_inbound(sms, kind=gateway_kind) is not None
    if kind == "voice_message":
        from hotline.core.city import current_config
        from hotline.db import unit_of_work
        from hotline.features.calls.outage_calls import keep_voice_message

        message = voice_of(record)
        with unit_of_work() as session:
            return keep_voice_message(session, config=current_config(), message=message)
    raise RecordInvalid(f"unknown spool record type {kind!r}")


class SpoolReplayer:
    """The thread of a `hotline serve` process: every `interval` seconds, replay whatever is pending."""

    def __init__(self, interval: float = 1.0, spool: Spool | None = None) -> None:
        self.interval = interval
        # Bound once: a thread that outlives its app (a test's, or a reload) keeps to the spool it was made for.
        self.spool = spool or current_spool()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spool-replayer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)  # a stop must fit in `hotline up`'s 2 s; a replay under way finishes alone

    def _run(self) -> None:
        rounds = 0
        while not self._stop.is_set():
            try:
                if rounds % TMP_SWEEP_EVERY == 0:
                    self.spool.sweep_tmp()
                if self.spool.depth():
                    replay(self.spool)
            except Exception:  # broad: never let the thread die: the spool is the last line
                log.exception("spool: replay round failed")
            rounds += 1
            self._stop.wait(self.interval)
