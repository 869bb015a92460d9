"""Money movements per provider, and the append-only log of everything providers sent us."""

from __future__ import annotations

import uuid
from datetime import datetime
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from payments.clock import utcnow
from payments.db import Base


class TxnState(StrEnum):
    APPLIED = "applied"  # counted in the request's paid amount
    REVERSED = "reversed"  # a POS void before settlement took it back
    UNMATCHED = "unmatched"  # money with no request: kept for reconciliation
    RECORDED = "recorded"  # money for an expired/cancelled request, or a debit: kept, not applied
    PENDING = "pending"  # the provider has not decided yet (PayGov pending)
    FAILED = "failed"


class AttemptStatus(StrEnum):
    """A payment started at the national platform (``PaygovAttempt.status``)."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"


class Flag(StrEnum):
    REFERENCE_CORRECTED = "reference_corrected"
    LATE_PAYMENT = "late_payment"
    OVERPAYMENT = "overpayment"
    DUPLICATE_PAYMENT = "duplicate_payment"
    AMOUNT_CONFLICT = "amount_conflict"
    REFUND_DUE = "refund_due"


class PaymentTransaction(Base):
    """One payment, void or unmatched credit as a provider reported it; unique per provider id."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        UniqueConstraint("provider", "provider_txn_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_payment_transactions_account_occurred", "account_id", "occurred_at"),
        Index("ix_payment_transactions_batch", "settlement_key"),
        # the console's "paid online" ratio looks up each request of the month here (0009)
        Index(
            "ix_payment_transactions_paygov_applied",
            "payment_request_id",
            postgresql_where=text("provider = 'paygov' AND state = 'applied'"),
            sqlite_where=text("provider = 'paygov' AND state = 'applied'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_txn_id: Mapped[str] = mapped_column(String(128))
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_requests.id"), index=True
    )
    account_id: Mapped[str | None] = mapped_column(ForeignKey("beneficiary_accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))  # payment | void | transfer_in | transfer_out
    state: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    reference: Mapped[str | None] = mapped_column(String(32), index=True)
    memo: Mapped[str | None] = mapped_column(Text)
    payer_name: Mapped[str | None] = mapped_column(String(255))
    # POS: "<terminal_id>:<batch_no>", the key a batch settlement credit is matched on
    settlement_key: Mapped[str | None] = mapped_column(String(64))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProviderMessage(Base):
    """Append-only: every message a provider sent, verified or not, and what we made of it."""

    __tablename__ = "provider_messages"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(32))  # applied, duplicate, rejected, conflict, …
    reason: Mapped[str | None] = mapped_column(String(255))
    provider_txn_id: Mapped[str | None] = mapped_column(String(128), index=True)
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class PosSettlement(Base):
    """A POS batch close: one net bank credit for many card payments."""

    __tablename__ = "pos_settlements"
    __table_args__ = (UniqueConstraint("settlement_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    settlement_key: Mapped[str] = mapped_column(String(64))
    terminal_id: Mapped[str] = mapped_column(String(32))
    merchant_id: Mapped[str] = mapped_column(String(32))
    batch_no: Mapped[str] = mapped_column(String(32))
    settled_at: Mapped[datetime]
    count: Mapped[int]
    gross_amount: Mapped[int]
    fee_amount: Mapped[int]
    net_amount: Mapped[int]
    account_id: Mapped[str | None] = mapped_column(ForeignKey("beneficiary_accounts.id"))


class PaygovAttempt(Base):
    """A payment started at the national platform; polled while the platform says pending."""

    __tablename__ = "paygov_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    payment_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payment_requests.id"), index=True
    )
    provider_ref: Mapped[str] = mapped_column(String(64), unique=True)  # MaThamChieu
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_polled_at: Mapped[datetime | None]
    payment_url: Mapped[str | None] = mapped_column(Text)
    # the INIT's ThoiGianGD as sent: the platform finds the payment by it (each query, GET_BILL)
    init_time: Mapped[str | None] = mapped_column(String(14))
    # the platform's receipt PDF once fetched (payments.paygov.models.PaygovBill, by content)
    bill_sha256: Mapped[str | None] = mapped_column(String(64))
