"""Reading receipts: JSON views, XML and PDF content, the public verification page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.config import Settings
from payments.errors import NotFound
from payments.payment_requests.models import PaymentRequest
from payments.uow import UnitOfWork
from receipts.document import (
    ReceiptDocument,
)
from receipts.errors import (
    ReceiptsNotConfigured,
)
from receipts.models import Receipt, ReceiptErrorNotice
from receipts.services.issuing import verification_url
from receipts.signers import signing_pair
from receipts.xmlsig import DATA_ID, ReceiptSignatureError, read_document, verify

# --- reading ----------------------------------------------------------------------------------


def load_receipt(
    session: Session, receipt_id: str, principal: Principal | None, *, lock: bool = False
) -> Receipt:
    try:
        key = uuid.UUID(str(receipt_id))
    except ValueError:
        raise NotFound("no such receipt") from None
    stmt = select(Receipt).where(Receipt.id == key)
    receipt = session.scalar(stmt.with_for_update() if lock else stmt)
    if receipt is None or (principal is not None and not principal.may_see(receipt.agency_code)):
        raise NotFound("no such receipt")
    return receipt


def get_receipt(
    receipt_id: str, *, uow: UnitOfWork, settings: Settings, principal: Principal | None
) -> dict[str, Any]:
    with uow:
        return receipt_view(uow.session, load_receipt(uow.session, receipt_id, principal), settings)


def get_receipt_xml(receipt_id: str, *, uow: UnitOfWork, principal: Principal | None) -> bytes:
    """The signed XML exactly as issued."""
    with uow:
        return bytes(load_receipt(uow.session, receipt_id, principal).signed_xml)


def get_receipt_document(
    receipt_id: str, *, uow: UnitOfWork, principal: Principal | None
) -> ReceiptDocument:
    """The receipt's content read back from its signed XML (what the PDF prints)."""
    xml = get_receipt_xml(receipt_id, uow=uow, principal=principal)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml, parser=parser)
    data = root.find(DATA_ID)
    if data is None:  # pragma: no cover - we signed it
        raise NotFound("the stored receipt XML has no data")
    return read_document(data)


def list_receipts(
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    payment_request_id: str | None = None,
    agency_code: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Receipts of a request (or of an agency, newest first), limited to what the caller sees."""
    stmt = select(Receipt)
    if payment_request_id is not None:
        try:
            stmt = stmt.where(Receipt.payment_request_id == uuid.UUID(payment_request_id))
        except ValueError:
            return []
    if agency_code is not None:
        stmt = stmt.where(Receipt.agency_code == agency_code)
    if principal is not None and principal.agencies is not None:
        stmt = stmt.where(Receipt.agency_code.in_(principal.agencies))
    stmt = stmt.order_by(Receipt.issued_at.desc(), Receipt.number.desc()).limit(limit)
    with uow:
        rows = list(uow.session.scalars(stmt))
        return [receipt_view(uow.session, r, settings) for r in reversed(rows)]


def receipt_view(session: Session, r: Receipt, settings: Settings) -> dict[str, Any]:
    base = settings.public_url.rstrip("/")
    notices = session.scalars(
        select(ReceiptErrorNotice)
        .where(ReceiptErrorNotice.receipt_id == r.id)
        .order_by(ReceiptErrorNotice.id)
    )
    return {
        **summary_view(r),
        "issued_on": r.issued_on,
        "payer": {"name": r.payer_name, "id_number": r.payer_id_number, "address": r.payer_address},
        "dossier_code": r.dossier_code,
        "procedure_code": r.procedure_code,
        "procedure_name": r.procedure_name,
        "payment_channel": r.payment_channel,
        "payment_reference": r.payment_reference,
        "lines": r.lines,
        "amount_in_words": r.amount_in_words,
        "replaced_by": str(r.replaced_by_id) if r.replaced_by_id else None,
        "correction_reason": r.correction_reason,
        "money_consequence": r.money_consequence,
        "tax_authority_id": r.tax_authority_id,
        "error_notices": [notice_view(n) for n in notices],
        "verification_url": verification_url(settings, r.verification_token),
        "xml_url": f"{base}/api/v1/receipts/{r.id}.xml",
        "pdf_url": f"{base}/api/v1/receipts/{r.id}.pdf",
    }


def summary_view(r: Receipt) -> dict[str, Any]:
    """The short form a payment request's JSON lists."""
    return {
        "id": str(r.id),
        "payment_request_id": str(r.payment_request_id),
        "agency_code": r.agency_code,
        "template": r.template,
        "series": r.series,
        "number": r.number,
        "kind": r.kind,
        "issued_at": r.issued_at,
        "total_amount": r.total_amount,
        "status": r.status,
        "replaces": str(r.replaces_id) if r.replaces_id else None,
        "tax_authority_status": r.tax_authority_status,
    }


def notice_view(n: ReceiptErrorNotice) -> dict[str, Any]:
    return {
        "id": n.id,
        "receipt_id": str(n.receipt_id),
        "form": n.form,
        "payer_name": n.correct_payer_name,
        "payer_address": n.correct_payer_address,
        "reason": n.reason,
        "created_at": n.created_at,
        "tax_authority_status": n.tax_authority_status,
        "tax_authority_id": n.tax_authority_id,
        "tax_accepted_at": n.tax_accepted_at,
    }


def add_receipts_to_requests(
    session: Session, requests: Sequence[PaymentRequest], views: list[dict[str, Any]]
) -> None:
    """A view extension (``Container.view_extensions``): a payment request's JSON lists its
    receipts."""
    by_id = {str(r.id): v for r, v in zip(requests, views, strict=True)}
    if not by_id:
        return
    rows = session.scalars(
        select(Receipt)
        .where(Receipt.payment_request_id.in_([r.id for r in requests]))
        .order_by(Receipt.issued_at, Receipt.number)
    )
    for r in rows:
        # the request schema dumps receipts as plain dicts: give it JSON-ready values
        view = summary_view(r) | {
            "issued_at": r.issued_at.isoformat(),
            # the public page's path: its token is the citizen's capability (no login)
            "verification_path": f"/r/{r.verification_token}",
        }
        by_id[str(r.payment_request_id)]["receipts"].append(view)


# --- public verification ----------------------------------------------------------------------


_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def mask_id_number(value: str | None) -> str | None:
    """``040201001234`` → ``********1234``: enough for the payer to recognise, no more."""
    if not value:
        return None
    shown = 4 if len(value) > 6 else 2
    return "*" * (len(value) - shown) + value[-shown:]


def verify_public(token: str, *, uow: UnitOfWork, settings: Settings) -> dict[str, Any]:
    """What the receipt's QR page shows: is the stored XML signed by the agency, and its status.

    The payer's identity number is masked; the page needs no login.
    """
    if not _TOKEN.fullmatch(token):  # anything else cannot be ours (and NUL upsets PostgreSQL)
        raise NotFound("no receipt has this verification code")
    with uow:
        receipt = uow.session.scalar(select(Receipt).where(Receipt.verification_token == token))
        if receipt is None:
            raise NotFound("no receipt has this verification code")
        replacement = (
            uow.session.get(Receipt, receipt.replaced_by_id) if receipt.replaced_by_id else None
        )
        stored = (receipt.series, receipt.number, receipt.agency_code)
        status, tax_status = receipt.status, receipt.tax_authority_status
        replaced_by = (
            {"series": replacement.series, "number": replacement.number} if replacement else None
        )
        xml = bytes(receipt.signed_xml)
    try:
        verified = verify(xml, signing_pair(settings, stored[2]).cert_pem)
        document: ReceiptDocument | None = verified.document
        signer: str | None = verified.signer_subject
    except (ReceiptSignatureError, ReceiptsNotConfigured):
        document, signer = None, None
    # the signature must cover this very receipt, not another validly signed one
    authentic = (
        document is not None
        and (
            document.series,
            document.number,
            document.agency_code,
        )
        == stored
    )
    return {
        "authentic": authentic,
        "signer": signer,
        "document": document,
        "status": status,
        "tax_authority_status": tax_status,
        "payer_id_masked": mask_id_number(document.payer_id_number if document else None),
        "replaced_by": replaced_by,
    }
