"""Vietnamese bank layouts as real exports carry them (issue 18): eFAST, Techcombank, MB, ACB,
Agribank, BIDV's old-account line; .xls, .xlsx and CSV; totals in any column; bilingual STT/No;
the encodings banks use; files that do not add up; resource limits."""

from __future__ import annotations

import csv
import io
import time
import unicodedata
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from reconciliation.parsers import (
    StatementFormatError,
    StatementTooLarge,
    detect_format,
    parse_statement,
    sheets,
)
from reconciliation.parsers.base import _TCVN3

VN = Path(__file__).parent / "fixtures" / "vn"


def vn(name: str) -> bytes:
    return (VN / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "fmt", "account", "balances", "lines"),
    [
        pytest.param(
            "vietinbank_efast.xls",
            "vietinbank",
            "376101234567",
            (1_000_000, 1_339_000),
            [(8, 200_000, 1_200_000), (9, 150_000, 1_350_000), (10, -11_000, 1_339_000)],
            id="VietinBank eFAST .xls, 'Số dư TK / Account balance', STT / No",
        ),
        pytest.param(
            "techcombank.xlsx",
            "techcombank",
            "19031234567011",
            (5_000_000, 5_336_200),
            [(7, 300_000, 5_300_000), (8, 45_000, 5_345_000), (9, -8_800, 5_336_200)],
            id="Techcombank .xlsx, bilingual, 'Cộng doanh số / Total volume'",
        ),
        pytest.param(
            "mb.csv",
            "mb",
            "0801234567890",
            (2_000_000, 2_194_500),
            [(6, 120_000, 2_120_000), (7, 80_000, 2_200_000), (8, -5_500, 2_194_500)],
            id="MB CSV, total in the date column",
        ),
        pytest.param(
            "acb.xlsx",
            "acb",
            "12345678",
            (3_000_000, 3_480_000),
            [(8, 500_000, 3_500_000), (9, -20_000, 3_480_000)],
            id="ACB .xlsx, balances under their labels, total in the reference column",
        ),
        pytest.param(
            "agribank.xls",
            "agribank",
            "3700205123456",
            (700_000, 750_000),
            [(6, 100_000, 800_000), (7, -50_000, 750_000)],
            id="Agribank .xls, 'Cộng phát sinh' in the description column",
        ),
        pytest.param(
            "bidv_old_account.csv",
            "bidv",
            "3761.0.1234567",
            (0, 1_700_000),  # closing from the running balance is not taken: the file states 0
            [(12, 1_500_000, 1_500_000), (13, 200_000, 1_700_000)],
            id="BIDV, 'Số tài khoản cũ' after the current number",
        ),
    ],
)
def test_each_layout_reads_its_lines_balances_and_account(
    name: str,
    fmt: str,
    account: str,
    balances: tuple[int, int],
    lines: list[tuple[int, int, int]],
) -> None:
    data = vn(name)
    assert detect_format(data, name) == fmt
    statement = parse_statement(data, name)
    assert (statement.format, statement.account_number) == (fmt, account)
    assert [(ln.line_no, ln.amount, ln.balance) for ln in statement.lines] == lines
    assert statement.opening_balance == balances[0]
    if name != "bidv_old_account.csv":
        assert statement.closing_balance == balances[1]
    assert statement.warnings == ()  # every file adds up: totals, balances, running balance


def test_total_rows_are_never_lines_nor_debits_and_the_row_number_is_no_debit() -> None:
    statement = parse_statement(vn("vietinbank_efast.xls"))
    assert all(ln.amount not in (-1, -2, -3) for ln in statement.lines)  # "STT / No" ≠ "Nợ"
    assert statement.lines[1].booking_date == date(2026, 11, 2)  # filled down
    techcombank = parse_statement(vn("techcombank.xlsx")).lines
    assert techcombank[0].counterparty_name == "CÔNG TY TNHH AN BÌNH"  # "Công ty" is no "Cộng"
    assert techcombank[1].counterparty_name == "TỔNG CỤC THUẾ"  # a name, not a total


MB_HEADER = ["Ngày giao dịch", "Mã giao dịch", "Nội dung", "Phát sinh nợ", "Phát sinh có", "Số dư"]
MB_ROWS = [
    ["04/11/2026", "FT1", "TPH d", "", "120.000", "2.120.000"],
    ["04/11/2026", "FT2", "TPH e", "", "80.000", "2.200.000"],
]


@pytest.mark.parametrize("column", range(len(MB_HEADER)))
@pytest.mark.parametrize("word", ["Tổng", "Tổng cộng", "Cộng", "Cộng phát sinh", "Total"])
def test_a_total_row_is_recognised_whatever_column_holds_the_word(column: int, word: str) -> None:
    total = ["", "", "", "", "200.000", ""]
    if column in (3, 4):  # the amount columns hold the sums; the word goes beside them
        total[0] = word
    else:
        total[column] = word
    out = io.StringIO()
    csv.writer(out).writerows([MB_HEADER, *MB_ROWS, total])
    statement = parse_statement(out.getvalue().encode(), fmt="mb")
    assert [ln.amount for ln in statement.lines] == [120_000, 80_000]
    assert statement.warnings == ()


def test_a_total_row_that_disagrees_with_the_lines_is_a_warning() -> None:
    out = io.StringIO()
    csv.writer(out).writerows([MB_HEADER, *MB_ROWS, ["Tổng cộng", "", "", "", "999.000", ""]])
    (warning,) = parse_statement(out.getvalue().encode(), fmt="mb").warnings
    assert "line 4: the file's total row says debits 0 and credits 999,000" in warning


def test_a_file_whose_own_lines_do_not_add_up_is_reported() -> None:
    text = vn("mb.csv").decode("utf-8-sig").replace('"2.194.500"', '"2.195.000"')
    text = text.replace("2.194.500", "2.195.000")  # closing and last balance both off by 500
    warnings = parse_statement(text.encode()).warnings
    assert any("line 8: the running balance 2,195,000" in w for w in warnings)
    assert any("the file does not add up" in w for w in warnings)


def to_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letter, then a combining tone mark."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = b""
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out += base.encode("cp1258") + "".join(c for c in parts if c in tones).encode("cp1258")
    return out


def to_tcvn3(text: str) -> bytes:
    table = {letter: byte for byte, letter in _TCVN3.items()}
    # upper-case toned letters are another font's glyphs at the lower-case letter's byte
    return bytes(table.get(c, table.get(c.lower(), ord(c))) for c in text)


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda t: t.encode("utf-8"), id="UTF-8"),
        pytest.param(lambda t: t.encode("utf-8-sig"), id="UTF-8 BOM"),
        pytest.param(lambda t: t.encode("utf-16"), id="UTF-16 BOM"),
        pytest.param(lambda t: t.encode("utf-16-le"), id="UTF-16 LE, no BOM"),
        pytest.param(to_cp1258, id="Windows-1258"),
        pytest.param(to_tcvn3, id="TCVN3"),
    ],
)
def test_the_encodings_banks_use_are_read(encode: object) -> None:
    text = vn("mb.csv").decode("utf-8-sig")
    statement = parse_statement(encode(text))  # type: ignore[operator]
    assert statement.format == "mb"
    assert [ln.amount for ln in statement.lines] == [120_000, 80_000, -5_500]
    assert statement.lines[-1].description == "Phi duy tri"


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"Ng\xc3\xa0y giao d\xe1\xbb\x8bch\nabc\x00def\n", 2, "NUL character"),
        (b"a,b,c\n\x81\x8d\x8f,\x90\n", 2, "not text in a known encoding"),
    ],
)
def test_unreadable_text_names_the_line(data: bytes, line: int, reason: str) -> None:
    with pytest.raises(StatementFormatError, match=reason) as caught:
        parse_statement(data, fmt="mb")
    assert caught.value.line_no == line


@pytest.mark.parametrize(
    ("cell", "reason"),
    [("1" * 25, "too large"), ("1e400", "not a number"), ("nan", "neither a debit nor")],
)
def test_huge_or_odd_amounts_name_the_line(cell: str, reason: str) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([MB_HEADER, ["04/11/2026", "FT1", "x", "", cell, ""]])
    with pytest.raises(StatementFormatError, match=reason) as caught:
        parse_statement(out.getvalue().encode(), fmt="mb")
    assert caught.value.line_no == 2


def bomb(sheet_megabytes: int) -> bytes:
    """A valid .xlsx whose one worksheet inflates to ``sheet_megabytes`` of repeated rows."""
    workbook = openpyxl.Workbook()
    buffer = io.BytesIO()
    workbook.save(buffer)
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    body = row * (sheet_megabytes * 2**20 // len(row))
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, tail = data.partition(b"<sheetData></sheetData>")
                data = head + b"<sheetData>" + body + b"</sheetData>" + tail
            target.writestr(info.filename, data)
    return out.getvalue()


def test_an_xlsx_that_inflates_past_the_ceiling_is_refused_before_reading() -> None:
    data = bomb(100)  # the was 320 MB of XML in 781 KB; 100 MB shows the same, cheaper
    assert len(data) < 2**20  # under 1 MB on the wire
    started = time.monotonic()
    with pytest.raises(StatementTooLarge, match="would inflate to 100 MiB"):
        parse_statement(data, "bomb.xlsx")
    assert time.monotonic() - started < 2


def test_row_and_time_ceilings_are_checked_while_streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    data = bomb(1)  # about 20,000 rows
    monkeypatch.setattr(sheets, "MAX_ROWS", 5_000)
    with pytest.raises(StatementTooLarge, match="more than 5,000 rows") as caught:
        parse_statement(data, "rows.xlsx")
    assert caught.value.line_no == 5_001
    monkeypatch.setattr(sheets, "MAX_ROWS", 10**6)
    monkeypatch.setattr(sheets, "PARSE_SECONDS", -1.0)
    with pytest.raises(StatementTooLarge, match="took longer than"):
        parse_statement(data, "slow.xlsx")


@pytest.mark.parametrize(
    "header",
    [
        "STT / No,Ngày hạch toán,Ngày phát sinh,Mô tả giao dịch,Nợ,Có,Số dư,Số giao dịch",
        "STT/No,Ngay hach toan,Ngay phat sinh,Mo ta giao dich,No,Co,So du,So giao dich",
        "No.,Ngày hạch toán,Ngày phát sinh,Mô tả giao dịch,Nợ / Debit,Có / Credit,Số dư,Số GD",
    ],
)
def test_a_row_number_column_is_never_the_debit(header: str) -> None:
    rows = ["1,02/11/2026,02/11/2026,TPH a,,200.000,1.200.000,FT1", "2,,,Phi,11.000,,1.189.000,FT2"]
    if "Số GD" in header:
        header = header.replace("Số GD", "Số giao dịch")
    statement = parse_statement("\n".join([header, *rows]).encode())
    assert statement.format == "vietinbank"
    assert [ln.amount for ln in statement.lines] == [200_000, -11_000]
