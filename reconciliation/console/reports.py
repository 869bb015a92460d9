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
from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.catalog.models import Procedure
from payments.clock import VN_TZ, as_utc, day_bounds
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaymentTransaction
from payments.uow import UnitOfWork
from reconciliation.console.models import PaymentDay
from reconciliation.console.services import (
    CHANNELS,
    Scope,
    applied_in,
    channel_of,
    payment_days,
    reductions,
    scoped,
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


def report(scope: Scope, start: date, end: date, *, uow: UnitOfWork) -> Report:
    """Collections per day, channel and procedure, and reductions granted, in [start, end]."""
    with uow:
        s = uow.session
        # the daily rollup's rows of the window; the day, channel and procedure tables are its sums
        rows = s.execute(
            payment_days(
                s, scope, start, end, PaymentDay.day, PaymentDay.provider, PaymentDay.procedure_code
            )
        ).all()
        codes = {code for _, _, code, _, _ in rows}
        names = {
            code: name
            for code, name in s.execute(
                select(Procedure.code, Procedure.name).where(Procedure.code.in_(codes))
            )
        }
        return Report(
            start,
            end,
            _per_day(rows, start, end),
            _per_channel(rows),
            _per_procedure(rows, names),
            reductions(s, scope, start, end),
        )


Grouped = Sequence[Any]  # (day, provider, procedure code, payments, đồng)


def _per_day(rows: Iterable[Grouped], start: date, end: date) -> list[tuple[date, int]]:
    totals: dict[date, int] = {}
    for d, _, _, _, amount in rows:
        totals[_as_date(d)] = totals.get(_as_date(d), 0) + int(amount or 0)
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return [(d, totals.get(d, 0)) for d in days]


def _per_channel(rows: Iterable[Grouped]) -> dict[str, int]:
    out: dict[str, int] = dict.fromkeys(CHANNELS, 0)
    for _, provider, _, _, amount in rows:
        key = channel_of(provider)
        out[key] = out.get(key, 0) + int(amount or 0)
    return out


def _per_procedure(
    rows: Iterable[Grouped], names: dict[str, str]
) -> list[tuple[str, str, int, int]]:
    counts: dict[str, list[int]] = {}
    for _, _, code, n, amount in rows:
        if code in names:  # the join on procedures the per-procedure table always had
            count = counts.setdefault(code, [0, 0])
            count[0] += int(n)
            count[1] += int(amount or 0)
    ranked = sorted(counts.items(), key=lambda item: (-item[1][1], item[0]))
    return [(code, names[code], n, amount) for code, (n, amount) in ranked]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def detail_rows(scope: Scope, start: date, end: date, *, uow: UnitOfWork) -> list[tuple[Any, ...]]:
    """Every payment applied in [start, end]: what the exports list line by line."""
    lo, _ = day_bounds(start)
    _, hi = day_bounds(end)
    with uow:
        return _detail_rows(uow.session, scope, lo, hi)


def _detail_rows(s: Session, scope: Scope, lo: datetime, hi: datetime) -> list[tuple[Any, ...]]:
    stmt = scoped(
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
