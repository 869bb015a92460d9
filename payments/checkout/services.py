"""Checkout: the page a citizen opens from a payment link, its QR images and its status.

Everything is found by the request's unguessable ``checkout_token``, never by its id. QR images
are rendered once per request and kept in ``qr_images``: a render costs milliseconds, a page view
must not pay it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from payments import vietqr
from payments.catalog.models import Agency, BeneficiaryAccount, Procedure, ReductionPolicy
from payments.checkout.bankapps import BankApp, bank_apps
from payments.clock import VN_TZ, as_utc, utcnow
from payments.config import Settings
from payments.errors import NotFound
from payments.payment_requests import state
from payments.payment_requests.models import (
    OPEN_STATUSES,
    PaymentLine,
    PaymentRequest,
    QrImage,
)
from payments.payment_requests.services import (
    ViewExtension,
    present,
    qr_account_number,
    transfer_payload,
)
from payments.transactions.models import AttemptStatus, PaygovAttempt
from payments.uow import UnitOfWork
from payments.vietqr.images import render_both, render_png, render_svg

ImageFormat = Literal["png", "svg"]
MIMETYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
STATUS_LABELS = state.CITIZEN_WORDS
KIND_LABELS = {"phi": "Phí", "le_phi": "Lệ phí"}
SUPERSEDED_RECEIPTS = frozenset({"replaced", "cancelled"})
# payer categories in words (Vietnamese, English), for the checkout and the console; an unknown
# code is not shown
PAYER_CATEGORIES: dict[str, tuple[str, str]] = {
    "student": ("Học sinh, sinh viên", "Student"),
    "meritorious": ("Người có công với cách mạng", "Person of merit"),
    "poor_household": ("Hộ nghèo", "Poor household"),
    "near_poor_household": ("Hộ cận nghèo", "Near-poor household"),
    "disabled": ("Người khuyết tật", "Person with a disability"),
    "elderly": ("Người cao tuổi", "Elderly person"),
    "ethnic_minority": ("Người dân tộc thiểu số", "Ethnic minority"),
}


@dataclass(frozen=True)
class FeeLine:
    name: str
    kind: str
    quantity: int
    normal_amount: int
    amount: int
    legal_basis: str
    reduction_legal_basis: str | None
    # why the payer qualifies, in words ("Học sinh, sinh viên"), for a reduction by category
    reduction_category: str | None = None

    @property
    def reduced(self) -> bool:
        return self.amount < self.normal_amount


@dataclass(frozen=True)
class ReceiptLink:
    """A receipt's public page and its downloads, all by its unguessable verification token."""

    label: str
    url: str
    pdf_url: str
    xml_url: str


@dataclass(frozen=True)
class CheckoutPage:
    """What the checkout page shows; ``status`` already counts a passed expiry as expired."""

    token: str
    status: str
    reference: str
    dossier_code: str
    agency_name: str
    procedure_code: str
    procedure_name: str
    payer_name: str
    lines: tuple[FeeLine, ...]
    total_amount: int
    paid_amount: int
    remaining_amount: int
    bank_name: str
    bank_short_name: str
    account_number: str
    account_number_plain: str
    account_name: str
    has_qr: bool
    qr_version: str
    expires_at: datetime
    receipts: tuple[ReceiptLink, ...]
    paygov: bool
    demo: bool
    payer_category: str | None = None
    portal_failed: bool = False
    bank_apps: tuple[BankApp, ...] = ()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_paid(self) -> bool:
        return self.status in state.PAID_SHOWN

    @property
    def overpaid_amount(self) -> int:
        return max(self.paid_amount - self.total_amount, 0)


@dataclass(frozen=True)
class QrImageView:
    content: bytes
    mimetype: str
    etag: str


# Built once: these run on every view and every poll, and building a statement costs more than
# running it. Each takes the checkout token as ``token``.
_BY_TOKEN = PaymentRequest.checkout_token == bindparam("token")
_PAGE = (
    select(PaymentRequest, BeneficiaryAccount, Agency.name, Procedure.name)
    .join(BeneficiaryAccount, BeneficiaryAccount.id == PaymentRequest.account_id)
    .join(Agency, Agency.code == PaymentRequest.agency_code)
    .join(Procedure, Procedure.code == PaymentRequest.procedure_code)
    .where(_BY_TOKEN)
)
_LINES = (
    select(PaymentLine)
    .where(PaymentLine.payment_request_id == bindparam("id"))
    .order_by(PaymentLine.position)
)
_STATUS = select(
    PaymentRequest.status,
    PaymentRequest.total_amount,
    PaymentRequest.paid_amount,
    PaymentRequest.expires_at,
).where(_BY_TOKEN)
_QR = {
    fmt: select(
        PaymentRequest.id,
        PaymentRequest.status,
        PaymentRequest.vietqr_payload,
        PaymentRequest.expires_at,
        column,
    )
    .outerjoin(QrImage, QrImage.payment_request_id == PaymentRequest.id)
    .where(_BY_TOKEN)
    for fmt, column in (("png", QrImage.png), ("svg", QrImage.svg))
}


def display_status(status: str, expires_at: datetime, now: datetime) -> str:
    """The status a citizen must see: a pending request past its expiry is expired already,
    even before the periodic job has written it."""
    return state.as_of(status, as_utc(expires_at), now)


def _known(token: str) -> str:
    # tokens are 32 characters; anything far off is not worth a query
    if not 16 <= len(token) <= 64:
        raise NotFound("no payment with this link")
    return token


def checkout_page(
    token: str,
    *,
    uow: UnitOfWork,
    settings: Settings,
    extensions: Sequence[ViewExtension] = (),
    now: datetime | None = None,
) -> CheckoutPage:
    """Everything the checkout page of ``token`` shows (NotFound for an unknown token); its
    receipts are what ``extensions`` add to the request's JSON."""
    moment = now or utcnow()
    with uow:
        row = uow.session.execute(_PAGE, {"token": _known(token)}).one_or_none()
        if row is None:
            raise NotFound("no payment with this link")
        request, account, agency_name, procedure_name = row
        status = display_status(request.status, request.expires_at, moment)
        paid = status in state.PAID_SHOWN
        category = PAYER_CATEGORIES.get(request.payer_category or "", (None, None))[0]
        lines = tuple(uow.session.scalars(_LINES, {"id": request.id}))
        by_category = _category_policies(uow.session, lines)
        has_qr = status in OPEN_STATUSES and bool(_payload(request, account))
        plain_account = qr_account_number(account.account_number)
        return CheckoutPage(
            token=request.checkout_token,
            status=status,
            reference=request.reference,
            dossier_code=request.dossier_code,
            agency_name=agency_name,
            procedure_code=request.procedure_code,
            procedure_name=procedure_name,
            payer_name=request.payer_name,
            lines=tuple(
                _fee_line(line, category if line.reduction_policy_id in by_category else None)
                for line in lines
            ),
            total_amount=request.total_amount,
            paid_amount=request.paid_amount,
            remaining_amount=request.remaining_amount,
            bank_name=vietqr.bank_name(account.bank_bin) or f"Ngân hàng BIN {account.bank_bin}",
            bank_short_name=vietqr.short_name(account.bank_bin) or "",
            account_number=account.account_number,
            account_number_plain=plain_account,
            account_name=account.account_name,
            has_qr=has_qr,
            # a second partial payment changes the amount without a new status (or version)
            qr_version=f"{request.version}.{request.paid_amount}",
            expires_at=as_utc(request.expires_at).astimezone(VN_TZ),
            receipts=_receipts(uow.session, request, settings, extensions) if paid else (),
            paygov=bool(settings.paygov_url or settings.paygov_init_url),
            demo=settings.demo,
            payer_category=category,
            portal_failed=status in OPEN_STATUSES and _portal_failed(uow.session, request),
            bank_apps=bank_apps(
                account.bank_bin, plain_account, request.remaining_amount, request.reference
            )
            if has_qr
            else (),
        )


def _category_policies(session: Session, lines: tuple[PaymentLine, ...]) -> set[str]:
    """The reduction policies of ``lines`` granted for a payer category (not for the channel)."""
    ids = {line.reduction_policy_id for line in lines if line.reduction_policy_id}
    if not ids:
        return set()
    rows = session.execute(
        select(ReductionPolicy.id, ReductionPolicy.payer_categories).where(
            ReductionPolicy.id.in_(ids)
        )
    )
    return {policy_id for policy_id, categories in rows if categories}


def _portal_failed(session: Session, request: PaymentRequest) -> bool:
    """Whether the citizen's last attempt on the national portal failed (to say so, and that
    trying again or a transfer both work)."""
    last = session.scalar(
        select(PaygovAttempt.status)
        .where(PaygovAttempt.payment_request_id == request.id)
        .order_by(PaygovAttempt.id.desc())
        .limit(1)
    )
    return last == AttemptStatus.FAILED


def _fee_line(line: PaymentLine, category: str | None = None) -> FeeLine:
    return FeeLine(
        name=line.name,
        kind=KIND_LABELS.get(line.kind, line.kind),
        quantity=line.quantity,
        normal_amount=line.normal_amount,
        amount=line.amount,
        legal_basis=line.legal_basis,
        reduction_legal_basis=line.reduction_legal_basis if line.reduction_policy_id else None,
        reduction_category=category,
    )


def _receipts(
    session: Session,
    request: PaymentRequest,
    settings: Settings,
    extensions: Sequence[ViewExtension],
) -> tuple[ReceiptLink, ...]:
    """Links to the receipts' public pages; API URLs need a token a citizen does not have."""
    links = []
    for entry in present(session, [request], settings, extensions=extensions)[0]["receipts"]:
        if entry.get("status") in SUPERSEDED_RECEIPTS:
            continue  # its replacement is listed too
        path = str(entry.get("verification_path") or "")
        if path.startswith("/r/"):
            links.append(ReceiptLink(_receipt_label(entry), path, f"{path}.pdf", f"{path}.xml"))
    return tuple(links)


def _receipt_label(entry: dict[str, Any]) -> str:
    label = "Biên lai " + KIND_LABELS.get(str(entry.get("kind", "")), "").lower()
    if entry.get("series") and entry.get("number"):
        label += f" ký hiệu {entry['series']} số {int(entry['number']):08d}"
    return " ".join(label.split())


def _payload(request: PaymentRequest, account: BeneficiaryAccount) -> str:
    """The stored payload, or one for what is left once part has been paid (rare: never cached,
    so the stored one stays what the API announced)."""
    if request.status == state.PART_PAID and request.vietqr_payload:
        return transfer_payload(account, request.remaining_amount, request.reference)
    return request.vietqr_payload


def checkout_status(token: str, *, uow: UnitOfWork, now: datetime | None = None) -> dict[str, Any]:
    """The small JSON the page polls: status and amounts (one narrow query: it is polled)."""
    with uow:
        row = uow.session.execute(_STATUS, {"token": _known(token)}).one_or_none()
    if row is None:
        raise NotFound("no payment with this link")
    status = display_status(row.status, row.expires_at, now or utcnow())
    return {
        "status": status,
        "label": STATUS_LABELS.get(status, status),
        "open": status in OPEN_STATUSES,
        "total_amount": row.total_amount,
        "paid_amount": row.paid_amount,
        "remaining_amount": max(row.total_amount - row.paid_amount, 0),
        "expires_at": as_utc(row.expires_at).isoformat(),
    }


def qr_image(token: str, fmt: ImageFormat, *, uow: UnitOfWork) -> QrImageView:
    """The request's VietQR as PNG or SVG, from the cache; the first view renders and stores it.

    Only an open request has one: a QR for a paid, expired or cancelled request would invite a
    transfer nobody expects.
    """
    with uow:
        row = uow.session.execute(_QR[fmt], {"token": _known(token)}).one_or_none()
        if row is None:
            raise NotFound("no payment with this link")
        request_id, status, payload, expires_at, cached = row
        if display_status(status, expires_at, utcnow()) not in OPEN_STATUSES:
            raise NotFound("this payment is no longer open")
        if not payload:
            raise NotFound("this payment has no QR code")
        if status == state.PART_PAID:
            return _remaining_qr(uow.session, request_id, fmt)
    content = _as_bytes(cached) or _store(uow, request_id, payload, fmt)
    return QrImageView(content, MIMETYPES[fmt], _etag(payload, fmt))


def _remaining_qr(session: Session, request_id: Any, fmt: ImageFormat) -> QrImageView:
    request = session.get_one(PaymentRequest, request_id)
    payload = _payload(request, session.get_one(BeneficiaryAccount, request.account_id))
    if not payload:
        raise NotFound("this payment has no QR code")
    return _rendered(payload, fmt)


def _image_column(fmt: ImageFormat) -> Any:
    return QrImage.png if fmt == "png" else QrImage.svg


def _as_bytes(value: object) -> bytes | None:
    """A cached image as bytes (the SVG column holds text)."""
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode()


def _cached(session: Session, request_id: Any, fmt: ImageFormat) -> bytes | None:
    column = _image_column(fmt)
    return _as_bytes(session.scalar(select(column).where(QrImage.payment_request_id == request_id)))


def _store(uow: UnitOfWork, request_id: Any, payload: str, fmt: ImageFormat) -> bytes:
    """Render both images and insert them unless a concurrent view did first; either way answer
    with the stored row, so every viewer gets the same bytes."""
    png, svg_bytes = render_both(payload)
    svg = svg_bytes.decode()
    with uow:
        dialect = postgresql if uow.dialect == "postgresql" else sqlite
        uow.session.execute(
            dialect.insert(QrImage)
            .values(payment_request_id=request_id, png=png, svg=svg)
            .on_conflict_do_nothing(index_elements=["payment_request_id"])
        )
        stored = _cached(uow.session, request_id, fmt)
        uow.commit()
    if stored is None:  # pragma: no cover - the request was deleted meanwhile
        raise NotFound("no payment with this link")
    return stored


def _etag(payload: str, fmt: str) -> str:
    return hashlib.sha256(f"{fmt}:{payload}".encode()).hexdigest()[:32]


@lru_cache(maxsize=256)
def _rendered(payload: str, fmt: ImageFormat) -> QrImageView:
    content = render_png(payload) if fmt == "png" else render_svg(payload)
    return QrImageView(content, MIMETYPES[fmt], _etag(payload, fmt))


def static_payload(account: BeneficiaryAccount) -> str:
    """A static VietQR (01=11, no amount, no memo) for a beneficiary account: for a counter's
    poster, where the citizen types the amount and the reference."""
    return vietqr.encode(
        bank_bin=account.bank_bin, account=qr_account_number(account.account_number)
    )


def account_qr(account_id: str, fmt: ImageFormat, *, uow: UnitOfWork) -> QrImageView:
    """A beneficiary account's static VietQR image (NotFound for an unknown account)."""
    with uow:
        account = uow.session.get(BeneficiaryAccount, account_id)
        if account is None:
            raise NotFound("no such account")
        try:
            payload = static_payload(account)
        except vietqr.VietQRError as exc:
            raise NotFound(f"this account has no VietQR: {exc}") from None
    return _rendered(payload, fmt)
