"""Two real scheduler processes against one PostgreSQL: each job once per period, nothing doubled.

The schedulers are the ``thuphi scheduler`` command run through ``payments.cli.main``, with one
change: ``outbox`` and ``expire_requests`` tick every second and ``expire_requests`` claims
3-second periods (production: 60 s ticks and periods, whose first tick comes a minute after
start). Everything else is the production path: advisory locks, ``job_runs`` claims, heartbeats,
``FOR UPDATE SKIP LOCKED`` in the expiry and the outbox fan-out.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_SECRET
from factories import make_payment_request
from sqlalchemy import func, select, update

from payments.auth.services import Principal
from payments.clock import utcnow
from payments.config import Settings
from payments.http import Container
from payments.ops.models import JobRun, SchedulerHeartbeat
from payments.outbox.models import OutboxDelivery, OutboxEvent
from payments.payment_requests.models import PaymentRequest

PERIOD_SECONDS = 3
PRINCIPAL = Principal("cl_multi_instance", frozenset({"payments:write"}), None)

# the console script's entry point, with the two jobs sped up in the table the wiring gives
# every container
FAST_SCHEDULER = f"""
import sys
from dataclasses import replace
from payments import wiring

table = wiring.jobs
fast = {{"outbox": None, "expire_requests": {PERIOD_SECONDS}}}
wiring.jobs = lambda: [
    replace(j, trigger="interval", trigger_args={{"seconds": 1}}, period_seconds=fast[j.id])
    if j.id in fast else j
    for j in table()
]
from payments.cli import main

sys.argv = ["thuphi", "scheduler"]
main()
"""


class Scheduler:
    """One scheduler subprocess, its log file and the id it writes into the database."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("THUPHI_")}
        env |= {
            "THUPHI_DATABASE_URL": settings.database_url,
            "THUPHI_SECRET_KEY": TEST_SECRET,
            "THUPHI_LOG_JSON": "1",
            "THUPHI_INSTANCE_PATH": str(log_path.parent / "instance"),
        }
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FAST_SCHEDULER],
            env=env,
            cwd=log_path.parent,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.id = f"{socket.gethostname()}:{self.proc.pid}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def events(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def schedulers(
    backend: str, request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[list[Scheduler]]:
    if backend != "postgresql":
        pytest.skip("several schedulers share one PostgreSQL; SQLite is single-process")
    request.getfixturevalue("catalog")  # a clean, migrated database before they start
    procs = [Scheduler(settings, tmp_path / f"scheduler-{n}.log") for n in (1, 2)]
    yield procs
    for proc in procs:
        proc.stop()


def make_overdue(container: Container, settings: Settings, count: int) -> list[uuid.UUID]:
    """Pending requests whose time ran out a minute ago."""
    ids = []
    for _ in range(count):
        view = make_payment_request(
            container,
            settings=replace(settings, request_ttl=timedelta(hours=1)),
            principal=PRINCIPAL,
        )
        ids.append(uuid.UUID(view["id"]))
    with container.uow() as uow:
        uow.session.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id.in_(ids))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        uow.commit()
    return ids


def wait_for_heartbeats(container: Container, ids: set[str], timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with container.uow() as uow:
            beating = set(uow.session.scalars(select(SchedulerHeartbeat.scheduler_id)))
        if ids <= beating:
            return
        time.sleep(0.3)
    pytest.fail(f"schedulers {ids - beating} never wrote a heartbeat")


def expire_runs(container: Container) -> list[Any]:
    """(period, scheduler_id, finished_at) of every ``expire_requests`` run, oldest first."""
    with container.uow() as uow:
        return list(
            uow.session.execute(
                select(JobRun.period, JobRun.scheduler_id, JobRun.finished_at)
                .where(JobRun.job_id == "expire_requests")
                .order_by(JobRun.started_at)
            )
        )


def feed_overdue_requests(
    container: Container, settings: Settings, seconds: float, ids: list[uuid.UUID]
) -> None:
    """Two overdue requests a second, for ``seconds``, while the schedulers run."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        ids += make_overdue(container, settings, 2)
        time.sleep(0.5)


def wait_until_settled(container: Container, ids: list[uuid.UUID], timeout: float) -> None:
    """Until every request is expired and every event fanned out (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with container.uow() as uow:
            pending = uow.session.scalar(
                select(func.count()).where(
                    PaymentRequest.id.in_(ids), PaymentRequest.status != "expired"
                )
            )
            unfanned = uow.session.scalar(
                select(func.count()).where(OutboxEvent.fanned_out.is_(False))
            )
        if not pending and not unfanned:
            return
        time.sleep(0.3)


def test_two_schedulers_expire_each_request_once_and_claim_each_period_once(
    schedulers: list[Scheduler], container: Container, settings: Settings, catalog: Any
) -> None:
    ids = make_overdue(container, settings, 10)
    wait_for_heartbeats(container, {s.id for s in schedulers})

    feed_overdue_requests(container, settings, 2 * PERIOD_SECONDS, ids)
    runs = expire_runs(container)
    assert runs, "no scheduler ran expire_requests"
    # the scheduler that wins the periods now stops; the other must take the job over
    winner = next(s for s in schedulers if s.id == runs[-1].scheduler_id)
    survivor = next(s for s in schedulers if s is not winner)
    winner.stop()
    feed_overdue_requests(container, settings, 2 * PERIOD_SECONDS, ids)
    wait_until_settled(container, ids, timeout=4 * PERIOD_SECONDS)
    survivor.stop()

    with container.uow() as uow:
        statuses = dict(
            uow.session.execute(
                select(PaymentRequest.status, func.count())
                .where(PaymentRequest.id.in_(ids))
                .group_by(PaymentRequest.status)
            ).all()
        )
        events = dict(
            uow.session.execute(
                select(OutboxEvent.aggregate_id, func.count())
                .where(OutboxEvent.topic == "payment_request.expired")
                .group_by(OutboxEvent.aggregate_id)
            ).all()
        )
        unfanned = uow.session.scalar(select(func.count()).where(OutboxEvent.fanned_out.is_(False)))
        doubled = uow.session.scalar(
            select(func.count()).select_from(
                select(OutboxDelivery.event_id)
                .group_by(OutboxDelivery.event_id, OutboxDelivery.subscriber)
                .having(func.count() > 1)
                .subquery()
            )
        )
        beats = set(uow.session.scalars(select(SchedulerHeartbeat.scheduler_id)))

    assert statuses == {"expired": len(ids)}
    assert events == {str(i): 1 for i in ids}, "each request expires with exactly one event"
    assert unfanned == 0 and doubled == 0
    assert {s.id for s in schedulers} <= beats

    runs = expire_runs(container)
    periods = [r.period for r in runs]
    assert len(periods) == len(set(periods))
    assert {r.scheduler_id for r in runs} == {winner.id, survivor.id}
    # the last run may be in flight when the survivor stops
    assert all(r.finished_at is not None for r in runs[:-1] if r.scheduler_id == survivor.id)
    for proc in schedulers:
        failures = [e for e in proc.events() if e.get("event") == "job_failed"]
        assert not failures, f"{proc.id}: {failures}"
