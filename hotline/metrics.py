"""Prometheus metrics.

Database gauges (tickets, SMS, alerts, escalations, calls, ...) are counts the database keeps as rows are written
(hotline/gauge_triggers.py, hotline/gauges.py), plus what joins alert attempts, deliveries and merged reporters.
A scrape never counts: one API process at a time (a Redis lease) folds and reads them every
HOTLINE_METRICS_INTERVAL seconds in a background thread (and judges this month's scorecard) and stores the result
in Redis; every scrape, in any API process, serves that snapshot, with its age in `hotline_metrics_age_seconds`.
The RQ queue depth is read live (three Redis calls). Webhook latency is measured in the API process that answered,
labelled by the route's template (`/twilio/voice/alert/{...}`), never the raw path: a path no route knows is
`route="unmatched"`, so random URLs cannot make new series.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.alert_counts import FAMILY as SETTLED_FAMILY
from hotline.alert_counts import fold_settled, folded_outcomes, live_outcomes
from hotline.db import unit_of_work
from hotline.gauges import fold, read_counts
from hotline.models import (
    AlertAttempt,
    AlertAttemptStatus,
    AlertDeliveryStatus,
    OutboundMessage,
    OutboundPurpose,
    OutboundStatus,
    Ticket,
    TicketReporter,
)
from hotline.settings import get_settings

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()
# SMS that call a team out, as opposed to replies to citizens
ALERT_PURPOSES = (OutboundPurpose.ALERT, OutboundPurpose.ESCALATION)
# Outbox status -> what an alert's outcome is; queued and sending are "pending".
ALERT_OUTCOME: dict[str, str] = {
    **dict.fromkeys((OutboundStatus.SENT, OutboundStatus.DELIVERED, "read"), "sent"),
    **dict.fromkeys((OutboundStatus.FAILED, OutboundStatus.UNDELIVERED), "failed"),
    OutboundStatus.SUPPRESSED: "suppressed",
}
# A failover delivery's status -> the alert's outcome (hotline/features/alerts/failover.py).
DELIVERY_OUTCOME: dict[str, str] = {
    AlertDeliveryStatus.DELIVERED: "sent",
    AlertDeliveryStatus.EXHAUSTED: "not_reached",
    AlertDeliveryStatus.STOPPED: "stopped",
    AlertDeliveryStatus.PENDING: "pending",
}
UNMATCHED_ROUTE = "unmatched"

WEBHOOK_SECONDS = Histogram(
    "hotline_webhook_seconds",
    "Time to answer a provider webhook, by route template and status code",
    ["route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)

# (name, help, label names): every database family, in the order a scrape shows them.
FAMILIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("hotline_tickets", "Tickets by channel, category and status", ("channel", "category", "status")),
    ("hotline_inbound_sms", "Inbound SMS by processing status and outcome", ("status", "outcome")),
    ("hotline_outbound_sms", "Outbound SMS by purpose and delivery status", ("purpose", "status")),
    ("hotline_reports", "Reports (tickets) received, by channel and category", ("channel", "category")),
    (
        "hotline_alerts",
        "Alerts to URC members and escalation notices, one per alert to one person: by the channel that really "
        "sent it (the SMS gateway's name, or voice; sms while not yet sent), purpose and outcome "
        "(sent|failed|pending|suppressed|stopped|not_reached)",
        ("channel", "purpose", "outcome"),
    ),
    (
        "hotline_alerts_not_reached",
        "Alerts that reached nobody: every channel of the failover list failed, or a plain SMS alert failed",
        ("purpose",),
    ),
    ("hotline_escalations", "Escalation steps by phase and status (pending|fired|cancelled)", ("phase", "status")),
    ("hotline_calls", "Phone calls by provider and status", ("provider", "status")),
    (
        "hotline_merged_reports",
        "Reports merged into an open ticket of the same incident, by category and the rule that matched",
        ("category", "rule"),
    ),
    (
        "hotline_alert_failovers",
        "Alerts sent again on another channel because the one before failed or had no delivery report, "
        "by the channel failed over to",
        ("channel",),
    ),
    (
        "hotline_alert_attempts",
        "Alerts tried on each channel of the agencies' failover lists, by outcome",
        ("channel", "status"),
    ),
    (
        "hotline_alert_deliveries",
        "Alerts with a failover list, by where they ended (exhausted: every channel failed)",
        ("status",),
    ),
    (
        "hotline_call_screening",
        "Junk-call shield decisions by kind (allowed|silent|rate_limited|flagged|queued_last|confirmed|...)",
        ("decision",),
    ),
)
Samples = dict[str, list[tuple[list[str], float]]]


def _key() -> str:
    return f"hotline:metrics:snapshot:{get_settings().queue_name}"


def _lease_key() -> str:
    return f"hotline:metrics:lease:{get_settings().queue_name}"


def _add(samples: Samples, name: str, labels: Iterable[Any], value: float) -> None:
    samples.setdefault(name, []).append(([str(v) for v in labels], float(value)))


# Families the database counts itself as rows are written (hotline/gauge_triggers.py): read, never recounted.
SELF_COUNTED = (
    "hotline_tickets",
    "hotline_inbound_sms",
    "hotline_outbound_sms",
    "hotline_escalations",
    "hotline_calls",
    "hotline_call_screening",
    "hotline_alert_attempts",
    "hotline_alert_deliveries",
)


def database_samples(session: Session) -> Samples:
    """Every database gauge: the self-kept counts (a few hundred rows, hotline/gauges.py), and what is joined across
    tables (alerts by the channel that got them through, merged reports, failovers) counted over alert attempts,
    alert deliveries and merged reporters only."""
    counts = read_counts(session)
    s: Samples = {}
    for family in SELF_COUNTED:
        for label_set, n in counts.get(family, {}).items():
            _add(s, family, label_set, n)
    # hotline_reports is the same count without the status: summed here, not counted again
    reports: dict[tuple[str, str], float] = {}
    for ticket_labels, value in s.get("hotline_tickets", []):
        key = (ticket_labels[0], ticket_labels[1])
        reports[key] = reports.get(key, 0) + value
    for (channel, category), total in reports.items():
        _add(s, "hotline_reports", [channel, category], total)
    _alerts(session, s, counts.get("alert_sms", {}), counts.get(SETTLED_FAMILY, {}))
    for merged_category, rule, n in session.execute(
        select(Ticket.category, TicketReporter.rule, func.count())
        .join(Ticket, Ticket.id == TicketReporter.ticket_id)
        .group_by(Ticket.category, TicketReporter.rule)
    ):
        _add(s, "hotline_merged_reports", [merged_category or "none", rule], n)
    for channel, n in session.execute(
        select(AlertAttempt.channel, func.count())
        .where(AlertAttempt.position > 0, AlertAttempt.status != AlertAttemptStatus.UNAVAILABLE)
        .group_by(AlertAttempt.channel)
    ):
        _add(s, "hotline_alert_failovers", [channel], n)
    return s


def _alerts(
    session: Session, s: Samples, alert_sms: dict[tuple[str, ...], int], settled_counts: dict[tuple[str, ...], int]
) -> None:
    """One count per alert to one person, under the channel that really sent it.

    A plain alert SMS (no failover list): its outcome, under the gateway that took it: every alert SMS (counted by
    the database, `alert_sms`) less those a failover attempt sent. An alert with a failover list: one count for the
    whole alert, never one per channel tried: delivered -> "sent" under the channel that got it through (an SMS's
    gateway, or voice); every channel failed -> "not_reached"."""
    counts: dict[tuple[str, str, str], float] = {}
    not_reached: dict[str, float] = dict.fromkeys(ALERT_PURPOSES, 0.0)
    plain: dict[tuple[str, ...], int] = dict(alert_sms)
    sent_by_attempts = (
        select(
            OutboundMessage.purpose,
            OutboundMessage.status,
            func.coalesce(OutboundMessage.gateway, OutboundMessage.provider, "sms"),
            func.count(func.distinct(OutboundMessage.id)),
        )
        .join(AlertAttempt, AlertAttempt.outbound_id == OutboundMessage.id)
        .where(OutboundMessage.purpose.in_(ALERT_PURPOSES))
        .group_by(OutboundMessage.purpose, OutboundMessage.status, OutboundMessage.gateway, OutboundMessage.provider)
    )
    for purpose, status, channel, n in session.execute(sent_by_attempts):
        plain[purpose, status, channel] = plain.get((purpose, status, channel), 0) - n
    for (purpose, status, channel), n in plain.items():
        if n <= 0:
            continue
        outcome = ALERT_OUTCOME.get(status, "pending")
        counts[channel, purpose, outcome] = counts.get((channel, purpose, outcome), 0) + n
        if outcome == "failed":
            not_reached[purpose] = not_reached.get(purpose, 0) + n
    # Failover alerts: the attempt now waited on (pending, stopped, exhausted) or the one that got through; those
    # settled long enough are folded counts (hotline/alert_counts.py), the rest joined now.
    failover = chain(folded_outcomes(settled_counts), live_outcomes(session))
    for (purpose, status, attempt_channel, attempt_status, gateway), n in failover:
        outcome = DELIVERY_OUTCOME.get(status, status)
        if (
            outcome == "pending" and attempt_status == AlertAttemptStatus.SENT
        ):  # the gateway took it, as a plain SMS's "sent"
            outcome = "sent"
        channel = "voice" if attempt_channel == "voice" else (gateway or "sms")
        if outcome == "not_reached":
            channel = "none"
            not_reached[purpose] = not_reached.get(purpose, 0) + n
        counts[channel, purpose, outcome] = counts.get((channel, purpose, outcome), 0) + n
    for (channel, purpose, outcome), total in sorted(counts.items()):
        _add(s, "hotline_alerts", [channel, purpose, outcome], total)
    for purpose, total in sorted(not_reached.items()):
        _add(s, "hotline_alerts_not_reached", [purpose], total)


def refresh_database_metrics() -> float:
    """Fold the deltas the database appended (hotline/gauges.py), read the counts, and store the snapshot every
    scrape serves; returns the seconds it took."""
    started = time.perf_counter()
    with unit_of_work() as session:
        fold_settled(session, now=clock.now())
    with unit_of_work() as session:
        fold(session)
    with unit_of_work() as session:
        samples = database_samples(session)
    from hotline.core.queue import redis_connection

    redis_connection().set(_key(), json.dumps({"at": time.time(), "samples": samples}))
    return time.perf_counter() - started


def _snapshot() -> tuple[float, Samples] | None:
    from hotline.core.queue import redis_connection

    raw = redis_connection().get(_key())
    if raw is None:
        return None
    data = json.loads(raw)
    return float(data["at"]), {k: [(list(labels), v) for labels, v in rows] for k, rows in data["samples"].items()}


def refresh_scorecards() -> float:
    """The scorecard of the current month judged now (hotline/features/scorecard/cache.py), and last month frozen
    once it has closed (rollup.py), so no reader pays for it; returns the seconds it took."""
    from hotline import clock
    from hotline.core.city import current_config
    from hotline.features.scorecard import Month, city_timezone
    from hotline.features.scorecard.cache import refresh
    from hotline.features.scorecard.monthly import month_scorecard
    from hotline.features.scorecard.rollup import is_closed

    started = time.perf_counter()
    tz, now, config = city_timezone(), clock.now(), current_config()
    this_month = Month.containing(now, tz)
    refresh(config=config, month=this_month, tz=tz, now=now)
    last_month = this_month.previous()
    if is_closed(last_month, tz=tz, now=now):  # frozen already: a read of a few rows
        month_scorecard(config=config, month=last_month, tz=tz, now=now)
    return time.perf_counter() - started


def refresh_if_due(interval: float) -> bool:
    """Recompute the gauges (and the console's scorecard of this month) when no other process has in the last
    `interval` seconds (a Redis lease); True if this did."""
    from hotline.core.queue import redis_connection

    if not redis_connection().set(_lease_key(), os.getpid(), nx=True, px=max(500, int(interval * 1000))):
        return False
    seconds = refresh_database_metrics()
    seconds += refresh_scorecards()
    if seconds > interval / 4:
        log.warning("metrics: counting took %.1f s (HOTLINE_METRICS_INTERVAL=%s s)", seconds, interval)
    return True


class MetricsRefresher:
    """The background thread of an API process: every interval, refresh unless another process just did."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval or get_settings().metrics_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-refresher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)  # a count in progress is left to finish on its own (a daemon thread)

    def _run(self) -> None:
        last_failure = 0.0
        while True:
            try:
                refresh_if_due(self.interval)
            except Exception:  # broad: the refresher must go on (the database or Redis down: /readyz says so)
                if time.monotonic() - last_failure > 300:
                    log.warning("metrics: could not refresh the database gauges", exc_info=True)
                    last_failure = time.monotonic()
            # A little more often than the lease lasts, so the next refresh is never much later than due.
            if self._stop.wait(max(0.5, self.interval / 2)):
                return


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {name: GaugeMetricFamily(name, text, labels=list(labels)) for name, text, labels in FAMILIES}
        age = GaugeMetricFamily(
            "hotline_metrics_age_seconds",
            "How old the database gauges are (recomputed every HOTLINE_METRICS_INTERVAL seconds, off the scrape)",
        )
        try:
            snapshot = _snapshot()
        except Exception:  # broad: a scrape must not fail (Redis down above all; /readyz says that)
            log.warning("metrics: Redis unavailable", exc_info=True)
            snapshot = None
        if snapshot is not None:
            at, samples = snapshot
            age.add_metric([], max(0.0, time.time() - at))
            for name, rows in samples.items():
                family = families.get(name)
                if family is None:  # a family a newer version stored: not ours to show
                    continue
                for labels, value in rows:
                    family.add_metric(labels, value)
        yield from families.values()
        if snapshot is not None:
            yield age
        yield from self._queue()
        yield from self._smpp()

    def _smpp(self) -> Iterator[GaugeMetricFamily]:
        """Each SMPP link's state as `hotline smpp` publishes it in Redis, and its PDU counters."""
        from hotline.settings import get_settings

        settings = get_settings()
        if not settings.sms_routing.of_kind("smpp"):
            return
        up = GaugeMetricFamily("hotline_smpp_link_up", "1 while the SMPP link is bound, else 0", labels=["gateway"])
        pdus = GaugeMetricFamily(
            "hotline_smpp_pdus", "SMPP events per link since its counters began", labels=["gateway", "event"]
        )
        try:
            from hotline.channels.smpp import keys, link_states
            from hotline.core.queue import redis_connection

            for name, state in link_states(settings).items():
                up.add_metric([name], 1 if state.get("state") == "bound" else 0)
                counts = redis_connection().hgetall(keys.key(name, "counts"))
                for event, n in sorted(counts.items()):
                    pdus.add_metric([name, _str(event)], float(n))
        except Exception:  # broad: a scrape must not fail (Redis down above all)
            log.warning("metrics: SMPP link states unavailable (Redis)", exc_info=True)
        yield up
        yield pdus

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("hotline_queue_jobs", "RQ jobs by state", labels=["state"])
        try:
            from hotline.core.queue import worker_queues

            lanes = worker_queues()  # the alert lane and the usual queue, summed
            depth.add_metric(["queued"], sum(q.count for q in lanes))
            depth.add_metric(["scheduled"], sum(q.scheduled_job_registry.count for q in lanes))
            depth.add_metric(["failed"], sum(q.failed_job_registry.count for q in lanes))
        except Exception:  # broad: a scrape must not fail (Redis down above all)
            log.warning("metrics: Redis unavailable", exc_info=True)
        yield depth


class SpoolCollector(Collector):
    """This host's spool (hotline/spool/), read at each scrape: a directory listing, no database, no Redis."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from hotline.spool.store import current_spool

        spool = current_spool()
        yield GaugeMetricFamily(
            "hotline_spool_pending",
            "Reports kept in this host's spool while the database was unreachable, not yet replayed",
            value=spool.depth(),
        )
        yield GaugeMetricFamily(
            "hotline_spool_bad",
            "Spool records that could not be replayed (in spool/bad/, for a person)",
            value=spool.bad_count(),
        )


REGISTRY.register(DatabaseCollector())
REGISTRY.register(SpoolCollector())


def _str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
