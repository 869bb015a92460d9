"""Every checkout state on a 390 px phone and a 1366 px laptop in headless Chromium: nothing wider
than the screen, no raw code, the amount, QR and memo on the phone's first screen while open, and
the receipts (PDF and signed XML, no login) once paid. Screenshots go to test-output/."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from console_kit import (  # noqa: F401 - fixtures
    console_signing_files,
    settings_with_receipts,
)
from factories import pay, post_payment_request
from playwright.sync_api import expect
from sqlalchemy import update

from payments.clock import utcnow
from payments.http import Container
from payments.payment_requests import services as request_services
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaygovAttempt
from receipts.services import issue_for_request
from tests.browser.page_checks import VIEWPORTS, check

pytestmark = pytest.mark.browser
STUDENT = {"name": "Trần Thị Bình", "category": "student"}
Api = Callable[..., requests.Session]


def create(api: Api) -> dict[str, Any]:
    return post_payment_request(api(), payer=STUDENT)


def set_state(container: Container, request: dict[str, Any], state: str) -> None:
    """Bring a fresh request into ``state`` through the services (a portal failure and a refund
    are written as the platform's answer and the refund job would leave them)."""
    total = int(request["total_amount"])
    if state == "partially_paid":
        pay(container, request, total // 2)
    elif state in ("paid", "overpaid"):
        pay(container, request, total if state == "paid" else total + 50_000)
        with container.uow() as uow:
            issue_for_request(uow.session, request["id"], settings=container.settings)
            uow.commit()
    elif state == "expired":
        request_services.expire_overdue(uow=container.uow(), now=utcnow() + timedelta(days=30))
    elif state == "cancelled":
        request_services.cancel_payment_request(
            request["id"], uow=container.uow(), settings=container.settings, principal=None
        )
    elif state in ("refunded", "portal_failed"):
        with container.uow() as uow:
            key = uuid.UUID(request["id"])
            if state == "refunded":
                uow.session.execute(
                    update(PaymentRequest)
                    .where(PaymentRequest.id == key)
                    .values(status="refunded", paid_amount=total)
                )
            else:
                uow.session.add(
                    PaygovAttempt(
                        payment_request_id=key,
                        provider_ref=f"{request['reference']}G01",
                        amount=total,
                        status="failed",
                        created_at=utcnow(),
                    )
                )
            uow.commit()


STATES = [
    "pending",
    "portal_failed",
    "partially_paid",
    "paid",
    "overpaid",
    "expired",
    "cancelled",
    "refunded",
]


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_checkout_state_fits_the_screen_and_says_everything_in_words(
    browser: Any, api: Api, live_server: Any, output_dir: Path, backend: str, width: str
) -> None:
    context = browser.new_context(**VIEWPORTS[width], locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    for state in STATES:
        req = create(api)
        set_state(live_server.container, req, state)
        page.goto(req["checkout_url"], wait_until="load")
        shown = "pending" if state == "portal_failed" else state
        expect(page.locator("#main")).to_have_attribute("data-status", shown)
        check(page, f"checkout {state} at {width} px")
        assert page.locator("text=/Mã hồ sơ/").count() == 0  # the dossier code once, in h1
        if state in ("pending", "portal_failed", "partially_paid"):
            _open_page_shows_what_to_pay(page, width, req)
        if state == "portal_failed":
            expect(page.locator("#portal-failed")).to_contain_text("chưa thành công")
        if state in ("paid", "overpaid"):
            _receipts_download(page, live_server.url)
        if state in ("pending", "paid"):
            name = "pending" if state == "pending" else "paid-receipt"
            page.screenshot(path=str(output_dir / f"checkout-{name}-{width}-{backend}.png"))
    context.close()


def _open_page_shows_what_to_pay(page: Any, width: str, req: dict[str, Any]) -> None:
    expect(page.locator("#due-memo")).to_have_text(req["reference"])
    expect(page.locator(".fee__reduction")).to_contain_text("Học sinh, sinh viên")
    qr = page.locator(".qr img")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 200")
    if width == "390":  # amount, memo and the whole QR above the fold of an 844 px phone
        for selector in ("#due-amount", "#due-memo", ".qr img"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 844, (selector, box)
    apps = page.locator("#bank-apps a.app")
    assert apps.count() > 10
    first = apps.first.get_attribute("href") or ""
    assert first.startswith("https://dl.vietqr.io/pay?app=vcb&ba=376101234567@")
    assert f"tn={req['reference']}" in first and "am=" in first


def _receipts_download(page: Any, base: str) -> None:
    links = page.locator("a.receipt-pdf")
    assert links.count() >= 1
    for i in range(links.count()):
        with page.expect_download() as download:
            links.nth(i).click()
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF")
    href = page.locator("a.receipt-xml").first.get_attribute("href") or ""
    xml = requests.get(base + href, timeout=10)
    assert xml.status_code == 200 and b"Signature" in xml.content
    # the receipt's own public page, with its downloads, also fits and speaks words
    page.locator(".receipts li > a").first.click()
    expect(page.locator("#authentic")).to_be_visible()
    expect(page.locator("#downloads a", has_text="Tải PDF").first).to_be_visible()
    check(page, "receipt verification page")
    page.go_back()
