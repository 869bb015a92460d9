"""Bank statement parsers: bytes in, one :class:`ParsedStatement` out (issue 6).

Pure functions — no database, no Flask. Formats (the ``fmt`` values):

``csv``          the generic CSV of DESIGN §4.4
``vietcombank``, ``vietinbank``, ``bidv``, ``techcombank``, ``mb``, ``acb``, ``agribank``
                 the banks' CSV, .xlsx or legacy .xls exports, recognised by their column headers
``mt940``        SWIFT MT940
``camt053``      ISO 20022 camt.053

``parse_statement`` returns one statement. A file holding several statements (MT940 ``:20:``
blocks, camt.053 ``Stmt`` elements) for one account is merged into one; for several accounts it
is refused, since an import belongs to one beneficiary account — ``parse_statements`` returns
them one by one for a caller that wants to split such a file. Every statement with balances
goes through the balance check (``balances``): a file that does not add up carries a warning.
"""

from __future__ import annotations

from .balances import with_balance_check
from .base import (
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    StatementTooLarge,
    decode_text,
    merge_statements,
    normalise_account,
    same_account,
)
from .camt053 import looks_like_camt053, parse_camt053_statements
from .generic_csv import looks_like_generic_csv, parse_generic_csv
from .mt940 import decode_mt940, looks_like_mt940, parse_mt940_statements
from .sheets import XLS_MAGIC, XLSX_MAGIC, csv_rows, spreadsheet_rows, xls_rows, xlsx_rows
from .vietnamese import BANK_BINS, Row, find_header, parse_rows

__all__ = [
    "BANK_BINS",
    "FORMATS",
    "ParsedLine",
    "ParsedStatement",
    "StatementFormatError",
    "StatementTooLarge",
    "detect_format",
    "normalise_account",
    "parse_statement",
    "parse_statements",
    "same_account",
]

BANK_FORMATS = ("vietcombank", "vietinbank", "bidv", "techcombank", "mb", "acb", "agribank")
FORMATS = ("csv", *BANK_FORMATS, "mt940", "camt053")


def detect_format(data: bytes, filename: str | None = None) -> str:
    """The format of ``data`` by its content (``filename`` only words the error).

    .xlsx by its zip signature and .xls by its OLE2 one, then the bank by the worksheet's
    header row; XML by the
    camt.053 namespace; MT940 by its ``:20:`` tag; CSV by the generic header, else by a bank's
    header row. Raises :class:`StatementFormatError` "unrecognised statement format".
    """
    if data.startswith(XLSX_MAGIC):
        return _bank_of(xlsx_rows(data), filename)
    if data.startswith(XLS_MAGIC):
        return _bank_of(xls_rows(data), filename)
    if looks_like_camt053(_xml_head(data)):
        return "camt053"
    text = decode_mt940(data) if _starts_like_mt940(data) else decode_text(data)
    if looks_like_mt940(text):
        return "mt940"
    if looks_like_generic_csv(text):
        return "csv"
    if text.lstrip().startswith("<"):
        raise StatementFormatError(_unrecognised(filename, "XML that is not camt.053"))
    return _bank_of(csv_rows(text), filename)


def parse_statements(
    data: bytes, filename: str | None = None, fmt: str | None = None
) -> list[ParsedStatement]:
    """Every statement in the file, unmerged (several only for MT940 and camt.053)."""
    fmt = _checked_format(fmt) or detect_format(data, filename)
    if fmt == "mt940":
        statements = parse_mt940_statements(decode_mt940(data))
    elif fmt == "camt053":
        statements = parse_camt053_statements(_xml_bytes(data))
    elif fmt == "csv":
        statements = [parse_generic_csv(decode_text(data))]
    else:
        statements = [parse_rows(spreadsheet_rows(data, fmt), fmt)]
    return [with_balance_check(s) for s in statements]


def parse_statement(
    data: bytes, filename: str | None = None, fmt: str | None = None
) -> ParsedStatement:
    """Parse one uploaded statement file; ``fmt`` (one of ``FORMATS``) skips detection.

    Raises :class:`StatementFormatError` (a ``ValueError`` with ``line_no``) for a file that is
    not in the format or has a line that cannot be read: the file is rejected whole.
    """
    statements = parse_statements(data, filename, fmt)
    if len(statements) == 1:
        return statements[0]
    return with_balance_check(merge_statements(statements))


def _checked_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    normalised = fmt.strip().lower().replace("-", "").replace(".", "").replace("_", "")
    if normalised not in FORMATS:
        raise StatementFormatError(
            f"unknown statement format {fmt!r}; expected one of {', '.join(FORMATS)}"
        )
    return normalised


def _bank_of(rows: list[Row], filename: str | None) -> str:
    found = find_header(rows)
    if found is None:
        raise StatementFormatError(_unrecognised(filename, "no known column headers"))
    return found[1].format


def _unrecognised(filename: str | None, why: str) -> str:
    name = f" of {filename}" if filename else ""
    return f"unrecognised statement format{name}: {why}"


def _xml_head(data: bytes) -> bytes:
    return _xml_bytes(data[:4096])


def _xml_bytes(data: bytes) -> bytes:
    # A UTF-8 BOM before "<?xml" is legal; lxml copes, the sniffing must too.
    return data.removeprefix(b"\xef\xbb\xbf")


def _starts_like_mt940(data: bytes) -> bool:
    # MT940 files are often Latin-1 (names in :86:), which strict UTF-8 decoding would refuse.
    return data.lstrip(b"\x01\r\n \t").startswith((b":20:", b"{1:")) or b"\n:20:" in data[:4096]
