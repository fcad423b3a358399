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
from hotline.models import InboundMessage, OutboundMessage, Ticket

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()

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
        except Exception:  # a scrape must not fail because the database is down; /readyz says that
            log.warning("metrics: database unavailable", exc_info=True)
        yield from (tickets, inbound, outbound)
        yield from self._queue()

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
