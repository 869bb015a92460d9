"""What a citizen reaches without a login: a receipt's XML and PDF, and the other receipts of the
same payment request, all by the unguessable verification token printed on the receipt."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select

from payments.errors import NotFound
from payments.uow import UnitOfWork
from receipts.document import ReceiptDocument
from receipts.models import Receipt
from receipts.xmlsig import DATA_ID, read_document

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
KIND_LABELS = {"phi": "phí", "le_phi": "lệ phí"}


@dataclass(frozen=True)
class PublicReceipt:
    """One receipt as the public pages list it: links by its own token."""

    token: str
    series: str
    number: int
    kind: str
    status: str
    total_amount: int

    @property
    def label(self) -> str:
        kind = KIND_LABELS.get(self.kind, "")
        return " ".join(f"Biên lai {kind} ký hiệu {self.series} số {self.number:08d}".split())

    @property
    def page_path(self) -> str:
        return f"/r/{self.token}"

    @property
    def pdf_path(self) -> str:
        return f"/r/{self.token}.pdf"

    @property
    def xml_path(self) -> str:
        return f"/r/{self.token}.xml"


def _by_token(uow: UnitOfWork, token: str) -> Receipt:
    if not _TOKEN.fullmatch(token):
        raise NotFound("no receipt has this verification code")
    receipt = uow.session.scalar(select(Receipt).where(Receipt.verification_token == token))
    if receipt is None:
        raise NotFound("no receipt has this verification code")
    return receipt


def public_xml(token: str, *, uow: UnitOfWork) -> tuple[str, bytes]:
    """(file name, the signed XML exactly as issued)."""
    with uow:
        receipt = _by_token(uow, token)
        return f"{receipt.series}-{receipt.number:08d}", bytes(receipt.signed_xml)


def tax_authority_code(token: str, *, uow: UnitOfWork) -> str | None:
    """The code the tax authority gave the receipt (None until it accepted it)."""
    with uow:
        return _by_token(uow, token).tax_authority_id


def public_document(token: str, *, uow: UnitOfWork) -> ReceiptDocument:
    """The receipt's content read back from its signed XML (what the PDF prints)."""
    _, xml = public_xml(token, uow=uow)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    data = etree.fromstring(xml, parser=parser).find(DATA_ID)
    if data is None:  # pragma: no cover - we signed it
        raise NotFound("the stored receipt XML has no data")
    return read_document(data)


def receipts_of_same_request(token: str, *, uow: UnitOfWork) -> list[PublicReceipt]:
    """Every receipt of the request the receipt with ``token`` belongs to, in issue order."""
    with uow:
        receipt = _by_token(uow, token)
        rows = uow.session.scalars(
            select(Receipt)
            .where(Receipt.payment_request_id == receipt.payment_request_id)
            .order_by(Receipt.issued_at, Receipt.number)
        )
        return [
            PublicReceipt(
                r.verification_token, r.series, r.number, r.kind, r.status, r.total_amount
            )
            for r in rows
        ]
