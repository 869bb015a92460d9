"""Result types shared by every statement parser, and the import fingerprint.

Parsers are pure functions from bytes to a :class:`ParsedStatement`: no database, no Flask. A file
that cannot be read is rejected whole with a :class:`StatementFormatError` naming the line (or
spreadsheet row) that failed, so nothing is ever half-imported.

Fingerprints
------------
The importer stores each line's ``fingerprint`` under a unique constraint per beneficiary account,
which makes import idempotent: the same file twice adds nothing, and an overlapping statement adds
only the lines it has that the earlier one did not. A fingerprint is the SHA-256 of

* ``ref|<booking date>|<amount>|<bank reference>|<n>`` when the line carries a bank reference
  (Vietcombank "Số tham chiếu", VietinBank "Số giao dịch", MT940 ``:61:`` reference, camt.053
  ``AcctSvcrRef``, the generic CSV ``bank_reference``); only fields that mean the same in every
  format enter it, so a bank rewording a description between two exports does not create a
  duplicate, and two formats that carry the same reference agree;
* ``txt|<booking date>|<amount>|<normalised description>|<balance>|<n>`` otherwise (BIDV exports
  and files without references), where the description is NFC-normalised, case-folded and
  whitespace-collapsed.

``<n>`` is the occurrence index of that exact key earlier in the same file (0 for the first). Two
genuinely identical lines — two 200.000 đ fees paid with the same memo on one day, with no
reference or running balance to tell them apart — thus stay two lines, and because a bank lists
a day's transactions in the same order in every export, an overlapping file numbers them the same
way. The fingerprint is scoped to one account: the importer must key it with the account id.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from hashlib import sha256 as _sha256
from typing import Any

from payments.records import make_many


class StatementFormatError(ValueError):
    """The statement cannot be read; ``line_no`` is the 1-based line or row that failed, if any."""

    def __init__(self, message: str, line_no: int | None = None) -> None:
        self.line_no = line_no
        self.reason = message
        super().__init__(f"line {line_no}: {message}" if line_no is not None else message)


class StatementTooLarge(StatementFormatError):
    """The file exceeds a resource limit (inflated size, rows, columns, parse time): HTTP 413."""


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One statement line. ``amount`` is signed (credits positive) in the currency's minor unit."""

    line_no: int
    booking_date: date
    value_date: date | None
    amount: int
    description: str
    bank_reference: str | None
    counterparty_name: str | None
    counterparty_account: str | None
    balance: int | None
    fingerprint: str


# A frozen dataclass sets every field through object.__setattr__, which costs more than reading
# a generic CSV line: the hot path makes them through ``payments.records``.


def make_lines(*columns: Iterable[Any]) -> list[ParsedLine]:
    """ParsedLines from one iterable per field, in field order (callers have validated them)."""
    return make_many(ParsedLine, *columns)


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    """A parsed statement file.

    Amounts and balances are ``int`` in the currency's minor unit: whole đồng for VND (which has
    none), cents for EUR/USD, and so on (see :func:`to_minor_units`). ``account_number`` is set
    when the format names the account; ``opening_balance``/``closing_balance`` when the file
    states them (they are never derived from the lines, so a balance check stays meaningful).
    """

    format: str
    account_number: str | None
    currency: str
    opening_balance: int | None
    closing_balance: int | None
    period_start: date | None
    period_end: date | None
    lines: list[ParsedLine] = field(default_factory=list)
    # what the reader noticed without refusing the file (a balance that does not add up, …)
    warnings: tuple[str, ...] = ()


_CURRENCY_CODES = "VND|USD|EUR|GBP|JPY|CNY|KRW|SGD|THB|AUD|CHF|HUF|PLN|DEM|CAD|HKD"
_ACCOUNT_CURRENCY = re.compile(
    rf"^(?:{_CURRENCY_CODES})(?=[\s\d])|(?<=[\s\d.\-])(?:{_CURRENCY_CODES})$"
)


def normalise_account(raw: str) -> str:
    """An account identifier as it is compared with the catalog's number: the part after a
    ``BIC/`` or ``bank code/`` prefix, a currency code at either end dropped, then letters and
    digits only, upper case ("ICBVVNVX/3761.0.1234567 VND" → "376101234567")."""
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    parts = [part.strip() for part in text.split("/") if part.strip()]
    text = parts[-1] if parts else ""
    text = _ACCOUNT_CURRENCY.sub("", text).strip()
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def same_account(statement_account: str, catalog_number: str) -> bool:
    return normalise_account(statement_account) == normalise_account(catalog_number)


def normalise_description(text: str) -> str:
    """The description as it enters a fingerprint: NFC, case-folded, whitespace collapsed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split()).casefold()


class Fingerprinter:
    """Hands out fingerprints for one file, numbering repeats of the same key (module docstring)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(
        self,
        booking_date: date | str,
        amount: int,
        bank_reference: str | None,
        description: str,
        balance: int | None,
    ) -> str:
        """``booking_date`` may be given as its ISO text, which the hot CSV path already has."""
        iso = booking_date if isinstance(booking_date, str) else booking_date.isoformat()
        if bank_reference:
            key = f"ref|{iso}|{amount}|{bank_reference}"
        else:
            key = f"txt|{iso}|{amount}|{normalise_description(description)}|{balance}"
        seen = self._seen
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        return _sha256(f"{key}|{occurrence}".encode()).hexdigest()


# ISO 4217 minor-unit exponents that differ from the common 2.
_EXPONENTS = {
    **dict.fromkeys(
        ("VND", "JPY", "KRW", "CLP", "ISK", "PYG", "UGX", "XAF", "XOF", "XPF", "KMF", "RWF"), 0
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def minor_unit_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor_units(amount: object, currency: str, line_no: int | None) -> int:
    """A decimal amount as an int of minor units; a fraction of a minor unit is rejected.

    VND has no minor unit, so ``1500000`` đồng stays ``1500000``; ``8.850`` EUR becomes ``885``.
    """
    from decimal import Decimal, InvalidOperation

    try:
        exact = Decimal(str(amount)).scaleb(minor_unit_exponent(currency))
    except InvalidOperation:
        raise StatementFormatError(f"amount {amount!r} is not a number", line_no) from None
    if exact != exact.to_integral_value():
        raise StatementFormatError(
            f"amount {amount} {currency} has a fraction of the currency's smallest unit", line_no
        )
    return int(exact)


def merge_statements(statements: list[ParsedStatement]) -> ParsedStatement:
    """One statement from several in one file (MT940, camt.053) for the same account.

    Lines keep file order, the opening balance is the first statement's and the closing balance
    the last's. Statements for different accounts or currencies cannot be one import: rejected.
    """
    if not statements:
        raise StatementFormatError("the file holds no statement")
    first, last = statements[0], statements[-1]
    accounts = {(s.account_number, s.currency) for s in statements}
    if len(accounts) > 1:
        names = ", ".join(sorted(f"{a or '?'} {c}" for a, c in accounts))
        raise StatementFormatError(
            f"the file holds statements for {len(accounts)} accounts ({names}); "
            "import one account per file"
        )
    if len(statements) == 1:
        return first
    starts = [s.period_start for s in statements if s.period_start]
    ends = [s.period_end for s in statements if s.period_end]
    return ParsedStatement(
        format=first.format,
        account_number=first.account_number,
        currency=first.currency,
        opening_balance=first.opening_balance,
        closing_balance=last.closing_balance,
        period_start=min(starts) if starts else None,
        period_end=max(ends) if ends else None,
        lines=[line for s in statements for line in s.lines],
        warnings=tuple(w for s in statements for w in s.warnings),
    )


def period_of(lines: list[ParsedLine]) -> tuple[date | None, date | None]:
    if not lines:
        return None, None
    dates = [line.booking_date for line in lines]
    return min(dates), max(dates)


# TCVN 5712:1993 "TCVN3" (ABC): the byte of each Vietnamese letter in the lower half of the
# font pair (upper-case toned letters live in a separate font and reuse these bytes).
_TCVN3_LETTERS = (
    "b5à b6ả b7ã b8á b9ạ a8ă bbằ bcẳ bdẵ beắ c6ặ a9â c7ầ c8ẩ c9ẫ caấ cbậ a7Đ aeđ ccè ceẻ cfẽ "
    "d0é d1ẹ aaê d2ề d3ể d4ễ d5ế d6ệ d7ì d8ỉ dcĩ ddí deị dfò e1ỏ e2õ e3ó e4ọ abô e5ồ e6ổ e7ỗ "
    "e8ố e9ộ acơ eaờ ebở ecỡ edớ eeợ efù f1ủ f2ũ f3ú f4ụ adư f5ừ f6ử f7ữ f8ứ f9ự faỳ fbỷ fcỹ "
    "fdý feỵ a1Ă a2Â a3Ê a4Ô a5Ơ a6Ư"
)
_TCVN3 = {int(item[:2], 16): item[2:] for item in _TCVN3_LETTERS.split()}
_VIETNAMESE = frozenset(
    unicodedata.normalize("NFC", "".join(_TCVN3.values()) + "ÀÁẢÃẠÈÉẺẼẸÌÍỈĨỊÒÓỎÕỌÙÚỦŨỤỲÝỶỸỴ")
    + "ĂÂÊÔƠƯăâêôơưĐđ"
)


def _tcvn3(data: bytes) -> str:
    out = []
    for i, byte in enumerate(data):
        if byte < 0x80:
            out.append(chr(byte))
        elif (letter := _TCVN3.get(byte)) is not None:
            out.append(letter)
        else:
            raise UnicodeDecodeError("tcvn3", data, i, i + 1, "not a TCVN3 letter")
    return "".join(out)


def _legacy(data: bytes) -> str | None:
    """Windows-1258 or TCVN3, whichever reads as more Vietnamese letters; None if neither."""
    best: tuple[float, str] | None = None
    for decode in (lambda b: b.decode("cp1258"), _tcvn3):
        try:
            text = unicodedata.normalize("NFC", decode(data))
        except UnicodeDecodeError:
            continue
        high = [ch for ch in text if not ch.isascii()]
        score = sum(ch in _VIETNAMESE for ch in high) / len(high) if high else 1.0
        if best is None or score > best[0]:
            best = (score, text)
    return best[1] if best and best[0] >= 0.5 else None


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: most of its high (or low) bytes are zero, as ASCII dominates."""
    head = data[:400]
    if len(head) < 16:
        return None
    half = len(head) // 2
    if head[1::2].count(0) >= 0.4 * half and head[0::2].count(0) == 0:
        return "utf-16-le"
    if head[0::2].count(0) >= 0.4 * half and head[1::2].count(0) == 0:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> str:
    """Text of a CSV/MT940 upload, in the encodings banks really use: UTF-8 (BOM optional),
    UTF-16 (with a BOM, or recognised by its zero bytes), Windows-1258 and TCVN3 (ABC).

    A NUL character, or bytes no encoding reads, reject the file naming the line.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = _looks_utf16(data) or "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        legacy = None if encoding.startswith("utf-16") else _legacy(data)
        if legacy is None:
            line_no = data[: exc.start].count(b"\n") + 1 if encoding.startswith("utf-8") else None
            raise StatementFormatError(
                "the file is not text in a known encoding (UTF-8, UTF-16, Windows-1258, TCVN3)",
                line_no,
            ) from None
        text = legacy
    if "\x00" in text:
        line_no = text.count("\n", 0, text.index("\x00")) + 1
        raise StatementFormatError("the line holds a NUL character", line_no)
    return text.removeprefix("\ufeff")
