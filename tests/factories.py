"""Factories the tests share, each with overridable defaults from the demo catalog (STYLE 19, 24).

Payment requests come three ways, as the tests need them:
- ``payment_request_body`` / ``post_payment_request``: through the API, as a dossier system
  sends it;
- ``make_payment_request``: through the service, priced from the catalog, returning its JSON;
- ``payment_request_row``: a bare row with any amount and status, for tests of what comes after.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import requests

from payments.auth.services import Principal
from payments.clock import VN_TZ, utcnow
from payments.config import Settings
from payments.container import Container
from payments.money import Money
from payments.payment_requests.models import PaymentRequest
from payments.payment_requests.services import CreatePaymentRequest, Payer, create_payment_request
from payments.reference import new_reference
from payments.transactions.services import record_event
from providers.base import EventKind, ProviderEvent, TxnStatus
from receipts.document import ReceiptDocument, ReceiptKind, ReceiptLine
from receipts.models import Receipt, ReceiptStatus

# the demo catalog: Sở Tư pháp's criminal-record extract (1.001234), 200,000 đồng to stp-kbnn
PROCEDURE = "1.001234"
AGENCY = "000.00.12.H40"
ACCOUNT = "stp-kbnn"
PAYER = "Nguyễn Văn An"
WRITER = Principal("test-factories", frozenset({"payments:write", "payments:read"}), None)


def dossier_code(prefix: str = "H40.12") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def payment_request_body(**overrides: Any) -> dict[str, Any]:
    """A valid create body for the criminal-record extract."""
    body: dict[str, Any] = {
        "dossier_code": dossier_code(),
        "procedure_code": PROCEDURE,
        "channel": "online",
        "payer": {"name": PAYER, "id_number": "040201001234", "phone": "0912345678"},
    }
    body.update(overrides)
    return body


def post_payment_request(session: requests.Session, **overrides: Any) -> dict[str, Any]:
    """Create a request through the API (``session.base_url``, a token with payments:write),
    under a fresh Idempotency-Key; returns its JSON."""
    resp = session.post(
        f"{session.base_url}/api/v1/payment-requests",  # type: ignore[attr-defined]
        json=payment_request_body(**overrides),
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def make_payment_request(
    container: Container,
    *,
    settings: Settings | None = None,
    principal: Principal = WRITER,
    **overrides: Any,
) -> dict[str, Any]:
    """Create a request through the service (any ``CreatePaymentRequest`` field overridable);
    returns its JSON."""
    fields: dict[str, Any] = {
        "dossier_code": dossier_code(),
        "procedure_code": PROCEDURE,
        "channel": "online",
        "payer": Payer(PAYER),
        "idempotency_key": uuid.uuid4().hex,
    }
    view, created = create_payment_request(
        CreatePaymentRequest(**(fields | overrides)),
        uow=container.uow(),
        settings=settings or container.settings,
        principal=principal,
    )
    assert created or "idempotency_key" in overrides  # a fresh key creates
    return view


def payment_request_row(**overrides: Any) -> PaymentRequest:
    """A pending request of any amount (not priced, not yet added to a session), created on
    2 November 2026 unless ``created_at`` says otherwise."""
    created: datetime = overrides.pop("created_at", datetime(2026, 11, 2, 2, tzinfo=UTC))
    fields: dict[str, Any] = {
        "reference": new_reference(),
        "checkout_token": uuid.uuid4().hex,
        "dossier_code": dossier_code("H40"),
        "procedure_code": PROCEDURE,
        "agency_code": AGENCY,
        "account_id": ACCOUNT,
        "channel": "online",
        "submitted_at": created,
        "quote_date": created.date(),
        "payer_name": PAYER,
        "total_amount": 200_000,
        "expires_at": created + timedelta(days=3),
        "created_at": created,
    }
    return PaymentRequest(**(fields | overrides))


def bank_transfer(
    request: dict[str, Any], amount: int | None = None, **overrides: Any
) -> ProviderEvent:
    """A verified bank transfer to a request (its JSON), for its total unless ``amount``, as the
    bank's notification callback reports it."""
    fields: dict[str, Any] = {
        "provider": "bank",
        "provider_txn_id": f"FT{uuid.uuid4().hex[:12].upper()}",
        "reference": request["reference"],
        "amount": Money(request["total_amount"] if amount is None else amount),
        "currency": "VND",
        "status": TxnStatus.PAID,
        "occurred_at": utcnow(),
        "kind": EventKind.TRANSFER_IN,
    }
    return ProviderEvent(**(fields | overrides))


def token_of(request: dict[str, Any]) -> str:
    """The checkout token of a request's JSON (the last part of its checkout URL)."""
    return str(request["checkout_url"]).rsplit("/pay/", 1)[1]


def make_receipt_line(**overrides: Any) -> ReceiptLine:
    fields: dict[str, Any] = {
        "fee_code": "LLTP",
        "name": "Phí cung cấp thông tin lý lịch tư pháp",
        "quantity": 1,
        "normal_amount": Money(200_000),
        "amount": Money(115_000),
        "reduction_legal_basis": "Thông tư 63/2023/TT-BTC",
        "legal_basis": "Thông tư 16/2025/TT-BTC",
    }
    return ReceiptLine(**(fields | overrides))


def make_receipt_document(**overrides: Any) -> ReceiptDocument:
    """A phí receipt of Sở Tư pháp; its total is the sum of its ``lines`` unless overridden."""
    lines = overrides.pop("lines", (make_receipt_line(),))
    fields: dict[str, Any] = {
        "agency_code": AGENCY,
        "agency_name": "Sở Tư pháp tỉnh Hà Tĩnh",
        "agency_tax_code": "3000123456",
        "series": "26TAB",
        "number": 1,
        "issued_at": datetime(2026, 11, 23, 2, 30, tzinfo=UTC),
        "kind": ReceiptKind.PHI,
        "payer_name": "Nguyễn Thị Hồng Nhung",
        "payer_id_number": "042190001234",
        "payer_address": "Phường Trần Phú, Hà Tĩnh",
        "dossier_code": "000.00.12.H40-261123-0001",
        "procedure_code": PROCEDURE,
        "procedure_name": "Cấp Phiếu lý lịch tư pháp",
        "payment_channel": "vietqr",
        "payment_reference": "TP7K3M9Q2X",
        "lines": lines,
        "total_amount": Money.sum([line.amount for line in lines]),
        "verification_url": "https://thuphi.example.vn/receipts/verify/abc",
    }
    return ReceiptDocument(**(fields | overrides))


def pay(
    container: Container, request: dict[str, Any], amount: int | None = None, txn_id: str = ""
) -> str:
    """A verified bank transfer of ``amount`` (default: the total) for the request, recorded as
    the bank's notification callback records it; returns the request's status after it."""
    overrides: dict[str, Any] = {
        "account_number": request["beneficiary"]["account_number"],
        "details": {"content": f"{request['reference']} chuyen tien"},
    }
    if txn_id:
        overrides["provider_txn_id"] = txn_id
    result = record_event(bank_transfer(request, amount, **overrides), uow=container.uow())
    assert result.outcome == "applied", result
    return str(result.status)


# --- receipts as the issuer stores them, for the budget (remitting) tests ----------------------

STP, CA = "000.00.12.H40", "000.00.30.H40"
CENTRE = "Trung tâm Lý lịch tư pháp quốc gia"
Api = Callable[..., requests.Session]
Line = tuple[str, str, int, date]  # agency, fee, amount, day


class Collections:
    """Receipts stored as the issuer stores them (one request per agency holds them all)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.number = 10_000  # clear of the numbers the issuer takes from its counter
        with container.uow() as uow:
            stp = payment_request_row()
            ca = payment_request_row(
                agency_code=CA, account_id="ca-kbnn", procedure_code="1.012345"
            )
            uow.session.add_all([stp, ca])
            uow.commit()
            self.requests = {STP: stp.id, CA: ca.id}

    def receipt(
        self,
        agency: str,
        fee: str,
        kind: str,
        amount: int,
        day: date,
        *,
        replaces: Receipt | None = None,
    ) -> Receipt:
        self.number += 1
        # late in the Vietnamese evening: still ``day`` there, already the day before in UTC
        issued_at = datetime.combine(day, time(23, 30), VN_TZ).astimezone(UTC)
        receipt = Receipt(
            payment_request_id=self.requests[agency],
            agency_code=agency,
            template="EBL01",
            series="26TAB" if agency == STP else "26TCA",
            number=self.number,
            kind=kind,
            issued_at=issued_at,
            issued_on=day,
            payer_name="Nguyễn Văn An",
            dossier_code=f"H40-{self.number}",
            procedure_code="1.001234" if agency == STP else "1.012345",
            procedure_name="thủ tục",
            lines=[{"fee_code": fee, "name": fee, "quantity": 1, "amount": amount}],
            total_amount=amount,
            amount_in_words="…",
            payment_channel="bank_transfer",
            payment_reference=f"REF{self.number}",
            verification_token=uuid.uuid4().hex,
            signed_xml=b"<x/>",
            replaces_id=replaces.id if replaces else None,
        )
        with self.container.uow() as uow:
            uow.session.add(receipt)
            if replaces is not None:
                original = uow.session.get(Receipt, replaces.id)
                assert original is not None
                original.status = ReceiptStatus.REPLACED
                original.replaced_by_id = receipt.id
            uow.commit()
        return receipt

    def month(self, seed: int, year: int = 2026, month: int = 11) -> list[Line]:
        rng, lines = random.Random(seed), []
        day = date(year, month, 1)
        while day.month == month:
            for _ in range(rng.randrange(0, 6)):
                lltp = rng.choice([200_000, 100_000, 205_000, rng.randrange(1, 400_000)])
                self.receipt(STP, "LLTP", "phi", lltp, day)
                gplx = rng.choice([135_000, rng.randrange(1, 200_000)])
                self.receipt(CA, "GPLX", "le_phi", gplx, day)
                lines += [(STP, "LLTP", lltp, day), (CA, "GPLX", gplx, day)]
            day += timedelta(days=1)
        return lines
