"""Payment requests as officers find them: search, the picker that links money, one request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select

from payments.catalog.models import Agency, Procedure
from payments.clock import day_bounds
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest, PaymentRequestSearch
from payments.transactions.models import PaymentTransaction, ProviderMessage
from payments.uow import UnitOfWork
from receipts.models import Receipt
from reconciliation.console.services.common import Scope, receipt_row, request_row, scoped


@dataclass(frozen=True)
class RequestFilter:
    text: str = ""
    amount: int | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 50
    offset: int = 0


def _text_matches(text: str) -> Any:
    """Requests whose dossier code, payment reference or payer name contains ``text``."""
    like = f"%{text}%"
    found = select(PaymentRequestSearch.id).where(
        or_(
            PaymentRequestSearch.dossier_code.ilike(like),
            PaymentRequestSearch.reference.ilike(like),
            PaymentRequestSearch.payer_name.ilike(like),
        )
    )
    return PaymentRequest.id.in_(found)


def search_requests(f: RequestFilter, scope: Scope, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Requests by dossier code, reference, payer, amount and date, newest first."""
    stmt = scoped(select(PaymentRequest), PaymentRequest.agency_code, scope)
    if f.text:
        stmt = stmt.where(_text_matches(f.text.strip()))
    if f.amount is not None:
        stmt = stmt.where(PaymentRequest.total_amount == f.amount)
    if f.status:
        stmt = stmt.where(PaymentRequest.status == f.status)
    if f.date_from:
        stmt = stmt.where(PaymentRequest.created_at >= day_bounds(f.date_from)[0])
    if f.date_to:
        stmt = stmt.where(PaymentRequest.created_at < day_bounds(f.date_to)[1])
    stmt = stmt.order_by(PaymentRequest.created_at.desc()).limit(f.limit).offset(f.offset)
    with uow:
        return [request_row(r) for r in uow.session.scalars(stmt)]


def request_detail(request_id: str, scope: Scope, *, uow: UnitOfWork) -> dict[str, Any] | None:
    """One request with its lines, transactions and provider messages; None if not visible."""
    try:
        key = uuid.UUID(request_id)
    except ValueError:
        return None
    with uow:
        s = uow.session
        r = s.get(PaymentRequest, key)
        if r is None or (scope is not None and r.agency_code not in scope):
            return None
        procedure = s.get(Procedure, r.procedure_code)
        agency = s.get(Agency, r.agency_code)
        txns = s.scalars(
            select(PaymentTransaction)
            .where(PaymentTransaction.payment_request_id == r.id)
            .order_by(PaymentTransaction.id)
        )
        messages = s.scalars(
            select(ProviderMessage)
            .where(and_(ProviderMessage.payment_request_id == r.id))
            .order_by(ProviderMessage.id)
        )
        receipts = s.scalars(
            select(Receipt)
            .where(Receipt.payment_request_id == r.id)
            .order_by(Receipt.issued_at, Receipt.number)
        )
        return {
            **request_row(r),
            "procedure_name": procedure.name if procedure else r.procedure_code,
            "agency_name": agency.name if agency else r.agency_code,
            "channel": r.channel,
            "expires_at": r.expires_at,
            "flags": list(r.flags or []),
            "lines": [
                {
                    "fee_code": ln.fee_code,
                    "name": ln.name,
                    "quantity": ln.quantity,
                    "normal_amount": ln.normal_amount,
                    "amount": ln.amount,
                    "reduction": ln.reduction_legal_basis,
                }
                for ln in r.lines
            ],
            "transactions": [
                {
                    "provider": t.provider,
                    "provider_txn_id": t.provider_txn_id,
                    "kind": t.kind,
                    "state": t.state,
                    "amount": t.amount,
                    "occurred_at": t.occurred_at,
                    "flags": list(t.flags or []),
                }
                for t in txns
            ],
            "messages": [
                {
                    "provider": m.provider,
                    "outcome": m.outcome,
                    "reason": m.reason,
                    "received_at": m.received_at,
                }
                for m in messages
            ],
            "receipts": [receipt_row(rc) for rc in receipts],
        }


def requests_by_id(ids: set[str], scope: Scope, *, uow: UnitOfWork) -> dict[str, dict[str, Any]]:
    """Summaries of the named requests the user may see (others are left out)."""
    keys = []
    for rid in ids:
        try:
            keys.append(uuid.UUID(rid))
        except ValueError:
            continue
    if not keys:
        return {}
    stmt = scoped(
        select(PaymentRequest).where(PaymentRequest.id.in_(keys)),
        PaymentRequest.agency_code,
        scope,
    )
    with uow:
        return {str(r.id): request_row(r) for r in uow.session.scalars(stmt)}


PICK_LIMIT = 20


def pick_requests(
    text: str, account_id: str, scope: Scope, *, uow: UnitOfWork, amount: int | None = None
) -> list[dict[str, Any]]:
    """Requests of ``account_id`` an officer may link money to, found by dossier code, payment
    reference, payer name or amount (open ones first, then newest)."""
    text = text.strip()
    digits = text.replace(".", "").replace(",", "").replace(" ", "").removesuffix("đ")
    stmt = scoped(
        select(PaymentRequest).where(PaymentRequest.account_id == account_id),
        PaymentRequest.agency_code,
        scope,
    )
    if digits.isdigit() and len(digits) < 13:  # an amount, not a reference
        stmt = stmt.where(PaymentRequest.total_amount == int(digits))
    elif text:
        stmt = stmt.where(_text_matches(text))
    elif amount is not None:
        stmt = stmt.where(PaymentRequest.total_amount == amount)
    else:
        return []
    first = PaymentRequest.status.in_(OPEN_STATUSES).desc()
    stmt = stmt.order_by(first, PaymentRequest.created_at.desc()).limit(PICK_LIMIT)
    with uow:
        return [request_row(r) for r in uow.session.scalars(stmt)]


def find_request_id(text: str, account_id: str, scope: Scope, *, uow: UnitOfWork) -> str | None:
    """The id of the one request of ``account_id`` whose id, dossier code or reference is
    exactly ``text``; None when there is none or more than one."""
    text = text.strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    stmt = scoped(
        select(PaymentRequest.id).where(
            PaymentRequest.account_id == account_id,
            or_(PaymentRequest.dossier_code == text, PaymentRequest.reference == text.upper()),
        ),
        PaymentRequest.agency_code,
        scope,
    ).limit(2)
    with uow:
        found = list(uow.session.scalars(stmt))
    return str(found[0]) if len(found) == 1 else None
