"""The nightly job under two schedulers: one reconciliation of the previous day per account."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from payments.http import Container
from payments.ops.models import JobRun
from payments.scheduler import run_job
from reconciliation.jobs import JOB_ID
from reconciliation.models import ReconciliationRun
from reconciliation.runs import previous_business_day


def test_two_schedulers_firing_together_reconcile_the_previous_day_once(
    container: Container, catalog: dict[str, Any], backend: str
) -> None:
    [job] = [j for j in container.jobs if j.id == JOB_ID]
    fired = datetime(2026, 11, 2, 18, 30, tzinfo=UTC)  # 01:30 in Hà Nội
    results: list[Any] = []

    if backend == "postgresql":  # two schedulers' connections, at the same moment
        start = threading.Barrier(2)

        def scheduler() -> None:
            start.wait()
            results.append(run_job(container, job, fired))

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    else:  # SQLite has one writer: the second scheduler comes after the first
        results += [run_job(container, job, fired), run_job(container, job, fired)]

    done = [r for r in results if r is not None]
    assert len(results) == 2 and len(done) == 1
    with container.uow() as uow:
        runs = uow.session.execute(
            select(
                ReconciliationRun.account_id,
                ReconciliationRun.business_date,
                ReconciliationRun.runs,
            )
        ).all()
        claims = uow.session.scalars(
            select(JobRun.finished_at).where(JobRun.job_id == JOB_ID)
        ).all()
    assert sorted(a for a, _, _ in runs) == sorted(r["account_id"] for r in done[0])
    assert {(d, n) for _, d, n in runs} == {(previous_business_day(), 1)}
    assert len(claims) == 1 and claims[0] is not None
