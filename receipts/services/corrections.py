"""Corrections: a replacement receipt (thay thế) or an error notice (Mẫu 04/SS-CTĐT)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import FeeItem, Procedure
from payments.clock import utcnow
from payments.config import Settings
from payments.errors import NotFound, UnknownFee, ValidationFailed
from payments.outbox.services import emit
from payments.payment_requests.models import PaymentRequest
from payments.payment_requests.services import (
    AdditionalLine,
    create_additional_request,
    mark_refund_due,
)
from payments.uow import UnitOfWork
from receipts.document import (
    ReceiptKind,
)
from receipts.errors import (
    ReceiptAlreadyReplaced,
)
from receipts.models import Receipt, ReceiptErrorNotice, ReceiptStatus
from receipts.services.issuing import Clock, Draft, issue
from receipts.services.reading import load_receipt, notice_view, receipt_view

NOTICE_TOPIC = "receipt_notice.created"
AMOUNT_CORRECTED_TOPIC = "receipt.amount_corrected"

# --- corrections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectedLine:
    fee_code: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class ReplaceReceipt:
    """Issue a replacement (biên lai thay thế) with corrected payer details and/or fee lines."""

    receipt_id: str
    reason: str
    payer_name: str | None = None
    payer_address: str | None = None
    payer_id_number: str | None = None
    lines: tuple[CorrectedLine, ...] | None = None


@dataclass(frozen=True)
class RecordErrorNotice:
    """Mẫu 04/SS-CTĐT: the payer's name or address was wrong; amount and tax code were right."""

    receipt_id: str
    reason: str
    payer_name: str | None = None
    payer_address: str | None = None


def replace_receipt(
    cmd: ReplaceReceipt,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    now: Clock = utcnow,
) -> dict[str, Any]:
    """A new number in the current series that references the original; the original is
    marked replaced (TT 91/2026 Điều 20: a wrong amount, fee or tax code is corrected by a
    replacement). With ``lines`` the replacement carries the corrected fee lines, and its
    ``money_consequence`` says what the difference means: a refund due to the payer or an
    additional payment due; payments acts on it in the same transaction (``act_on_money``: an
    additional request for the difference, or the paid request flagged refund-due) and the
    consequence names that request; it is announced on the outbox (``receipt.amount_corrected``).
    """
    if not any((cmd.payer_name, cmd.payer_address, cmd.payer_id_number, cmd.lines)):
        raise ValidationFailed({"payer": ["give at least one corrected field or the lines"]})
    with uow:
        original = load_receipt(uow.session, cmd.receipt_id, principal, lock=True)
        if original.status != ReceiptStatus.ISSUED:
            raise ReceiptAlreadyReplaced(f"receipt {original.id} is already {original.status}")
        request = uow.session.get(PaymentRequest, original.payment_request_id)
        if request is None:  # pragma: no cover - foreign key
            raise NotFound("the receipt's payment request is gone")
        lines = (
            corrected_lines(uow.session, original, request, cmd.lines)
            if cmd.lines
            else tuple(original.lines)
        )
        draft = Draft(
            request,
            ReceiptKind(original.kind),
            lines,
            cmd.payer_name or original.payer_name,
            cmd.payer_id_number or original.payer_id_number,
            cmd.payer_address or original.payer_address,
            original.payment_channel,
            replaces=original,
            reason=cmd.reason,
            created_by=principal.client_id if principal else None,
        )
        replacement = issue(uow.session, draft, settings=settings, now=now)
        original.status = ReceiptStatus.REPLACED
        original.replaced_by_id = replacement.id
        if cmd.lines:
            consequence = money_consequence(original.total_amount, replacement.total_amount)
            consequence.update(
                act_on_money(uow.session, request, original, replacement, settings, consequence)
            )
            replacement.money_consequence = consequence
            emit(
                uow.session,
                AMOUNT_CORRECTED_TOPIC,
                str(request.id),
                {
                    **consequence,
                    "payment_request_id": str(request.id),
                    "dossier_code": request.dossier_code,
                    "original_receipt_id": str(original.id),
                    "replacement_receipt_id": str(replacement.id),
                    "money_consequence": consequence,
                },
            )
        view = receipt_view(uow.session, replacement, settings)
        uow.commit()
    return view


def corrected_lines(
    session: Session,
    original: Receipt,
    request: PaymentRequest,
    corrected: tuple[CorrectedLine, ...],
) -> tuple[dict[str, Any], ...]:
    """The replacement's lines: each a fee of the request's procedure and of the receipt's
    kind; a line the correction leaves as it was keeps its reduction and legal basis."""
    procedure = session.get(Procedure, request.procedure_code)
    fees = {fee.code: fee for fee in procedure.fees} if procedure else {}
    kept = {(x["fee_code"], x["quantity"], x["amount"]): x for x in original.lines}
    out = []
    for i, line in enumerate(corrected):
        fee = fees.get(line.fee_code)
        if fee is None:
            raise UnknownFee(
                f"{line.fee_code!r} is not a fee of procedure {request.procedure_code}",
                value=line.fee_code,
                errors={f"lines.{i}.fee_code": ["not a fee of this procedure"]},
            )
        if fee.kind != original.kind:
            raise ValidationFailed(
                {f"lines.{i}.fee_code": [f"a {fee.kind} fee goes on a {fee.kind} receipt"]}
            )
        same = kept.get((line.fee_code, line.quantity, line.amount))
        out.append(same or _line(fee, line))
    return tuple(out)


def _line(fee: FeeItem, line: CorrectedLine) -> dict[str, Any]:
    return {
        "fee_code": fee.code,
        "name": fee.name,
        "quantity": line.quantity,
        "normal_amount": line.amount,
        "amount": line.amount,
        "legal_basis": fee.legal_basis,
        "reduction": None,
    }


def money_consequence(original_total: int, corrected_total: int) -> dict[str, Any]:
    """What a corrected total means for the money already collected (no rule applied here)."""
    difference = corrected_total - original_total
    kind = (
        "none" if difference == 0 else "refund_due" if difference < 0 else "additional_payment_due"
    )
    return {
        "kind": kind,
        "amount": abs(difference),
        "original_total": original_total,
        "corrected_total": corrected_total,
    }


def act_on_money(
    session: Session,
    request: PaymentRequest,
    original: Receipt,
    replacement: Receipt,
    settings: Settings,
    consequence: dict[str, Any],
) -> dict[str, Any]:
    """Hand the consequence to payments: more due raises an additional request for the
    difference (once per replacement), less due flags the paid request refund-due. Returns the
    request the consequence concerns."""
    if consequence["kind"] == "additional_payment_due":
        additional = create_additional_request(
            session,
            request.id,
            difference_lines(original.lines, replacement.lines, consequence["amount"]),
            key=f"receipt-replacement:{replacement.id}",
            settings=settings,
        )
        return {"payment_request_id": str(additional.id), "reference": additional.reference}
    if consequence["kind"] == "refund_due":
        mark_refund_due(session, request.id)
        return {"payment_request_id": str(request.id), "reference": request.reference}
    return {}


def difference_lines(
    before: list[dict[str, Any]], after: list[dict[str, Any]], amount: int
) -> tuple[AdditionalLine, ...]:
    """The fee lines of ``amount`` đồng more due, one per fee whose amount rose (by the rise);
    when another fee went down, the net difference on the fee that rose most."""
    old: dict[str, int] = {}
    new: dict[str, int] = {}
    for lines, into in ((before, old), (after, new)):
        for x in lines:
            into[x["fee_code"]] = into.get(x["fee_code"], 0) + x["amount"]
    rises = [
        AdditionalLine(code, 1, total - old.get(code, 0))
        for code, total in new.items()
        if total > old.get(code, 0)
    ]
    if sum(line.amount for line in rises) == amount:
        return tuple(rises)
    top = max(rises, key=lambda line: line.amount)
    return (AdditionalLine(top.fee_code, 1, amount),)


def record_error_notice(
    cmd: RecordErrorNotice,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    now: Clock = utcnow,
) -> dict[str, Any]:
    """Keep an error notice against an issued receipt; no new number is used. The day's
    01/TH-BLĐT then carries the receipt as "information corrected" (receipts.summaries)."""
    if not cmd.payer_name and not cmd.payer_address:
        raise ValidationFailed({"payer": ["a notice corrects the payer's name or address"]})
    with uow:
        receipt = load_receipt(uow.session, cmd.receipt_id, principal, lock=True)
        if receipt.status != ReceiptStatus.ISSUED:
            raise ReceiptAlreadyReplaced("a replaced receipt is corrected by its replacement")
        notice = ReceiptErrorNotice(
            receipt_id=receipt.id,
            correct_payer_name=cmd.payer_name,
            correct_payer_address=cmd.payer_address,
            reason=cmd.reason,
            created_by=principal.client_id if principal else None,
            created_at=now(),
        )
        uow.session.add(notice)
        uow.session.flush()
        # to the tax authority as well as the payer (TT 91/2026 Điều 20), through the outbox
        emit(uow.session, NOTICE_TOPIC, f"notice:{notice.id}", {"notice_id": notice.id})
        view = notice_view(notice)
        uow.commit()
    return view
