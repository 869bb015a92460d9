"""A finance officer's daily close in headless Chromium on a tablet (820×1180): sign in, upload
the bank statement, run the day, confirm the proposal, resolve the unknown credit with a note,
export the report. A screenshot of every step goes to test-output/."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from console_kit import (  # noqa: F401 - console_signing_files and settings_with_receipts are fixtures
    JUSTICE,
    PASSWORD,
    console_signing_files,
    exception_status,
    make_user,
    new_request,
    settings_with_receipts,
    statement_csv,
)
from playwright.sync_api import expect
from sqlalchemy import select

from payments.clock import today
from reconciliation.models import ReconciliationException

pytestmark = pytest.mark.browser
TABLET = {"viewport": {"width": 820, "height": 1180}, "device_scale_factor": 1, "has_touch": True}


def test_officer_closes_the_day_from_statement_to_exported_report(
    browser: Any, live_server: Any, catalog: Any, output_dir: Path, backend: str, tmp_path: Path
) -> None:
    container = live_server.container
    make_user(container, "ketoan")
    paid = new_request(container, JUSTICE, "Nguyễn Văn Minh", "PAID")
    proposed = new_request(container, JUSTICE, "Lê Thị Hoa", "PROP")
    day = today()
    statement = tmp_path / "sao-ke.csv"
    statement.write_bytes(
        statement_csv(
            day,
            (paid["total_amount"], f"TT {paid['reference']} ho so", ""),
            (proposed["total_amount"], "chuyen tien le phi", "LE THI HOA"),
            (55_000, "khong ro noi dung", "CONG TY ABC"),
        )
    )
    context = browser.new_context(**TABLET, locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    # the console's CSP allows no inline script or style: nothing on the way may need one
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    shots = output_dir / f"console-daily-close-{backend}"
    shots.mkdir(exist_ok=True)

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    # sign in
    page.goto(f"{live_server.url}/console/login")
    page.get_by_label("Tên đăng nhập").fill("ketoan")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    shot("01-login")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Số thu theo kênh")).to_be_visible()
    shot("02-dashboard")

    # upload the statement (the progress bar shows while it goes up)
    page.goto(f"{live_server.url}/console/accounts/{JUSTICE.account}")
    page.locator("#file").set_input_files(str(statement))
    page.get_by_role("button", name="Tải lên").click()
    expect(page.locator("#import-result")).to_contain_text("3")
    shot("03-statement")

    # run the day: the proposal and the unknown credit are the open exceptions, counted
    page.goto(f"{live_server.url}/console/accounts/{JUSTICE.account}/days/{day.isoformat()}")
    page.locator("#run-day").click()
    expect(page.locator("#summary")).to_be_visible()
    expect(page.locator("#count-open")).to_contain_text("Tiền chưa rõ nguồn: 2")
    expect(page.locator("li.exception")).to_have_count(2)
    shot("04-day-run")

    # confirm the proposal, with a note
    proposal = page.locator("li.exception", has_text="LE THI HOA")
    expect(proposal).to_contain_text("Độ giống tên")
    proposal.locator("summary").click()
    proposal.get_by_label("Xử lý", exact=True).select_option("confirm_proposal")
    proposal.get_by_label("Ghi chú (bắt buộc)").fill("Đã gọi điện cho chị Hoa, đúng hồ sơ")
    proposal.get_by_role("button", name="Ghi nhận xử lý").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#count-open")).to_contain_text("Tiền chưa rõ nguồn: 1")
    expect(page.locator("#count-confirmed")).to_contain_text("1 ·")
    shot("05-proposal-confirmed")

    # resolve the unknown credit with a note
    stray = page.locator("li.exception", has_text="CONG TY ABC").first
    stray.locator("summary").click()
    stray.get_by_label("Xử lý", exact=True).select_option("dismiss")
    stray.get_by_label("Ghi chú (bắt buộc)").fill("Công ty ABC chuyển nhầm, ngân hàng đã hoàn")
    stray.get_by_role("button", name="Ghi nhận xử lý").click()
    expect(page.locator("#count-open")).to_have_text("0")
    expect(page.locator("#audit")).to_be_visible()
    expect(page.locator("#chain")).to_have_class("ok")
    expect(page.get_by_text("Công ty ABC chuyển nhầm, ngân hàng đã hoàn").first).to_be_visible()
    shot("06-exceptions-resolved")
    with container.uow() as uow:
        ids = uow.session.scalars(select(ReconciliationException.id)).all()
    assert [exception_status(container, i) for i in ids] == ["resolved", "resolved"]

    # and taken back: the undo reopens it, itself in the audit trail
    page.locator("form.undo input[name=note]").fill("Ngân hàng chưa hoàn, cần xem lại")
    page.locator("form.undo button").click()
    expect(page.locator("#count-open")).to_contain_text("Tiền chưa rõ nguồn: 1")
    expect(page.locator("#audit-trail")).to_contain_text("Hoàn tác xử lý")
    shot("07-undone")

    # the report, and its export
    page.goto(f"{live_server.url}/console/reports")
    expect(page.locator("svg.columns").first).to_be_visible()
    shot("08-reports")
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    exported = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["Mã thanh toán"] for r in rows} == {paid["reference"], proposed["reference"]}
    context.close()
