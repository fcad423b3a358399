"""Prometheus metrics. Counts come from the database at scrape time, so every process (API replicas,
workers) agrees; webhook latency is measured in the API process that answered."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from hotline.db import unit_of_work
from hotline.models import (
    AlertAttempt,
    AlertDelivery,
    Call,
    CallScreening,
    Escalation,
    InboundMessage,
    OutboundMessage,
    Ticket,
    TicketReporter,
)

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()
ALERT_PURPOSES = ("alert", "escalation")  # SMS that call a team out, as opposed to replies to citizens
# Outbox status -> what an alert's outcome is; queued and sending are "pending".
ALERT_OUTCOME = {
    **dict.fromkeys(("sent", "delivered", "read"), "sent"),
    **dict.fromkeys(("failed", "undelivered"), "failed"),
    "suppressed": "suppressed",
}

WEBHOOK_SECONDS = Histogram(
    "hotline_webhook_seconds",
    "Time to answer a provider webhook, by route and status code",
    ["route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        tickets = GaugeMetricFamily(
            "hotline_tickets", "Tickets by channel, category and status", labels=["channel", "category", "status"]
        )
        inbound = GaugeMetricFamily(
            "hotline_inbound_sms", "Inbound SMS by processing status and outcome", labels=["status", "outcome"]
        )
        outbound = GaugeMetricFamily(
            "hotline_outbound_sms", "Outbound SMS by purpose and delivery status", labels=["purpose", "status"]
        )
        reports = GaugeMetricFamily(
            "hotline_reports", "Reports (tickets) received, by channel and category", labels=["channel", "category"]
        )
        alerts = GaugeMetricFamily(
            "hotline_alerts",
            "Alerts to URC members and escalation notices, by channel, purpose and outcome (sent|failed|pending)",
            labels=["channel", "purpose", "outcome"],
        )
        escalations = GaugeMetricFamily(
            "hotline_escalations",
            "Escalation steps by phase and status (pending|fired|cancelled)",
            labels=["phase", "status"],
        )
        calls = GaugeMetricFamily("hotline_calls", "Phone calls by provider and status", labels=["provider", "status"])
        screening = GaugeMetricFamily(
            "hotline_call_screening",
            "Junk-call shield decisions by kind (allowed|silent|rate_limited|flagged|queued_last|confirmed|...)",
            labels=["decision"],
        )
        merged = GaugeMetricFamily(
            "hotline_merged_reports",
            "Reports merged into an open ticket of the same incident, by category and the rule that matched",
            labels=["category", "rule"],
        )
        failovers = GaugeMetricFamily(
            "hotline_alert_failovers",
            "Alerts sent again on another channel because the one before failed or had no delivery report, "
            "by the channel failed over to",
            labels=["channel"],
        )
        attempts = GaugeMetricFamily(
            "hotline_alert_attempts",
            "Alerts tried on each channel of the agencies' failover lists, by outcome",
            labels=["channel", "status"],
        )
        deliveries = GaugeMetricFamily(
            "hotline_alert_deliveries",
            "Alerts with a failover list, by where they ended (exhausted: every channel failed)",
            labels=["status"],
        )
        families: tuple[GaugeMetricFamily, ...]
        families = (tickets, inbound, outbound, reports, alerts, escalations, calls, merged)
        families += (failovers, attempts, deliveries)
        families += (screening,)
        alert_counts: dict[tuple[str, str], int] = {}
        try:
            with unit_of_work() as session:
                for channel, category, status, n in session.execute(
                    select(Ticket.channel, Ticket.category, Ticket.status, func.count()).group_by(
                        Ticket.channel, Ticket.category, Ticket.status
                    )
                ):
                    tickets.add_metric([channel, category or "none", status], n)
                for status, outcome, n in session.execute(
                    select(InboundMessage.status, InboundMessage.outcome, func.count()).group_by(
                        InboundMessage.status, InboundMessage.outcome
                    )
                ):
                    inbound.add_metric([status, outcome or "none"], n)
                for purpose, status, n in session.execute(
                    select(OutboundMessage.purpose, OutboundMessage.status, func.count()).group_by(
                        OutboundMessage.purpose, OutboundMessage.status
                    )
                ):
                    outbound.add_metric([purpose, status], n)
                    if purpose in ALERT_PURPOSES:
                        outcome = ALERT_OUTCOME.get(status, "pending")
                        alert_counts[purpose, outcome] = alert_counts.get((purpose, outcome), 0) + n
                for (purpose, outcome), n in sorted(alert_counts.items()):
                    alerts.add_metric(["sms", purpose, outcome], n)
                for channel, category, n in session.execute(
                    select(Ticket.channel, Ticket.category, func.count()).group_by(Ticket.channel, Ticket.category)
                ):
                    reports.add_metric([channel, category or "none"], n)
                for phase, status, n in session.execute(
                    select(Escalation.phase, Escalation.status, func.count()).group_by(
                        Escalation.phase, Escalation.status
                    )
                ):
                    escalations.add_metric([phase, status], n)
                for provider, status, n in session.execute(
                    select(Call.provider, Call.status, func.count()).group_by(Call.provider, Call.status)
                ):
                    calls.add_metric([provider, status], n)
                for decision, n in session.execute(
                    select(CallScreening.decision, func.count()).group_by(CallScreening.decision)
                ):
                    screening.add_metric([decision], n)
                for category, rule, n in session.execute(
                    select(Ticket.category, TicketReporter.rule, func.count())
                    .join(Ticket, Ticket.id == TicketReporter.ticket_id)
                    .group_by(Ticket.category, TicketReporter.rule)
                ):
                    merged.add_metric([category or "none", rule], n)
                for channel, status, n in session.execute(
                    select(AlertAttempt.channel, AlertAttempt.status, func.count()).group_by(
                        AlertAttempt.channel, AlertAttempt.status
                    )
                ):
                    attempts.add_metric([channel, status], n)
                for channel, n in session.execute(
                    select(AlertAttempt.channel, func.count())
                    .where(AlertAttempt.position > 0, AlertAttempt.status != "unavailable")
                    .group_by(AlertAttempt.channel)
                ):
                    failovers.add_metric([channel], n)
                for status, n in session.execute(
                    select(AlertDelivery.status, func.count()).group_by(AlertDelivery.status)
                ):
                    deliveries.add_metric([status], n)
        except Exception:  # a scrape must not fail because the database is down; /readyz says that
            log.warning("metrics: database unavailable", exc_info=True)
        yield from families
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
            from hotline.jobs.queue import redis_connection

            for name, state in link_states(settings).items():
                up.add_metric([name], 1 if state.get("state") == "bound" else 0)
                counts = redis_connection().hgetall(keys.key(name, "counts"))
                for event, n in sorted(counts.items()):
                    pdus.add_metric([name, _str(event)], float(n))
        except Exception:
            log.warning("metrics: SMPP link states unavailable (Redis)", exc_info=True)
        yield up
        yield pdus

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("hotline_queue_jobs", "RQ jobs by state", labels=["state"])
        try:
            from hotline.jobs.queue import queue

            q = queue()
            depth.add_metric(["queued"], q.count)
            depth.add_metric(["scheduled"], q.scheduled_job_registry.count)
            depth.add_metric(["failed"], q.failed_job_registry.count)
        except Exception:
            log.warning("metrics: Redis unavailable", exc_info=True)
        yield depth


REGISTRY.register(DatabaseCollector())


def _str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
