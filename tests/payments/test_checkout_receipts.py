"""The citizen gets the biên lai: the paid checkout page and the public verification page link
the PDF and the signed XML of every receipt of the request, without a login."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pypdf import PdfReader
from sqlalchemy import update

from payments.config import Settings
from receipts.models import Receipt
from tests.receipts.receipts_testkit import (  # noqa: F401 - fixtures
    Kit,
    kit_fixture,
    receipt_settings,
    signing_files_fixture,
)


@pytest.fixture
def settings(settings: Settings, signing_files: tuple[Path, Path]) -> Settings:
    """The shared settings with a receipt signing pair (the live server uses them too)."""
    return receipt_settings(settings, signing_files)


@pytest.fixture
def paid(kit: Kit, live_server: Any) -> dict[str, Any]:
    """A request with a phí and a lệ phí line (two receipts), paid and issued."""
    request = kit.create("2.001610")
    kit.pay(request)
    kit.drain()
    return request


def checkout(request: dict[str, Any], live_server: Any) -> requests.Response:
    token = request["checkout_url"].rsplit("/pay/", 1)[1]
    return requests.get(f"{live_server.url}/pay/{token}", timeout=10)


def links(html: str, cls: str) -> list[str]:
    return re.findall(rf'<a class="{cls}" href="([^"]+)"', html)


def test_the_paid_page_links_the_pdf_and_xml_of_every_receipt(
    paid: dict[str, Any], live_server: Any
) -> None:
    page = checkout(paid, live_server)
    assert page.status_code == 200
    assert "Biên lai điện tử" in page.text
    pdfs, xmls = links(page.text, "receipt-pdf"), links(page.text, "receipt-xml")
    assert len(pdfs) == len(xmls) == 2
    assert "/api/v1/receipts" not in page.text  # nothing that needs a token
    for pdf, xml in zip(pdfs, xmls, strict=True):
        got = requests.get(live_server.url + pdf, timeout=10)  # no login, no token
        assert got.status_code == 200 and got.headers["Content-Type"] == "application/pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(got.content)).pages)
        assert "BIÊN LAI" in text.upper()
        signed = requests.get(live_server.url + xml, timeout=10)
        assert signed.status_code == 200 and b"Signature" in signed.content
    assert "ký hiệu 26TTC số 00000001" in page.text and "số 00000002" in page.text


def test_the_verification_page_links_every_receipt_of_the_request(
    paid: dict[str, Any], live_server: Any
) -> None:
    page = checkout(paid, live_server).text
    first = re.findall(r'<li><a href="(/r/[A-Za-z0-9_-]+)">', page)[0]
    verify = requests.get(live_server.url + first, timeout=10)
    assert verify.status_code == 200 and 'id="authentic"' in verify.text
    assert verify.text.count('.pdf" download>Tải PDF') == 2
    assert verify.text.count('.xml" download>Tải XML') == 2


def test_unknown_tokens_are_not_found(live_server: Any) -> None:
    for path in ("/r/x.pdf", "/r/AAAAAAAAAAAAAAAAAAAAAAAA.pdf", "/r/AAAAAAAAAAAAAAAAAAAAAAAA.xml"):
        assert requests.get(live_server.url + path, timeout=10).status_code == 404


def test_a_receipt_paid_online_prints_the_tax_authority_code_and_no_payer_signature(
    paid: dict[str, Any], live_server: Any, kit: Kit
) -> None:
    with kit.container.uow() as uow:
        uow.session.execute(
            update(Receipt)
            .where(Receipt.payment_request_id == uuid.UUID(paid["id"]))
            .values(tax_authority_id="CQT-2026-000123", tax_authority_status="accepted")
        )
        uow.commit()
    pdf = links(checkout(paid, live_server).text, "receipt-pdf")[0]
    got = requests.get(live_server.url + pdf, timeout=10)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(got.content)).pages)
    assert "Mã của cơ quan thuế: CQT-2026-000123" in text
    assert "Ký, ghi rõ họ tên" not in text  # a bank transfer: nobody stood at a counter
    assert "Người thu tiền" in text
