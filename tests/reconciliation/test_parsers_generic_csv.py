"""Generic statement CSV (DESIGN §4.4): values, rejections with line numbers, fingerprints."""

from __future__ import annotations

import csv
import io
from dataclasses import FrozenInstanceError, replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.parsers import ParsedLine, StatementFormatError, parse_statement
from reconciliation.parsers.generic_csv import COLUMNS

HEADER = ",".join(COLUMNS)


def make_csv(*rows: str, header: str = HEADER, bom: bool = False) -> bytes:
    text = "\n".join([header, *rows]) + "\n"
    return ("\ufeff" + text if bom else text).encode()


def test_generic_csv_lines_carry_every_column() -> None:
    data = make_csv(
        "2026-11-02,2026-11-01,200000,TP26AB0000017 nop phi,FT001,NGUYEN VAN A,0123456789,1200000",
        "2026-11-02,,-11000,Phi SMS,,,,",
    )
    statement = parse_statement(data, "sao-ke.csv")
    assert statement.format == "csv"
    assert statement.currency == "VND"
    assert statement.account_number is None
    assert (statement.period_start, statement.period_end) == (date(2026, 11, 2), date(2026, 11, 2))
    first, second = statement.lines
    assert first.line_no == 2
    assert first.booking_date == date(2026, 11, 2)
    assert first.value_date == date(2026, 11, 1)
    assert first.amount == 200_000
    assert first.description == "TP26AB0000017 nop phi"
    assert first.bank_reference == "FT001"
    assert first.counterparty_name == "NGUYEN VAN A"
    assert first.counterparty_account == "0123456789"
    assert first.balance == 1_200_000
    assert second.line_no == 3
    assert (second.value_date, second.bank_reference, second.balance) == (None, None, None)
    assert second.amount == -11_000


def test_lines_are_genuine_frozen_parsed_lines() -> None:
    (line,) = parse_statement(make_csv("2026-11-02,,5,a,R1,,,")).lines
    assert type(line) is ParsedLine
    with pytest.raises(FrozenInstanceError):
        line.amount = 6  # type: ignore[misc]
    assert hash(line) == hash(replace(line))
    assert line == ParsedLine(**{f: getattr(line, f) for f in line.__slots__})


def test_generic_csv_accepts_a_utf8_bom_and_columns_in_any_order() -> None:
    header = ",".join(reversed(COLUMNS))
    data = make_csv("100,,,FT9,Mô tả có dấu,0,,2026-01-31", header=header, bom=True)
    (line,) = parse_statement(data).lines
    assert (line.booking_date, line.amount, line.balance) == (date(2026, 1, 31), 0, 100)
    assert line.description == "Mô tả có dấu"


def test_quoted_description_spanning_lines_keeps_later_line_numbers_right() -> None:
    data = make_csv(
        '2026-11-02,,1,"first line\nsecond line",,,,',
        "2026-11-03,,2,x,,,,",
        "2026-11-04,,oops,x,,,,",
    )
    with pytest.raises(StatementFormatError) as caught:
        parse_statement(data)
    assert caught.value.line_no == 5
    ok = parse_statement(data.replace(b"oops", b"3"))
    assert [line.line_no for line in ok.lines] == [3, 4, 5]
    assert ok.lines[0].description == "first line\nsecond line"


def test_padded_cells_take_the_careful_path_and_read_the_same() -> None:
    tidy = parse_statement(make_csv("2026-11-02,2026-11-02,-5,memo,R1,,,10"))
    padded = parse_statement(make_csv(" 2026-11-02 , 2026-11-02 , -5 , memo , R1 ,,, 10 "))
    assert padded.lines == tidy.lines


def test_blank_lines_are_skipped() -> None:
    statement = parse_statement(make_csv("2026-11-02,,5,a,,,,", "", "2026-11-03,,6,b,,,,"))
    assert [(line.line_no, line.amount) for line in statement.lines] == [(2, 5), (4, 6)]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("02/11/2026,,5,a,,,,", "booking_date '02/11/2026' is not a date"),
        ("2026-02-30,,5,a,,,,", "booking_date '2026-02-30' is not a date"),
        ("20261102,,5,a,,,,", "booking_date '20261102' is not a date"),
        ("2026-11-02,2026-13-01,5,a,,,,", "value_date '2026-13-01' is not a date"),
        ("2026-11-02,,5.5,a,,,,", "amount '5.5' is not a whole number"),
        ("2026-11-02,,1_000,a,,,,", "amount '1_000' is not a whole number"),
        ("2026-11-02,,1.000,a,,,,", "amount '1.000' is not a whole number"),
        ("2026-11-02,,,a,,,,", "amount '' is not a whole number"),
        ("2026-11-02,,5,a,,,,x", "balance 'x' is not a whole number"),
        ("2026-11-02,,5,a", "expected 8 fields, found 4"),
    ],
)
def test_a_bad_line_rejects_the_file_naming_the_line(row: str, reason: str) -> None:
    data = make_csv("2026-11-01,,1,fine,,,,", "2026-11-01,,2,fine,,,,", row)
    with pytest.raises(StatementFormatError) as caught:
        parse_statement(data, fmt="csv")
    assert caught.value.line_no == 4
    assert str(caught.value).startswith("line 4: ")
    assert reason in str(caught.value)


def test_a_missing_column_is_named() -> None:
    header = HEADER.replace(",balance", "")
    with pytest.raises(StatementFormatError, match=r"line 1: missing column.*balance"):
        parse_statement(make_csv("2026-11-01,,1,a,,,", header=header), fmt="csv")


def test_bytes_no_encoding_reads_are_rejected_with_their_line() -> None:
    # 0x81 is undefined in Windows-1258 and is no TCVN3 letter; 0xE9 alone would be cp1258 "é"
    data = make_csv("2026-11-01,,1,a,,,,", "2026-11-01,,1,caf\xe9,,,,").replace(
        "café".encode(), b"caf\x81"
    )
    with pytest.raises(StatementFormatError, match="not text in a known encoding") as caught:
        parse_statement(data, fmt="csv")
    assert caught.value.line_no == 3


def test_the_same_transaction_in_overlapping_files_has_the_same_fingerprint() -> None:
    rows = [
        "2026-11-01,,200000,TP26AB0000017,FT1,,,",
        "2026-11-01,,200000,TP26AB0000025 nop phi,,,,",
        "2026-11-01,,200000,TP26AB0000025 nop phi,,,,",  # a genuine twin, no reference
        "2026-11-02,,115000,TP26AB0000033,FT4,,,",
        "2026-11-03,,-11000,Phi SMS,,,,",
    ]
    earlier = parse_statement(make_csv(*rows[:4])).lines
    later = parse_statement(make_csv(*rows[1:])).lines
    by_fingerprint = {line.fingerprint: line for line in earlier}
    assert len(by_fingerprint) == 4, "the twins stay two lines"
    shared = [line for line in later if line.fingerprint in by_fingerprint]
    assert [line.description for line in shared] == [
        "TP26AB0000025 nop phi",
        "TP26AB0000025 nop phi",
        "TP26AB0000033",
    ]
    assert parse_statement(make_csv(*rows)).lines[1].fingerprint == earlier[1].fingerprint


def test_fingerprint_uses_the_reference_so_a_reworded_description_is_the_same_line() -> None:
    first = parse_statement(make_csv("2026-11-01,,5,old text,FT1,,,")).lines[0]
    second = parse_statement(make_csv("2026-11-01,,5,NEW TEXT,FT1,,,")).lines[0]
    third = parse_statement(make_csv("2026-11-01,,6,old text,FT1,,,")).lines[0]
    assert first.fingerprint == second.fingerprint != third.fingerprint


def test_fingerprint_without_reference_ignores_case_and_spacing_of_the_description() -> None:
    first = parse_statement(make_csv("2026-11-01,,5,Nộp  phí TP26,,,,")).lines[0]
    second = parse_statement(make_csv("2026-11-01,,5,nộp phí tp26,,,,")).lines[0]
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 64


# --- round trip --------------------------------------------------------------------------------

_text = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n"), max_size=40
).map(str.strip)
_optional_text = _text.map(lambda s: s or None)
_lines = st.lists(
    st.tuples(
        st.dates(date(1990, 1, 1), date(2100, 12, 31)),
        st.none() | st.dates(date(1990, 1, 1), date(2100, 12, 31)),
        st.integers(-(10**15), 10**15),
        _text,
        _optional_text,
        _optional_text,
        _optional_text,
        st.none() | st.integers(-(10**15), 10**15),
    ),
    max_size=30,
)


def _write(rows: list[tuple[object, ...]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode()


def _fields(line: ParsedLine) -> tuple[object, ...]:
    return (
        line.booking_date,
        line.value_date,
        line.amount,
        line.description,
        line.bank_reference,
        line.counterparty_name,
        line.counterparty_account,
        line.balance,
    )


@settings(max_examples=150, deadline=None)
@given(_lines)
def test_generic_csv_written_from_random_lines_parses_back_to_the_same_lines(
    rows: list[tuple[object, ...]],
) -> None:
    statement = parse_statement(_write(rows), fmt="csv")
    assert [_fields(line) for line in statement.lines] == rows
    assert len({line.fingerprint for line in statement.lines}) == len(rows)


@settings(max_examples=100, deadline=None)
@given(_lines)
def test_the_column_wise_fast_path_agrees_with_the_row_by_row_reference(
    rows: list[tuple[object, ...]],
) -> None:
    from reconciliation.parsers import generic_csv

    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    line_nos = range(2, len(cells) + 2)
    order = list(range(len(COLUMNS)))
    reference = generic_csv._parse_rows(cells, line_nos, order, len(COLUMNS))
    assert generic_csv._parse_columns(cells, line_nos, order, len(COLUMNS)) == reference
