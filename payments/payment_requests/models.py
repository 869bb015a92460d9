"""Payment requests: what a dossier must pay, to which account, under which reference."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from payments.clock import utcnow
from payments.db import Base, new_id, trigram_index


class RequestStatus(StrEnum):
    PENDING = "pending"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.PARTIALLY_PAID)
# the open-requests index's predicate, written from the tuple above (never typed twice)
_OPEN_PREDICATE = "status IN (" + ", ".join(f"'{s.value}'" for s in OPEN_STATUSES) + ")"


class PaymentRequest(Base):
    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint("total_amount >= 0", name="total_not_negative"),
        CheckConstraint("paid_amount >= 0", name="paid_not_negative"),
        Index("ix_payment_requests_status_expires_at", "status", "expires_at"),
        # the console: an agency's requests of a month; its open requests (a partial index)
        Index("ix_payment_requests_agency_created", "agency_code", "created_at"),
        Index(
            "ix_payment_requests_open",
            "agency_code",
            postgresql_where=text(_OPEN_PREDICATE),
            sqlite_where=text(_OPEN_PREDICATE),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(19), unique=True)
    checkout_token: Mapped[str] = mapped_column(String(64), unique=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code"))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    account_id: Mapped[str] = mapped_column(ForeignKey("beneficiary_accounts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime]
    quote_date: Mapped[date]
    payer_name: Mapped[str] = mapped_column(String(255))
    payer_id_number: Mapped[str | None] = mapped_column(String(32))
    payer_phone: Mapped[str | None] = mapped_column(String(32))
    payer_email: Mapped[str | None] = mapped_column(String(255))
    payer_address: Mapped[str | None] = mapped_column(String(500))
    payer_category: Mapped[str | None] = mapped_column(String(64))
    # every category the payer claimed (the best policy among them wins); migration 0015
    payer_categories: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    total_amount: Mapped[int]
    paid_amount: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING)
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    client_id: Mapped[str | None] = mapped_column(String(64))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    vietqr_payload: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    lines: Mapped[list[PaymentLine]] = relationship(
        back_populates="request", order_by="PaymentLine.position", cascade="all, delete-orphan"
    )

    @property
    def remaining_amount(self) -> int:
        return max(self.total_amount - self.paid_amount, 0)


@dataclass
class LockedRequest:
    """A locked request's columns that applying a payment reads and changes, as a plain row:
    the callbacks' hot path writes it back with one statement of its own and needs none of the
    ORM's bookkeeping (``AnyRequest`` is what such code accepts)."""

    id: uuid.UUID
    reference: str
    dossier_code: str
    account_id: str
    total_amount: int
    paid_amount: int
    status: str
    callback_url: str | None
    flags: list[str]
    version: int


AnyRequest = PaymentRequest | LockedRequest
LOCKED_COLUMNS = tuple(f.name for f in fields(LockedRequest))


class PaymentRequestSearch(Base):
    """What the console searches a request by, beside the request (migration 0010): a payment
    updates its request, and this table's trigram index would take new entries on every such
    update if it sat on ``payment_requests``. Triggers write it; the application only reads."""

    __tablename__ = "payment_request_search"
    __table_args__ = (
        # the console's search by any part of dossier code, reference or payer (pg_trgm)
        trigram_index("ix_payment_request_search_text", "dossier_code", "reference", "payer_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the request's (no foreign key: 0010)
    dossier_code: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(19))
    payer_name: Mapped[str] = mapped_column(String(255))


class PaymentLine(Base):
    __tablename__ = "payment_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("amount >= 0 AND normal_amount >= amount", name="amount_within_normal"),
        # the console's reductions total reads only the reduced lines
        Index(
            "ix_payment_lines_reduced",
            "payment_request_id",
            postgresql_where=text("reduction_policy_id IS NOT NULL"),
            sqlite_where=text("reduction_policy_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    payment_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    fee_code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int]
    unit_normal_amount: Mapped[int]
    unit_amount: Mapped[int]
    normal_amount: Mapped[int]
    amount: Mapped[int]
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    reduction_policy_id: Mapped[str | None] = mapped_column(String(64))
    reduction_legal_basis: Mapped[str | None] = mapped_column(String(500))

    request: Mapped[PaymentRequest] = relationship(back_populates="lines")


class IdempotencyRecord(Base):
    """The stored answer to a create call, keyed by the client and its Idempotency-Key."""

    __tablename__ = "idempotency_records"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QrImage(Base):
    """Rendered QR images, cached once per payload (rendering costs milliseconds)."""

    __tablename__ = "qr_images"

    payment_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE"), primary_key=True
    )
    png: Mapped[bytes] = mapped_column(LargeBinary)
    svg: Mapped[str] = mapped_column(Text)
