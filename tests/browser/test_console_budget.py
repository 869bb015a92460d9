"""A finance officer's month end in headless Chromium: from the dashboard's overdue reminder to the
month's declaration, and to the payment order to the budget (giấy nộp tiền vào NSNN), each in at
most three clicks; then the remittance is recorded and its own order downloaded. Laptop and phone
widths; a screenshot of every step goes to test-output/console-budget-<width>-<backend>/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from console_kit import (  # noqa: F401 - console_signing_files and settings_with_receipts are fixtures
    JUSTICE,
    console_signing_files,
    make_user,
    months_ago,
    seed_budget,
    settings_with_receipts,
)
from playwright.sync_api import expect

from tests.browser.page_checks import VIEWPORTS, check
from tests.browser.test_console_pages import sign_in

pytestmark = pytest.mark.browser
MAX_CLICKS = 3


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_officer_reaches_the_declaration_and_the_payment_order_in_three_clicks(
    browser: Any, live_server: Any, catalog: Any, output_dir: Path, backend: str, width: str
) -> None:
    container = live_server.container
    make_user(container, "ketoan")
    seed_budget(container)
    context = browser.new_context(**VIEWPORTS[width], locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    shots = output_dir / f"console-budget-{width}-{backend}"
    shots.mkdir(exist_ok=True)
    clicks = 0

    def click(target: Any) -> None:
        nonlocal clicks
        clicks += 1
        target.click()

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    sign_in(page, live_server.url, "ketoan")

    # the dashboard names what is overdue: fee, amount, deadline (the 5th of last month)
    overdue = page.locator("#budget-overdue")
    expect(overdue).to_contain_text("Phí cung cấp thông tin lý lịch tư pháp")
    expect(overdue).to_contain_text("90.000 đ")
    expect(overdue).to_contain_text(f"{months_ago(1, day=5):%d/%m/%Y}")
    check(page, f"dashboard at {width} px")
    shot("01-dashboard")

    # to the month's declaration: the reminder, then the declaration link
    click(overdue.get_by_role("link", name="Phí cung cấp thông tin lý lịch tư pháp"))
    expect(page.locator("#overdue")).to_contain_text("90.000 đ")
    check(page, f"budget page at {width} px")
    shot("02-budget")
    click(page.locator("#declaration-link"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tờ khai phí, lệ phí")
    expect(page.locator("#declaration-owed")).to_have_text("30.000 đ")  # last month's one LLTP
    check(page, f"declaration at {width} px")
    shot("03-declaration")
    assert clicks <= MAX_CLICKS, f"{clicks} clicks to the declaration"

    # to the payment order: back on the dashboard, the reminder, then the order's PDF
    page.goto(f"{live_server.url}/console/")
    clicks = 0
    click(page.locator("#budget-overdue").get_by_role("link").nth(1))
    expect(page.locator("#order-total")).to_have_text("120.000 đ")
    with page.expect_download() as download:
        click(page.locator("#order-pdf"))
    assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"
    assert download.value.suggested_filename.endswith(".pdf")
    assert clicks <= MAX_CLICKS, f"{clicks} clicks to the payment order"

    # paid at the Treasury: record it (the form holds the order's total and today)
    form = page.locator("#remit-form")
    form.get_by_label("Số tiền").fill("120.000")
    form.get_by_label("Số tham chiếu").fill("GNT-2026-0001")
    shot("04-remittance-form")
    form.get_by_role("button", name="Ghi nhận nộp ngân sách").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#overdue")).to_contain_text("Không có khoản nào quá hạn.")
    expect(page.locator("#payment-order")).to_contain_text("không còn khoản nào phải nộp")
    check(page, f"budget page after a remittance at {width} px")
    shot("05-remitted")
    with page.expect_download() as download:
        page.locator(".remittance-pdf").first.click()
    assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"
    assert blocked == []
    context.close()


def test_the_budget_pages_exist_for_the_officers_agency_only(
    browser: Any, live_server: Any, catalog: Any
) -> None:
    make_user(live_server.container, "ketoan")
    page = browser.new_page()
    sign_in(page, live_server.url, "ketoan")
    page.get_by_role("navigation", name="main").get_by_role("link", name="Ngân sách").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sở Tư pháp tỉnh Hà Tĩnh")
    assert page.url.endswith(f"/console/budget/{JUSTICE.code}")
    response = page.goto(f"{live_server.url}/console/budget/000.00.30.H40")
    assert response is not None and response.status == 404
    page.close()
