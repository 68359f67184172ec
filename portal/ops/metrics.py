"""Prometheus metrics. Requests are counted in each process (under gunicorn in the files of
PROMETHEUS_MULTIPROC_DIR, summed at scrape); everything else is read from the database at
scrape time, so every process of every machine reports the same numbers and none keeps state."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.jobs.queue import queue_stats
from portal.operations import reading
from portal.outbox.models import WebhookDelivery
from portal.payments.models import Payment

#: The registry the request metrics live in (the default one: in multiprocess mode its values
#: go to files; this process's registry is then not what is served).
REQUESTS = Counter("portal_http_requests_total", "HTTP requests by route, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("portal_http_request_duration_seconds", "HTTP request latency by route",
                    ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
#: Where the messages of `portal.messaging` are kept once they are sent through the outbox
#: (another part of issue 13 adds it): counted only where the table exists.
MESSAGES_TABLE = "outgoing_message"


def observe(route: str, method: str, status: int, seconds: float) -> None:
    """Count one request (route is the URL rule, never the raw path with its ids)."""
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def _grouped(column, table) -> list[tuple[str, int]]:
    return [(str(k), int(n)) for k, n in db.session.execute(
        select(column, func.count()).select_from(table).group_by(column))]


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes: job queues, webhook deliveries,
    messages and payments, each by status."""

    def collect(self):
        with reading("metrics"):
            queues = queue_stats()
            deliveries = _grouped(WebhookDelivery.status, WebhookDelivery)
            payments = _grouped(Payment.status, Payment)
            messages = None
            if db.session.scalar(text("SELECT to_regclass(:t) IS NOT NULL"),
                                 {"t": MESSAGES_TABLE}):
                messages = [(str(k), int(n)) for k, n in db.session.execute(text(
                    f"SELECT status, count(*) FROM {MESSAGES_TABLE} GROUP BY status"))]
        depth = GaugeMetricFamily("portal_job_queue_jobs", "Jobs by queue and status",
                                  labels=["queue", "status"])
        age = GaugeMetricFamily("portal_job_queue_oldest_seconds",
                                "Seconds the oldest due job of a queue has waited",
                                labels=["queue"])
        for queue, stats in sorted(queues.items()):
            for status in ("todo", "doing", "failed"):
                depth.add_metric([queue, status], stats[status])
            age.add_metric([queue], stats["oldest_seconds"])
        yield depth
        yield age
        yield _family("portal_webhook_deliveries", "Webhook deliveries by outcome", "outcome",
                      deliveries)
        yield _family("portal_payments", "Payments by status", "status", payments)
        if messages is not None:
            yield _family("portal_messages", "Messages to borrowers by outcome", "outcome",
                          messages)


def _family(name: str, documentation: str, label: str, rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, count in rows:
        family.add_metric([key], count)
    return family


def exposition() -> bytes:
    """The text every scrape gets: the request metrics of every process, and the database's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


class _ThisProcess:
    """The request metrics of this process alone (no multiprocess directory: one process)."""

    def collect(self):
        yield from REQUESTS.collect()
        yield from LATENCY.collect()
