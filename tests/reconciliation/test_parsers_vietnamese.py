"""Vietcombank, VietinBank and BIDV exports, from the hand-made CSVs and from .xlsx built here."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from reconciliation.parsers import StatementFormatError, detect_format, parse_statement

FIXTURES = Path(__file__).parent / "fixtures"


def cell_datetime(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A worksheet date-time cell: Excel has no time zones, so it is naive."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def xlsx(rows: list[list[object]], *, leading_blank_rows: int = 0) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for _ in range(leading_blank_rows):
        sheet.append([])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_fixture_as_xlsx(name: str, delimiter: str = ",") -> bytes:
    """The CSV fixture's cells, as text, in a worksheet (exports often store text cells)."""
    text = fixture(name).decode("utf-8-sig")
    return xlsx([list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)])


# --- Vietcombank -------------------------------------------------------------------------------

VIETCOMBANK_AMOUNTS = [200_000, 115_000, -11_000, 1_500_000]


def test_vietcombank_csv_reads_header_block_lines_and_skips_totals() -> None:
    statement = parse_statement(fixture("vietcombank.csv"), "vcb.csv")
    assert statement.format == "vietcombank"
    assert statement.account_number == "0071001234567"
    assert statement.currency == "VND"
    assert (statement.opening_balance, statement.closing_balance) == (10_000_000, 11_804_000)
    assert (statement.period_start, statement.period_end) == (date(2026, 11, 1), date(2026, 11, 3))
    assert [line.amount for line in statement.lines] == VIETCOMBANK_AMOUNTS
    assert [line.line_no for line in statement.lines] == [9, 10, 11, 12]
    filled_down = statement.lines[1]
    assert filled_down.booking_date == date(2026, 11, 1)
    assert filled_down.bank_reference == "5213 - 40013"
    assert filled_down.description == "TP26AB0000025 NGUYEN VAN B, chuyen tien"
    with_time = statement.lines[2]
    assert with_time.booking_date == date(2026, 11, 2)
    assert with_time.balance is None
    opening = statement.opening_balance or 0
    assert opening + sum(VIETCOMBANK_AMOUNTS) == statement.closing_balance


def test_vietcombank_xlsx_with_text_cells_reads_like_the_csv() -> None:
    from_csv = parse_statement(fixture("vietcombank.csv"))
    from_xlsx = parse_statement(csv_fixture_as_xlsx("vietcombank.csv"), "vcb.xlsx")
    assert from_xlsx == from_csv  # same row numbers, values and fingerprints


def test_vietcombank_xlsx_with_typed_cells() -> None:
    rows: list[list[object]] = [
        ["SAO KÊ TÀI KHOẢN"],
        ["Số tài khoản:", 71001234567],
        ["Số dư đầu kỳ:", 1_000_000],
        [],
        ["Ngày giao dịch", "Số tham chiếu", "Số tiền ghi nợ", "Số tiền ghi có", "Mô tả"],
        [cell_datetime(2026, 11, 1, 9, 30), 4001, None, 200000, "TP26AB0000017"],
        [None, 4002, None, 115000.0, "TP26AB0000025"],
        [cell_datetime(2026, 11, 2), "4003", 11000, None, "Phi SMS"],
        ["Tổng cộng", None, 11000, 315000, None],
    ]
    statement = parse_statement(xlsx(rows, leading_blank_rows=2))
    assert statement.format == "vietcombank"
    assert statement.account_number == "71001234567"
    assert statement.opening_balance == 1_000_000
    assert statement.closing_balance is None
    assert [(line.line_no, line.booking_date, line.amount) for line in statement.lines] == [
        (8, date(2026, 11, 1), 200_000),
        (9, date(2026, 11, 1), 115_000),
        (10, date(2026, 11, 2), -11_000),
    ]
    assert [line.bank_reference for line in statement.lines] == ["4001", "4002", "4003"]


# --- VietinBank --------------------------------------------------------------------------------


def test_vietinbank_semicolon_csv_with_comma_thousands() -> None:
    statement = parse_statement(fixture("vietinbank.csv"))
    assert statement.format == "vietinbank"
    assert statement.account_number == "112000123456"
    assert (statement.opening_balance, statement.closing_balance) == (5_000_000, 5_228_000)
    lines = statement.lines
    assert [(line.line_no, line.amount, line.balance) for line in lines] == [
        (8, 200_000, 5_200_000),
        (9, 50_000, 5_250_000),
        (10, -22_000, 5_228_000),
    ]
    # A transfer made at 23:30 is booked the next day: booking and value dates differ.
    assert (lines[0].booking_date, lines[0].value_date) == (date(2026, 11, 5), date(2026, 11, 4))
    assert (lines[1].booking_date, lines[1].value_date) == (date(2026, 11, 5), date(2026, 11, 4))
    assert lines[2].bank_reference == "FT26310000007"
    assert lines[0].description == "CT DEN:632105 TP26AB0000041 nop phi"


def test_vietinbank_xlsx() -> None:
    from_csv = parse_statement(fixture("vietinbank.csv"))
    from_xlsx = parse_statement(csv_fixture_as_xlsx("vietinbank.csv", ";"), fmt="vietinbank")
    assert from_xlsx == from_csv


# --- BIDV --------------------------------------------------------------------------------------


def test_bidv_csv_with_multiline_bilingual_headers_and_decimal_zero_amounts() -> None:
    statement = parse_statement(fixture("bidv.csv"))
    assert statement.format == "bidv"
    assert statement.account_number == "3761.0.1234567"
    assert (statement.opening_balance, statement.closing_balance) == (0, None)
    assert [(line.line_no, line.amount, line.balance) for line in statement.lines] == [
        (11, 1_500_000, 1_500_000),
        (12, 200_000, 1_700_000),
        (13, 200_000, 1_900_000),
        (14, -20_000, 1_880_000),
    ]
    twins = statement.lines[1:3]
    assert twins[1].booking_date == date(2026, 11, 10)  # filled down
    assert all(line.bank_reference is None for line in statement.lines)
    assert twins[0].fingerprint != twins[1].fingerprint  # told apart by the running balance


def test_bidv_xlsx() -> None:
    from_csv = parse_statement(fixture("bidv.csv"))
    from_xlsx = parse_statement(csv_fixture_as_xlsx("bidv.csv"))
    # The CSV header spans six lines (quoted line breaks); in the worksheet it is one row.
    assert [line.line_no for line in from_xlsx.lines] == [6, 7, 8, 9]
    assert [replace(line, line_no=0) for line in from_xlsx.lines] == [
        replace(line, line_no=0) for line in from_csv.lines
    ]
    assert replace(from_xlsx, lines=[]) == replace(from_csv, lines=[])


def test_headers_without_diacritics_and_in_other_case_are_recognised() -> None:
    data = b"NGAY HIEU LUC,GHI NO,GHI CO,SO DU,MO TA\n01/12/2026,,500,500,x\n"
    statement = parse_statement(data)
    assert statement.format == "bidv"
    assert statement.lines[0].amount == 500


def test_a_wrongly_accented_header_is_not_recognised() -> None:
    data = "Ngày hiệu lực,Ghi nộ,Ghi có,Số dư,Mô tả\n01/12/2026,,500,500,x\n".encode()
    with pytest.raises(StatementFormatError, match="unrecognised statement format"):
        parse_statement(data)


def test_english_first_bilingual_headers_are_recognised() -> None:
    header = (
        "Transaction Date (Ngày giao dịch),Reference / Số tham chiếu,Debit / Số tiền ghi nợ,"
        "Credit / Số tiền ghi có,Description / Mô tả"
    )
    data = f"{header}\n01/12/2026,R1,,1,500,x\n".replace(",1,500,", ',"1,500",').encode()
    assert detect_format(data) == "vietcombank"
    assert parse_statement(data).lines[0].amount == 1_500


def test_utf16_export_with_bom_is_read() -> None:
    text = fixture("vietcombank.csv").decode("utf-8-sig")
    data = text.encode("utf-16")
    assert [line.amount for line in parse_statement(data).lines] == VIETCOMBANK_AMOUNTS


# --- amounts and rejections --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("1500000", 1_500_000),
        ("1.500", 1_500),
        ("1,500", 1_500),
        ("1.500.000,00", 1_500_000),
        ("1,500,000.00", 1_500_000),
        ("1 500 000 VND", 1_500_000),
        ("200.000 đ", 200_000),
    ],
)
def test_thousand_separators_are_told_apart_by_pattern(cell: str, amount: int) -> None:
    data = f'Ngày hiệu lực,Ghi nợ,Ghi có,Số dư,Mô tả\n01/12/2026,,"{cell}",,x\n'.encode()
    assert parse_statement(data, fmt="bidv").lines[0].amount == amount


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ('01/12/2026,,"1.500.000,50",,x', "not a whole number of đồng"),
        ("01/12/2026,,1.50,,x", "not a whole number of đồng"),
        ("01/12/2026,,12abc,,x", "is not a number"),
        ("01/12/2026,,1.500.000.00,,x", "is not a number"),
        ("32/12/2026,,500,,x", "'32/12/2026' is not a date"),
        ("01/12/2026,100,500,,x", "both a debit and a credit"),
        ("01/12/2026,,,,x", "neither a debit nor a credit"),
    ],
)
def test_a_bad_row_rejects_the_export_naming_the_row(row: str, reason: str) -> None:
    data = f"Ngân hàng BIDV\nNgày hiệu lực,Ghi nợ,Ghi có,Số dư,Mô tả\n01/12/2026,,5,,ok\n{row}\n"
    with pytest.raises(StatementFormatError, match=reason) as caught:
        parse_statement(data.encode())
    assert caught.value.line_no == 4


def test_a_memo_that_merely_starts_like_a_total_or_a_label_is_a_transaction() -> None:
    data = (
        "Ngày hiệu lực,Ghi nợ,Ghi có,Số dư,Mô tả\n"
        "01/12/2026,,5,,first\n"
        ",,200.000,,TOTAL FEE TP26AB0000017\n"
        ",,100.000,,So tai khoan 0123 chuyen tien\n"
        ",,,,Tổng cộng\n"
        ",11,205,,Cộng phát sinh\n"
    ).encode()
    lines = parse_statement(data).lines
    assert [(line.line_no, line.amount) for line in lines] == [(2, 5), (3, 200_000), (4, 100_000)]


def test_a_first_row_without_a_date_is_rejected() -> None:
    data = "Ngày hiệu lực,Ghi nợ,Ghi có,Số dư,Mô tả\n,,500,,x\n".encode()
    with pytest.raises(StatementFormatError, match="line 2: the first transaction has no date"):
        parse_statement(data)


def test_a_fractional_amount_in_an_xlsx_cell_is_rejected_with_its_row() -> None:
    rows: list[list[object]] = [
        ["Ngày hiệu lực", "Ghi nợ", "Ghi có", "Số dư", "Mô tả"],
        [cell_datetime(2026, 12, 1), None, 1500.5, None, "x"],
    ]
    with pytest.raises(StatementFormatError, match=r"line 2: amount 1500\.5"):
        parse_statement(xlsx(rows))


def test_unknown_headers_are_an_unrecognised_format() -> None:
    data = b"Date,Amount,Memo\n2026-12-01,5,x\n"
    with pytest.raises(StatementFormatError, match="unrecognised statement format"):
        parse_statement(data, "other-bank.csv")
    with pytest.raises(StatementFormatError, match="unrecognised statement format"):
        parse_statement(xlsx([["Date", "Amount", "Memo"]]))


def test_a_pinned_bank_format_needs_that_banks_headers() -> None:
    with pytest.raises(StatementFormatError, match="the vietinbank column headers"):
        parse_statement(fixture("bidv.csv"), fmt="vietinbank")


def test_overlapping_exports_give_the_shared_lines_the_same_fingerprints() -> None:
    header = "Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Mô tả"
    rows = [
        "01/11/2026,R1,,200.000,TP26AB0000017",
        ",R2,,115.000,TP26AB0000025",
        "02/11/2026,R3,11.000,,Phi SMS",
        "03/11/2026,R4,,50.000,TP26AB0000033",
    ]
    first = parse_statement("\n".join([header, *rows[:3]]).encode()).lines
    # The later export starts at the second transfer, so it prints that row's date.
    later_rows = ["01/11/2026" + rows[1], *rows[2:]]
    second = parse_statement("\n".join(["Sao kê", header, *later_rows]).encode()).lines
    assert [line.fingerprint for line in first[1:]] == [line.fingerprint for line in second[:2]]
    assert second[2].fingerprint not in {line.fingerprint for line in first}
