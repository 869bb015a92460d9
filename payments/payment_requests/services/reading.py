"""Read payment requests: one, a dossier's, and their JSON with what other packages add."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments import vietqr
from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount
from payments.config import Settings
from payments.errors import (
    NotFound,
)
from payments.payment_requests.models import (
    PaymentLine,
    PaymentRequest,
)
from payments.payment_requests.services.payloads import Account
from payments.transactions.models import PaymentTransaction
from payments.uow import UnitOfWork

# Extensions add to a request's JSON what other packages own (receipts), so that payments never
# imports them; the wiring puts them in the container (``Container.view_extensions``) and views
# pass them on.
ViewExtension = Callable[[Session, list[PaymentRequest], list[dict[str, Any]]], None]


def load_request(session: Session, request_id: str, principal: Principal | None) -> PaymentRequest:
    try:
        key = uuid.UUID(request_id)
    except ValueError:
        raise NotFound("no such payment request") from None
    request = session.get(PaymentRequest, key)
    if request is None or (principal is not None and not principal.may_see(request.agency_code)):
        raise NotFound("no such payment request")
    return request


def get_payment_request(
    request_id: str,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    extensions: Sequence[ViewExtension] = (),
) -> dict[str, Any]:
    with uow:
        request = load_request(uow.session, request_id, principal)
        return present(uow.session, [request], settings, extensions=extensions)[0]


def list_payment_requests(
    dossier_code: str,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    extensions: Sequence[ViewExtension] = (),
) -> list[dict[str, Any]]:
    with uow:
        stmt = select(PaymentRequest).where(PaymentRequest.dossier_code == dossier_code)
        if principal is not None and principal.agencies is not None:
            stmt = stmt.where(PaymentRequest.agency_code.in_(principal.agencies))
        rows = list(uow.session.scalars(stmt.order_by(PaymentRequest.created_at)))
        return present(uow.session, rows, settings, extensions=extensions)


def present(
    session: Session,
    requests: list[PaymentRequest],
    settings: Settings,
    *,
    extensions: Sequence[ViewExtension] = (),
    accounts: Mapping[str, Account] | None = None,
    created: bool = False,
) -> list[dict[str, Any]]:
    """The JSON of requests, with whatever ``extensions`` add.

    ``accounts`` (by id) spares the query for accounts the caller holds already; ``created``
    says the requests were inserted in this transaction, so no transaction, receipt or other
    row can refer to them yet.
    """
    if accounts is None:
        accounts = {
            a.id: a
            for a in session.scalars(
                select(BeneficiaryAccount).where(
                    BeneficiaryAccount.id.in_({r.account_id for r in requests})
                )
            )
        }
    views = [_view(r, accounts[r.account_id], settings) for r in requests]
    if created:
        # nothing refers to a request inserted in this very transaction: what other packages
        # add (receipts) comes from outbox deliveries after it commits
        return views
    _add_transactions(session, requests, views)
    for extend in extensions:
        extend(session, requests, views)
    return views


def _add_transactions(
    session: Session, requests: list[PaymentRequest], views: list[dict[str, Any]]
) -> None:
    by_id = {str(r.id): v for r, v in zip(requests, views, strict=True)}
    rows = session.scalars(
        select(PaymentTransaction)
        .where(PaymentTransaction.payment_request_id.in_([r.id for r in requests]))
        .order_by(PaymentTransaction.occurred_at, PaymentTransaction.id)
    )
    for t in rows:
        by_id[str(t.payment_request_id)]["transactions"].append(
            {
                "id": t.id,
                "provider": t.provider,
                "provider_txn_id": t.provider_txn_id,
                "kind": t.kind,
                "state": t.state,
                "amount": t.amount,
                "currency": t.currency,
                "occurred_at": t.occurred_at,
                "flags": list(t.flags or []),
            }
        )


def _view(r: PaymentRequest, account: Any, settings: Settings) -> dict[str, Any]:
    base = settings.public_url.rstrip("/")
    return {
        "id": str(r.id),
        "reference": r.reference,
        "status": r.status,
        "dossier_code": r.dossier_code,
        "procedure_code": r.procedure_code,
        "agency_code": r.agency_code,
        "channel": r.channel,
        "submitted_at": r.submitted_at,
        "payer": {
            "name": r.payer_name,
            "id_number": r.payer_id_number,
            "phone": r.payer_phone,
            "email": r.payer_email,
            "address": r.payer_address,
            "category": r.payer_category,
            "categories": r.payer_categories or ([r.payer_category] if r.payer_category else []),
        },
        "lines": [_line_view(line) for line in r.lines],
        "total_amount": r.total_amount,
        "paid_amount": r.paid_amount,
        "remaining_amount": r.remaining_amount,
        "beneficiary": {
            "bank_bin": account.bank_bin,
            "bank_name": vietqr.bank_name(account.bank_bin),
            "account_number": account.account_number,
            "account_name": account.account_name,
        },
        "vietqr": {
            "payload": r.vietqr_payload,
            "png_url": f"{base}/pay/{r.checkout_token}/qr.png",
            "svg_url": f"{base}/pay/{r.checkout_token}/qr.svg",
        },
        "checkout_url": f"{base}/pay/{r.checkout_token}",
        "callback_url": r.callback_url,
        "flags": list(r.flags or []),
        "expires_at": r.expires_at,
        "created_at": r.created_at,
        "transactions": [],
        "receipts": [],
    }


def _line_view(line: PaymentLine) -> dict[str, Any]:
    reduction = None
    if line.reduction_policy_id:
        reduction = {
            "policy_id": line.reduction_policy_id,
            "legal_basis": line.reduction_legal_basis,
        }
    return {
        "fee_code": line.fee_code,
        "name": line.name,
        "kind": line.kind,
        "quantity": line.quantity,
        "unit_normal_amount": line.unit_normal_amount,
        "unit_amount": line.unit_amount,
        "normal_amount": line.normal_amount,
        "amount": line.amount,
        "legal_basis": line.legal_basis,
        "reduction": reduction,
    }
