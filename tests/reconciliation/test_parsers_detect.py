"""detect_format by content, and the explicit ``fmt`` override of parse_statement."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from reconciliation.parsers import (
    FORMATS,
    StatementFormatError,
    detect_format,
    parse_statement,
)

HERE = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parent / "fixtures" / "public"
GENERIC = b"booking_date,value_date,amount,description,bank_reference,counterparty_name,\
counterparty_account,balance\n2026-11-01,,5,x,,,,\n"


def workbook_with(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (GENERIC, "csv"),
        (b"\xef\xbb\xbf" + GENERIC, "csv"),
        ((HERE / "vietcombank.csv").read_bytes(), "vietcombank"),
        ((HERE / "vietinbank.csv").read_bytes(), "vietinbank"),
        ((HERE / "bidv.csv").read_bytes(), "bidv"),
        ((SHARED / "mt940" / "jejik_ing.sta").read_bytes(), "mt940"),
        ((SHARED / "mt940" / "sberbank_171011_01234945.sta").read_bytes(), "mt940"),
        ((SHARED / "camt053" / "genkgo_camt053.v8.xml").read_bytes(), "camt053"),
        (
            workbook_with([["Ngày hạch toán", "Ngày phát sinh", "Mô tả giao dịch", "Nợ", "Có",
                            "Số dư", "Số giao dịch"]]),
            "vietinbank",
        ),
    ],
)  # fmt: skip
def test_format_is_detected_by_content(data: bytes, expected: str) -> None:
    assert detect_format(data, "statement.bin") == expected


def test_the_file_name_does_not_decide() -> None:
    assert detect_format(GENERIC, "statement.xml") == "csv"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world\n", b"<html><body>statement</body></html>", b"\x00\x01\x02"],
)
def test_unknown_content_is_an_unrecognised_format(data: bytes) -> None:
    with pytest.raises(StatementFormatError, match=r"unrecognised statement format|NUL character"):
        detect_format(data, "x.dat")


def test_a_corrupt_legacy_xls_gets_a_useful_message() -> None:
    with pytest.raises(StatementFormatError, match=r"unreadable \.xls workbook"):
        parse_statement(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "sao-ke.xls")


def test_a_corrupt_xlsx_is_rejected() -> None:
    with pytest.raises(StatementFormatError, match=r"unreadable \.xlsx"):
        parse_statement(b"PK\x03\x04not really a zip", "sao-ke.xlsx")


def test_formats_are_the_documented_ones() -> None:
    assert FORMATS == (
        "csv",
        "vietcombank",
        "vietinbank",
        "bidv",
        "techcombank",
        "mb",
        "acb",
        "agribank",
        "mt940",
        "camt053",
    )


@pytest.mark.parametrize("fmt", ["CAMT053", "camt.053", "MT940", "Vietcombank"])
def test_fmt_is_case_and_punctuation_tolerant(fmt: str) -> None:
    data = {
        "camt053": (SHARED / "camt053" / "genkgo_camt053.v4.xml").read_bytes(),
        "mt940": (SHARED / "mt940" / "jejik_ing.sta").read_bytes(),
        "vietcombank": (HERE / "vietcombank.csv").read_bytes(),
    }
    key = fmt.lower().replace(".", "")
    assert parse_statement(data[key], fmt=fmt).format == key


def test_an_unknown_fmt_is_refused() -> None:
    with pytest.raises(StatementFormatError, match="unknown statement format 'ofx'"):
        parse_statement(GENERIC, fmt="ofx")


def test_a_wrong_fmt_fails_as_that_format() -> None:
    with pytest.raises(StatementFormatError, match="missing column"):
        parse_statement((HERE / "bidv.csv").read_bytes(), fmt="csv")
    with pytest.raises(StatementFormatError, match="no MT940 statement"):
        parse_statement(GENERIC, fmt="mt940")
    with pytest.raises(StatementFormatError, match="malformed XML"):
        parse_statement(GENERIC, fmt="camt053")
