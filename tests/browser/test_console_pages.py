"""Every console page on a 390 px phone and a 1366 px laptop in headless Chromium: nothing wider
than the screen, and no raw code (``refund_due``, ``amount_mismatch``, ``bank_transfer``, …) in
the text an officer reads. The day page's screenshots go to test-output/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from console_kit import (  # noqa: F401 - fixtures
    JUSTICE,
    PASSWORD,
    console_signing_files,
    make_user,
    seed_day,
    settings_with_receipts,
)
from playwright.sync_api import expect

from tests.browser.page_checks import VIEWPORTS, check, raw_codes

pytestmark = pytest.mark.browser


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/console/login")
    check(page, "login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#online-ratio")).to_be_visible()


def pages_of(day: Any) -> list[str]:
    acct, iso = JUSTICE.account, day.day.isoformat()
    on_day = f"/console/accounts/{acct}/days/{iso}"
    return [
        "/console/",
        "/console/payment-requests",
        f"/console/payment-requests?q={JUSTICE.marker}&from=01/01/2026",
        f"/console/payment-requests/{day.requests['paid']['id']}",
        f"/console/payment-requests/{day.requests['proposed']['id']}",
        "/console/accounts",
        f"/console/accounts/{acct}",
        f"/console/accounts/{acct}/statements/{day.statement_id}",
        "/console/reconciliation",
        f"/console/accounts/{acct}/calendar",
        on_day,
        f"{on_day}?view=exceptions&status=all",
        f"{on_day}?view=proposals",
        f"{on_day}?view=matches",
        f"{on_day}?view=lines&sort=-amount",
        f"{on_day}?view=exceptions&pick={day.exception_ids[1]}&find={JUSTICE.marker}",
        "/console/receipts",
        "/console/receipts?tax=pending",
        f"/console/receipts/{day.receipt_ids[0]}",
        "/console/reports",
        f"/console/budget/{JUSTICE.code}",
        f"/console/budget/{JUSTICE.code}/declarations/{day.day:%Y-%m}",
        "/console/no-such-page",
    ]


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_console_page_fits_the_screen_and_shows_no_raw_code(
    browser: Any, live_server: Any, catalog: Any, output_dir: Path, backend: str, width: str
) -> None:
    container = live_server.container
    make_user(container, "ketoan")
    make_user(container, "quantri", role="admin", agency=None)
    day = seed_day(container, JUSTICE)
    context = browser.new_context(**VIEWPORTS[width], locale="en-US")  # dates must not follow it
    page = context.new_page()
    sign_in(page, live_server.url, "ketoan")
    for path in pages_of(day):
        page.goto(live_server.url + path)
        check(page, f"{path} at {width} px")
    # the day page, resolved through the console, with the undo offered
    stray = day.exception_ids[1]
    on_day = f"{live_server.url}/console/accounts/{JUSTICE.account}/days/{day.day.isoformat()}"
    page.goto(on_day)
    card = page.locator(f"#exception-{stray}")
    card.locator("summary").click()
    card.get_by_label("Xử lý", exact=True).select_option("dismiss")
    card.get_by_label("Ghi chú (bắt buộc)").fill("Tiền thử của ngân hàng")
    card.get_by_role("button", name="Ghi nhận xử lý").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator(f"#exception-{stray} form.undo")).to_be_visible()
    check(page, f"day page after a resolution at {width} px")
    page.screenshot(path=str(output_dir / f"console-day-{width}-{backend}.png"), full_page=True)
    # a date field reads dd/mm/yyyy even in an English browser
    page.goto(f"{live_server.url}/console/reports")
    page.screenshot(path=str(output_dir / f"console-reports-{width}-{backend}.png"), full_page=True)
    value = page.locator("input[name=from]").input_value()
    assert value.count("/") == 2 and len(value.split("/")[0]) == 2, value
    # the administrator's catalogue page, and the English toggle also speaks words
    page.goto(f"{live_server.url}/console/?lang=en")
    check(page, "dashboard in English")
    context.close()
    admin = browser.new_context(**VIEWPORTS[width])
    page = admin.new_page()
    sign_in(page, live_server.url, "quantri")
    page.goto(f"{live_server.url}/console/admin/catalog")
    check(page, f"admin catalog at {width} px")
    admin.close()


def test_the_raw_code_check_fails_on_a_raw_code(browser: Any) -> None:
    page = browser.new_page()
    page.set_content("<p>Trạng thái: refund_due · Số tiền 100.000 đ</p>")
    assert raw_codes(page) == ["refund_due"]
    page.close()
