"""Catalog: agencies, beneficiary accounts, receipt series, procedures, fee items, reductions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from payments.clock import utcnow
from payments.db import Base
from payments.fees.engine import FeeSpec, PolicySpec, Tier


class AccountKind(StrEnum):
    TREASURY = "treasury"
    BANK = "bank"


class FeeKind(StrEnum):
    PHI = "phi"  # phí: a charge for a service
    LE_PHI = "le_phi"  # lệ phí: a charge for a state administrative act


class Channel(StrEnum):
    ONLINE = "online"  # nộp trực tuyến toàn trình
    ONLINE_PARTIAL = "online_partial"  # trực tuyến một phần
    COUNTER = "counter"  # tại bộ phận một cửa
    POSTAL = "postal"  # qua bưu chính công ích


class ReductionKind(StrEnum):
    RATE_PERCENT = "rate_percent"  # pay value % of the normal amount
    FIXED = "fixed"  # pay exactly value đồng
    EXEMPT = "exempt"  # pay nothing


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    tax_code: Mapped[str] = mapped_column(String(14))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    accounts: Mapped[list[BeneficiaryAccount]] = relationship(back_populates="agency")


class BeneficiaryAccount(Base):
    __tablename__ = "beneficiary_accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    bank_bin: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(32), index=True)
    account_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))

    agency: Mapped[Agency] = relationship(back_populates="accounts")


class ReceiptSeries(Base):
    __tablename__ = "receipt_series"
    __table_args__ = (UniqueConstraint("agency_code", "template", "series"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    template: Mapped[str] = mapped_column(String(16))
    series: Mapped[str] = mapped_column(String(8))


class Procedure(Base):
    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("beneficiary_accounts.id"))
    # the national portal's service code (MaDVC); unset: "<code>.01" as public clients send
    dvc_code: Mapped[str | None] = mapped_column(String(64))

    agency: Mapped[Agency] = relationship()
    account: Mapped[BeneficiaryAccount] = relationship()
    fees: Mapped[list[FeeItem]] = relationship(
        back_populates="procedure", order_by="FeeItem.position", cascade="all, delete-orphan"
    )


class FeeItem(Base):
    __tablename__ = "fee_items"
    __table_args__ = (
        UniqueConstraint("procedure_code", "code"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int]
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    # DESIGN §4.3: [{"from", "to", "amount", "per"}] and a cap per line (migration 0015)
    tiers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    cap: Mapped[int | None] = mapped_column(nullable=True)
    # DESIGN §4.3 ``budget`` (retained share, transfers, chương, tiểu mục, remit rule; 0016)
    budget: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    procedure: Mapped[Procedure] = relationship(back_populates="fees")

    def to_spec(self) -> FeeSpec:
        # the amount column is the first tier's price: one place to change the base
        tiers = tuple(
            Tier(
                t["from"], t.get("to"), self.amount if i == 0 else t["amount"], t.get("per", "unit")
            )
            for i, t in enumerate(self.tiers or ())
        )
        return FeeSpec(
            self.code, self.name, self.kind, self.amount, self.legal_basis, tiers, self.cap
        )


class ReductionPolicy(Base):
    __tablename__ = "reduction_policies"
    __table_args__ = (CheckConstraint("value >= 0", name="value_not_negative"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fees: Mapped[list[str]] = mapped_column(JSON)
    channels: Mapped[list[str]] = mapped_column(JSON)
    payer_categories: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    # percent for rate_percent (may have decimals, it is not money), đồng for fixed
    value: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    legal_basis: Mapped[str] = mapped_column(String(500))

    def to_spec(self) -> PolicySpec:
        return PolicySpec(
            id=self.id,
            fees=frozenset(self.fees),
            channels=frozenset(self.channels),
            payer_categories=frozenset(self.payer_categories) if self.payer_categories else None,
            kind=self.kind,
            value=self.value,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            legal_basis=self.legal_basis,
        )


class PayerCategory(Base):
    """A payer category a reduction policy and a payer may name (catalog ``payer_categories``)."""

    __tablename__ = "payer_categories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    legal_basis: Mapped[str] = mapped_column(String(500), default="")


class CatalogState(Base):
    """One row whose token changes whenever a catalog table does (database triggers, migration
    0007): processes cache what quotes need and ask only for this token."""

    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(36))
