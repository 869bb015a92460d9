"""The monthly declaration of fees and charges collected (tờ khai phí, lệ phí) and the yearly
settlement (tờ khai quyết toán phí, lệ phí): TT 89/2026/TT-BTC Điều 26 k3 has fees declared
monthly and settled yearly, as data from the same obligations.

Their columns follow the forms of TT 80/2021/TT-BTC as the tax authority's own stylesheets print
them (Mẫu 01/PHLP; the settlement's "đã kê khai trong kỳ" and "chênh lệch" columns): the forms of
TT 89/2026 Phụ lục I point 11 could not be read (docs/budget.md "Declaration forms").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import FeeItem, Procedure
from payments.clock import today
from payments.uow import UnitOfWork
from receipts.budget.engine import Obligation, Rule
from receipts.budget.models import Remittance
from receipts.budget.services import agency_row, ledger, remitted, rules

FORM = "01/PHLP"
SETTLEMENT_FORM = "02/PHLP"


def month_declaration(
    agency_code: str,
    period: str,
    *,
    uow: UnitOfWork,
    principal: Principal | None,
    supplement: int = 0,
) -> dict[str, Any]:
    """One line per fee of what the agency collected in the month ``YYYY-MM``; ``supplement``
    0 is the first declaration (lần đầu), n the n-th supplement (bổ sung lần thứ n)."""
    year, month = (int(part) for part in period.split("-"))
    with uow:
        head = _heading(uow.session, agency_code, principal)
        owed = [ob for ob in ledger(uow.session, agency_code) if _month(ob) == (year, month)]
        items = fee_lines(owed, rules(uow.session, agency_code), head.pop("names"))
    return {
        "form": FORM,
        **head,
        "period": period,
        "period_start": date(year, month, 1),
        "period_end": month_end(year, month),
        "supplement": supplement,
        "lines": items,
        "totals": totals(items),
    }


def year_settlement(
    agency_code: str,
    year: int,
    *,
    uow: UnitOfWork,
    principal: Principal | None,
    supplement: int = 0,
) -> dict[str, Any]:
    """The year ``year`` per fee: the settlement's columns (collected, retained, owed, what the
    twelve monthly declarations declared and the difference) and what was remitted for it
    (allocations of the remittances, whenever paid): still owed (+) or overpaid (−)."""
    with uow:
        session = uow.session
        head = _heading(session, agency_code, principal)
        owed = [ob for ob in ledger(session, agency_code) if ob.key.period_start.year == year]
        fee_rules = rules(session, agency_code)
        items = fee_lines(owed, fee_rules, head["names"])
        paid = remitted(session, agency_code)
        unallocated = _unallocated(session, agency_code, year)
    declared: dict[str, int] = {}
    for month in range(1, 13):  # what each month's declaration declares, summed
        monthly = [ob for ob in owed if ob.key.period_start.month == month]
        for line in fee_lines(monthly, fee_rules, head["names"]):
            declared[line["fee_code"]] = declared.get(line["fee_code"], 0) + line["owed"]
    head.pop("names")
    for line in items:
        code = line["fee_code"]
        line["declared"] = declared.get(code, 0)
        line["difference"] = line["owed"] - line["declared"]
        line["remitted"] = sum(paid.get(ob.key, 0) for ob in owed if ob.key.fee_code == code)
        line["outstanding"] = line["owed"] - line["remitted"]
    sums = totals(items) | {
        name: sum(line[name] for line in items)
        for name in ("declared", "difference", "remitted", "outstanding")
    }
    return {
        "form": SETTLEMENT_FORM,
        **head,
        "period": f"{year}",
        "period_start": date(year, 1, 1),
        "period_end": date(year, 12, 31),
        "supplement": supplement,
        "lines": items,
        "totals": sums | {"unallocated": unallocated},
    }


def fee_lines(
    owed: Iterable[Obligation], fee_rules: dict[tuple[str, str], Rule], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Obligations summed per fee, in fee-code order: chương, tiểu mục, collected, the share
    kept, each transfer, owed; ``not_owed`` is what the form calls trích để lại (kept and
    transferred: everything not owed to the budget)."""
    lines: dict[str, dict[str, Any]] = {}
    for ob in owed:
        code = ob.key.fee_code
        rule = fee_rules.get((ob.key.agency_code, code)) or Rule()
        line = lines.setdefault(
            code,
            {
                "fee_code": code,
                "fee_name": names.get(code, code),
                "kind": ob.kind,
                "chapter": rule.chapter,
                "sub_item": rule.sub_item,
                "retained_percent": percent(rule.retained_percent),
                "not_owed_percent": percent(
                    rule.retained_percent + sum(p for _, p in rule.transfers)
                ),
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
    return [
        line
        | {
            "transfers": [{"to": to, "amount": a} for to, a in line["transfers"].items()],
            "not_owed": line["collected"] - line["owed"],
        }
        for _, line in sorted(lines.items())
    ]


def totals(items: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "collected": sum(i["collected"] for i in items),
        "retained": sum(i["retained"] for i in items),
        "transferred": sum(t["amount"] for i in items for t in i["transfers"]),
        "owed": sum(i["owed"] for i in items),
    }


def percent(value: Fraction | int) -> str:
    """``81``, ``12.5``: a catalog percentage (at most two decimals) as it was written."""
    exact = Fraction(value)
    return str((Decimal(exact.numerator) / Decimal(exact.denominator)).normalize())


def _heading(session: Session, agency_code: str, principal: Principal | None) -> dict[str, Any]:
    agency = agency_row(session, agency_code, principal)
    names = dict(
        session.execute(
            select(FeeItem.code, FeeItem.name)
            .join(Procedure, Procedure.code == FeeItem.procedure_code)
            .where(Procedure.agency_code == agency_code)
        ).all()
    )
    return {
        "agency_code": agency_code,
        "agency_name": agency.name,
        "tax_code": agency.tax_code,
        "prepared_on": today(),
        "names": names,
    }


def _unallocated(session: Session, agency_code: str, year: int) -> int:
    """Money remitted in ``year`` that settled nothing (paid before anything was owed)."""
    stmt = select(Remittance.unallocated).where(
        Remittance.agency_code == agency_code,
        Remittance.paid_on >= date(year, 1, 1),
        Remittance.paid_on <= date(year, 12, 31),
    )
    return sum(session.scalars(stmt))


def _month(ob: Obligation) -> tuple[int, int]:
    return ob.key.period_start.year, ob.key.period_start.month


def month_end(year: int, month: int) -> date:
    """The last day of the month."""
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)
