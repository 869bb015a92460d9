"""Exports an accountant can use as they are: Vietnamese headers, real dates and numbers with
formats, widths, a frozen header and filters; revenue kept apart from refunds due and partial
payments; one charset in the CSV content type."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

import pytest
import requests
from console_kit import (  # noqa: F401 - fixtures
    JUSTICE,
    console_signing_files,
    make_user,
    new_request,
    settings_with_receipts,
    sign_in,
)
from factories import pay
from openpyxl import load_workbook

from payments.payment_requests.services import cancel_payment_request


@pytest.fixture
def officer(live_server: Any, catalog: Any) -> requests.Session:
    make_user(live_server.container, "ketoan")
    return sign_in(live_server.url, "ketoan")


@pytest.fixture
def month(live_server: Any, catalog: Any) -> dict[str, dict[str, Any]]:
    """Four requests: paid, partly paid, overpaid by 50.000 đ, and cancelled after payment."""
    c = live_server.container
    made = {k: new_request(c, JUSTICE, f"Người {k}", k.upper()) for k in ("paid", "part", "over")}
    made["gone"] = new_request(c, JUSTICE, "Người gone", "GONE")
    pay(c, made["paid"], txn_id="a" * 64)  # a fingerprint-like id
    pay(c, made["part"], made["part"]["total_amount"] // 2)
    pay(c, made["over"], made["over"]["total_amount"] + 50_000)
    pay(c, made["gone"], made["gone"]["total_amount"] // 2)
    cancel_payment_request(made["gone"]["id"], uow=c.uow(), settings=c.settings, principal=None)
    return made


def test_the_csv_has_vietnamese_headers_real_dates_and_one_charset(
    officer: requests.Session, month: dict[str, dict[str, Any]]
) -> None:
    resp = officer.get(f"{officer.base}/console/reports/export.csv", timeout=10)  # type: ignore[attr-defined]
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "Thời điểm nộp",
        "Mã hồ sơ",
        "Mã thanh toán",
        "Người nộp",
        "Mã thủ tục",
        "Kênh thu",
        "Mã giao dịch",
        "Phân loại",
        "Số tiền (đồng)",
    ]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", rows[0]["Thời điểm nộp"])
    assert all(r["Số tiền (đồng)"].isdigit() for r in rows)
    assert all(r["Kênh thu"] == "Chuyển khoản VietQR" for r in rows)
    assert "a" * 64 not in resp.text  # a fingerprint means nothing to an accountant
    kinds = {(r["Mã thanh toán"], r["Phân loại"]): int(r["Số tiền (đồng)"]) for r in rows}
    over = month["over"]
    assert kinds == {
        (month["paid"]["reference"], "Số thu"): month["paid"]["total_amount"],
        (month["part"]["reference"], "Nộp một phần"): month["part"]["total_amount"] // 2,
        (over["reference"], "Số thu"): over["total_amount"],
        (over["reference"], "Phải hoàn trả"): 50_000,
        (month["gone"]["reference"], "Phải hoàn trả"): month["gone"]["total_amount"] // 2,
    }


def test_the_workbook_is_typed_formatted_frozen_and_filtered(
    officer: requests.Session, month: dict[str, dict[str, Any]]
) -> None:
    resp = officer.get(f"{officer.base}/console/reports/export.xlsx", timeout=10)  # type: ignore[attr-defined]
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["Tổng hợp", "Theo ngày", "Chi tiết"]
    detail = book["Chi tiết"]
    assert detail.freeze_panes == "A2" and detail.auto_filter.ref
    assert detail["A1"].value == "Thời điểm nộp" and detail["A1"].font.b
    assert isinstance(detail["A2"].value, datetime)
    assert detail["A2"].number_format == "dd/mm/yyyy hh:mm"
    assert isinstance(detail["I2"].value, int) and detail["I2"].number_format == "#,##0"
    assert detail.column_dimensions["D"].width >= 20
    summary = {row[0]: row[2] for row in book["Tổng hợp"].iter_rows(2, values_only=True)}
    part, over, gone = month["part"], month["over"], month["gone"]
    assert summary["Số thu"] == month["paid"]["total_amount"] + over["total_amount"]
    assert summary["Phải hoàn trả"] == 50_000 + gone["total_amount"] // 2
    assert summary["Nộp một phần"] == part["total_amount"] // 2
    days = book["Theo ngày"]
    assert days.freeze_panes == "A2" and days["A2"].number_format == "dd/mm/yyyy"
