"""The monthly declaration of fees and charges collected (tờ khai phí, lệ phí; TT 89/2026/TT-BTC
Điều 26 k3: declared monthly, settled yearly), as JSON data from the same obligations.

Its columns follow the declaration form as we know it (Mẫu 01/PHLP of TT 80/2021/TT-BTC: fee,
chương, tiểu mục, amount collected, share retained, amount due to the budget); the form of TT
89/2026 Phụ lục I point 11 is not yet verified (LAW.md), so this is the data, not the form.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from payments.auth.services import Principal
from payments.catalog.models import FeeItem, Procedure
from payments.uow import UnitOfWork
from receipts.budget.services import agency_row, ledger, rules

FORM = "01/PHLP"


def month_declaration(
    agency_code: str, period: str, *, uow: UnitOfWork, principal: Principal | None
) -> dict[str, Any]:
    """One line per fee of what the agency collected in the month ``YYYY-MM``."""
    year, month = (int(part) for part in period.split("-"))
    with uow:
        agency = agency_row(uow.session, agency_code, principal)
        owed = [
            ob
            for ob in ledger(uow.session, agency_code)
            if (ob.key.period_start.year, ob.key.period_start.month) == (year, month)
        ]
        fee_rules = rules(uow.session, agency_code)
        names = dict(
            uow.session.execute(
                select(FeeItem.code, FeeItem.name)
                .join(Procedure, Procedure.code == FeeItem.procedure_code)
                .where(Procedure.agency_code == agency_code)
            ).all()
        )
        name, tax_code = agency.name, agency.tax_code
    lines: dict[str, dict[str, Any]] = {}
    for ob in owed:
        code = ob.key.fee_code
        rule = fee_rules.get((agency_code, code))
        line = lines.setdefault(
            code,
            {
                "fee_code": code,
                "fee_name": names.get(code, code),
                "kind": ob.kind,
                "chapter": rule.chapter if rule else None,
                "sub_item": rule.sub_item if rule else None,
                "retained_percent": _percent(rule.retained_percent if rule else 0),
                "collected": 0,
                "retained": 0,
                "transfers": {},
                "owed": 0,
            },
        )
        line["collected"] += ob.collected
        line["retained"] += ob.retained
        line["owed"] += ob.owed
        for to, amount in ob.transfers.items():
            line["transfers"][to] = line["transfers"].get(to, 0) + amount
    items = [
        line | {"transfers": [{"to": to, "amount": a} for to, a in line["transfers"].items()]}
        for _, line in sorted(lines.items())
    ]
    return {
        "form": FORM,
        "agency_code": agency_code,
        "agency_name": name,
        "tax_code": tax_code,
        "period": period,
        "lines": items,
        "totals": {
            "collected": sum(i["collected"] for i in items),
            "retained": sum(i["retained"] for i in items),
            "transferred": sum(t["amount"] for i in items for t in i["transfers"]),
            "owed": sum(i["owed"] for i in items),
        },
    }


def _percent(value: Fraction | int) -> str:
    """``81``, ``12.5``: a catalog percentage (at most two decimals) as it was written."""
    exact = Fraction(value)
    return str((Decimal(exact.numerator) / Decimal(exact.denominator)).normalize())
