"""What a corrected amount does to a settled request: an additional request for the money still
due, or the original flagged refund-due. Callers (a replacement receipt) say what changed; the
money is decided here and in the ledger, nowhere else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.catalog.models import BeneficiaryAccount, FeeItem
from payments.clock import utcnow
from payments.config import Settings
from payments.errors import NotFound, UnknownFee, ValidationFailed
from payments.payment_requests.models import (
    IdempotencyRecord,
    PaymentLine,
    PaymentRequest,
)
from payments.payment_requests.services.creating import body_hash, pending_request
from payments.payment_requests.services.payloads import PAYLOAD_BUILDERS
from payments.transactions import ledger
from payments.transactions.ledger import Move

# the idempotency records of requests thuphi raises itself (no API client holds this id)
ADDITIONAL_CLIENT = "thuphi:additional"


@dataclass(frozen=True)
class AdditionalLine:
    """One fee line of the money still due: ``amount`` đồng for ``quantity`` of ``fee_code``."""

    fee_code: str
    quantity: int
    amount: int


def create_additional_request(
    session: Session,
    original_id: uuid.UUID | str,
    lines: tuple[AdditionalLine, ...],
    *,
    key: str,
    settings: Settings,
) -> PaymentRequest:
    """A new pending request for the same dossier, procedure, payer, agency and beneficiary
    account as ``original_id``, with ``lines`` (the difference), its own reference, checkout
    token and VietQR: paid, reconciled and receipted like any request. Once per ``key`` (the
    same correction gives back the same request). Runs in the caller's transaction."""
    record = session.get(IdempotencyRecord, (ADDITIONAL_CLIENT, key))
    if record is not None and record.payment_request_id is not None:
        earlier = session.get(PaymentRequest, record.payment_request_id)
        if earlier is not None:
            return earlier
    original = session.get(PaymentRequest, _uuid(original_id))
    if original is None:
        raise NotFound("no such payment request")
    if not lines or any(line.amount <= 0 or line.quantity <= 0 for line in lines):
        raise ValidationFailed({"lines": ["an additional request is for a positive amount"]})
    fees = {
        fee.code: fee
        for fee in session.scalars(
            select(FeeItem).where(FeeItem.procedure_code == original.procedure_code)
        )
    }
    for line in lines:
        if line.fee_code not in fees:
            raise UnknownFee(
                f"{line.fee_code!r} is not a fee of procedure {original.procedure_code}",
                value=line.fee_code,
            )
    now = utcnow()
    request_id = uuid.uuid4()
    request = pending_request(
        request_id,
        now,
        settings,
        dossier_code=original.dossier_code,
        procedure_code=original.procedure_code,
        agency_code=original.agency_code,
        account_id=original.account_id,
        channel=original.channel,
        submitted_at=now,
        payer_name=original.payer_name,
        payer_id_number=original.payer_id_number,
        payer_phone=original.payer_phone,
        payer_email=original.payer_email,
        payer_address=original.payer_address,
        payer_category=original.payer_category,
        payer_categories=original.payer_categories,
        total_amount=sum(line.amount for line in lines),
        callback_url=original.callback_url,
        client_id=original.client_id,
    )
    request.lines = [
        _line(request_id, pos, fees[line.fee_code], line) for pos, line in enumerate(lines)
    ]
    account = session.get(BeneficiaryAccount, original.account_id)
    if account is None:  # pragma: no cover - foreign key
        raise NotFound("the request's beneficiary account is gone")
    for build in PAYLOAD_BUILDERS:
        request.vietqr_payload = build(request, account)
    session.add(request)
    session.flush()
    session.add(
        IdempotencyRecord(
            client_id=ADDITIONAL_CLIENT,
            key=key,
            request_hash=body_hash({"original": str(original.id), "key": key}),
            payment_request_id=request_id,
            created_at=now,
        )
    )
    session.flush()
    return request


def mark_refund_due(session: Session, request_id: uuid.UUID | str) -> PaymentRequest:
    """Flag a request refund-due (the ledger's MARK_REFUND move): money it collected is owed
    back to the payer. Runs in the caller's transaction."""
    request = session.get(PaymentRequest, _uuid(request_id), with_for_update=True)
    if request is None:
        raise NotFound("no such payment request")
    ledger.settle(request, ledger.decide(Move.MARK_REFUND, ledger.standing(request)).after)
    return request


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _line(request_id: uuid.UUID, position: int, fee: FeeItem, line: AdditionalLine) -> PaymentLine:
    unit = line.amount // line.quantity
    return PaymentLine(
        payment_request_id=request_id,
        position=position,
        fee_code=fee.code,
        name=fee.name,
        kind=fee.kind,
        quantity=line.quantity,
        unit_normal_amount=unit,
        unit_amount=unit,
        normal_amount=line.amount,
        amount=line.amount,
        legal_basis=fee.legal_basis,
        reduction_policy_id=None,
        reduction_legal_basis=None,
    )
