"""The transactional outbox: emitted with the state change, fanned out, delivered with retries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.catalog.models import Agency
from payments.clock import utcnow
from payments.http import Container
from payments.outbox import services
from payments.outbox.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from payments.outbox.services import (
    Registry,
    Subscriber,
    backoff,
    emit,
    fan_out,
    retry_parked,
    run_outbox,
)


@dataclass
class Recorder:
    """A subscriber's handler that remembers its calls and fails while told to."""

    failures_left: int = 0
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        with self.lock:
            self.calls.append((event.topic, event.aggregate_id, delivery.id))
            if self.failures_left:
                self.failures_left -= 1
                raise RuntimeError("receiver is down")


def subscriber(
    name: str, *topics: str, handler: Recorder | None = None, **kwargs: Any
) -> tuple[Subscriber, Recorder]:
    recorder = handler or Recorder()
    return Subscriber(name, topics, recorder, **kwargs), recorder


def registry_of(*subscribers: Subscriber, max_attempts: int = 12) -> Registry:
    registry = Registry(max_attempts=max_attempts)
    for sub in subscribers:
        registry.add(sub)
    return registry


def emit_committed(
    container: Container,
    topic: str = "payment_request.paid",
    aggregate_id: str = "req-1",
    **payload: Any,
) -> None:
    with container.uow() as uow:
        emit(uow.session, topic, aggregate_id, payload or {"status": "paid"})
        uow.commit()


def deliveries(container: Container) -> list[Any]:
    """Plain rows (a unit of work expires its objects when it ends)."""
    table = OutboxDelivery.__table__
    with container.uow() as uow:
        return list(uow.session.execute(select(table).order_by(table.c.id)).all())


def the_delivery(container: Container) -> Any:
    (delivery,) = deliveries(container)
    return delivery


def event(topic: str, **payload: Any) -> OutboxEvent:
    return OutboxEvent(topic=topic, aggregate_id="a", payload=payload)


@pytest.mark.parametrize(
    ("topics", "topic", "matches"),
    [
        pytest.param(("payment_request.paid",), "payment_request.paid", True, id="exact topic"),
        pytest.param(
            ("payment_request.paid",), "payment_request.expired", False, id="another topic"
        ),
        pytest.param(
            ("payment_request.",), "payment_request.expired", True, id="a prefix ending in a dot"
        ),
        pytest.param(
            ("payment_request",),
            "payment_request.paid",
            False,
            id="a prefix without the dot is an exact topic",
        ),
        pytest.param(
            ("payment.",), "payment_request.paid", False, id="a prefix matches whole segments only"
        ),
        pytest.param(
            ("receipt.issued", "payment_request."),
            "payment_request.cancelled",
            True,
            id="any of several topics",
        ),
    ],
)
def test_a_subscriber_matches_topics_by_the_table(
    topics: tuple[str, ...], topic: str, matches: bool
) -> None:
    sub, _ = subscriber("s", *topics)
    assert sub.matches(event(topic)) is matches


def test_a_subscriber_may_narrow_its_topics_with_a_predicate() -> None:
    sub, _ = subscriber("s", "payment_request.", wants=lambda e: bool(e.payload.get("callback")))
    assert sub.matches(event("payment_request.paid", callback="http://x"))
    assert not sub.matches(event("payment_request.paid", callback=None))


def test_a_committed_event_reaches_matching_subscribers_only_and_each_once(
    container: Container,
) -> None:
    receipts, to_receipts = subscriber("receipts", "payment_request.paid")
    webhooks, to_webhooks = subscriber("webhooks", "payment_request.")
    tax, to_tax = subscriber("tax", "receipt.issued")
    picky, to_picky = subscriber("picky", "payment_request.", wants=lambda e: "x" in e.payload)
    registry = registry_of(receipts, webhooks, tax, picky)
    emit_committed(container, aggregate_id="req-42")

    assert run_outbox(container.uow(), registry) == 2

    assert [c[:2] for c in to_receipts.calls] == [("payment_request.paid", "req-42")]
    assert [c[:2] for c in to_webhooks.calls] == [("payment_request.paid", "req-42")]
    assert to_tax.calls == [] and to_picky.calls == []
    rows = deliveries(container)
    assert sorted(d.subscriber for d in rows) == ["receipts", "webhooks"]
    assert all(d.status == DeliveryStatus.DELIVERED and d.attempts == 1 for d in rows)
    assert all(d.delivered_at is not None and d.last_error is None for d in rows)


def test_running_the_outbox_again_delivers_nothing_twice(container: Container) -> None:
    receipts, to_receipts = subscriber("receipts", "payment_request.")
    registry = registry_of(receipts)
    emit_committed(container, aggregate_id="req-1")
    emit_committed(container, aggregate_id="req-2")

    assert run_outbox(container.uow(), registry) == 2
    assert run_outbox(container.uow(), registry) == 0
    assert run_outbox(container.uow(), registry, utcnow() + timedelta(days=1)) == 0

    assert [c[1] for c in to_receipts.calls] == ["req-1", "req-2"]
    assert len(deliveries(container)) == 2


def emit_then_fail(container: Container) -> None:
    with container.uow() as uow:
        emit(uow.session, "payment_request.paid", "req-2", {})
        uow.flush()
        raise ValueError("payment failed")


def test_an_event_emitted_in_a_rolled_back_transaction_is_never_delivered(
    container: Container,
) -> None:
    receipts, to_receipts = subscriber("receipts", "payment_request.")
    registry = registry_of(receipts)
    with container.uow() as uow:
        emit(uow.session, "payment_request.paid", "req-1", {})
        uow.flush()  # even written to the database, it goes with the transaction
    with pytest.raises(ValueError, match="payment failed"):
        emit_then_fail(container)

    assert run_outbox(container.uow(), registry) == 0

    assert to_receipts.calls == []
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_an_event_nobody_subscribes_to_is_marked_fanned_out_without_deliveries(
    container: Container,
) -> None:
    emit_committed(container, topic="nobody.listens")
    assert fan_out(container.uow(), registry_of()) == 1
    assert fan_out(container.uow(), registry_of()) == 0
    assert deliveries(container) == []


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 10), (2, 20), (3, 40), (4, 80), (9, 2560), (10, 3600), (30, 3600)],
)
def test_backoff_doubles_from_ten_seconds_up_to_an_hour_with_jitter(
    monkeypatch: pytest.MonkeyPatch, attempts: int, seconds: int
) -> None:
    monkeypatch.setattr(services.random, "random", lambda: 0.0)
    assert backoff(attempts) == timedelta(seconds=seconds * 0.8)
    monkeypatch.setattr(services.random, "random", lambda: 0.5)
    assert backoff(attempts) == timedelta(seconds=seconds)
    monkeypatch.setattr(services.random, "random", lambda: 1.0)
    assert backoff(attempts) == timedelta(seconds=seconds * 1.2)


def assert_waiting(delivery: Any, attempts: int, after: datetime) -> None:
    base = min(10 * 2 ** (attempts - 1), 3600)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == attempts
    assert delivery.last_error == "RuntimeError: receiver is down"
    wait = delivery.next_attempt_at - after
    assert timedelta(seconds=0.8 * base) <= wait <= timedelta(seconds=1.2 * base)


def test_a_failing_handler_is_retried_with_backoff_then_parked_then_retried_by_hand(
    container: Container,
) -> None:
    receipts, handler = subscriber("receipts", "payment_request.", handler=Recorder(99))
    registry = registry_of(receipts, max_attempts=3)
    emit_committed(container)
    fan_out(container.uow(), registry)  # a delivery is due from the moment it is fanned out
    t0 = utcnow()

    assert run_outbox(container.uow(), registry, t0) == 1
    assert_waiting(the_delivery(container), 1, t0)
    # not due yet: nothing is tried
    assert run_outbox(container.uow(), registry, t0 + timedelta(seconds=7)) == 0
    assert the_delivery(container).attempts == 1

    t1 = t0 + timedelta(seconds=13)
    assert run_outbox(container.uow(), registry, t1) == 1
    assert_waiting(the_delivery(container), 2, t1)

    t2 = t1 + timedelta(seconds=25)
    assert run_outbox(container.uow(), registry, t2) == 1
    parked = the_delivery(container)
    assert (parked.status, parked.attempts) == (DeliveryStatus.PARKED, 3)
    assert parked.last_error == "RuntimeError: receiver is down"
    # parked: visible, kept, and left alone however late it gets
    assert run_outbox(container.uow(), registry, t2 + timedelta(days=30)) == 0
    assert len(handler.calls) == 3

    handler.failures_left = 0
    assert retry_parked(container.uow()) == 1
    again = the_delivery(container)
    assert (again.status, again.attempts) == (DeliveryStatus.PENDING, 0)
    assert run_outbox(container.uow(), registry) == 1
    done = the_delivery(container)
    assert (done.status, done.attempts, done.last_error) == (DeliveryStatus.DELIVERED, 1, None)
    assert len(handler.calls) == 4
    assert retry_parked(container.uow()) == 0


def test_retry_parked_puts_back_only_the_deliveries_named(container: Container) -> None:
    receipts, _ = subscriber("receipts", "payment_request.", handler=Recorder(99))
    registry = registry_of(receipts, max_attempts=1)
    emit_committed(container, aggregate_id="req-1")
    emit_committed(container, aggregate_id="req-2")
    assert run_outbox(container.uow(), registry) == 1  # a failing subscriber: one try per pass
    assert run_outbox(container.uow(), registry) == 1
    first, second = deliveries(container)
    assert first.status == second.status == DeliveryStatus.PARKED

    assert retry_parked(container.uow(), [second.id]) == 1

    assert [d.status for d in deliveries(container)] == [
        DeliveryStatus.PARKED,
        DeliveryStatus.PENDING,
    ]


def test_a_handler_that_recovers_is_delivered_with_its_attempts_counted(
    container: Container,
) -> None:
    receipts, handler = subscriber("receipts", "payment_request.", handler=Recorder(2))
    registry = registry_of(receipts)
    emit_committed(container)
    fan_out(container.uow(), registry)
    later = utcnow()
    for _ in range(3):
        run_outbox(container.uow(), registry, later)
        later += timedelta(hours=2)
    delivery = the_delivery(container)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert delivery.last_error is None and delivery.delivered_at is not None
    assert len(handler.calls) == 3


def test_a_failing_subscriber_does_not_hold_back_another_subscriber_of_the_event(
    container: Container,
) -> None:
    broken, _ = subscriber("broken", "payment_request.", handler=Recorder(99))
    fine, to_fine = subscriber("fine", "payment_request.")
    emit_committed(container)

    run_outbox(container.uow(), registry_of(broken, fine))

    assert len(to_fine.calls) == 1
    status = {d.subscriber: d.status for d in deliveries(container)}
    assert status == {"broken": DeliveryStatus.PENDING, "fine": DeliveryStatus.DELIVERED}


def test_a_subscriber_that_fails_is_tried_once_per_pass_and_the_others_flow_past_it(
    container: Container,
) -> None:
    down = Recorder(99)
    broken, _ = subscriber("broken", "payment_request.", handler=down)
    fine, to_fine = subscriber("fine", "payment_request.")
    for n in range(5):
        emit_committed(container, aggregate_id=f"req-{n}")

    run_outbox(container.uow(), registry_of(broken, fine))

    assert len(to_fine.calls) == 5
    assert len(down.calls) == 1, "a partner that is down costs one attempt per pass, not five"
    attempts = sorted(d.attempts for d in deliveries(container) if d.subscriber == "broken")
    assert attempts == [0, 0, 0, 0, 1]
    down.failures_left = 0
    run_outbox(container.uow(), registry_of(broken, fine))  # the next pass: the four not due yet
    assert len(down.calls) == 5
    pending = [d for d in deliveries(container) if d.status == DeliveryStatus.PENDING]
    assert [d.attempts for d in pending] == [1], "only the one that failed waits for its backoff"


def test_a_delivery_for_a_subscriber_this_process_lacks_is_retried_not_dropped(
    container: Container,
) -> None:
    gone, _ = subscriber("gone", "payment_request.")
    emit_committed(container)
    fan_out(container.uow(), registry_of(gone))

    assert run_outbox(container.uow(), registry_of()) == 1

    delivery = the_delivery(container)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error is not None and "gone" in delivery.last_error


def add_agency(code: str) -> Callable[[Session, OutboxEvent, OutboxDelivery], None]:
    def handler(session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        session.add(Agency(code=code, name=event.aggregate_id, tax_code="3000123456"))
        session.flush()

    return handler


def agency_codes(container: Container) -> list[str]:
    with container.uow() as uow:
        return list(uow.session.scalars(select(Agency.code).order_by(Agency.code)))


def test_a_handlers_writes_commit_with_its_delivery(container: Container) -> None:
    registry = registry_of(Subscriber("writer", ("payment_request.",), add_agency("000.00.01.H40")))
    emit_committed(container)

    run_outbox(container.uow(), registry)

    assert agency_codes(container) == ["000.00.01.H40"]
    assert the_delivery(container).status == DeliveryStatus.DELIVERED


def test_a_failing_handlers_writes_roll_back_but_its_attempt_is_recorded(
    container: Container,
) -> None:
    def write_then_fail(session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        add_agency("000.00.01.H40")(session, event, delivery)
        raise RuntimeError("receiver is down")

    registry = registry_of(Subscriber("writer", ("payment_request.",), write_then_fail))
    emit_committed(container)
    fan_out(container.uow(), registry)  # a delivery is due from the moment it is fanned out
    # the tick's own clock: the row's updated_at is stamped a moment later, and a wait measured
    # from it fell short of the backoff's lower bound when the jitter was near its minimum
    now = utcnow()

    assert run_outbox(container.uow(), registry, now) == 1

    assert agency_codes(container) == []
    assert_waiting(the_delivery(container), 1, now)


def test_a_handler_hitting_a_database_error_leaves_the_delivery_usable(
    container: Container,
) -> None:
    # a constraint violation aborts a PostgreSQL transaction: only the savepoint keeps the
    # delivery's own bookkeeping writable afterwards
    with container.uow() as uow:
        uow.session.add(Agency(code="000.00.01.H40", name="taken", tax_code="3000123456"))
        uow.commit()
    registry = registry_of(Subscriber("writer", ("payment_request.",), add_agency("000.00.01.H40")))
    emit_committed(container)

    assert run_outbox(container.uow(), registry) == 1

    delivery = the_delivery(container)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error is not None and "IntegrityError" in delivery.last_error
    with container.uow() as uow:
        agency = uow.session.get(Agency, "000.00.01.H40")
        assert agency is not None and agency.name == "taken"


def test_two_schedulers_at_once_deliver_every_event_exactly_once(container: Container) -> None:
    for i in range(20):
        emit_committed(container, aggregate_id=f"req-{i}")
    receipts, handler = subscriber("receipts", "payment_request.")
    registry = registry_of(receipts)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            start.wait(10)
            for _ in range(3):
                run_outbox(container.uow(), registry)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert sorted(c[1] for c in handler.calls) == sorted(f"req-{i}" for i in range(20))
    assert len(deliveries(container)) == 20
    assert {d.status for d in deliveries(container)} == {DeliveryStatus.DELIVERED}
