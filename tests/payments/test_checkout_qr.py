"""VietQR payloads and cached QR images of payment requests, over real HTTP on both databases."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from factories import post_payment_request
from PIL import Image
from sqlalchemy import func, select, update

from payments.catalog.models import BeneficiaryAccount
from payments.checkout import services as checkout
from payments.clock import utcnow
from payments.http import Container
from payments.money import Money
from payments.payment_requests.models import PaymentRequest, QrImage
from payments.payment_requests.services import transfer_payload
from payments.transactions.services import record_event
from payments.vietqr import decode
from providers.base import EventKind, ProviderEvent, TxnStatus


def token_of(request: dict[str, Any]) -> str:
    return str(request["checkout_url"].rsplit("/", 1)[1])


def scan(png: bytes) -> str:
    """What a real QR decoder reads from an image."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return str(results[0].text)


def qr_rows(container: Container, request_id: str) -> int:
    with container.uow() as work:
        return int(
            work.session.scalar(
                select(func.count())
                .select_from(QrImage)
                .where(QrImage.payment_request_id == uuid.UUID(request_id))
            )
            or 0
        )


def test_request_payload_is_a_dynamic_vietqr_for_the_total_with_the_reference_as_memo(
    api: Any,
) -> None:
    req = post_payment_request(api(), payer={"name": "Trần Thị Bình", "category": "student"})
    decoded = decode(req["vietqr"]["payload"], require_vietqr=True)
    assert decoded.initiation == "dynamic"
    assert decoded.amount == req["total_amount"] == 100_000
    assert decoded.bank_bin == "970415" and decoded.account == "376101234567"
    assert decoded.service_code == "QRIBFTTA"
    assert decoded.purpose is not None and decoded.purpose.startswith(req["reference"])
    assert req["vietqr"]["payload"].isascii()


def test_a_request_with_nothing_to_pay_gets_no_qr(api: Any) -> None:
    req = post_payment_request(api(), payer={"name": "Lê Văn Cường", "category": "child"})
    assert req["total_amount"] == 0 and req["status"] == "paid"
    assert req["vietqr"]["payload"] == ""
    assert requests.get(req["vietqr"]["png_url"], timeout=10).status_code == 404


def test_qr_png_scans_back_to_the_requests_payload(api: Any) -> None:
    req = post_payment_request(api())
    resp = requests.get(req["vietqr"]["png_url"], timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/png"
    assert scan(resp.content) == req["vietqr"]["payload"]


def test_qr_svg_is_served_beside_the_png(api: Any) -> None:
    req = post_payment_request(api())
    resp = requests.get(req["vietqr"]["svg_url"], timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in resp.content and b"<script" not in resp.content


def test_first_view_stores_the_images_and_later_views_serve_the_stored_bytes(
    api: Any, container: Container
) -> None:
    req = post_payment_request(api())
    assert qr_rows(container, req["id"]) == 0
    first = requests.get(req["vietqr"]["png_url"], timeout=10)
    assert qr_rows(container, req["id"]) == 1
    # a marker in the cache row proves later views read it instead of rendering again
    with container.uow() as work:
        work.session.execute(
            update(QrImage)
            .where(QrImage.payment_request_id == uuid.UUID(req["id"]))
            .values(png=b"cached-png", svg="<svg>cached</svg>")
        )
        work.commit()
    assert requests.get(req["vietqr"]["png_url"], timeout=10).content == b"cached-png"
    assert requests.get(req["vietqr"]["svg_url"], timeout=10).content == b"<svg>cached</svg>"
    assert qr_rows(container, req["id"]) == 1
    assert first.content != b"cached-png"


def test_concurrent_first_views_store_one_row_and_see_the_same_bytes(
    api: Any, container: Container
) -> None:
    req = post_payment_request(api())
    token, barrier, seen, errors = token_of(req), threading.Barrier(8), [], []

    def view() -> None:
        try:
            barrier.wait(5)
            seen.append(checkout.qr_image(token, "png", uow=container.uow()).content)
        except Exception as exc:  # reported below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=view) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(seen) == 8 and len(set(seen)) == 1
    assert qr_rows(container, req["id"]) == 1
    assert scan(seen[0]) == req["vietqr"]["payload"]


def test_qr_has_an_etag_and_answers_304_when_the_browser_has_it(api: Any) -> None:
    req = post_payment_request(api())
    first = requests.get(req["vietqr"]["png_url"], timeout=10)
    assert first.headers["ETag"] and "max-age" in first.headers["Cache-Control"]
    again = requests.get(
        req["vietqr"]["png_url"], headers={"If-None-Match": first.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304 and again.content == b""


def test_after_a_partial_payment_the_qr_asks_for_what_is_left(
    api: Any, container: Container
) -> None:
    req = post_payment_request(api())
    event = ProviderEvent(
        provider="bank",
        provider_txn_id=f"FT{uuid.uuid4().hex[:12]}",
        reference=req["reference"],
        amount=Money(80_000),
        currency="VND",
        status=TxnStatus.PAID,
        occurred_at=utcnow(),
        kind=EventKind.TRANSFER_IN,
    )
    assert record_event(event, uow=container.uow()).status == "partially_paid"
    decoded = decode(scan(requests.get(req["vietqr"]["png_url"], timeout=10).content))
    assert decoded.amount == 120_000 and decoded.purpose == req["reference"]
    # the stored payload stays what the API announced at creation
    with container.uow() as work:
        stored = work.session.scalar(
            select(PaymentRequest.vietqr_payload).where(PaymentRequest.id == uuid.UUID(req["id"]))
        )
    assert stored == req["vietqr"]["payload"]


def test_beneficiary_account_has_a_static_qr(live_server: Any, catalog: Any) -> None:
    resp = requests.get(f"{live_server.url}/pay/account/stp-kbnn/qr.png", timeout=10)
    assert resp.status_code == 200
    decoded = decode(scan(resp.content))
    assert decoded.initiation == "static" and decoded.amount is None
    assert (decoded.bank_bin, decoded.account) == ("970415", "376101234567")
    assert requests.get(f"{live_server.url}/pay/account/nope/qr.png", timeout=10).status_code == 404


def _account(number: str, bank_bin: str = "970415") -> BeneficiaryAccount:
    return BeneficiaryAccount(
        id="kbnn", agency_code="000.00.12.H40", bank_bin=bank_bin,
        account_number=number, account_name="SO TU PHAP HA TINH", kind="treasury",
    )  # fmt: skip


def test_treasury_account_numbers_lose_their_separators_in_the_qr() -> None:
    payload = transfer_payload(_account("3761.0.1234567"), 115_000, "TPH12345678901234")
    decoded = decode(payload)
    assert decoded.account == "376101234567" and decoded.amount == 115_000
    assert checkout.static_payload(_account("3761.0.1234567")).startswith("000201010211")


@pytest.mark.parametrize(
    ("amount", "account"),
    [
        (0, _account("376101234567")),
        (500_000_000, _account("376101234567")),  # NAPAS per-transfer ceiling
        (115_000, _account("376101234567", bank_bin="999999")),  # not a NAPAS bank
    ],
)
def test_no_payload_when_no_qr_can_carry_the_transfer(
    amount: int, account: BeneficiaryAccount
) -> None:
    assert transfer_payload(account, amount, "TPH12345678901234") == ""


def test_thuphi_vietqr_decode_prints_the_fields_or_why_it_is_invalid() -> None:
    payload = transfer_payload(_account("376101234567"), 115_000, "TPH12345678901234")
    thuphi = Path(sys.executable).with_name("thuphi")
    ok = subprocess.run(
        [thuphi, "vietqr", "decode", payload], capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    assert "amount: 115000" in ok.stdout and "purpose: TPH12345678901234" in ok.stdout
    assert "VietinBank" in ok.stdout or "Công thương" in ok.stdout
    broken = payload[:-1] + ("1" if payload.endswith("0") else "0")
    bad = subprocess.run(
        [thuphi, "vietqr", "decode", broken], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1 and "CRC" in bad.stdout
