"""Property: a random statement written by every writer (generic CSV, a bank's .xlsx, MT940,
camt.053) reads back as the same lines and balances, with no warning (issue 18)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

import openpyxl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciliation.parsers import parse_statement

ACCOUNT = "376101234567"
TOTAL_WORDS = {"tong", "cong", "total", "subtotal", "tổng", "cộng"}


@dataclass(frozen=True)
class Line:
    booking: date
    amount: int
    description: str
    reference: str


@dataclass(frozen=True)
class Statement:
    opening: int
    lines: list[Line]

    @property
    def closing(self) -> int:
        return self.opening + sum(line.amount for line in self.lines)

    def balances(self) -> list[int]:
        out, running = [], self.opening
        for line in self.lines:
            running += line.amount
            out.append(running)
        return out


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789ăâđêôơưáàạếộ", min_size=1)
descriptions = (
    st.lists(words, min_size=1, max_size=6)
    .map(" ".join)
    .filter(lambda d: len(d) <= 60 and d.casefold() not in TOTAL_WORDS)
)
lines = st.builds(
    Line,
    booking=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    amount=st.integers(-(10**9), 10**9).filter(bool),
    description=descriptions,
    reference=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=4, max_size=16),
)
statements = st.builds(
    Statement,
    opening=st.integers(0, 10**10),
    lines=st.lists(lines, min_size=1, max_size=12, unique_by=lambda ln: ln.reference).map(
        lambda ls: sorted(ls, key=lambda ln: ln.booking)
    ),
)


def write_csv(s: Statement) -> bytes:
    rows = ["booking_date,value_date,amount,description,bank_reference,counterparty_name,"
            "counterparty_account,balance"]  # fmt: skip
    for line, balance in zip(s.lines, s.balances(), strict=True):
        rows.append(
            f"{line.booking.isoformat()},,{line.amount},{line.description},{line.reference},,,"
            f"{balance}"
        )
    return ("\n".join(rows) + "\n").encode()


def write_xlsx(s: Statement) -> bytes:
    """A VietinBank export: title block, bilingual header, typed cells, total and closing rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NGÂN HÀNG TMCP CÔNG THƯƠNG VIỆT NAM"])
    sheet.append(["Số tài khoản / Account No:", ACCOUNT])
    sheet.append(["Số dư đầu kỳ / Opening balance:", s.opening])
    sheet.append(["STT / No", "Ngày hạch toán", "Ngày phát sinh", "Mô tả giao dịch", "Nợ", "Có",
                  "Số dư TK / Account balance", "Số giao dịch"])  # fmt: skip
    for n, (line, balance) in enumerate(zip(s.lines, s.balances(), strict=True), 1):
        when = datetime(line.booking.year, line.booking.month, line.booking.day)  # noqa: DTZ001
        debit, credit = (-line.amount, None) if line.amount < 0 else (None, line.amount)
        sheet.append([n, when, when, line.description, debit, credit, balance, line.reference])
    debits = -sum(ln.amount for ln in s.lines if ln.amount < 0)
    credits = sum(ln.amount for ln in s.lines if ln.amount > 0)
    sheet.append(["Tổng cộng / Total", None, None, None, debits, credits, None, None])
    sheet.append(["Số dư cuối kỳ / Closing balance:", s.closing])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _swift(amount: int) -> str:
    return f"{abs(amount)},"


def write_mt940(s: Statement) -> bytes:
    first = s.lines[0].booking
    mark = "C" if s.opening >= 0 else "D"
    out = [":20:RT1", f":25:ICBVVNVX/{ACCOUNT}", ":28C:1/1",
           f":60F:{mark}{first:%y%m%d}VND{_swift(s.opening)}"]  # fmt: skip
    for line in s.lines:
        sign = "C" if line.amount > 0 else "D"
        out.append(f":61:{line.booking:%y%m%d%m%d}{sign}{_swift(line.amount)}NTRFNONREF//"
                   f"{line.reference}")  # fmt: skip
        out.append(f":86:{line.description}")
    out.append(f":62F:C{s.lines[-1].booking:%y%m%d}VND{_swift(s.closing)}")
    return ("\r\n".join(out) + "\r\n-").encode()


def write_camt(s: Statement) -> bytes:
    def balance(code: str, amount: int, when: date) -> str:
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="VND">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Dt><Dt>{when.isoformat()}</Dt></Dt></Bal>"
        )

    entries = "".join(
        f'<Ntry><Amt Ccy="VND">{abs(ln.amount)}</Amt>'
        f"<CdtDbtInd>{'CRDT' if ln.amount > 0 else 'DBIT'}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{ln.booking.isoformat()}</Dt></BookgDt>"
        f"<AcctSvcrRef>{ln.reference}</AcctSvcrRef><NtryDtls><TxDtls>"
        f"<RmtInf><Ustrd>{escape(ln.description)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        for ln in s.lines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M</MsgId><CreDtTm>2026-12-31T23:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id>"
        f"<CreDtTm>2026-12-31T23:00:00</CreDtTm><Acct><Id><Othr><Id>{ACCOUNT}</Id></Othr></Id>"
        "<Ccy>VND</Ccy></Acct>"
        + balance("OPBD", s.opening, s.lines[0].booking)
        + balance("CLBD", s.closing, s.lines[-1].booking)
        + entries
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


WRITERS: dict[str, Callable[[Statement], bytes]] = {
    "csv": write_csv,
    "vietinbank": write_xlsx,
    "mt940": write_mt940,
    "camt053": write_camt,
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements)
def test_every_writer_round_trips_lines_and_balances(statement: Statement) -> None:
    assume(statement.closing >= 0)
    want = [(ln.booking, ln.amount, ln.description, ln.reference) for ln in statement.lines]
    for fmt, write in WRITERS.items():
        parsed = parse_statement(write(statement), f"statement.{fmt}")
        assert parsed.format == fmt
        got = [
            (ln.booking_date, ln.amount, ln.description, ln.bank_reference) for ln in parsed.lines
        ]
        assert got == want, fmt
        assert (parsed.opening_balance, parsed.closing_balance) == (
            statement.opening,
            statement.closing,
        ), fmt
        assert parsed.warnings == (), fmt
        assert sum(ln.amount for ln in parsed.lines) == statement.closing - statement.opening
