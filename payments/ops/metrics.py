"""Prometheus metrics: request counters per process, business gauges read from the database.

Gauges come from the database at scrape time, so every web worker reports the same truth; request
counters use prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (gunicorn).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

from payments.clock import as_utc, utcnow
from payments.container import Container, GaugeQuery

REQUESTS = Counter("thuphi_http_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram(
    "thuphi_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# each query answers one gauge; missing tables (a package not migrated yet) read as no rows.
# Payments' own; other packages' come from the wiring, in the container (Container.gauges).
GAUGE_QUERIES: Mapping[str, GaugeQuery] = {
    "thuphi_outbox_pending": (
        "Outbox deliveries by status",
        "SELECT status, count(*) FROM outbox_deliveries GROUP BY status",
        ["status"],
    ),
    "thuphi_callbacks": (
        "Provider messages by provider and outcome",
        "SELECT provider, outcome, count(*) FROM provider_messages GROUP BY provider, outcome",
        ["provider", "outcome"],
    ),
    "thuphi_payment_requests": (
        "Payment requests by status",
        "SELECT status, count(*) FROM payment_requests GROUP BY status",
        ["status"],
    ),
}


class DatabaseCollector:
    """Business gauges computed from the database on every scrape."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.container.engine.connect() as conn:
            gauges = {**GAUGE_QUERIES, **self.container.gauges}
            for name, (doc, sql, labels) in gauges.items():
                family = GaugeMetricFamily(name, doc, labels=labels)
                try:
                    for row in conn.execute(text(sql)):
                        family.add_metric([str(v) for v in row[:-1]], float(row[-1]))
                except Exception:
                    conn.rollback()
                    continue
                yield family
            yield from self._oldest_pending(conn)

    def _oldest_pending(self, conn: Any) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "thuphi_outbox_oldest_pending_seconds", "Age of the oldest undelivered outbox delivery"
        )
        oldest = conn.execute(
            text(
                "SELECT min(e.created_at) FROM outbox_deliveries d JOIN outbox_events e "
                "ON e.id = d.event_id WHERE d.status = 'pending'"
            )
        ).scalar()
        age = 0.0
        if oldest is not None:
            moment = as_utc(oldest) if not isinstance(oldest, str) else None
            age = (utcnow() - moment).total_seconds() if moment else 0.0
        family.add_metric([], age)
        yield family


def install(app: Flask, container: Container) -> None:
    @app.before_request
    def _start() -> None:
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        started = g.get("metrics_start")
        if started is not None:
            LATENCY.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry.register(REQUESTS)
            registry.register(LATENCY)
        registry.register(DatabaseCollector(container))
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
