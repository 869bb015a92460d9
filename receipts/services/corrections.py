"""Corrections: a replacement receipt (thay thế) or an error notice (Mẫu 04/SS-CTĐT)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payments.auth.services import Principal
from payments.clock import utcnow
from payments.config import Settings
from payments.errors import NotFound, ValidationFailed
from payments.outbox.services import emit
from payments.payment_requests.models import PaymentRequest
from payments.uow import UnitOfWork
from receipts.document import (
    ReceiptKind,
)
from receipts.errors import (
    ReceiptAlreadyReplaced,
)
from receipts.models import ReceiptErrorNotice, ReceiptStatus
from receipts.services.issuing import Clock, Draft, issue
from receipts.services.reading import load_receipt, notice_view, receipt_view

NOTICE_TOPIC = "receipt_notice.created"

# --- corrections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplaceReceipt:
    """Issue a replacement (biên lai thay thế) with corrected payer details."""

    receipt_id: str
    reason: str
    payer_name: str | None = None
    payer_address: str | None = None
    payer_id_number: str | None = None


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
    marked replaced. Amounts and lines are the original's (a wrong amount is a refund)."""
    if not any((cmd.payer_name, cmd.payer_address, cmd.payer_id_number)):
        raise ValidationFailed({"payer": ["give at least one corrected field"]})
    with uow:
        original = load_receipt(uow.session, cmd.receipt_id, principal, lock=True)
        if original.status != ReceiptStatus.ISSUED:
            raise ReceiptAlreadyReplaced(f"receipt {original.id} is already {original.status}")
        request = uow.session.get(PaymentRequest, original.payment_request_id)
        if request is None:  # pragma: no cover - foreign key
            raise NotFound("the receipt's payment request is gone")
        draft = Draft(
            request,
            ReceiptKind(original.kind),
            tuple(original.lines),
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
        view = receipt_view(uow.session, replacement, settings)
        uow.commit()
    return view


def record_error_notice(
    cmd: RecordErrorNotice, *, uow: UnitOfWork, settings: Settings, principal: Principal | None
) -> dict[str, Any]:
    """Keep an error notice against an issued receipt; no new number is used."""
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
        )
        uow.session.add(notice)
        uow.session.flush()
        # to the tax authority as well as the payer (TT 91/2026 Điều 20), through the outbox
        emit(uow.session, NOTICE_TOPIC, f"notice:{notice.id}", {"notice_id": notice.id})
        view = notice_view(notice)
        uow.commit()
    return view
