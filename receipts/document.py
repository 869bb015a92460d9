"""What an e-receipt (biên lai điện tử) says, independent of storage and rendering.

A ``ReceiptDocument`` is the business content that is signed (XML) and printed (HTML, PDF).
Amounts are ``Money`` (whole đồng). Rules from Nghị định 254/2026/NĐ-CP and Thông tư
91/2026/TT-BTC: template symbol ``EBL01``; series = 2-digit year + ``T`` + two letters;
number of at most 8 digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# one rule for the whole service: the catalog refuses at import what a receipt could not carry
from payments.catalog.schemas import series_is_valid as series_is_valid
from payments.money import Money
from receipts.words import amount_in_words

TEMPLATE = "EBL01"
SERIES_LETTERS = "ABCDEGHKLMNPQRSTUVXY"
MAX_NUMBER = 99_999_999
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class ReceiptKind(StrEnum):
    """Phí (fee for a service) and lệ phí (charge for a state act) go on separate receipts."""

    PHI = "phi"
    LE_PHI = "le_phi"


class ReceiptContentError(ValueError):
    """A receipt's content breaks a rule of the law or an internal invariant."""


def format_number(n: int) -> str:
    """A receipt number as printed: 8 digits, zero-padded (1 → ``00000001``)."""
    if isinstance(n, bool) or not 1 <= n <= MAX_NUMBER:
        raise ReceiptContentError(f"receipt number must be 1..{MAX_NUMBER}, got {n}")
    return f"{n:08d}"


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One fee on a receipt. Amounts are line totals (quantity included); ``amount`` is payable."""

    fee_code: str
    name: str
    quantity: int
    normal_amount: Money
    amount: Money
    reduction_legal_basis: str | None
    legal_basis: str

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ReceiptContentError(f"{self.fee_code}: quantity must be ≥ 1")
        if not Money(0) <= self.amount <= self.normal_amount:
            raise ReceiptContentError(f"{self.fee_code}: amount must be 0..normal amount")
        # a reduced amount without its legal basis could not be justified to an auditor
        if self.amount != self.normal_amount and not self.reduction_legal_basis:
            raise ReceiptContentError(f"{self.fee_code}: a reduction needs its legal basis")

    @property
    def reduction(self) -> Money:
        return self.normal_amount - self.amount


@dataclass(frozen=True, slots=True)
class ReplacedReceipt:
    """The receipt a replacement (biên lai thay thế) corrects."""

    series: str
    number: int
    issued_on: date
    template: str = TEMPLATE


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    """The full business content of one e-receipt.

    ``amount_in_words`` may be left empty: it is then written from ``total_amount``; when given
    it must be exactly what ``receipts.words.amount_in_words`` writes for the total.
    """

    agency_code: str
    agency_name: str
    agency_tax_code: str
    series: str
    number: int
    issued_at: datetime
    kind: ReceiptKind
    payer_name: str
    payer_id_number: str | None
    payer_address: str | None
    dossier_code: str
    procedure_code: str
    procedure_name: str
    payment_channel: str
    payment_reference: str
    lines: tuple[ReceiptLine, ...]
    total_amount: Money
    verification_url: str
    amount_in_words: str = ""
    replaces: ReplacedReceipt | None = None
    template: str = TEMPLATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ReceiptKind(self.kind))
        self._check_identity()
        self._check_amounts()
        words = amount_in_words(self.total_amount.amount)
        if not self.amount_in_words:
            # frozen: fill the derived field once, at construction
            object.__setattr__(self, "amount_in_words", words)
        elif self.amount_in_words != words:
            raise ReceiptContentError(f"amount in words {self.amount_in_words!r} ≠ {words!r}")

    def _check_identity(self) -> None:
        if self.template != TEMPLATE:
            raise ReceiptContentError(f"template must be {TEMPLATE}, got {self.template!r}")
        format_number(self.number)
        if self.issued_at.utcoffset() != timedelta(0):
            raise ReceiptContentError("issued_at must be an aware UTC datetime")
        # the series names the year the receipt is issued in (Vietnamese calendar)
        if not series_is_valid(self.series, self.issued_on.year):
            raise ReceiptContentError(f"series {self.series!r} is invalid for {self.issued_on}")

    def _check_amounts(self) -> None:
        if not self.lines:
            raise ReceiptContentError("a receipt needs at least one line")
        if Money.sum([line.amount for line in self.lines]) != self.total_amount:
            raise ReceiptContentError("total_amount must equal the sum of the line amounts")

    @property
    def issued_on(self) -> date:
        """The receipt date: the Vietnamese calendar day of ``issued_at``."""
        return self.issued_at.astimezone(VN_TZ).date()

    @property
    def printed_number(self) -> str:
        return format_number(self.number)

    @property
    def total_normal_amount(self) -> Money:
        return Money.sum([line.normal_amount for line in self.lines])

    @property
    def total_reduction(self) -> Money:
        return self.total_normal_amount - self.total_amount
