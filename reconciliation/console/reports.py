"""Collections reports and their exports (CSV and XLSX), limited to the user's agencies.

Exported cells that a spreadsheet would read as a formula (= + - @ tab CR at the start) are
prefixed with an apostrophe: a payer named ``=HYPERLINK(…)`` stays text (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.catalog.models import Procedure
from payments.clock import VN_TZ, as_utc, day_bounds
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaymentTransaction
from payments.uow import UnitOfWork
from reconciliation.console.services import (
    Scope,
    _scoped,
    applied_in,
    channel_of,
    collections,
    reductions,
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DETAIL_HEADER = (
    "paid_at",
    "dossier_code",
    "reference",
    "payer_name",
    "procedure_code",
    "channel",
    "provider_txn_id",
    "amount",
)


def neutralise(value: Any) -> Any:
    """A cell a spreadsheet shows as typed: text that looks like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Report:
    start: date
    end: date  # inclusive
    per_day: list[tuple[date, int]]
    per_channel: dict[str, int]
    per_procedure: list[tuple[str, str, int, int]]  # code, name, payments, đồng
    reductions: list[tuple[str, int, int]]


def _vn_day(session: Session, column: Any) -> Any:
    # Vietnam keeps UTC+7 all year (no daylight saving), so a fixed shift is exact
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", column))
    return func.date(column, "+7 hours")


def report(scope: Scope, start: date, end: date, *, uow: UnitOfWork) -> Report:
    """Collections per day, channel and procedure, and reductions granted, in [start, end]."""
    lo, _ = day_bounds(start)
    _, hi = day_bounds(end)
    with uow:
        s = uow.session
        day = _vn_day(s, PaymentTransaction.occurred_at)
        by_day = s.execute(
            _scoped(
                select(day, func.sum(PaymentTransaction.amount))
                .join(PaymentRequest, PaymentRequest.id == PaymentTransaction.payment_request_id)
                .where(*applied_in(s, scope, lo, hi))
                .group_by(day),
                PaymentRequest.agency_code,
                scope,
            )
        )
        totals = {_as_date(d): int(v or 0) for d, v in by_day}
        per_day = [
            (d, totals.get(d, 0))
            for d in (start + timedelta(days=i) for i in range((end - start).days + 1))
        ]
        by_procedure = s.execute(
            _scoped(
                select(
                    PaymentRequest.procedure_code,
                    Procedure.name,
                    func.count(),
                    func.sum(PaymentTransaction.amount),
                )
                .join(PaymentRequest, PaymentRequest.id == PaymentTransaction.payment_request_id)
                .join(Procedure, Procedure.code == PaymentRequest.procedure_code)
                .where(*applied_in(s, scope, lo, hi))
                .group_by(PaymentRequest.procedure_code, Procedure.name)
                .order_by(func.sum(PaymentTransaction.amount).desc()),
                PaymentRequest.agency_code,
                scope,
            )
        )
        per_procedure = [(c, n, int(k), int(v or 0)) for c, n, k, v in by_procedure]
        return Report(
            start,
            end,
            per_day,
            collections(s, scope, lo, hi),
            per_procedure,
            reductions(s, scope, lo, hi),
        )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def detail_rows(scope: Scope, start: date, end: date, *, uow: UnitOfWork) -> list[tuple[Any, ...]]:
    """Every payment applied in [start, end]: what the exports list line by line."""
    lo, _ = day_bounds(start)
    _, hi = day_bounds(end)
    with uow:
        return _detail_rows(uow.session, scope, lo, hi)


def _detail_rows(s: Session, scope: Scope, lo: datetime, hi: datetime) -> list[tuple[Any, ...]]:
    stmt = _scoped(
        select(
            PaymentTransaction.occurred_at,
            PaymentRequest.dossier_code,
            PaymentRequest.reference,
            PaymentRequest.payer_name,
            PaymentRequest.procedure_code,
            PaymentTransaction.provider,
            PaymentTransaction.provider_txn_id,
            PaymentTransaction.amount,
        )
        .join(PaymentRequest, PaymentRequest.id == PaymentTransaction.payment_request_id)
        .where(*applied_in(s, scope, lo, hi))
        .order_by(PaymentTransaction.occurred_at, PaymentTransaction.id),
        PaymentRequest.agency_code,
        scope,
    )
    return [
        (
            as_utc(at).astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            dossier,
            ref,
            payer,
            proc,
            channel_of(provider),
            ptid,
            int(amount),
        )
        for at, dossier, ref, payer, proc, provider, ptid, amount in s.execute(stmt)
    ]


def to_csv(rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM (Excel then reads Vietnamese correctly), formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(DETAIL_HEADER)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rep: Report, rows: Iterable[Sequence[Any]]) -> bytes:
    """A workbook: the summary tables on one sheet, the payments on another."""
    book = Workbook()
    book.remove(book.worksheets[0])
    summary = book.create_sheet("Tong hop")
    summary.append(["from", rep.start.isoformat(), "to", rep.end.isoformat()])
    summary.append([])
    summary.append(["channel", "amount"])
    for channel, amount in rep.per_channel.items():
        summary.append([channel, amount])
    summary.append([])
    summary.append(["procedure_code", "procedure_name", "payments", "amount"])
    for code, name, n, amount in rep.per_procedure:
        summary.append([neutralise(code), neutralise(name), n, amount])
    summary.append([])
    summary.append(["legal_basis", "lines", "reduction_amount"])
    for basis, n, amount in rep.reductions:
        summary.append([neutralise(basis), n, amount])
    summary.append([])
    summary.append(["day", "amount"])
    for day, amount in rep.per_day:
        summary.append([day.isoformat(), amount])
    detail = book.create_sheet("Chi tiet")
    detail.append(list(DETAIL_HEADER))
    for row in rows:
        detail.append([neutralise(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
