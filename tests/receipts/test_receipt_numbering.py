"""Acceptance: receipt numbers are exactly 1..N per series, with no gap and no duplicate, when
many workers pay at once (PostgreSQL, 32 threads, 2,000 requests) and when the year turns
mid-run (the new year's series starts at 1). The same property on SQLite, single process."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from receipts_testkit import (  # noqa: F401 - fixtures
    AGENCY_NAMES,
    NEW_YEARS_EVE,
    Kit,
    SteppingClock,
    add_series,
    kit_fixture,
    signing_files_fixture,
)
from sqlalchemy import func, select

from payments.app import build_container
from payments.db import make_engine
from payments.outbox.models import DeliveryStatus, OutboxDelivery
from payments.outbox.services import run_outbox
from receipts.jobs import ISSUE_SUBSCRIBER, subscribers
from receipts.models import Receipt

PROCEDURES = ("1.001234", "1.012345", "2.001610", "1.004227")
RECEIPTS_PER_REQUEST = {"1.001234": 1, "1.012345": 1, "2.001610": 2, "1.004227": 2}


def numbers_by_series(kit: Kit) -> dict[tuple[str, str], list[int]]:
    with kit.container.uow() as uow:
        rows = uow.session.execute(
            select(Receipt.agency_code, Receipt.series, Receipt.number)
        ).all()
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for agency, series, number in rows:
        found[(agency, series)].append(number)
    return found


def assert_continuous(kit: Kit, expected_receipts: int) -> dict[tuple[str, str], list[int]]:
    found = numbers_by_series(kit)
    assert sum(len(n) for n in found.values()) == expected_receipts
    for key, numbers in found.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), key
    # both years are in use for every agency, and every 2027 series starts again at 1
    for agency, (_, _, s26, s27) in AGENCY_NAMES.items():
        assert found[(agency, s26)] and found[(agency, s27)], agency
    with kit.container.uow() as uow:
        undelivered = uow.session.scalar(
            select(func.count()).where(
                OutboxDelivery.subscriber == ISSUE_SUBSCRIBER,
                OutboxDelivery.status != DeliveryStatus.DELIVERED,
            )
        )
        last_2026 = uow.session.scalar(
            select(func.max(Receipt.issued_at)).where(Receipt.series.like("26%"))
        )
        first_2027 = uow.session.scalar(
            select(func.min(Receipt.issued_at)).where(Receipt.series.like("27%"))
        )
    assert undelivered == 0
    assert last_2026 is not None and first_2027 is not None and last_2026 < first_2027
    return found


def prepare(kit: Kit) -> SteppingClock:
    add_series(kit.container, *[(code, names[3]) for code, names in AGENCY_NAMES.items()])
    clock = SteppingClock(NEW_YEARS_EVE - timedelta(hours=1))
    for subscriber in subscribers(kit.settings, now=clock):
        kit.container.registry.add(subscriber)
    return clock


def test_single_process_numbering_is_continuous_across_the_new_year(kit: Kit) -> None:
    clock = prepare(kit)
    procedures = list(itertools.islice(itertools.cycle(PROCEDURES), 48))
    requests = [kit.create(p) for p in procedures]
    for index, request in enumerate(requests):
        if index == len(requests) // 2:
            clock.flip(NEW_YEARS_EVE + timedelta(hours=1))
        kit.pay(request)
        if index % 5 == 0:
            kit.drain()
    kit.drain()
    assert_continuous(kit, sum(RECEIPTS_PER_REQUEST[p] for p in procedures))


@pytest.mark.postgres_only
@pytest.mark.slow
def test_32_workers_paying_2000_requests_number_receipts_continuously(
    kit: Kit, backend: str, database_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite is covered single-process above")
    engine = make_engine(database_url, pool_size=40, max_overflow=10)
    try:
        wide = Kit(build_container(kit.settings, engine))
        clock = prepare(wide)
        procedures = list(itertools.islice(itertools.cycle(PROCEDURES), 2000))
        with ThreadPoolExecutor(max_workers=32) as pool:
            requests = list(pool.map(wide.create, procedures))
        run_workers(wide, requests, clock, workers=32)
        assert_continuous(wide, sum(RECEIPTS_PER_REQUEST[p] for p in procedures))
    finally:
        engine.dispose()


def run_workers(
    kit: Kit, requests: list[dict[str, Any]], clock: SteppingClock, workers: int
) -> None:
    """Each worker pays its share and runs the outbox as it goes, with its own unit of work;
    half-way through the payments the clock crosses midnight into 2027."""
    paid = itertools.count(1)
    halfway = len(requests) // 2
    lock = threading.Lock()

    def worker(share: list[dict[str, Any]]) -> None:
        uow = kit.container.uow()
        for index, request in enumerate(share):
            kit.pay(request)
            with lock:
                if next(paid) == halfway:
                    clock.flip(NEW_YEARS_EVE + timedelta(hours=1))
            if index % 4 == 3:
                run_outbox(uow, kit.container.registry)
        while run_outbox(uow, kit.container.registry) > 0:
            pass

    shares = [requests[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(worker, share) for share in shares]:
            future.result()
    kit.drain()  # whatever a worker left when it finished before the others
