"""SWIFT MT940 through the ``mt-940`` library.

A file may hold several statements (one per ``:20:``); each is parsed on its own so that its
``:60F:``/``:62F:`` balances (or the intermediate ``:60M:``/``:62M:``) and ``:25:`` account stay
with it, then :func:`~.base.merge_statements` joins them when they are for one account.

Amounts are ints of the currency's minor unit (``Decimal("50990.05")`` EUR → ``5099005``; VND has
no minor unit, so đồng stay đồng), the currency recorded on the statement; an amount finer than
the minor unit is rejected. The sign comes from the ``:61:`` mark, read here rather than left to
the library (whose default negates a plain ``D`` only): ``D`` and ``RC`` (reversal of a credit:
money leaves) are negative, ``C`` and ``RD`` (reversal of a debit: money comes back) positive. The
booking date is the ``:61:`` entry date when given, else its value date.

``:86:`` is read raw and split here (:func:`split_details`): the German structured form
(``166?00GUTSCHRIFT?20…?29`` purpose, ``?30`` bank, ``?31`` account, ``?32``/``?33`` name,
``?60``–``?63`` more purpose) and the slash form (``/EREF/…/REMI/…/NAME/…/IBAN/…``) give the
description, the counterparty's name and account apart; anything else is the description as is.
The reference is the bank's ``//`` reference of ``:61:``, else the customer reference unless it
is ``NONREF``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import mt940

from .base import (
    Fingerprinter,
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    merge_statements,
    period_of,
    to_minor_units,
)

FORMAT = "mt940"
_STATEMENT_START = re.compile(r"^:20:", re.MULTILINE)
_GVC = re.compile(r"^\d{3}\?")  # a three-digit business code, then ?NN sub-fields
_SUBFIELD = re.compile(r"\?(\d{2})")
_SLASH_KEYS = (
    "EREF|REMI|NAME|IBAN|BIC|CNTP|ORDP|BENM|MARF|CSID|PURP|ADDR|RTRN|TRCD|ULTC|ULTD|SVCL|BUSP|PREF"
)
_SLASH = re.compile(rf"/({_SLASH_KEYS})/")
_NEGATIVE_MARKS = frozenset({"D", "RC"})
# SEPA purpose keys inside ?20-?29 start a new item even when glued to the previous one
_SEPA_KEY = re.compile(r"(?<=\S)(?=(?:EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC)\+)")


@dataclass(frozen=True)
class Details:
    description: str
    name: str | None = None
    account: str | None = None


def split_details(raw: str) -> Details:
    """A ``:86:`` split into description, counterparty name and account (module docstring)."""
    # structured forms wrap at 65 characters mid-value; free text breaks between words
    text = "".join(raw.replace("\r", "").split("\n"))
    if _GVC.match(text):
        return _split_gvc(text)
    if _SLASH.search(text):
        return _split_slash(text)
    return Details(" ".join(raw.split()))


def _split_gvc(text: str) -> Details:
    parts: dict[str, list[str]] = {}
    pieces = _SUBFIELD.split(text[3:])
    for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
        parts.setdefault(code, []).append(value)

    def joined(*codes: str, sep: str = "") -> str:
        return " ".join(sep.join(v for c in codes for v in parts.get(c, [])).split())

    purpose_codes = [f"{n}" for n in range(20, 30)] + ["60", "61", "62", "63"]
    purpose = _SEPA_KEY.sub(" ", joined(*purpose_codes))
    description = " ".join(x for x in (joined("00"), purpose) if x)
    name = " ".join(joined("32", "33", sep=" ").split()) or None
    return Details(description, name, joined("31") or None)


def _split_slash(text: str) -> Details:
    pieces = _SLASH.split(text)
    values: dict[str, str] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
        values.setdefault(key, " ".join(value.strip("/").split()))
    remittance = values.get("REMI", "")
    if remittance.startswith(("USTD//", "STRD/")):  # ING/Rabobank: unstructured or structured
        remittance = remittance.split("/", 2)[-1].strip("/ ")
    description = " ".join(x for x in (pieces[0].strip(), remittance, values.get("EREF", "")) if x)
    counterparty = values.get("CNTP", "").split("/")  # CNTP/account/BIC/name/city
    name = values.get("NAME") or (counterparty[2] if len(counterparty) > 2 else "") or None
    account = values.get("IBAN") or counterparty[0] or None
    return Details(description, name, account)


def looks_like_mt940(text: str) -> bool:
    head = text[:4096]
    return bool(_STATEMENT_START.search(head)) and (":61:" in text or ":60F:" in text)


def decode_mt940(data: bytes) -> str:
    # SWIFT's character set is ASCII; real files carry Latin-1 or UTF-8 names in :86:.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_mt940_statements(text: str) -> list[ParsedStatement]:
    """Each ``:20:`` statement of the file, in file order."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
    if not starts:
        raise StatementFormatError("no MT940 statement (:20: tag) found", 1)
    fingerprint = Fingerprinter()
    statements = []
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        first_line = text.count("\n", 0, begin) + 1
        statements.append(_parse_one(text[begin:end], first_line, fingerprint))
    return statements


def parse_mt940(text: str) -> ParsedStatement:
    return merge_statements(parse_mt940_statements(text))


def _parse_one(chunk: str, first_line: int, fingerprint: Fingerprinter) -> ParsedStatement:
    # the raw :86: is split here (split_details), not by the library's GVC processor
    transactions = mt940.models.Transactions(processors={"post_transaction_details": []})
    try:
        transactions.parse(chunk)
    except Exception as exc:  # the library raises bare ValueError/KeyError/RuntimeError
        raise _unreadable(exc, chunk, first_line) from exc
    data = transactions.data
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
    currency = _currency(opening, closing, transactions)
    tag_lines = [
        first_line + i for i, line in enumerate(chunk.split("\n")) if line.startswith(":61:")
    ]
    if len(tag_lines) != len(transactions):
        raise StatementFormatError(
            f"{len(tag_lines)} :61: lines but {len(transactions)} transactions read", first_line
        )
    lines = [
        _line(t.data, line_no, currency, fingerprint)
        for t, line_no in zip(transactions, tag_lines, strict=True)
    ]
    start, end = period_of(lines)
    account = data.get("account_identification")
    return ParsedStatement(
        FORMAT,
        str(account).strip() if account else None,
        currency,
        _balance(opening, currency, first_line),
        _balance(closing, currency, first_line),
        start,
        end,
        lines,
    )


def _unreadable(exc: Exception, chunk: str, first_line: int) -> StatementFormatError:
    """The library's "Unable to parse <tag> from <value>" as an error on the value's line."""
    args = exc.args
    if len(args) >= 3 and isinstance(args[2], str) and getattr(args[1], "id", None):
        value = args[2]
        needle = value.split("\n", 1)[0][:40]
        for offset, line in enumerate(chunk.split("\n")):
            if needle and needle in line:
                return StatementFormatError(
                    f"unreadable :{args[1].id}: field {value[:60]!r}", first_line + offset
                )
    return StatementFormatError(f"unreadable MT940 statement: {exc}", first_line)


def _currency(opening: Any, closing: Any, transactions: mt940.models.Transactions) -> str:
    for balance in (opening, closing):
        if balance is not None and balance.amount.currency:
            return str(balance.amount.currency)
    for transaction in transactions:
        if transaction.data.get("currency"):
            return str(transaction.data["currency"])
    raise StatementFormatError("the statement names no currency (:60F:/:62F:)")


def _balance(balance: Any, currency: str, line_no: int) -> int | None:
    if balance is None:
        return None
    return to_minor_units(balance.amount.amount, currency, line_no)


def _plain_date(value: Any) -> date | None:
    return date(value.year, value.month, value.day) if value else None


def _line(data: dict[str, Any], line_no: int, currency: str, fp: Fingerprinter) -> ParsedLine:
    value_date = _plain_date(data.get("date"))
    booking_date = _plain_date(data.get("entry_date")) or value_date
    if booking_date is None:
        raise StatementFormatError(":61: has no date", line_no)
    magnitude = abs(to_minor_units(data["amount"].amount, currency, line_no))
    mark = str(data.get("status") or "").upper()
    amount = -magnitude if mark in _NEGATIVE_MARKS else magnitude
    details = split_details(str(data.get("transaction_details") or ""))
    reference = _reference(data)
    return ParsedLine(
        line_no,
        booking_date,
        value_date,
        amount,
        details.description,
        reference,
        details.name,
        details.account,
        None,
        fp(booking_date, amount, reference, details.description, None),
    )


def _reference(data: dict[str, Any]) -> str | None:
    for key in ("bank_reference", "customer_reference"):
        value = (data.get(key) or "").strip()
        if value and value.upper() != "NONREF":
            return str(value)
    return None
