"""camt.053 on the shared fixtures (v2, v4, v8), and the XML attacks it must refuse."""

from __future__ import annotations

import socket
from datetime import date
from pathlib import Path

import pytest

from reconciliation.parsers import (
    StatementFormatError,
    detect_format,
    parse_statement,
    parse_statements,
)

SHARED = Path(__file__).resolve().parent / "fixtures" / "public" / "camt053"


def shared(name: str) -> bytes:
    return (SHARED / f"genkgo_camt053.{name}.xml").read_bytes()


@pytest.mark.parametrize(
    ("name", "account", "opening", "closing", "amount", "line_no"),
    [
        ("v2.minimal", "NL26VAYB8060476890", 1815, -2700, 885, 90),
        ("v2.five.decimals", "NL26VAYB8060476890", 1815, 2705, 885, 61),
        ("v2.all-balance-types", "CH2801234000123456789", 101, 404, 885, 152),
        ("v4", "NL26VAYB8060476890", 1815, -2700, 885, 110),
        ("v8", "NL26VAYB8060476890", 1815, -2700, 885, 110),
    ],
)
def test_shared_fixtures_in_minor_units(
    name: str, account: str, opening: int, closing: int, amount: int, line_no: int
) -> None:
    data = shared(name)
    assert detect_format(data) == "camt053"
    statement = parse_statement(data)
    assert statement.format == "camt053"
    assert statement.account_number == account
    assert statement.currency == "EUR"
    assert (statement.opening_balance, statement.closing_balance) == (opening, closing)
    (line,) = statement.lines
    assert (line.amount, line.line_no) == (amount, line_no)
    assert line.booking_date == date(2014, 12, 31)
    assert line.value_date == date(2015, 1, 2)


def test_v2_entry_details() -> None:
    (line,) = parse_statement(shared("v2.minimal")).lines
    assert line.counterparty_name == "NAME NAME"  # the debtor of a credit
    assert line.counterparty_account == "NL56AGDH9619008421"
    assert line.bank_reference is None
    five = parse_statement(shared("v2.five.decimals")).lines[0]
    assert five.description == "Transaction Description"


def test_v4_and_v8_reference_and_v8_party_wrapper() -> None:
    (v4,) = parse_statement(shared("v4")).lines
    assert v4.bank_reference == "AAAASESS-FP-CN_98765/01"
    v8_statement = parse_statement(shared("v8"))
    (v8,) = v8_statement.lines
    assert v8.bank_reference == "AAAASESS-FP-CN_98765/01"
    assert v8.counterparty_name == "NAME NAME"  # Dbtr/Pty/Nm
    assert v8.booking_date == date(2014, 12, 31)  # from BookgDt/DtTm
    assert v8_statement.period_start == date(2007, 10, 18)  # FrToDt as the bank states it


def test_all_balance_types_prefer_opbd_and_clbd() -> None:
    statement = parse_statement(shared("v2.all-balance-types"))
    assert (statement.opening_balance, statement.closing_balance) == (101, 404)


def test_statements_of_one_account_are_merged() -> None:
    data = shared("v2.multi.statement")
    assert len(parse_statements(data)) == 2
    statement = parse_statement(data)
    assert [line.amount for line in statement.lines] == [885, -700]
    assert (statement.opening_balance, statement.closing_balance) == (1815, 2000)
    assert statement.lines[1].counterparty_name == "Company Name 2"  # the creditor of a debit
    assert statement.lines[1].description == "Transaction Description 2"


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt><Stmt>
  <Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>VND</Ccy></Acct>
  <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="VND">1000000</Amt>
   <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-02</Dt></Dt></Bal>
  <Ntry><Amt Ccy="VND">200000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
   <BookgDt><Dt>2026-11-03</Dt></BookgDt><AcctSvcrRef>FT1</AcctSvcrRef>
   <NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>NGUYỄN VĂN A</Nm></Pty></Dbtr>
    <DbtrAcct><Id><Othr><Id>0123456789</Id></Othr></Id></DbtrAcct></RltdPties>
    <RmtInf><Ustrd>TP26AB0000017</Ustrd><Ustrd>nop phi</Ustrd></RmtInf></TxDtls></NtryDtls>
  </Ntry>
  <Ntry><Amt Ccy="VND">{second}</Amt>{indicator}<Sts><Cd>{status}</Cd></Sts>
   <BookgDt><Dt>2026-11-03</Dt></BookgDt></Ntry>
 </Stmt></BkToCstmrStmt>
</Document>
"""


def camt(
    account: str = "0071001234567",
    second: str = "11000",
    indicator: str = "<CdtDbtInd>DBIT</CdtDbtInd>",
    status: str = "BOOK",
) -> bytes:
    return CAMT.format(account=account, second=second, indicator=indicator, status=status).encode()


def test_a_vnd_statement_with_prcd_opening_and_othr_account() -> None:
    statement = parse_statement(camt())
    assert statement.account_number == "0071001234567"
    assert (statement.currency, statement.opening_balance, statement.closing_balance) == (
        "VND",
        1_000_000,
        None,
    )
    first, second = statement.lines
    assert (first.amount, second.amount) == (200_000, -11_000)
    assert first.description == "TP26AB0000017 nop phi"
    assert (first.counterparty_name, first.counterparty_account) == ("NGUYỄN VĂN A", "0123456789")
    assert (first.line_no, second.line_no) == (7, 13)


def test_pending_entries_are_not_statement_lines() -> None:
    assert len(parse_statement(camt(status="PDNG")).lines) == 1


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"indicator": ""}, "line 13: CdtDbtInd is None"),
        ({"second": "11000.5"}, "line 13: amount 11000.5 VND has a fraction"),
        ({"second": "abc"}, "line 13: amount 'abc' is not a number"),
    ],
)
def test_a_bad_entry_rejects_the_file_naming_its_line(kwargs: dict[str, str], reason: str) -> None:
    with pytest.raises(StatementFormatError, match=reason):
        parse_statement(camt(**kwargs))


def test_malformed_xml_names_the_line() -> None:
    data = camt().replace(b"</Ntry>\n  <Ntry>", b"</Ntry>\n  <Ntry")
    with pytest.raises(StatementFormatError, match="malformed XML") as caught:
        parse_statement(data, fmt="camt053")
    assert caught.value.line_no == 13


def test_xml_that_is_not_camt053_is_refused() -> None:
    with pytest.raises(StatementFormatError, match="unrecognised statement format"):
        parse_statement(b"<?xml version='1.0'?><Document xmlns='urn:x'/>")
    with pytest.raises(StatementFormatError, match=r"not a camt\.053 document"):
        parse_statement(b"<Document xmlns='urn:x'/>", fmt="camt053")


# --- hostile XML -------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><Stmt><AddtlStmtInf>&lol9;</AddtlStmtInf></Stmt></BkToCstmrStmt>
</Document>
"""


@pytest.fixture
def listener() -> object:
    """A local TCP port that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    yield server
    server.close()


def external_entity(port: int) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/secret">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><Stmt><Acct><Id><IBAN>&xxe;</IBAN></Id></Acct></Stmt></BkToCstmrStmt>
</Document>
""".encode()


def _nobody_connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def test_billion_laughs_is_refused_without_expansion() -> None:
    with pytest.raises(StatementFormatError, match="DOCTYPE"):
        parse_statement(BILLION_LAUGHS)
    with pytest.raises(StatementFormatError, match="DOCTYPE"):
        parse_statement(BILLION_LAUGHS, fmt="camt053")


def test_external_entity_is_refused_without_a_network_call(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with pytest.raises(StatementFormatError, match="DOCTYPE"):
        parse_statement(external_entity(port), fmt="camt053")
    assert _nobody_connected(listener)


@pytest.mark.parametrize("attack", ["billion_laughs", "external_entity"])
def test_a_doctype_hidden_in_utf16_is_refused_by_the_parsed_tree(
    attack: str, listener: socket.socket
) -> None:
    # The byte scan for "<!DOCTYPE" cannot see UTF-16; the parser must catch it instead.
    xml = (
        BILLION_LAUGHS if attack == "billion_laughs" else external_entity(listener.getsockname()[1])
    )
    data = xml.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    with pytest.raises(StatementFormatError, match="DOCTYPE"):
        parse_statement(data.encode("utf-16"), fmt="camt053")
    assert _nobody_connected(listener)


def test_a_batch_whose_details_do_not_add_up_stays_one_line_with_a_warning() -> None:
    from tests.reconciliation.test_parsers_import import camt_batch

    refs = ["TPH00000000000097", "TPH00000000000194"]
    good = parse_statement(camt_batch("376101234567", refs, [100_000, 50_000]))
    assert [(ln.amount, ln.description) for ln in good.lines] == [
        (100_000, refs[0]),  # the structured creditor reference is the remittance
        (50_000, refs[1]),
    ]
    tampered = camt_batch("376101234567", refs, [100_000, 50_000]).replace(
        b'<Amt Ccy="VND">50000</Amt></TxAmt>', b'<Amt Ccy="VND">40000</Amt></TxAmt>'
    )
    statement = parse_statement(tampered)
    (line,) = statement.lines
    assert line.amount == 150_000 and line.bank_reference == "BATCH0001"
    assert any("do not add up to the entry's" in w for w in statement.warnings)
