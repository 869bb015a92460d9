"""Record what providers report, exactly once, and move payment requests accordingly.

Every provider path ends in ``record_event``: verify first (the adapter did), then deduplicate on
(provider, provider transaction id), check currency and account, and apply the amount under a row
lock on the request. What a provider sent is kept in the append-only ``provider_messages`` log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payments.transactions.crediting import apply, void
from payments.transactions.finding import resolve
from payments.transactions.models import (
    AttemptStatus,
    PaymentTransaction,
    PosSettlement,
)
from payments.transactions.recording import (
    ApplyResult,
    close_attempt,
    log_message,
    reject,
    repeat,
    rid,
)
from payments.uow import UnitOfWork
from providers.base import EventKind, ProviderEvent, Settlement, TxnStatus

log = structlog.get_logger(__name__)

__all__ = ["ApplyResult", "log_message", "record_event", "record_rejection", "record_settlement"]


def record_rejection(
    uow: UnitOfWork, provider: str, reason: str, payload: Mapping[str, Any]
) -> None:
    """Keep a message that failed verification: logged, stored, changing nothing else."""
    log.warning("callback_rejected", provider=provider, reason=reason)
    with uow:
        log_message(uow.session, provider, "rejected", payload, reason=reason)
        uow.commit()


def record_event(event: ProviderEvent, *, uow: UnitOfWork) -> ApplyResult:
    """Apply one verified provider event exactly once (safe under concurrent deliveries)."""
    for attempt in range(2):
        try:
            with uow:
                result = _record(uow.session, event)
                uow.commit()
        except IntegrityError:
            # a concurrent delivery inserted the same (provider, id) first: the retry sees it
            if attempt:
                raise
            continue
        log.info(
            "provider_event",
            provider=event.provider,
            outcome=result.outcome,
            reason=result.reason,
            request_id=result.payment_request_id,
        )
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _record(session: Session, event: ProviderEvent) -> ApplyResult:
    found = resolve(session, event)
    request, account, flags = found.request, found.account, found.flags
    if found.reason:
        return reject(session, event, request, found.reason)
    existing = found.existing
    if not found.existing_known:
        existing = session.scalar(
            select(PaymentTransaction).where(
                PaymentTransaction.provider == event.provider,
                PaymentTransaction.provider_txn_id == event.provider_txn_id,
            )
        )
    if existing is not None:
        return repeat(session, event, existing, request)
    if event.currency != "VND":
        return reject(session, event, request, "wrong_currency")
    if event.status == TxnStatus.PENDING:
        log_message(
            session,
            event.provider,
            "pending",
            event.raw,
            txn_id=event.provider_txn_id,
            request=request,
        )
        return ApplyResult("pending", rid(request), request.status if request else None)
    if event.status == TxnStatus.FAILED:
        close_attempt(session, event, AttemptStatus.FAILED)
        log_message(
            session,
            event.provider,
            "failed",
            event.raw,
            txn_id=event.provider_txn_id,
            request=request,
        )
        return ApplyResult("failed", rid(request), request.status if request else None)
    if event.kind == EventKind.VOID:
        return void(session, event, request)
    return apply(session, event, request, account, flags)


def record_settlement(settlement: Settlement, *, uow: UnitOfWork) -> ApplyResult:
    """Keep a POS batch close once; reconciliation matches its net credit to the batch."""
    with uow:
        s = uow.session
        exists = s.scalar(
            select(PosSettlement).where(PosSettlement.settlement_key == settlement.provider_txn_id)
        )
        if exists is not None:
            same = exists.net_amount == settlement.net_amount.amount
            log_message(
                s,
                "pos",
                "duplicate" if same else "conflict",
                settlement.raw,
                txn_id=settlement.provider_txn_id,
            )
            uow.commit()
            return ApplyResult("duplicate" if same else "conflict")
        s.add(
            PosSettlement(
                settlement_key=settlement.provider_txn_id,
                terminal_id=settlement.terminal_id,
                merchant_id=settlement.merchant_id,
                batch_no=settlement.batch_no,
                settled_at=settlement.settled_at,
                count=settlement.count,
                gross_amount=settlement.gross_amount.amount,
                fee_amount=settlement.fee_amount.amount,
                net_amount=settlement.net_amount.amount,
                account_id=_batch_account(s, settlement),
            )
        )
        log_message(s, "pos", "settled", settlement.raw, txn_id=settlement.provider_txn_id)
        uow.commit()
    return ApplyResult("settled")


def _batch_account(session: Session, settlement: Settlement) -> str | None:
    return session.scalar(
        select(PaymentTransaction.account_id)
        .where(
            PaymentTransaction.settlement_key == settlement.provider_txn_id,
            PaymentTransaction.account_id.is_not(None),
        )
        .limit(1)
    )
