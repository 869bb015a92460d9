"""Operational state: scheduler heartbeats (readiness) and job runs (once per period)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from payments.clock import utcnow
from payments.db import Base


class SchedulerHeartbeat(Base):
    __tablename__ = "scheduler_heartbeats"

    scheduler_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """One row per job and period: a second scheduler finding the row skips that period."""

    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    scheduler_id: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
