"""Exports for the accountant: every payment applied in a period, as CSV and as an XLSX workbook
with Vietnamese headers, real dates and numbers, number formats, widths, a frozen header and
filters; revenue kept apart from money to refund and from partial payments.

Each payment is put in one class from its request as it stands at export time:

- ``revenue``  (Số thu): the request is settled (paid) and the payment counts towards what
  was due;
- ``refund``   (Phải hoàn trả): money beyond what was due: a duplicate, a payment for an expired
  or cancelled request, a request marked for refund, or the excess of an overpaid request (that
  payment is split in two rows);
- ``partial``  (Nộp một phần): the request is still partly paid: not revenue until it is whole.

Exported cells that a spreadsheet would read as a formula (= + - @ tab CR at the start) are
prefixed with an apostrophe: a payer named ``=HYPERLINK(…)`` stays text (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from payments.clock import VN_TZ, as_utc, day_bounds
from payments.payment_requests import state
from payments.payment_requests.models import PaymentRequest
from payments.spreadsheet import neutralise
from payments.transactions.models import Flag, PaymentTransaction
from payments.uow import UnitOfWork
from reconciliation.console.labels import label
from reconciliation.console.reports import Report
from reconciliation.console.services import Scope, applied_in, channel_of, scoped

CLASSES = {"revenue": "Số thu", "refund": "Phải hoàn trả", "partial": "Nộp một phần"}
REFUND_STATUSES = state.LATE  # money for them is kept beside the request, to refund
REFUND_FLAGS = frozenset({Flag.DUPLICATE_PAYMENT, Flag.LATE_PAYMENT, Flag.REFUND_DUE})
# (header, width in characters, number format or None)
COLUMNS = (
    ("Thời điểm nộp", 18, "dd/mm/yyyy hh:mm"),
    ("Mã hồ sơ", 22, None),
    ("Mã thanh toán", 20, None),
    ("Người nộp", 28, None),
    ("Mã thủ tục", 12, None),
    ("Kênh thu", 24, None),
    ("Mã giao dịch", 22, None),
    ("Phân loại", 16, None),
    ("Số tiền (đồng)", 16, "#,##0"),
)
MONEY = "#,##0"
HEX_ID = re.compile(r"[0-9a-f]{32,}")  # a fingerprint of a statement line: no use to a person


@dataclass(frozen=True)
class Payment:
    paid_at: datetime  # Vietnam time, naive (what a spreadsheet shows)
    dossier_code: str
    reference: str
    payer_name: str
    procedure_code: str
    channel: str  # in words
    transaction: str
    kind: str  # revenue | refund | partial
    amount: int

    def cells(self) -> list[Any]:
        return [
            self.paid_at,
            self.dossier_code,
            self.reference,
            self.payer_name,
            self.procedure_code,
            self.channel,
            self.transaction,
            CLASSES[self.kind],
            self.amount,
        ]


def payments(scope: Scope, start: date, end: date, *, uow: UnitOfWork) -> list[Payment]:
    """Every payment applied in [start, end] (business days), classified."""
    lo, _ = day_bounds(start)
    _, hi = day_bounds(end)
    with uow:
        s = uow.session
        stmt = scoped(
            select(PaymentTransaction, PaymentRequest)
            .join(PaymentRequest, PaymentRequest.id == PaymentTransaction.payment_request_id)
            .where(*applied_in(s, scope, lo, hi))
            .order_by(PaymentTransaction.occurred_at, PaymentTransaction.id),
            PaymentRequest.agency_code,
            scope,
        )
        out: list[Payment] = []
        excess_left: dict[Any, int] = {}
        for txn, req in s.execute(stmt):
            excess = excess_left.setdefault(req.id, max(req.paid_amount - req.total_amount, 0))
            out.extend(_rows(txn, req, excess))
            if _kind(txn, req) == "revenue" and excess:
                excess_left[req.id] = max(excess - int(txn.amount), 0)
        return out


def _kind(txn: PaymentTransaction, req: PaymentRequest) -> str:
    flags = set(txn.flags or [])
    if req.status in REFUND_STATUSES:
        return "refund"
    if Flag.OVERPAYMENT in flags:
        return "revenue"  # what was due is revenue; ``_rows`` splits the excess off
    if REFUND_FLAGS & flags:
        return "refund"
    if req.status == state.PART_PAID:
        return "partial"
    return "revenue"


def _rows(txn: PaymentTransaction, req: PaymentRequest, excess: int) -> list[Payment]:
    kind = _kind(txn, req)
    amount = int(txn.amount)
    ident = "" if HEX_ID.fullmatch(txn.provider_txn_id or "") else txn.provider_txn_id
    base = (
        as_utc(txn.occurred_at).astimezone(VN_TZ).replace(tzinfo=None, microsecond=0),
        req.dossier_code,
        req.reference,
        req.payer_name,
        req.procedure_code,
        label("provider", channel_of(txn.provider)),
        ident,
    )
    if kind == "revenue" and excess and Flag.OVERPAYMENT in (txn.flags or []):
        refund = min(excess, amount)  # the excess of an overpayment is owed back
        parts = [("revenue", amount - refund), ("refund", refund)]
        return [Payment(*base, k, a) for k, a in parts if a]
    return [Payment(*base, kind, amount)]


def totals(rows: Iterable[Payment]) -> dict[str, int]:
    out = dict.fromkeys(CLASSES, 0)
    for row in rows:
        out[row.kind] += row.amount
    return out


def to_csv(rows: Iterable[Payment]) -> bytes:
    """UTF-8 with a BOM (Excel then reads Vietnamese correctly), dates dd/mm/yyyy hh:mm:ss,
    amounts as plain integers, formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _, _ in COLUMNS])
    for row in rows:
        cells = row.cells()
        cells[0] = row.paid_at.strftime("%d/%m/%Y %H:%M:%S")
        writer.writerow([neutralise(v) for v in cells])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _table(sheet: Worksheet, header: Sequence[tuple[str, int, str | None]]) -> None:
    sheet.append([name for name, _, _ in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, (_, width, _) in enumerate(header, 1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"


def _formats(sheet: Worksheet, header: Sequence[tuple[str, int, str | None]]) -> None:
    for i, (_, _, fmt) in enumerate(header, 1):
        if fmt is None:
            continue
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
            cell.number_format = fmt
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions


def to_xlsx(rep: Report, rows: Sequence[Payment]) -> bytes:
    """A workbook: the summary (classes, channels, procedures, reductions, days) and the
    payments, each a table with its header frozen and filters on."""
    book = Workbook()
    book.remove(book.worksheets[0])
    summary = book.create_sheet("Tổng hợp")
    header = (("Khoản mục", 44, None), ("Số lượng", 12, MONEY), ("Số tiền (đồng)", 18, MONEY))
    _table(summary, header)
    summary.append(["Kỳ báo cáo", None, f"{rep.start:%d/%m/%Y} – {rep.end:%d/%m/%Y}"])
    sums = totals(rows)
    for kind, name in CLASSES.items():
        count = sum(1 for r in rows if r.kind == kind)
        summary.append([name, count, sums[kind]])
    for channel, amount in rep.per_channel.items():
        summary.append([f"Kênh: {label('provider', channel)}", None, amount])
    for code, name, n, amount in rep.per_procedure:
        summary.append([neutralise(f"Thủ tục {code} {name}"), n, amount])
    for basis, n, amount in rep.reductions:
        summary.append([neutralise(f"Miễn, giảm: {basis}"), n, amount])
    _formats(summary, header)
    days = book.create_sheet("Theo ngày")
    day_header = (("Ngày", 12, "dd/mm/yyyy"), ("Số tiền đã nhận (đồng)", 22, MONEY))
    _table(days, day_header)
    for day, amount in rep.per_day:
        days.append([day, amount])
    _formats(days, day_header)
    detail = book.create_sheet("Chi tiết")
    _table(detail, COLUMNS)
    for row in rows:
        detail.append([neutralise(v) for v in row.cells()])
    _formats(detail, COLUMNS)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
