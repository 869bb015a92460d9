"""MT940 through the mt-940 library, on the shared fixtures and on hand-made files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reconciliation.parsers import (
    StatementFormatError,
    detect_format,
    parse_statement,
    parse_statements,
)

# Copies of public samples (fixtures/public/README.md says where each comes from).
SHARED = Path(__file__).resolve().parent / "fixtures" / "public" / "mt940"
ALL_FIXTURES = sorted(p.name for p in SHARED.glob("*") if not p.name.startswith("LICENSE"))


def shared(name: str) -> bytes:
    return (SHARED / name).read_bytes()


def test_every_shared_fixture_is_detected_and_parses() -> None:
    assert len(ALL_FIXTURES) == 8
    for name in ALL_FIXTURES:
        assert detect_format(shared(name), name) == "mt940", name
        assert all(s.lines for s in parse_statements(shared(name))), name


@pytest.mark.parametrize(
    ("name", "account", "currency", "count", "first", "last", "opening", "closing"),
    [
        ("citi_mt940.txt", "123456789", "USD", 5, -21239, -56108, 1737667, 1623392),
        ("jejik_ing.sta", "0001234567", "EUR", 7, -2503, 100, 0, 347),
        ("mBank_mt940.sta", "PL29114010810000267002001002", "PLN", 3, 1, 1, 40, 43),
        ("sberbank_171011_01234945.sta", "1966315302010001", "HUF", 3, -240200, -357500,
         62731130, 61787430),
        ("self-provided_february_30.sta", "12345678/1020304050", "EUR", 1, -600, -600,
         120000, 119400),
        # two :20: statements of one account merge: first opening, last (:62M:) closing
        ("jejik_abnamro.sta", "517852257", "EUR", 10, -900, -1500, 323628, 184975),
    ],
)  # fmt: skip
def test_single_account_fixtures_in_minor_units(
    name: str,
    account: str,
    currency: str,
    count: int,
    first: int,
    last: int,
    opening: int,
    closing: int,
) -> None:
    statement = parse_statement(shared(name), name)
    assert statement.format == "mt940"
    assert statement.account_number == account
    assert statement.currency == currency
    assert len(statement.lines) == count
    assert (statement.lines[0].amount, statement.lines[-1].amount) == (first, last)
    assert (statement.opening_balance, statement.closing_balance) == (opening, closing)


def test_line_numbers_point_at_the_61_tags() -> None:
    text = shared("jejik_abnamro.sta").decode()
    lines = parse_statement(text.encode()).lines
    physical = text.splitlines()
    assert all(physical[line.line_no - 1].startswith(":61:") for line in lines)
    assert [line.line_no for line in lines][:2] == [8, 12]


def test_entry_date_is_the_booking_date_and_86_the_description() -> None:
    (line,) = parse_statement(shared("self-provided_february_30.sta")).lines
    assert line.booking_date == date(2016, 3, 1)
    assert line.value_date == date(2016, 2, 29)  # "160230" clamped by the library
    assert line.description == "ENTGELTABSCHLUSS Pauschalen"
    ing = parse_statement(shared("jejik_ing.sta")).lines[0]
    assert ing.description.startswith("RC AFREKENING BETALINGSVERKEER BETREFT REKENING 4715589")
    assert ing.bank_reference is None  # NONREF is no reference


def test_bank_reference_after_the_double_slash() -> None:
    lines = parse_statement(shared("mBank_mt940.sta")).lines
    assert [line.bank_reference for line in lines] == [
        "MB170119012058",
        "MB170119012085",
        "MB170119012121",
    ]
    assert len({line.fingerprint for line in lines}) == 3


def test_files_with_several_accounts_are_refused_whole_but_readable_one_by_one() -> None:
    with pytest.raises(StatementFormatError, match="statements for 3 accounts"):
        parse_statement(shared("cmxl_mt940.sta"))
    statements = parse_statements(shared("cmxl_mt940.sta"))
    assert [(s.account_number, s.currency, len(s.lines)) for s in statements] == [
        ("45050050/76198810", "DEM", 11),
        ("10020030/1234567", "EUR", 2),
        ("BPHKPLPK/320000546101", "PLN", 3),
    ]
    assert statements[0].lines[0].amount == -680000
    assert (statements[1].opening_balance, statements[1].closing_balance) == (218795, 438795)
    sepa = parse_statements(shared("betterplace_sepa_snippet.sta"))
    assert [(len(s.lines), s.opening_balance, s.closing_balance) for s in sepa] == [
        (4, 76665649, 112525040),
        (7, -197043187, -447204909),
    ]
    assert sepa[0].lines[0].amount == 5099005
    assert sepa[0].lines[0].bank_reference == "0724710333343453"


VND_STATEMENT = """:20:VCB2026110301
:25:0071001234567
:28C:00001/001
:60F:C261102VND10000000,
:61:2611031103CN200000,NTRFNONREF//FT26307000001
:86:TP26AB0000017 NGUYEN VAN A nop phi
:61:2611031103DN11000,NCHGNONREF//FT26307000002
:86:Phi SMS Banking
:62F:C261103VND10189000,
-
"""


def test_a_vnd_statement_keeps_whole_dong() -> None:
    statement = parse_statement(VND_STATEMENT.encode(), fmt="mt940")
    assert statement.currency == "VND"
    assert (statement.opening_balance, statement.closing_balance) == (10_000_000, 10_189_000)
    assert [line.amount for line in statement.lines] == [200_000, -11_000]
    assert statement.lines[0].description == "TP26AB0000017 NGUYEN VAN A nop phi"
    assert statement.lines[0].booking_date == date(2026, 11, 3)


def test_a_fraction_of_a_dong_is_rejected_with_its_line() -> None:
    data = VND_STATEMENT.replace("DN11000,", "DN11000,5").encode()
    with pytest.raises(StatementFormatError, match=r"line 7: amount -11000\.5 VND") as caught:
        parse_statement(data)
    assert caught.value.line_no == 7


def test_an_unreadable_field_is_rejected_with_its_line() -> None:
    data = VND_STATEMENT.replace(":61:2611031103DN11000,", ":61:garbage").encode()
    with pytest.raises(StatementFormatError, match="line 7: unreadable :61: field 'garbage"):
        parse_statement(data, fmt="mt940")
    data = VND_STATEMENT.replace(":60F:C261102VND10000000,", ":60F:Cxx").encode()
    with pytest.raises(StatementFormatError, match="line 4: unreadable :60F: field 'Cxx'"):
        parse_statement(data, fmt="mt940")


def test_a_file_without_20_is_not_mt940() -> None:
    with pytest.raises(StatementFormatError, match="no MT940 statement"):
        parse_statement(b"hello\n", fmt="mt940")


# --- real-world marks, account forms and :86: structures (issue 18) ---------------------------

VN = Path(__file__).resolve().parent / "fixtures" / "vn"


def test_reversal_marks_negate_and_the_lines_add_up_to_the_balances() -> None:
    statement = parse_statement((VN / "reversals.sta").read_bytes())
    # C +200000, RC (reversal of that credit) −200000, D −50000, RD (fee back) +50000, C +300000
    assert [line.amount for line in statement.lines] == [200000, -200000, -50000, 50000, 300000]
    assert statement.closing_balance is not None and statement.opening_balance is not None
    assert sum(ln.amount for ln in statement.lines) == (
        statement.closing_balance - statement.opening_balance
    )
    assert statement.warnings == ()


def test_a_german_structured_86_is_split_into_purpose_name_and_account() -> None:
    line = parse_statement((VN / "reversals.sta").read_bytes()).lines[-1]
    assert line.counterparty_name == "NGUYEN VAN AN"
    assert line.counterparty_account == "0011001234567"
    assert "TPH12345678901234" in line.description  # ?20/?21 joined where the line wrapped
    assert "NGUYEN" not in line.description and "0011001234567" not in line.description
    betterplace = parse_statements(shared("betterplace_sepa_snippet.sta"))[0].lines[0]
    assert betterplace.counterparty_name == "KARL KAUFMANN"
    assert betterplace.counterparty_account == "DE14508800500194785000"
    assert betterplace.description.startswith("GUTSCHRIFT EREF+EndToEndId TFNR 22 004 00001 SVWZ+")


@pytest.mark.parametrize(
    ("raw", "description", "name", "account"),
    [
        (
            "/EREF/TPH12345678901234/REMI/USTD//Le phi ho tich/NAME/TRAN THI B/IBAN/VN12345678/",
            "Le phi ho tich TPH12345678901234",
            "TRAN THI B",
            "VN12345678",
        ),
        (
            "/CNTP/0011001234567/BFTVVNVX/LE VAN C/HA NOI/REMI/USTD//TPH12345678901234/",
            "TPH12345678901234",
            "LE VAN C",
            "0011001234567",
        ),
        (
            "CK nop le phi TPH12345678901234\nNGUYEN VAN A",
            "CK nop le phi TPH12345678901234 NGUYEN VAN A",
            None,
            None,
        ),
    ],
)
def test_slash_style_and_free_86(
    raw: str, description: str, name: str | None, account: str | None
) -> None:
    from reconciliation.parsers.mt940 import split_details

    details = split_details(raw)
    assert (details.description, details.name, details.account) == (description, name, account)


@pytest.mark.parametrize(
    "field_25",
    [
        "ICBVVNVX/376101234567",  # BIC/account
        "376101234567 VND",  # account, space, currency
        "376101234567VND",  # currency glued on
        "3761.0.1234567",  # the catalog's own punctuation
        "3761-0 1234567",  # dashes and spaces
        "970415/3761.0.1234567",  # bank code (BIN) before a slash
    ],
)
def test_the_25_account_is_compared_normalised(field_25: str) -> None:
    from reconciliation.parsers.base import same_account

    text = (VN / "reversals.sta").read_text().replace("ICBVVNVX/3761.0.1234567 VND", field_25)
    statement = parse_statement(text.encode())
    assert statement.account_number is not None
    assert same_account(statement.account_number, "3761.0.1234567")
    assert not same_account(statement.account_number, "3761.0.1234568")
