"""Daily rollups the console's reports and dashboard read instead of a year of rows.

Database triggers (migration 0008) keep them, in the same transaction as the rows they sum, on
every write path: the services, the set-based credit application, COPY, a hand-run UPDATE. Rows
whose sums went back to zero may stay; readers drop them. A key may have several rows (``slot``:
on PostgreSQL each database session adds to one of 8, so that concurrent payments of one day and
procedure do not queue on one row until each commits); readers sum them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from payments.db import Base


class PaymentDay(Base):
    """Applied payments to requests, per request agency, transaction account, business day of
    the payment (Asia/Ho_Chi_Minh), provider and procedure."""

    __tablename__ = "console_payment_days"

    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    payments: Mapped[int]
    amount: Mapped[int]


class ReductionDay(Base):
    """Reduced fee lines of paid (or overpaid) requests, per request agency, business day the
    request was created and the reduction's legal basis ('' when a line names none)."""

    __tablename__ = "console_reduction_days"

    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    legal_basis: Mapped[str] = mapped_column(String(500), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    lines: Mapped[int]
    amount: Mapped[int]
