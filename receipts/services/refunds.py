"""Receipts corrected when money is paid back (``POST /payment-requests/{id}/refunds``).

TT 91/2026/TT-BTC Điều 20 knows two corrections of an issued biên lai: a notice (Mẫu 04/SS-CTĐT)
when neither the tax code nor the amount is wrong, and otherwise a replacement (thay thế); it has
no adjusting receipt (điều chỉnh), which Điều 10 k5 keeps for invoices. A refund changes the
amount the agency keeps, so each refund replaces the receipt it touches with one stating what is
kept: the refunded amount comes off its lines (a full refund leaves 0 đồng), with the refund
written on the line and as the reason. Numbering is the series' own (``issuing.issue``).

The refund delivery (topic ``payment_request.refunded``) runs ``correct_for_refunds``: it works
out, from the request's applied money, its receipts and its refunds in order, what each refund
took from each receipt line, and replaces a receipt once per refund (the replacement carries the
refund's transaction id in ``money_consequence``), so running it twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.clock import business_day, utcnow
from payments.config import Settings
from payments.payment_requests.models import PaymentRequest
from payments.payment_requests.services import REFUND_PROVIDER
from payments.transactions.models import PaymentTransaction, TxnState
from receipts.document import ReceiptKind
from receipts.errors import ReceiptsNotYetIssued
from receipts.models import Receipt, ReceiptStatus
from receipts.services.issuing import ISSUABLE, Clock, Draft, issue

REFUNDED = "refunded"  # money_consequence.kind of a replacement a refund caused


@dataclass(frozen=True, slots=True)
class Refund:
    id: int
    amount: int
    day: date
    bank_reference: str


@dataclass
class Chain:
    """An original receipt and its replacements: the one in force, and what refunds took."""

    current: Receipt
    applied: set[int]  # refunds already written on a replacement
    before_refunds: list[int]  # each line's amount with every refund added back


def plan(
    refunds: Iterable[Refund], chains: dict[str, list[int]], unreceipted: int
) -> list[tuple[Refund, dict[str, list[int]]]]:
    """What each refund takes from each receipt line, in order: first money never receipted
    (paid beyond what the receipts state), then the lines of the phí receipt, then lệ phí, each
    in its order. ``chains`` maps a kind to its line amounts before any refund."""
    left_over = unreceipted
    remaining = {kind: list(amounts) for kind, amounts in chains.items()}
    found = []
    for refund in refunds:
        left = refund.amount - min(refund.amount, left_over)
        left_over -= refund.amount - left
        taken: dict[str, list[int]] = {}
        for kind in ReceiptKind:
            for i, amount in enumerate(remaining.get(kind, [])):
                take = min(left, amount)
                if take > 0:
                    taken.setdefault(kind, [0] * len(remaining[kind]))[i] = take
                    remaining[kind][i] -= take
                    left -= take
        found.append((refund, taken))
    return found


def correct_for_refunds(
    session: Session, request_id: str, *, settings: Settings, now: Clock = utcnow
) -> list[Receipt]:
    """Replace the request's receipts each of its refunds touched and no replacement states yet
    (in the caller's transaction, the outbox delivery's). Raises ``ReceiptsNotYetIssued`` while
    a paid request's receipts are still to come."""
    request = session.scalar(
        select(PaymentRequest).where(PaymentRequest.id == uuid.UUID(request_id)).with_for_update()
    )
    if request is None:
        return []
    chains = _chains(session, request)
    if not chains:
        if request.status in ISSUABLE and request.total_amount > 0:
            raise ReceiptsNotYetIssued(f"request {request.id} is paid; its receipts come first")
        return []  # nothing was receipted (refunded before issue, or exempt): nothing to correct
    before = {kind: chain.before_refunds for kind, chain in chains.items()}
    unreceipted = max(0, _applied(session, request.id) - sum(map(sum, before.values())))
    issued = []
    for refund, taken in plan(_refunds(session, request.id), before, unreceipted):
        for kind, amounts in taken.items():
            chain = chains[kind]
            if refund.id not in chain.applied:
                chain.current = _replace(
                    session, request, chain.current, refund, amounts, settings, now
                )
                chain.applied.add(refund.id)
                issued.append(chain.current)
    return issued


def _chains(session: Session, request: PaymentRequest) -> dict[str, Chain]:
    receipts = {
        r.id: r
        for r in session.scalars(select(Receipt).where(Receipt.payment_request_id == request.id))
    }
    found = {}
    for original in receipts.values():
        if original.origin_key is None:
            continue
        current, applied, taken = original, set(), [0] * len(original.lines)
        while current.replaced_by_id is not None and current.replaced_by_id in receipts:
            previous, current = current, receipts[current.replaced_by_id]
            consequence = current.money_consequence or {}
            if consequence.get("kind") == REFUNDED:
                applied.add(int(consequence["refund_transaction_id"]))
                for i, (was, now_) in enumerate(zip(previous.lines, current.lines, strict=False)):
                    taken[i] += int(was["amount"]) - int(now_["amount"])
        lines = [int(x["amount"]) + t for x, t in zip(current.lines, taken, strict=False)]
        found[original.kind] = Chain(current, applied, lines)
    return found


def _applied(session: Session, request_id: uuid.UUID) -> int:
    total = session.scalar(
        select(func.sum(PaymentTransaction.amount)).where(
            PaymentTransaction.payment_request_id == request_id,
            PaymentTransaction.state == TxnState.APPLIED,
        )
    )
    return int(total or 0)


def _refunds(session: Session, request_id: uuid.UUID) -> list[Refund]:
    rows = session.execute(
        select(
            PaymentTransaction.id,
            PaymentTransaction.amount,
            PaymentTransaction.occurred_at,
            PaymentTransaction.provider_txn_id,
        )
        .where(
            PaymentTransaction.payment_request_id == request_id,
            PaymentTransaction.provider == REFUND_PROVIDER,
        )
        .order_by(PaymentTransaction.occurred_at, PaymentTransaction.id)
    )
    return [Refund(int(i), int(a), business_day(at), str(ref)) for i, a, at, ref in rows]


def _replace(
    session: Session,
    request: PaymentRequest,
    current: Receipt,
    refund: Refund,
    taken: list[int],
    settings: Settings,
    now: Clock,
) -> Receipt:
    note = f"Hoàn trả {{}} đồng ngày {refund.day:%d/%m/%Y} (giao dịch {refund.bank_reference})"
    lines = tuple(
        _reduced(line, take, note) for line, take in zip(current.lines, taken, strict=False)
    )
    amount = sum(taken)
    draft = Draft(
        request,
        ReceiptKind(current.kind),
        lines,
        current.payer_name,
        current.payer_id_number,
        current.payer_address,
        current.payment_channel,
        replaces=current,
        reason=note.format(_dong(amount)),
        created_by="thuphi:refund",
    )
    replacement = issue(session, draft, settings=settings, now=now)
    current.status = ReceiptStatus.REPLACED
    current.replaced_by_id = replacement.id
    replacement.money_consequence = {
        "kind": REFUNDED,
        "amount": amount,
        "original_total": current.total_amount,
        "corrected_total": replacement.total_amount,
        "refunded_on": refund.day.isoformat(),
        "refund_transaction_id": refund.id,
        "bank_reference": refund.bank_reference,
        "payment_request_id": str(request.id),
        "reference": request.reference,
    }
    return replacement


def _reduced(line: dict[str, Any], take: int, note: str) -> dict[str, Any]:
    """The line less ``take`` đồng paid back; the refund is written where a reduction's legal
    basis goes, so the printed line explains why it is below the fee."""
    if not take:
        return dict(line)
    reduction = dict(line.get("reduction") or {"policy_id": None})
    basis = "; ".join(filter(None, [reduction.get("legal_basis"), note.format(_dong(take))]))
    return {
        **line,
        "amount": int(line["amount"]) - take,
        "reduction": {**reduction, "legal_basis": basis},
    }


def _dong(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")
