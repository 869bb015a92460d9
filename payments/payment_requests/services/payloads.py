"""The VietQR a request carries: its payload, built once at creation."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from payments import vietqr
from payments.catalog.models import BeneficiaryAccount
from payments.catalog.services import (
    AccountSnapshot,
)
from payments.payment_requests.models import (
    PaymentRequest,
)

log = structlog.get_logger(__name__)

# An account as the catalog holds it or as the per-process catalog cache does.
Account = BeneficiaryAccount | AccountSnapshot
# Payload builders per request (VietQR), run once at creation; the last one's answer is stored.
PayloadBuilder = Callable[[PaymentRequest, Account], str]


def qr_account_number(account_number: str) -> str:
    """The account as VietQR field 38.01.01 carries it: treasury numbers such as
    ``3761.0.1234567`` are written with separators that bank apps do not accept."""
    return "".join(ch for ch in account_number if ch.isalnum())


def transfer_payload(account: Account, amount: int, reference: str) -> str:
    """A dynamic VietQR (01=12) for ``amount`` đồng whose memo (62.08) is the reference.

    Empty when no QR can carry the transfer: nothing to pay, an amount at or over the NAPAS
    per-transfer ceiling, or an account the codec refuses (the page then shows the details).
    """
    if amount <= 0:
        return ""
    try:
        return vietqr.encode(
            bank_bin=account.bank_bin,
            account=qr_account_number(account.account_number),
            amount=amount,
            purpose=vietqr.memo_for(reference),
        )
    except vietqr.VietQRError as exc:
        log.warning("vietqr_unavailable", account_id=account.id, reason=str(exc))
        return ""


def request_payload(request: PaymentRequest, account: Account) -> str:
    """The VietQR of a new request: its remaining amount to its beneficiary account."""
    return transfer_payload(account, request.remaining_amount, request.reference)


PAYLOAD_BUILDERS: tuple[PayloadBuilder, ...] = (request_payload,)
