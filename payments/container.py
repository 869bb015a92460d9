"""The service container and the registries it holds for one app (web, CLI or scheduler).

Whatever the wiring registers at start-up (outbox subscribers, periodic jobs, extensions of a
request's JSON, business gauges) lives here, not in a module: two containers in one process (a
test's app beside the demo's) never see each other's registrations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from payments.config import Settings
from payments.outbox.services import Registry
from payments.payment_requests.services import ViewExtension
from payments.uow import UnitOfWork

# a gauge read from the database on each scrape: (help text, SQL, label names)
GaugeQuery = tuple[str, str, list[str]]


@dataclass
class Container:
    """What the app factory builds once and every request uses."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Any]
    registry: Registry
    extras: dict[str, Any] = field(default_factory=dict)
    # the periodic jobs the scheduler runs (payments.wiring.jobs)
    jobs: list[Job] = field(default_factory=list)
    # what other packages add to a payment request's JSON (receipts)
    view_extensions: list[ViewExtension] = field(default_factory=list)
    # business gauges of other packages, beside payments' own (payments.ops.metrics)
    gauges: dict[str, GaugeQuery] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)


@dataclass(frozen=True)
class Job:
    """A periodic job: one service called with the container, on a trigger of APScheduler's."""

    id: str
    func: Callable[[Container], Any]
    trigger: str  # "interval" or "cron"
    trigger_args: dict[str, Any]
    # runs per period at most once across schedulers; None: every tick (cheap, idempotent jobs)
    period_seconds: int | None = None
