"""Issued e-receipts, their per-series counters, error notices and tax-authority summaries."""

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
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from payments.clock import utcnow
from payments.db import Base, new_id, trigram_index


class ReceiptStatus(StrEnum):
    ISSUED = "issued"
    REPLACED = "replaced"  # a replacement receipt (biên lai thay thế) corrects it


class TaxStatus(StrEnum):
    PENDING = "pending"  # not yet accepted by the tax authority (retried by the outbox)
    ACCEPTED = "accepted"


class ReceiptCounter(Base):
    """The last number used in one series of one agency: the row that serialises numbering.

    Numbers are taken with ``UPDATE … SET last_number = last_number + 1 RETURNING`` in the
    transaction that inserts the receipt: the row lock is held until commit, and a rollback
    returns the number, so numbers are continuous (no gap, no duplicate).
    """

    __tablename__ = "receipt_counters"
    __table_args__ = (CheckConstraint("last_number >= 0", name="not_negative"),)

    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    template: Mapped[str] = mapped_column(String(16), primary_key=True)
    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("agency_code", "template", "series", "number"),
        CheckConstraint("number >= 1 AND number <= 99999999", name="number_range"),
        CheckConstraint("total_amount >= 0", name="total_not_negative"),
        Index("ix_receipts_agency_issued_at", "agency_code", "issued_at"),
        Index("ix_receipts_tax_status", "tax_authority_status"),
        # the dashboard counts the few receipts not accepted yet, per agency
        Index(
            "ix_receipts_tax_not_accepted",
            "agency_code",
            postgresql_where=text("tax_authority_status <> 'accepted'"),
            sqlite_where=text("tax_authority_status <> 'accepted'"),
        ),
        # the console's search by any part of dossier code, payer or reference (pg_trgm; 0009)
        trigram_index("ix_receipts_search", "dossier_code", "payer_name", "payment_reference"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    payment_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payment_requests.id"), index=True
    )
    # "<request id>:<kind>" on the receipts a payment issues, NULL on replacements: the
    # database itself refuses a second original receipt of one kind for one request
    origin_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    template: Mapped[str] = mapped_column(String(16))
    series: Mapped[str] = mapped_column(String(8))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime]
    issued_on: Mapped[date]  # the Vietnamese calendar day of issued_at (summaries group on it)
    payer_name: Mapped[str] = mapped_column(String(255))
    payer_id_number: Mapped[str | None] = mapped_column(String(32))
    payer_address: Mapped[str | None] = mapped_column(String(500))
    dossier_code: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str] = mapped_column(String(32))
    procedure_name: Mapped[str] = mapped_column(String(500))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    total_amount: Mapped[int]
    amount_in_words: Mapped[str] = mapped_column(String(500))
    payment_channel: Mapped[str] = mapped_column(String(32))
    payment_reference: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ReceiptStatus.ISSUED)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    replaced_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("receipts.id"))
    correction_reason: Mapped[str | None] = mapped_column(String(1000))
    # a replacement that corrected amounts: what it means for the money (migration 0015)
    money_consequence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verification_token: Mapped[str] = mapped_column(String(64), unique=True)
    signed_xml: Mapped[bytes] = mapped_column(LargeBinary)
    tax_authority_status: Mapped[str] = mapped_column(String(16), default=TaxStatus.PENDING)
    tax_authority_id: Mapped[str | None] = mapped_column(String(64))
    tax_accepted_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReceiptErrorNotice(Base):
    """Mẫu 04/SS-CTĐT: a name/address error on a receipt whose amount and tax code are right."""

    __tablename__ = "receipt_error_notices"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    receipt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("receipts.id"), index=True)
    form: Mapped[str] = mapped_column(String(16), default="04/SS-CTĐT")
    correct_payer_name: Mapped[str | None] = mapped_column(String(255))
    correct_payer_address: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(1000))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # TT 91/2026 Điều 20: the notice goes to the tax authority too (outbox, migration 0015)
    tax_authority_status: Mapped[str] = mapped_column(String(16), default=TaxStatus.PENDING)
    tax_authority_id: Mapped[str | None] = mapped_column(String(64))
    tax_accepted_at: Mapped[datetime | None]


class ReceiptSummary(Base):
    """Mẫu 01/TH-BLĐT: one sending for a business day of one series (the first, then the
    supplements), as sent to the tax authority."""

    __tablename__ = "receipt_summaries"
    __table_args__ = (UniqueConstraint("agency_code", "template", "series", "day", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    template: Mapped[str] = mapped_column(String(16))
    series: Mapped[str] = mapped_column(String(8))
    day: Mapped[date]
    sequence: Mapped[int] = mapped_column(default=0)  # 0: the first sending; n: supplement n
    late: Mapped[bool] = mapped_column(default=False)  # sent after the day was over
    from_number: Mapped[int]
    to_number: Mapped[int]
    count: Mapped[int]
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # the SummaryDocument sent
    signed_xml: Mapped[bytes | None] = mapped_column(LargeBinary)  # signed by the agency
    tax_authority_status: Mapped[str] = mapped_column(String(16), default=TaxStatus.PENDING)
    tax_authority_id: Mapped[str | None] = mapped_column(String(64))
    tax_accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
