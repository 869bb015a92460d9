"""The scheduler process: the periodic jobs of the table in payments.wiring, each run once per
period.

Several schedulers may run against one PostgreSQL: a job's run takes an advisory lock named after
the job and records (job, period) in ``job_runs``; a scheduler that finds the lock taken or the
period already recorded skips it. Every job is idempotent anyway, so a crash mid-run is repaired
by the next period's run.
"""

from __future__ import annotations

import os
import socket
import zlib
from datetime import datetime
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from payments.clock import utcnow
from payments.container import Container, Job
from payments.ops.models import JobRun, SchedulerHeartbeat

log = structlog.get_logger(__name__)
SCHEDULER_ID = f"{socket.gethostname()}:{os.getpid()}"


def lock_key(job_id: str) -> int:
    return zlib.crc32(f"thuphi:{job_id}".encode())


# periods start on Hà Nội's clock (UTC+7 all year): a daily job's period is a business day
LOCAL_OFFSET_SECONDS = 7 * 3600


def period_of(job: Job, now: datetime) -> str | None:
    if job.period_seconds is None:
        return None
    return str((int(now.timestamp()) + LOCAL_OFFSET_SECONDS) // job.period_seconds)


def run_job(container: Container, job: Job, now: datetime | None = None) -> Any:
    """Run ``job`` once, unless another scheduler runs it now or already ran this period."""
    moment = now or utcnow()
    if container.engine.dialect.name != "postgresql":
        return _run_once(container, job, moment)
    with container.engine.connect() as conn:
        key = lock_key(job.id)
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            log.info("job_skipped_locked", job=job.id)
            return None
        try:
            return _run_once(container, job, moment)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _run_once(container: Container, job: Job, now: datetime) -> Any:
    period = period_of(job, now)
    if period is not None and not _claim_period(container, job.id, period, now):
        log.info("job_skipped_period_done", job=job.id, period=period)
        return None
    try:
        result = job.func(container)
    except Exception:
        log.exception("job_failed", job=job.id)
        raise
    if period is not None:
        with container.uow() as uow:
            row = uow.session.get(JobRun, (job.id, period))
            if row is not None:
                row.finished_at = utcnow()
            uow.commit()
    return result


def _claim_period(container: Container, job_id: str, period: str, now: datetime) -> bool:
    """Claim ``period`` for this scheduler; False when it already ran (or runs) elsewhere.

    A claim left unfinished means the run that made it failed or died: on PostgreSQL we hold
    the job's advisory lock here, so its runner is gone (a live one would hold the lock), and a
    SQLite deployment has one scheduler. Such a claim is taken over, so the job runs again.
    """
    with container.uow() as uow:
        row = uow.session.get(JobRun, (job_id, period))
        if row is None:
            uow.session.add(
                JobRun(job_id=job_id, period=period, scheduler_id=SCHEDULER_ID, started_at=now)
            )
        elif row.finished_at is None:
            log.warning("job_retrying_unfinished_period", job=job_id, period=period)
            row.scheduler_id, row.started_at = SCHEDULER_ID, now
        else:
            return False
        try:
            uow.commit()
        except IntegrityError:  # claimed by a scheduler without the lock (should not happen)
            return False
    return True


def heartbeat(container: Container) -> None:
    """Tell /readyz this scheduler is alive."""
    with container.uow() as uow:
        row = uow.session.get(SchedulerHeartbeat, SCHEDULER_ID)
        if row is None:
            uow.session.add(SchedulerHeartbeat(scheduler_id=SCHEDULER_ID))
        else:
            row.beat_at = utcnow()
        uow.commit()


def last_heartbeat(container: Container) -> datetime | None:
    with container.uow() as uow:
        return uow.session.scalar(
            select(SchedulerHeartbeat.beat_at).order_by(SchedulerHeartbeat.beat_at.desc()).limit(1)
        )


def build_scheduler(container: Container, background: bool = False) -> Any:
    """An APScheduler running the container's jobs and this scheduler's heartbeat."""
    cls = BackgroundScheduler if background else BlockingScheduler
    scheduler = cls(
        timezone="Asia/Ho_Chi_Minh",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    jobs = [*container.jobs, Job("heartbeat", heartbeat, "interval", {"seconds": 15})]
    for job in jobs:
        scheduler.add_job(
            run_job,
            job.trigger,
            args=(container, job),
            id=job.id,
            replace_existing=True,
            **job.trigger_args,
        )
    try:
        heartbeat(container)
    except OperationalError:
        # the database may still be starting (a host boot, a failover): the jobs retry on their
        # own schedule, so wait for it instead of exiting
        log.warning("scheduler.database_unreachable", retry_in_seconds=15)
    return scheduler
