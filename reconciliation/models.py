"""Reconciliation (đối soát): statements, their lines, daily runs, matches, exceptions, audit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from payments.clock import utcnow
from payments.db import Base


class Reason(StrEnum):
    """Exception reason codes of DESIGN §2 (Reconciliation)."""

    UNKNOWN_CREDIT = "unknown_credit"  # money with no request
    MISSING_CREDIT = "missing_credit"  # recorded paid, no money after the settlement window
    AMOUNT_MISMATCH = "amount_mismatch"
    DUPLICATE_PAYMENT = "duplicate_payment"
    LATE_PAYMENT = "late_payment"  # money for an expired/cancelled request
    BALANCE_MISMATCH = "balance_mismatch"  # opening + credits − debits ≠ closing


class Rule(StrEnum):
    """Matching rules, strongest evidence first."""

    MANUAL = "manual"  # an officer linked or confirmed it
    PROVIDER_TXN = "provider_txn"
    REFERENCE = "reference"
    REFERENCE_TYPO = "reference_typo"
    POS_BATCH = "pos_batch"
    PROPOSAL = "amount_date_name"


class MatchStatus(StrEnum):
    MATCHED = "matched"
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Action(StrEnum):
    """Typed resolutions an officer may apply to an exception."""

    LINK_TO_REQUEST = "link_to_request"
    CONFIRM_PROPOSAL = "confirm_proposal"
    MARK_FOR_REFUND = "mark_for_refund"
    BOOK_AS_BANK_FEE = "book_as_bank_fee"
    DISMISS = "dismiss"


class Statement(Base):
    """One imported statement file for one beneficiary account."""

    __tablename__ = "recon_statements"
    __table_args__ = (UniqueConstraint("account_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("beneficiary_accounts.id"), index=True)
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    opening_balance: Mapped[int | None]
    closing_balance: Mapped[int | None]
    # Σ of every line in the file (imported or already known), for the balance check
    lines_net: Mapped[int] = mapped_column(default=0)
    lines_total: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    # what the reader noticed without refusing the file; the file named no account
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    account_unverified: Mapped[bool] = mapped_column(default=False, server_default=false())


class StatementLine(Base):
    """A bank statement line, once per account however many files contain it (fingerprint)."""

    __tablename__ = "recon_statement_lines"
    __table_args__ = (
        UniqueConstraint("account_id", "fingerprint"),
        Index("ix_recon_statement_lines_account_day", "account_id", "booking_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("beneficiary_accounts.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("recon_statements.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int]
    booking_date: Mapped[date]
    value_date: Mapped[date | None]
    amount: Mapped[int]  # signed, credits positive
    description: Mapped[str] = mapped_column(Text, default="")
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    counterparty_name: Mapped[str | None] = mapped_column(String(255))
    counterparty_account: Mapped[str | None] = mapped_column(String(64))
    balance: Mapped[int | None]
    # our payment reference found in the description (valid), or the first reference-shaped
    # string that failed its check digits (a typo to recover), extracted once at import
    reference: Mapped[str | None] = mapped_column(String(19), index=True)
    reference_candidate: Mapped[str | None] = mapped_column(String(19))
    account_unverified: Mapped[bool] = mapped_column(default=False, server_default=false())


class ReconciliationRun(Base):
    """One beneficiary account's reconciliation of one business day; re-running updates it."""

    __tablename__ = "recon_runs"
    __table_args__ = (UniqueConstraint("account_id", "business_date"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[str] = mapped_column(ForeignKey("beneficiary_accounts.id"))
    business_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))  # balanced | exceptions
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    runs: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")


class ReconciliationMatch(Base):
    """A statement credit explained by one or more payment requests."""

    __tablename__ = "recon_matches"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_recon_matches_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recon_runs.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    statement_line_id: Mapped[int] = mapped_column(ForeignKey("recon_statement_lines.id"))
    payment_request_ids: Mapped[list[str]] = mapped_column(JSON)
    amount: Mapped[int]
    transaction_id: Mapped[int | None]  # the provider transaction it confirms, if any
    settlement_key: Mapped[str | None] = mapped_column(String(64))


class ReconciliationException(Base):
    """A difference an officer must explain; ``key`` is stable so re-runs keep resolutions."""

    __tablename__ = "recon_exceptions"
    __table_args__ = (UniqueConstraint("account_id", "business_date", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recon_runs.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("beneficiary_accounts.id"))
    business_date: Mapped[date]
    key: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int]  # signed: a difference may go either way
    statement_line_id: Mapped[int | None] = mapped_column(ForeignKey("recon_statement_lines.id"))
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_requests.id"))
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ExceptionStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class ExceptionResolution(Base):
    """What an officer did about an exception (kept, never updated)."""

    __tablename__ = "recon_resolutions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    exception_id: Mapped[int] = mapped_column(ForeignKey("recon_exceptions.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_requests.id"))
    note: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only audit log; each entry's hash covers the previous one (a hash chain)."""

    __tablename__ = "recon_audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
