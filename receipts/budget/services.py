"""Obligations of an agency to the state budget, and remittances settling them (DESIGN §2, §4.2).

Obligations are computed from the receipts each time (receipts are the record; ``engine`` holds
every rule); what is stored is what was paid to the Treasury and which obligations it settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import Agency, FeeItem, Procedure
from payments.clock import today
from payments.errors import Conflict, NotFound, UnknownFee, ValidationFailed
from payments.uow import UnitOfWork
from receipts.budget.engine import (
    Collection,
    Key,
    Obligation,
    Rule,
    Source,
    allocate,
    obligations,
)
from receipts.budget.models import Allocation, Remittance
from receipts.models import Receipt
from receipts.services import REFUNDED


class RemittanceExists(Conflict):
    code = "remittance-exists"
    title = "A different remittance already carries this order reference"


@dataclass(frozen=True)
class RecordRemittance:
    agency_code: str
    amount: int
    paid_on: date
    order_reference: str
    fee_codes: list[str] | None = None


# --- reading the ledger -----------------------------------------------------------------------

# the receipt's columns the accounting journal names a collection by
_WHERE_WRITTEN = (Receipt.template, Receipt.series, Receipt.number, Receipt.payment_channel)


def collections(session: Session, agency_code: str) -> list[Collection]:
    """Every receipt of the agency, as the money it moved: an original receipt its lines on its
    day; a replacement the difference from the receipt it replaces, per fee — on the day the
    money went back when a refund caused it (``money_consequence.kind`` ``refunded``: a refund
    lowers the obligation of the period in which it is made, once, through its receipt), on
    the day first receipted when it corrected the receipt (a restatement). A correction that
    raised the amount moves nothing here: the additional request it raised is receipted, and
    counted, when paid."""
    rows = session.execute(
        select(
            Receipt.id,
            Receipt.replaces_id,
            Receipt.kind,
            Receipt.issued_on,
            Receipt.lines,
            Receipt.money_consequence,
            *_WHERE_WRITTEN,
        ).where(Receipt.agency_code == agency_code)
    ).all()
    by_id = {r.id: r for r in rows}

    def first_day(row: Any) -> date:
        seen = {row.id}
        while row.replaces_id in by_id and row.replaces_id not in seen:
            row = by_id[row.replaces_id]
            seen.add(row.id)
        day: date = row.issued_on
        return day

    found: list[Collection] = []
    for row in rows:
        previous = by_id.get(row.replaces_id) if row.replaces_id is not None else None
        if previous is None:
            found.extend(
                Collection(
                    agency_code,
                    line["fee_code"],
                    row.kind,
                    int(line["amount"]),
                    row.issued_on,
                    _source(row, _names(row.lines).get(line["fee_code"], line["fee_code"])),
                )
                for line in row.lines
                if int(line["amount"])
            )
            continue
        consequence = row.money_consequence or {}
        if consequence.get("kind") == "additional_payment_due":
            continue
        day = (
            date.fromisoformat(consequence["refunded_on"])
            if consequence.get("kind") == REFUNDED
            else first_day(row)
        )
        names = _names(previous.lines) | _names(row.lines)
        reference = consequence.get("bank_reference")
        for fee, amount in _difference(previous.lines, row.lines).items():
            source = _source(row, names.get(fee, fee), reference)
            found.append(Collection(agency_code, fee, row.kind, amount, day, source))
    return found


def _source(row: Any, fee_name: str, reference: str | None = None) -> Source:
    """The receipt a collection is written on (a refund: the replacement recording it)."""
    return Source(row.template, row.series, row.number, fee_name, row.payment_channel, reference)


def _names(lines: list[dict[str, Any]]) -> dict[str, str]:
    return {line["fee_code"]: str(line.get("name") or line["fee_code"]) for line in lines}


def _difference(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, int]:
    """Per fee, what ``after`` states beyond ``before`` (negative: less), zeros left out."""
    change: dict[str, int] = {}
    for lines, sign in ((after, 1), (before, -1)):
        for line in lines:
            change[line["fee_code"]] = change.get(line["fee_code"], 0) + sign * int(line["amount"])
    return {fee: amount for fee, amount in change.items() if amount}


def rules(session: Session, agency_code: str) -> dict[tuple[str, str], Rule]:
    """The budget rule of each fee of the agency's procedures (the catalog as it stands)."""
    stmt = (
        select(FeeItem.code, FeeItem.budget)
        .join(Procedure, Procedure.code == FeeItem.procedure_code)
        .where(Procedure.agency_code == agency_code)
        .order_by(FeeItem.procedure_code)
    )
    found: dict[tuple[str, str], Rule] = {}
    for code, budget in session.execute(stmt):
        found.setdefault((agency_code, code), Rule.from_budget(budget))
    return found


def ledger(session: Session, agency_code: str) -> list[Obligation]:
    return obligations(collections(session, agency_code), rules(session, agency_code))


def remitted(session: Session, agency_code: str, as_of: date | None = None) -> dict[Key, int]:
    """What remittances (paid on or before ``as_of``) settled, per obligation."""
    stmt = (
        select(Allocation)
        .join(Remittance, Remittance.id == Allocation.remittance_id)
        .where(Allocation.agency_code == agency_code)
    )
    if as_of is not None:
        stmt = stmt.where(Remittance.paid_on <= as_of)
    found: dict[Key, int] = {}
    for a in session.scalars(stmt):
        key = Key(a.agency_code, a.fee_code, a.period_start, a.period_end)
        found[key] = found.get(key, 0) + a.amount
    return found


def agency_row(
    session: Session, code: str, principal: Principal | None, *, lock: bool = False
) -> Agency:
    if principal is not None:
        principal.require_agency(code)
    stmt = select(Agency).where(Agency.code == code)
    agency = session.scalar(stmt.with_for_update() if lock else stmt)
    if agency is None:
        raise NotFound(f"no agency {code}")
    return agency


def month_view(
    agency_code: str,
    period: str,
    *,
    uow: UnitOfWork,
    principal: Principal | None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """``GET /agencies/{code}/obligations?period=YYYY-MM``: the month's obligations, and what is
    overdue on ``as_of`` (default today in Việt Nam) in any period."""
    year, month = (int(part) for part in period.split("-"))
    on = as_of or today()
    with uow:
        agency_row(uow.session, agency_code, principal)
        owed = ledger(uow.session, agency_code)
        paid = remitted(uow.session, agency_code, on)
    lines = [
        _line(ob, paid.get(ob.key, 0))
        for ob in owed
        if (ob.key.period_start.year, ob.key.period_start.month) == (year, month)
    ]
    return {
        "agency_code": agency_code,
        "period": period,
        "as_of": on,
        "lines": lines,
        "totals": _totals(lines),
        "overdue": overdue(owed, paid, on),
    }


def _line(ob: Obligation, remitted_amount: int) -> dict[str, Any]:
    return {
        "fee_code": ob.key.fee_code,
        "kind": ob.kind,
        "period": ob.period,
        "period_start": ob.key.period_start,
        "period_end": ob.key.period_end,
        "collected": ob.collected,
        "retained": ob.retained,
        "transfers": [{"to": to, "amount": amount} for to, amount in ob.transfers.items()],
        "owed": ob.owed,
        "remitted": remitted_amount,
        "outstanding": ob.owed - remitted_amount,
        "due_on": ob.due_on,
    }


def _totals(lines: list[dict[str, Any]]) -> dict[str, int]:
    totals = {
        name: sum(line[name] for line in lines)
        for name in ("collected", "retained", "owed", "remitted", "outstanding")
    }
    totals["transferred"] = sum(t["amount"] for line in lines for t in line["transfers"])
    return totals


def overdue(owed: Iterable[Obligation], paid: dict[Key, int], on: date) -> list[dict[str, Any]]:
    """What is still outstanding after its deadline on ``on`` (the day after ``due_on`` is the
    first overdue day), per fee and period, oldest first."""
    found: dict[tuple[str, str, date], int] = {}
    for ob in owed:
        outstanding = ob.owed - paid.get(ob.key, 0)
        if ob.due_on < on and outstanding > 0:
            key = (ob.key.fee_code, ob.period, ob.due_on)
            found[key] = found.get(key, 0) + outstanding
    return [
        {"fee_code": fee, "period": period, "amount": amount, "due_on": due}
        for (fee, period, due), amount in sorted(
            found.items(), key=lambda i: (i[0][2], i[0][1], i[0][0])
        )
    ]


# --- remitting --------------------------------------------------------------------------------


def record_remittance(
    cmd: RecordRemittance, *, uow: UnitOfWork, principal: Principal | None
) -> tuple[dict[str, Any], bool]:
    """Store a remittance and settle the obligations it pays for, oldest due first (only those
    collected by ``paid_on``): ``(view, created)``. The same order reference again with the same
    amount and day answers the stored remittance; otherwise it is a conflict."""
    if cmd.paid_on > today():
        raise ValidationFailed({"paid_on": ["is in the future"]})
    with uow:
        session = uow.session
        # the agency row serialises remittances: two cannot settle the same obligation
        agency_row(session, cmd.agency_code, principal, lock=True)
        existing = session.scalar(
            select(Remittance).where(
                Remittance.agency_code == cmd.agency_code,
                Remittance.order_reference == cmd.order_reference,
            )
        )
        if existing is not None:
            if (existing.amount, existing.paid_on) != (cmd.amount, cmd.paid_on):
                raise RemittanceExists(f"order {cmd.order_reference} is already recorded")
            return remittance_view(session, existing), False
        fee_rules = rules(session, cmd.agency_code)
        unknown = sorted(set(cmd.fee_codes or ()) - {code for _, code in fee_rules})
        if unknown:
            raise UnknownFee(f"agency {cmd.agency_code} collects no fee {', '.join(unknown)}")
        owed = [
            ob
            for ob in obligations(collections(session, cmd.agency_code), fee_rules)
            if ob.key.period_start <= cmd.paid_on
        ]
        settled, left = allocate(
            cmd.amount, owed, remitted(session, cmd.agency_code), cmd.fee_codes
        )
        remittance = Remittance(
            agency_code=cmd.agency_code,
            amount=cmd.amount,
            paid_on=cmd.paid_on,
            order_reference=cmd.order_reference,
            fee_codes=cmd.fee_codes,
            unallocated=left,
            created_by=principal.client_id if principal else None,
        )
        session.add(remittance)
        session.flush()
        session.add_all(
            Allocation(
                remittance_id=remittance.id,
                agency_code=key.agency_code,
                fee_code=key.fee_code,
                period_start=key.period_start,
                period_end=key.period_end,
                amount=amount,
            )
            for key, amount in settled
        )
        session.flush()
        view = remittance_view(session, remittance)
        uow.commit()
    return view, True


def list_remittances(
    agency_code: str, *, uow: UnitOfWork, principal: Principal | None
) -> list[dict[str, Any]]:
    """The agency's remittances, the latest paid first, each with what it settled."""
    with uow:
        agency_row(uow.session, agency_code, principal)
        found = uow.session.scalars(
            select(Remittance)
            .where(Remittance.agency_code == agency_code)
            .order_by(Remittance.paid_on.desc(), Remittance.created_at.desc())
        ).all()
        return [remittance_view(uow.session, r) for r in found]


def remittance_view(session: Session, remittance: Remittance) -> dict[str, Any]:
    allocations = session.scalars(
        select(Allocation).where(Allocation.remittance_id == remittance.id).order_by(Allocation.id)
    )
    return {
        "id": remittance.id,
        "agency_code": remittance.agency_code,
        "amount": remittance.amount,
        "paid_on": remittance.paid_on,
        "order_reference": remittance.order_reference,
        "fee_codes": remittance.fee_codes,
        "settled": [
            {
                "fee_code": a.fee_code,
                "period_start": a.period_start,
                "period_end": a.period_end,
                "amount": a.amount,
            }
            for a in allocations
        ],
        "unallocated": remittance.unallocated,
    }
