"""Receipts as officers search them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select

from payments.uow import UnitOfWork
from receipts.models import Receipt
from reconciliation.console.services.common import Scope, receipt_row, scoped


@dataclass(frozen=True)
class ReceiptFilter:
    text: str = ""
    status: str = ""
    tax_status: str = ""
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 100


def search_receipts(f: ReceiptFilter, scope: Scope, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Receipts by dossier code, payer, reference or number; status; kind; issue day."""
    stmt = scoped(select(Receipt), Receipt.agency_code, scope)
    text = f.text.strip()
    if text:
        like = f"%{text}%"
        match = or_(
            Receipt.dossier_code.ilike(like),
            Receipt.payer_name.ilike(like),
            Receipt.payment_reference.ilike(like),
        )
        if text.isdigit():
            match = or_(match, Receipt.number == int(text))
        stmt = stmt.where(match)
    if f.status:
        stmt = stmt.where(Receipt.status == f.status)
    if f.tax_status:
        stmt = stmt.where(Receipt.tax_authority_status == f.tax_status)
    if f.kind:
        stmt = stmt.where(Receipt.kind == f.kind)
    if f.date_from:
        stmt = stmt.where(Receipt.issued_on >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Receipt.issued_on <= f.date_to)
    stmt = stmt.order_by(Receipt.issued_at.desc(), Receipt.number.desc()).limit(f.limit)
    with uow:
        return [receipt_row(r) for r in uow.session.scalars(stmt)]
