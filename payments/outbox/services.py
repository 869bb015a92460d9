"""Emit events in the caller's transaction; fan them out to subscribers and deliver with retries.

Safe with several schedulers: rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and
each delivery runs in its own transaction, so a subscriber that writes to the database (receipts)
commits its work and the delivery's status together: exactly once. HTTP subscribers are at least
once, with a stable delivery id for the receiver to deduplicate.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from payments.clock import utcnow
from payments.outbox.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from payments.uow import UnitOfWork

log = structlog.get_logger(__name__)

Handler = Callable[[Session, OutboxEvent, OutboxDelivery], None]


@dataclass(frozen=True)
class Subscriber:
    """A named consumer of some topics. ``handler`` raises to ask for a retry."""

    name: str
    topics: tuple[str, ...]  # exact topics or prefixes ending in "."
    handler: Handler
    wants: Callable[[OutboxEvent], bool] = lambda _event: True

    def matches(self, event: OutboxEvent) -> bool:
        topic_ok = any(
            event.topic == t or (t.endswith(".") and event.topic.startswith(t)) for t in self.topics
        )
        return topic_ok and self.wants(event)


@dataclass
class Registry:
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    max_attempts: int = 12

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers[subscriber.name] = subscriber


_INSERT_EVENT = insert(cast(Table, OutboxEvent.__table__))


def emit(session: Session, topic: str, aggregate_id: str, payload: dict[str, Any]) -> None:
    """Record an event in the current transaction; it is delivered only if that commits."""
    # a Core INSERT, sent at once: payment callbacks emit on their hot path, and the ORM's flush
    # costs more than the statement; nothing in the emitting transaction reads the row back
    session.connection().execute(
        _INSERT_EVENT, {"topic": topic, "aggregate_id": aggregate_id, "payload": payload}
    )


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: 10 s, 20 s, 40 s … capped at one hour."""
    base = min(10 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base * (0.8 + 0.4 * random.random()))  # noqa: S311 - jitter only


def _claim(session: Session, stmt: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalars(stmt)


def fan_out(uow: UnitOfWork, registry: Registry, batch: int = 500) -> int:
    """Create one delivery per interested subscriber for events not yet fanned out."""
    with uow:
        stmt = select(OutboxEvent).where(OutboxEvent.fanned_out.is_(False))
        events = list(_claim(uow.session, stmt.order_by(OutboxEvent.id).limit(batch)))
        for event in events:
            for sub in registry.subscribers.values():
                if sub.matches(event):
                    uow.session.add(OutboxDelivery(event_id=event.id, subscriber=sub.name))
            event.fanned_out = True
        uow.commit()
    return len(events)


def deliver_due(
    uow: UnitOfWork, registry: Registry, now: datetime | None = None, limit: int = 200
) -> int:
    """Deliver up to ``limit`` due deliveries, one transaction each. Returns how many were tried.

    A subscriber whose delivery fails is not tried again in the same pass: while a partner is
    down, each of its deliveries would pay its timeouts in turn and hold up everyone queued
    behind it. Its due deliveries wait for the next pass; the failed one backs off as usual.
    """
    tried = 0
    failing: set[str] = set()
    while tried < limit:
        outcome = _deliver_one(uow, registry, now or utcnow(), failing)
        if outcome is None:
            break
        tried += 1
    return tried


def _deliver_one(
    uow: UnitOfWork, registry: Registry, now: datetime, failing: set[str]
) -> bool | None:
    """Claim and attempt the next due delivery: whether it succeeded, or None when none is due."""
    with uow:
        stmt = (
            select(OutboxDelivery)
            .where(
                OutboxDelivery.status == DeliveryStatus.PENDING,
                OutboxDelivery.next_attempt_at <= now,
            )
            .order_by(OutboxDelivery.next_attempt_at, OutboxDelivery.id)
            .limit(1)
        )
        if failing:
            stmt = stmt.where(OutboxDelivery.subscriber.not_in(failing))
        delivery = next(iter(_claim(uow.session, stmt)), None)
        if delivery is None:
            return None
        subscriber = registry.subscribers.get(delivery.subscriber)
        delivered = _attempt(uow.session, delivery, subscriber, registry.max_attempts, now)
        uow.commit()
        if not delivered:
            failing.add(delivery.subscriber)
        return delivered


def _attempt(
    session: Session,
    delivery: OutboxDelivery,
    subscriber: Subscriber | None,
    max_attempts: int,
    now: datetime,
) -> bool:
    """Run the subscriber's handler once; whether the delivery succeeded."""
    delivery.attempts += 1
    try:
        if subscriber is None:
            raise LookupError(f"no subscriber named {delivery.subscriber!r} in this process")
        with session.begin_nested():
            subscriber.handler(session, delivery.event, delivery)
    except Exception as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if delivery.attempts >= max_attempts:
            delivery.status = DeliveryStatus.PARKED
            log.warning("outbox_parked", delivery_id=delivery.id, subscriber=delivery.subscriber)
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        return False
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = now
    delivery.last_error = None
    return True


def retry_parked(uow: UnitOfWork, delivery_ids: Iterable[int] | None = None) -> int:
    """Put parked deliveries back in the queue (all of them, or the ids given)."""
    with uow:
        stmt = select(OutboxDelivery).where(OutboxDelivery.status == DeliveryStatus.PARKED)
        if delivery_ids is not None:
            stmt = stmt.where(OutboxDelivery.id.in_(list(delivery_ids)))
        rows = list(uow.session.scalars(stmt))
        for row in rows:
            row.status = DeliveryStatus.PENDING
            row.attempts = 0
            row.next_attempt_at = utcnow()
        uow.commit()
    return len(rows)


def run_outbox(uow: UnitOfWork, registry: Registry, now: datetime | None = None) -> int:
    """One scheduler tick: fan out new events, then deliver what is due."""
    fan_out(uow, registry)
    return deliver_due(uow, registry, now)


def list_deliveries(
    uow: UnitOfWork, status: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Deliveries newest first (only those in ``status`` when given), as plain data."""
    with uow:
        stmt = (
            select(OutboxDelivery, OutboxEvent)
            .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
            .order_by(OutboxDelivery.id.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(OutboxDelivery.status == status)
        return [
            {
                "id": d.id,
                "event_id": e.id,
                "topic": e.topic,
                "aggregate_id": e.aggregate_id,
                "subscriber": d.subscriber,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at,
                "last_error": d.last_error,
                "delivered_at": d.delivered_at,
            }
            for d, e in uow.session.execute(stmt)
        ]
