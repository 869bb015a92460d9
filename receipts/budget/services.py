"""Obligations of an agency to the state budget, and remittances settling them (DESIGN §2, §4.2).

Obligations are computed from the receipts each time (receipts are the record; ``engine`` holds
every rule); what is stored is what was paid to the Treasury and which obligations it settled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import Agency, FeeItem, Procedure
from payments.clock import business_day, today
from payments.errors import Conflict, NotFound, UnknownFee, ValidationFailed
from payments.payment_requests.models import PaymentLine, PaymentRequest
from payments.payment_requests.services import REFUND_PROVIDER
from payments.transactions.models import PaymentTransaction, TxnState
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
from receipts.models import Receipt, ReceiptStatus


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
    """Every receipt line of the agency. A replaced receipt counts through its replacement,
    dated on the day the money was first receipted (a replacement corrects the payer, never the
    amount or the day of collection)."""
    rows = session.execute(
        select(Receipt.id, Receipt.replaces_id, Receipt.issued_on, Receipt.status).where(
            Receipt.agency_code == agency_code
        )
    ).all()
    first_day: dict[uuid.UUID, tuple[uuid.UUID | None, date]] = {
        r.id: (r.replaces_id, r.issued_on) for r in rows
    }

    def collected_on(receipt_id: uuid.UUID) -> date:
        parent, day = first_day[receipt_id]
        seen = {receipt_id}
        while parent is not None and parent in first_day and parent not in seen:
            seen.add(parent)
            parent, day = first_day[parent]
        return day

    found: list[Collection] = []
    issued = session.execute(
        select(Receipt.id, Receipt.kind, Receipt.lines, *_WHERE_WRITTEN).where(
            Receipt.agency_code == agency_code, Receipt.status == ReceiptStatus.ISSUED
        )
    )
    for row in issued:
        day = collected_on(row.id)
        found.extend(
            Collection(
                agency_code,
                line["fee_code"],
                row.kind,
                int(line["amount"]),
                day,
                _source(row, str(line.get("name") or line["fee_code"])),
            )
            for line in row.lines
            if int(line["amount"])
        )
    return found + refunds(session, agency_code)


def _source(row: Any, fee_name: str, reference: str | None = None) -> Source:
    return Source(row.template, row.series, row.number, fee_name, row.payment_channel, reference)


def refunds(session: Session, agency_code: str) -> list[Collection]:
    """Money paid back, as negative collections on the day it was paid back (a refund lowers
    the obligation of the period in which it is made, DESIGN §2). A refund first returns what
    was paid beyond the total (never receipted, never owed), then the request's lines in their
    order."""
    rows = session.execute(
        select(PaymentTransaction.payment_request_id, PaymentTransaction.amount)
        .add_columns(PaymentTransaction.occurred_at, PaymentTransaction.provider_txn_id)
        .join(PaymentRequest, PaymentRequest.id == PaymentTransaction.payment_request_id)
        .where(
            PaymentRequest.agency_code == agency_code,
            PaymentTransaction.provider == REFUND_PROVIDER,
        )
        .order_by(PaymentTransaction.occurred_at, PaymentTransaction.id)
    ).all()
    if not rows:
        return []
    ids = {r.payment_request_id for r in rows}
    lines: dict[uuid.UUID, list[PaymentLine]] = {}
    stmt = (
        select(PaymentLine)
        .where(PaymentLine.payment_request_id.in_(ids))
        .order_by(PaymentLine.payment_request_id, PaymentLine.position)
    )
    for line in session.scalars(stmt):
        lines.setdefault(line.payment_request_id, []).append(line)
    applied: dict[uuid.UUID | None, int] = {
        rid: int(total or 0)
        for rid, total in session.execute(
            select(PaymentTransaction.payment_request_id, func.sum(PaymentTransaction.amount))
            .where(
                PaymentTransaction.payment_request_id.in_(ids),
                PaymentTransaction.state == TxnState.APPLIED,
            )
            .group_by(PaymentTransaction.payment_request_id)
        )
    }
    totals: dict[uuid.UUID, int] = {
        rid: total
        for rid, total in session.execute(
            select(PaymentRequest.id, PaymentRequest.total_amount).where(PaymentRequest.id.in_(ids))
        )
    }
    excess = {rid: max(0, applied.get(rid, 0) - totals[rid]) for rid in ids}
    receipts = {
        (r.payment_request_id, r.kind): r
        for r in session.execute(
            select(Receipt.payment_request_id, Receipt.kind, *_WHERE_WRITTEN)
            .where(Receipt.payment_request_id.in_(ids), Receipt.status == ReceiptStatus.ISSUED)
            .order_by(Receipt.issued_at)
        )
    }
    returned: dict[tuple[uuid.UUID, int], int] = {}  # what earlier refunds took from each line
    found: list[Collection] = []
    for request_id, amount, occurred_at, bank_reference in rows:
        day = business_day(occurred_at)
        left = amount - min(amount, excess[request_id])
        excess[request_id] -= amount - left
        for line in lines.get(request_id, []):
            key = (request_id, line.position)
            take = min(left, line.amount - returned.get(key, 0))
            if take > 0:
                receipt = receipts.get((request_id, line.kind))
                source = receipt and _source(receipt, line.name, bank_reference)
                found.append(Collection(agency_code, line.fee_code, line.kind, -take, day, source))
                returned[key] = returned.get(key, 0) + take
                left -= take
    return found


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
