"""The accounting journal of a month for the agency's public-sector accounting (kế toán hành chính,
sự nghiệp): one row per receipt line, refunds as reversing rows, the month's entries that split
what was collected (owed to the budget, transferred, kept) and the remittances paid.

The accounts are those of the fee-collection entries as MISA Mimosa (the common HCSN package)
documents them (docs/budget.md "Accounting journal"):

- a collection: Nợ 1111 (cash) or 1121 (bank or Treasury) / Có 3373 "Tạm thu phí, lệ phí";
- a refund paid back: the reverse, Nợ 3373 / Có 1121;
- owed to the budget, at the month's end: Nợ 3373 / Có 3332 "Phí, lệ phí";
- transferred to another body: Nợ 3373 / Có 336 "Phải trả nội bộ";
- kept (khấu trừ, để lại): Nợ 014 "Nguồn thu phí được khấu trừ, để lại" (off-balance, one side);
- a remittance to the Treasury: Nợ 3332 / Có 1121.

A negative month figure (refunds beyond collections) is written as its reversal: the accounts
swap and the amount stays positive.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from payments.auth.services import Principal
from payments.uow import UnitOfWork
from receipts.budget.declarations import fee_lines, month_end
from receipts.budget.engine import Collection, obligations
from receipts.budget.models import Remittance
from receipts.budget.services import agency_row, collections, rules

CASH, BANK = "1111", "1121"
COLLECTED, OWED, TRANSFERRED, KEPT = "3373", "3332", "336", "014"
ACCOUNTS = {
    CASH: "Tiền mặt – tiền Việt Nam",
    BANK: "Tiền gửi Ngân hàng, Kho bạc – tiền Việt Nam",
    COLLECTED: "Tạm thu phí, lệ phí",
    OWED: "Phí, lệ phí (phải nộp Nhà nước)",
    TRANSFERRED: "Phải trả nội bộ",
    KEPT: "Nguồn thu phí được khấu trừ, để lại (ngoài bảng)",
}
CASH_CHANNELS = frozenset({"cash"})


def month_journal(
    agency_code: str, period: str, *, uow: UnitOfWork, principal: Principal | None
) -> dict[str, Any]:
    """``GET /agencies/{code}/journal/{YYYY-MM}``: the month's rows in date order."""
    year, month = (int(part) for part in period.split("-"))
    with uow:
        session = uow.session
        agency = agency_row(session, agency_code, principal)
        found = [
            c
            for c in collections(session, agency_code)
            if (c.day.year, c.day.month) == (year, month)
        ]
        fee_rules = rules(session, agency_code)
        remittances = [
            _remittance_row(r)
            for r in session.scalars(
                select(Remittance)
                .where(
                    Remittance.agency_code == agency_code,
                    Remittance.paid_on >= date(year, month, 1),
                    Remittance.paid_on <= month_end(year, month),
                )
                .order_by(Remittance.paid_on, Remittance.order_reference)
            )
        ]
        name = agency.name
    names = {c.fee_code: c.source.fee_name for c in found if c.source is not None}
    lines = fee_lines(obligations(found, fee_rules), fee_rules, names)
    closing = month_end(year, month)
    rows = [_collection_row(c) for c in sorted(found, key=_in_order)]
    for line in lines:
        rows.extend(_closing_rows(line, period, closing))
    rows.extend(remittances)
    rows.sort(key=lambda row: row["date"])  # stable: the month's own order within a day
    return {
        "agency_code": agency_code,
        "agency_name": name,
        "period": period,
        "accounts": [{"code": code, "name": text} for code, text in ACCOUNTS.items()],
        "rows": rows,
        "totals": {
            "collected": sum(c.amount for c in found if c.amount > 0),
            "refunded": -sum(c.amount for c in found if c.amount < 0),
            "owed": sum(line["owed"] for line in lines),
            "transferred": sum(t["amount"] for line in lines for t in line["transfers"]),
            "retained": sum(line["retained"] for line in lines),
            "remitted": sum(r["amount"] for r in remittances),
        },
    }


def _in_order(c: Collection) -> tuple[date, str, int, str]:
    src = c.source
    return c.day, src.series if src else "", src.number if src else 0, c.fee_code


def _collection_row(c: Collection) -> dict[str, Any]:
    src = c.source
    cash = src is not None and src.channel in CASH_CHANNELS
    money = CASH if cash else BANK
    refund = c.amount < 0
    what = "Hoàn trả" if refund else "Thu"
    return {
        "date": c.day,
        "entry": "refund" if refund else "collection",
        "document": f"{src.series}-{src.number}" if src else "",
        "template": src.template if src else None,
        "series": src.series if src else None,
        "number": src.number if src else None,
        "fee_code": c.fee_code,
        "fee_name": src.fee_name if src else c.fee_code,
        "description": f"{what} {src.fee_name if src else c.fee_code}",
        "amount": abs(c.amount),
        "debit": COLLECTED if refund else money,
        "credit": BANK if refund else COLLECTED,
        "reference": src.reference if src else None,
    }


def _closing_rows(line: dict[str, Any], period: str, on: date) -> list[dict[str, Any]]:
    """The month's split of one fee: owed to the budget, each transfer, the share kept."""
    base = {
        "date": on,
        "document": f"XD-{period}-{line['fee_code']}",
        "template": None,
        "series": None,
        "number": None,
        "fee_code": line["fee_code"],
        "fee_name": line["fee_name"],
        "reference": None,
    }
    rows = [base | _posting("owed", "Số phải nộp NSNN", line["owed"], COLLECTED, OWED)]
    rows += [
        base | _posting("transfer", f"Số chuyển {t['to']}", t["amount"], COLLECTED, TRANSFERRED)
        for t in line["transfers"]
    ]
    rows.append(
        base | _posting("retained", "Số được khấu trừ, để lại", line["retained"], KEPT, None)
    )
    return [row for row in rows if row["amount"]]


def _posting(
    entry: str, text: str, amount: int, debit: str | None, credit: str | None
) -> dict[str, Any]:
    if amount < 0:  # the reversal: the same accounts the other way round
        debit, credit = credit, debit
    return {
        "entry": entry,
        "description": text,
        "amount": abs(amount),
        "debit": debit,
        "credit": credit,
    }


def _remittance_row(r: Remittance) -> dict[str, Any]:
    return {
        "date": r.paid_on,
        "entry": "remittance",
        "document": r.order_reference,
        "template": None,
        "series": None,
        "number": None,
        "fee_code": None,
        "fee_name": None,
        "description": "Nộp phí, lệ phí vào NSNN",
        "amount": r.amount,
        "debit": OWED,
        "credit": BANK,
        "reference": r.order_reference,
    }
