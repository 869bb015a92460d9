"""Remittances to the State Treasury (KBNN) and the obligations each one settled."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from payments.clock import utcnow
from payments.db import Base, new_id


class Remittance(Base):
    """Money an agency paid to the budget (giấy nộp tiền vào NSNN), by its order reference."""

    __tablename__ = "budget_remittances"
    __table_args__ = (
        UniqueConstraint("agency_code", "order_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    amount: Mapped[int]
    paid_on: Mapped[date]
    order_reference: Mapped[str] = mapped_column(String(64))
    fee_codes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # what matched no outstanding obligation when it was recorded
    unallocated: Mapped[int]
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Allocation(Base):
    """The part of a remittance that settled one obligation (agency, fee, period)."""

    __tablename__ = "budget_allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_budget_allocations_obligation", "agency_code", "fee_code", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    remittance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budget_remittances.id"))
    agency_code: Mapped[str] = mapped_column(String(32))
    fee_code: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[date]
    period_end: Mapped[date]
    amount: Mapped[int]


class OverdueReminder(Base):
    """One reminder of an obligation still unpaid after its deadline, on one day: the scheduler's
    daily run writes each (agency, fee, period, day) once, with its outbox event."""

    __tablename__ = "budget_overdue_reminders"
    __table_args__ = (UniqueConstraint("agency_code", "fee_code", "period", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    fee_code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))  # "2026-11", "2026-W45"
    day: Mapped[date]
    due_on: Mapped[date]
    amount: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
