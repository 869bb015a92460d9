"""What every console page shares: the agency scope, channels, and the rows pages show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from payments.catalog.models import BeneficiaryAccount
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaymentTransaction, TxnState
from receipts.models import Receipt
from reconciliation.indicators.engine import CHANNELS as CHANNELS
from reconciliation.indicators.engine import channel_of as channel_of
from reconciliation.models import StatementLine

Scope = Sequence[str] | None  # agency codes; None = every agency (admin)


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def scoped(stmt: SelectT, column: Any, scope: Scope) -> SelectT:
    return stmt if scope is None else stmt.where(column.in_(list(scope)))


def scope_accounts(session: Session, scope: Scope) -> list[str]:
    """The beneficiary accounts of the agencies in scope."""
    return list(
        session.scalars(
            scoped(select(BeneficiaryAccount.id), BeneficiaryAccount.agency_code, scope)
        )
    )


def applied_in(session: Session, scope: Scope, start: datetime, end: datetime) -> tuple[Any, ...]:
    """Conditions for the transactions applied in [start, end) to accounts in scope. Naming the
    accounts lets PostgreSQL walk the (account_id, occurred_at) index instead of a year of
    transactions; an applied transaction always carries its request's account."""
    return (
        PaymentTransaction.account_id.in_(scope_accounts(session, scope)),
        PaymentTransaction.state == TxnState.APPLIED,
        PaymentTransaction.occurred_at >= start,
        PaymentTransaction.occurred_at < end,
    )


def visible_account(session: Session, account_id: str, scope: Scope) -> BeneficiaryAccount | None:
    account = session.get(BeneficiaryAccount, account_id)
    if account is None or (scope is not None and account.agency_code not in scope):
        return None
    return account


def account_row(a: BeneficiaryAccount) -> dict[str, Any]:
    return {
        "id": a.id,
        "agency_code": a.agency_code,
        "bank_bin": a.bank_bin,
        "account_number": a.account_number,
        "account_name": a.account_name,
        "kind": a.kind,
    }


def request_row(r: PaymentRequest) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "dossier_code": r.dossier_code,
        "reference": r.reference,
        "payer_name": r.payer_name,
        "total_amount": r.total_amount,
        "paid_amount": r.paid_amount,
        "status": r.status,
        "created_at": r.created_at,
        "agency_code": r.agency_code,
        "procedure_code": r.procedure_code,
    }


def line_row(ln: StatementLine) -> dict[str, Any]:
    return {
        "id": ln.id,
        "line_no": ln.line_no,
        "booking_date": ln.booking_date,
        "value_date": ln.value_date,
        "amount": ln.amount,
        "description": ln.description,
        "bank_reference": ln.bank_reference,
        "counterparty_name": ln.counterparty_name,
        "balance": ln.balance,
        "reference": ln.reference,
    }


def receipt_row(r: Receipt) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "series": r.series,
        "number": r.number,
        "kind": r.kind,
        "issued_at": r.issued_at,
        "payer_name": r.payer_name,
        "dossier_code": r.dossier_code,
        "total_amount": r.total_amount,
        "status": r.status,
        "tax_authority_status": r.tax_authority_status,
        "agency_code": r.agency_code,
    }
