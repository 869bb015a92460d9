"""ISO 20022 camt.053 (BankToCustomerStatement), versions 001.02 to 001.08 and later.

Parsed safely: no DTD is loaded, no entity is expanded, no network is touched, and any document
with a DOCTYPE is refused outright (a statement has no use for one; billion-laughs and external
entities both need one). Paths are namespace-agnostic (``local-name()``), so every version reads
the same way; v8's ``Pty`` wrapper around party names is looked through.

Per ``Ntry``: signed ``Amt`` by ``CdtDbtInd`` (in minor units, see :func:`~.base.to_minor_units`),
``BookgDt``/``ValDt`` (``Dt``, or the bank's local date of ``DtTm``), ``AcctSvcrRef`` as the
reference, ``Ustrd`` remittance lines as the description (else ``AddtlNtryInf``), and the other
party: the debtor of a credit, the creditor of a debit. Entries with a status other than booked
(``PDNG``, ``INFO``) are not statement lines and are left out. Balances: ``OPBD`` (else ``PRCD``)
opens, ``CLBD`` closes. Several ``Stmt`` for one account are merged; for several accounts
:func:`parse_camt053` refuses and :func:`parse_camt053_statements` returns each.

A batch booking (one ``Ntry`` with several ``NtryDtls/TxDtls``) becomes one line per ``TxDtls``,
each with its own amount (``AmtDtls/TxAmt/Amt``, else ``Amt``), reference (its ``AcctSvcrRef``,
else the entry's with ``/<n>``), remittance (``Ustrd``, and ``Strd/CdtrRefInf/Ref``, where a
structured creditor reference travels) and parties. A batch whose details do not add up to the
entry's amount (or lack amounts) stays one line, with a warning.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from lxml import etree

from .base import (
    Fingerprinter,
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    merge_statements,
    period_of,
    to_minor_units,
)

FORMAT = "camt053"
NAMESPACE_MARK = b"camt.053."

Element = etree._Element


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
    )


@cache
def _xpath(path: str) -> etree.XPath:
    """``"A/B|C"``-style child paths, matched on local names whatever the namespace."""
    alternatives = []
    for alternative in path.split("|"):
        steps = (f"*[local-name()='{step}']" for step in alternative.split("/"))
        alternatives.append("/".join(steps))
    return etree.XPath(" | ".join(alternatives))


def _all(element: Element, path: str) -> list[Element]:
    found = _xpath(path)(element)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def _first(element: Element, path: str) -> Element | None:
    found = _all(element, path)
    return found[0] if found else None


def _text(element: Element, path: str) -> str | None:
    found = _first(element, path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def _line_of(element: Element) -> int:
    # lxml-stubs type sourceline loosely; libxml2 gives 0 when it does not know.
    line = element.sourceline
    return line if isinstance(line, int) else 0


def looks_like_camt053(data: bytes) -> bool:
    head = data[:4096].lstrip()
    return head.startswith(b"<") and NAMESPACE_MARK in head


def load_document(data: bytes) -> Element:
    """The XML root, refusing DTDs, entities and anything that is not a camt.053 Document."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise StatementFormatError("XML with a DOCTYPE or entity declarations is refused")
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise StatementFormatError(f"malformed XML: {exc.msg}", exc.lineno) from None
    # The byte scan above misses a DOCTYPE in UTF-16; the parsed tree does not.
    info = tree.docinfo
    if info.internalDTD is not None or info.system_url or info.public_id:
        raise StatementFormatError("XML with a DOCTYPE or entity declarations is refused")
    root = tree.getroot()
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Document" or "camt.053." not in namespace:
        raise StatementFormatError("not a camt.053 document", _line_of(root))
    return root


def parse_camt053_statements(data: bytes) -> list[ParsedStatement]:
    root = load_document(data)
    fingerprint = Fingerprinter()
    statements = [_statement(s, fingerprint) for s in _all(root, "BkToCstmrStmt/Stmt")]
    if not statements:
        raise StatementFormatError("the document holds no Stmt", _line_of(root))
    return statements


def parse_camt053(data: bytes) -> ParsedStatement:
    return merge_statements(parse_camt053_statements(data))


def _statement(stmt: Element, fingerprint: Fingerprinter) -> ParsedStatement:
    account = _text(stmt, "Acct/Id/IBAN|Acct/Id/Othr/Id")
    currency = _text(stmt, "Acct/Ccy") or _currency_of(stmt)
    balances: dict[str, int] = {}
    for bal in _all(stmt, "Bal"):
        code = _text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")
        if code and code not in balances:
            balances[code] = _signed_amount(bal, _line_of(bal))
    lines: list[ParsedLine] = []
    warnings: list[str] = []
    for entry in _all(stmt, "Ntry"):
        if (_text(entry, "Sts/Cd") or _text(entry, "Sts") or "BOOK") == "BOOK":
            lines += _lines(entry, currency, fingerprint, warnings)
    start, end = period_of(lines)
    period_from = _date_of(stmt, "FrToDt/FrDtTm")
    period_to = _date_of(stmt, "FrToDt/ToDtTm")
    return ParsedStatement(
        FORMAT,
        account,
        currency,
        balances.get("OPBD", balances.get("PRCD")),
        balances.get("CLBD"),
        period_from or start,
        period_to or end,
        lines,
        tuple(warnings),
    )


def _currency_of(stmt: Element) -> str:
    amount = _first(stmt, "Bal/Amt|Ntry/Amt")
    currency = amount.get("Ccy") if amount is not None else None
    if not currency:
        raise StatementFormatError("the statement names no currency", _line_of(stmt))
    return currency


def _signed_amount(element: Element, line_no: int, currency: str | None = None) -> int:
    """``Amt`` (in its own ``Ccy``) signed by ``CdtDbtInd``: DBIT is negative."""
    amount = _first(element, "Amt")
    if amount is None or not (amount.text or "").strip():
        raise StatementFormatError("an amount (Amt) is missing", line_no)
    indicator = _text(element, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementFormatError(f"CdtDbtInd is {indicator!r}, not CRDT or DBIT", line_no)
    value = to_minor_units(
        (amount.text or "").strip(), amount.get("Ccy") or currency or "", _line_of(amount)
    )
    return -value if indicator == "DBIT" else value


def _date_of(element: Element, path: str) -> date | None:
    text = _text(element, path)
    if text is None:
        return None
    try:
        # DtTm carries the bank's offset: its own date is the business date it booked.
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementFormatError(f"{path} {text!r} is not a date", _line_of(element)) from None


def _remittance(tx: Element) -> list[str]:
    texts = [" ".join(e.text.split()) for e in _all(tx, "RmtInf/Ustrd") if e.text]
    texts += [
        " ".join(e.text.split())
        for e in _all(tx, "RmtInf/Strd/CdtrRefInf/Ref|RmtInf/Strd/AddtlRmtInf")
        if e.text
    ]
    return texts


def _party(tx: Element | None, amount: int) -> tuple[str | None, str | None]:
    if tx is None:
        return None, None
    party = "Dbtr" if amount >= 0 else "Cdtr"
    name = _text(tx, f"RltdPties/{party}/Nm|RltdPties/{party}/Pty/Nm")
    account = _text(tx, f"RltdPties/{party}Acct/Id/IBAN|RltdPties/{party}Acct/Id/Othr/Id")
    return name, account


def _detail_amount(tx: Element, sign: int, currency: str) -> int | None:
    amount = _first(tx, "AmtDtls/TxAmt/Amt|Amt")
    text = "" if amount is None else (amount.text or "").strip()
    if amount is None or not text:
        return None
    value = to_minor_units(text, amount.get("Ccy") or currency, _line_of(amount))
    indicator = _text(tx, "CdtDbtInd")
    if indicator in ("CRDT", "DBIT"):
        return -value if indicator == "DBIT" else value
    return sign * value


def _lines(
    entry: Element, currency: str, fingerprint: Fingerprinter, warnings: list[str]
) -> list[ParsedLine]:
    line_no = _line_of(entry)
    amount = _signed_amount(entry, line_no, currency)
    booking = _date_of(entry, "BookgDt/Dt|BookgDt/DtTm") or _date_of(entry, "ValDt/Dt|ValDt/DtTm")
    if booking is None:
        raise StatementFormatError("the entry has no booking date (BookgDt)", line_no)
    value = _date_of(entry, "ValDt/Dt|ValDt/DtTm")
    details = _all(entry, "NtryDtls/TxDtls")
    entry_ref = _text(entry, "AcctSvcrRef")
    other_info = _text(entry, "AddtlNtryInf") or ""

    def line(at: int, part: int, txs: list[Element], ref: str | None) -> ParsedLine:
        description = " ".join(t for tx in txs for t in _remittance(tx)) or other_info
        name, account = _party(txs[0] if txs else None, part)
        fp = fingerprint(booking, part, ref, description, None)
        return ParsedLine(at, booking, value, part, description, ref, name, account, None, fp)

    if len(details) > 1:
        sign = -1 if amount < 0 else 1
        found = [_detail_amount(tx, sign, currency) for tx in details]
        amounts = [a for a in found if a is not None]
        if len(amounts) == len(details) and sum(amounts) == amount:
            return [
                line(
                    _line_of(tx) or line_no,
                    part,
                    [tx],
                    _text(tx, "Refs/AcctSvcrRef") or (f"{entry_ref}/{n}" if entry_ref else None),
                )
                for n, (tx, part) in enumerate(zip(details, amounts, strict=True), 1)
            ]
        warnings.append(
            f"line {line_no}: a batch of {len(details)} transactions whose amounts do not add "
            "up to the entry's; kept as one line"
        )
    reference = entry_ref or (_text(details[0], "Refs/AcctSvcrRef") if details else None)
    return [line(line_no, amount, details, reference)]
