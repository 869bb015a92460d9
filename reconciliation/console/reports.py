"""Collections reports (per day, channel, procedure; reductions), limited to the user's
agencies; their exports are in ``exports.py``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from payments.catalog.models import Agency, Procedure
from payments.uow import UnitOfWork
from reconciliation.console.models import PaymentDay
from reconciliation.console.services import (
    CHANNELS,
    Scope,
    channel_of,
    payment_days,
    reductions,
)
from reconciliation.indicators.engine import Tally, tally
from reconciliation.indicators.services import month_bounds, payments_of


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


@dataclass(frozen=True)
class OnlineRow:
    """QĐ 766/QĐ-TTg for one agency and one month (cut to the report's window)."""

    agency_code: str
    agency_name: str
    month: str  # MM/YYYY
    tally: Tally


def online_by_agency(scope: Scope, start: date, end: date, *, uow: UnitOfWork) -> list[OnlineRow]:
    """The online-payment indicator (``reconciliation.indicators``) per agency in scope and per
    month of [start, end], each month cut to the window."""
    with uow:
        s = uow.session
        payments, paid_before = payments_of(s, scope, start, end)
        names = {str(code): str(name) for code, name in s.execute(select(Agency.code, Agency.name))}
    rows = []
    month = start.replace(day=1)
    while month <= end:
        first, last = month_bounds(f"{month:%Y-%m}")
        found = tally(payments, max(first, start), min(last, end), paid_before)
        rows += [
            OnlineRow(code, names.get(code, code), f"{month:%m/%Y}", found[code])
            for code in sorted(found)
        ]
        month = last + timedelta(days=1)
    return rows


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
