"""The payment order to the state budget (giấy nộp tiền vào NSNN, Mẫu C1-02/NS): what an agency
pays to the State Treasury (KBNN) and under which budget classification, as plain data that the
PDF, XML and CSV of ``order_files`` render.

Two orders: the one of a recorded remittance (its settled obligations, its reference and day), and
the one an officer prepares before paying (``outstanding_order``): every obligation of a period
that has ended by ``as_of`` and is not yet remitted, overdue or not. Paying that total and
recording it settles those same lines, oldest due first. Fields follow the form (docs/budget.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import Agency, BeneficiaryAccount, FeeItem, Procedure
from payments.clock import today
from payments.errors import NotFound
from payments.uow import UnitOfWork
from payments.vietqr.banks import bank_name
from receipts.budget.engine import Rule
from receipts.budget.models import Allocation, Remittance
from receipts.budget.services import agency_row, ledger, remitted, rules
from receipts.words import MAX_AMOUNT, amount_in_words

FORM = "C1-02/NS"
TITLE = "Giấy nộp tiền vào ngân sách nhà nước"
# the Treasury's revenue account of the budget (TK thu NSNN) in its chart of accounts
REVENUE_ACCOUNT = "7111"
TREASURY = "Kho bạc Nhà nước"
UNALLOCATED = "Nộp ngân sách nhà nước (chưa phân bổ theo khoản thu)"


def remittance_order(
    agency_code: str, remittance_id: str, *, uow: UnitOfWork, principal: Principal | None
) -> dict[str, Any]:
    """The order of a recorded remittance: one line per obligation it settled (and one for what
    it paid beyond them), its order reference and the day it was paid."""
    with uow:
        session = uow.session
        agency = agency_row(session, agency_code, principal)
        remittance = _remittance(session, agency_code, remittance_id)
        fee_rules, names = rules(session, agency_code), fee_names(session, agency_code)
        allocations = session.scalars(
            select(Allocation)
            .where(Allocation.remittance_id == remittance.id)
            .order_by(Allocation.id)
        ).all()
        lines = [
            _line(a.fee_code, names, fee_rules, a.period_start, a.period_end, a.amount)
            for a in allocations
        ]
        if remittance.unallocated:
            lines.append(_unallocated(remittance.unallocated))
        return _order(
            session,
            agency,
            lines,
            on=remittance.paid_on,
            reference=remittance.order_reference,
            remittance_id=str(remittance.id),
        )


def outstanding_order(
    agency_code: str, *, uow: UnitOfWork, principal: Principal | None, as_of: date | None = None
) -> dict[str, Any]:
    """The order to prepare before paying on ``as_of`` (default today in Việt Nam): every
    obligation of a period ended before that day, less what remittances paid by then settled.
    A period still running (this week, this month) is not in it: its amount is not final."""
    on = as_of or today()
    with uow:
        session = uow.session
        agency = agency_row(session, agency_code, principal)
        paid = remitted(session, agency_code, on)
        fee_rules, names = rules(session, agency_code), fee_names(session, agency_code)
        lines = []
        for ob in ledger(session, agency_code):
            left = ob.owed - paid.get(ob.key, 0)
            if ob.key.period_end < on and left > 0:
                k = ob.key
                line = _line(k.fee_code, names, fee_rules, k.period_start, k.period_end, left)
                lines.append(line | {"due_on": ob.due_on, "overdue": ob.due_on < on})
        return _order(session, agency, lines, on=on, reference=None, remittance_id=None)


def _remittance(session: Session, agency_code: str, remittance_id: str) -> Remittance:
    try:
        key = uuid.UUID(remittance_id)
    except ValueError:
        raise NotFound(f"no remittance {remittance_id}") from None
    found = session.get(Remittance, key)
    if found is None or found.agency_code != agency_code:
        raise NotFound(f"no remittance {remittance_id}")
    return found


def fee_names(session: Session, agency_code: str) -> dict[str, str]:
    return dict(
        session.execute(
            select(FeeItem.code, FeeItem.name)
            .join(Procedure, Procedure.code == FeeItem.procedure_code)
            .where(Procedure.agency_code == agency_code)
        ).all()
    )


def period_text(rule: Rule, start: date, end: date) -> str:
    """The "Kỳ thuế" cell: ``11/2026`` for a month, ``02/11–08/11/2026`` for a week."""
    if rule.every == "month":
        return f"{start:%m/%Y}"
    return f"{start:%d/%m}–{end:%d/%m/%Y}"


def _line(
    fee_code: str,
    names: dict[str, str],
    fee_rules: dict[tuple[str, str], Rule],
    start: date,
    end: date,
    amount: int,
) -> dict[str, Any]:
    # the rules of one agency: its fee codes are unique within it
    rule = next((r for (_, code), r in fee_rules.items() if code == fee_code), Rule())
    return {
        "fee_code": fee_code,
        "content": names.get(fee_code, fee_code),
        "period_start": start,
        "period_end": end,
        "period_text": period_text(rule, start, end),
        "amount": amount,
        "chapter": rule.chapter,
        "sub_item": rule.sub_item,
    }


def _unallocated(amount: int) -> dict[str, Any]:
    return {
        "fee_code": None,
        "content": UNALLOCATED,
        "period_start": None,
        "period_end": None,
        "period_text": "",
        "amount": amount,
        "chapter": None,
        "sub_item": None,
    }


def treasury_account(session: Session, agency_code: str) -> BeneficiaryAccount | None:
    """The agency's account at the Treasury (catalog kind ``treasury``) the money leaves from."""
    return session.scalars(
        select(BeneficiaryAccount)
        .where(
            BeneficiaryAccount.agency_code == agency_code,
            BeneficiaryAccount.kind == "treasury",
        )
        .order_by(BeneficiaryAccount.id)
    ).first()


def _order(
    session: Session,
    agency: Agency,
    lines: Iterable[dict[str, Any]],
    *,
    on: date,
    reference: str | None,
    remittance_id: str | None,
) -> dict[str, Any]:
    items = [line | {"number": n} for n, line in enumerate(lines, start=1)]
    total = sum(line["amount"] for line in items)
    account = treasury_account(session, agency.code)
    return {
        "form": FORM,
        "title": TITLE,
        "remittance_id": remittance_id,
        "order_reference": reference,
        "date": on,
        "payer": {"name": agency.name, "tax_code": agency.tax_code, "agency_code": agency.code},
        "debit_account": None
        if account is None
        else {
            "account_number": account.account_number,
            "account_name": account.account_name,
            "bank_bin": account.bank_bin,
            "bank_name": bank_name(account.bank_bin) or "",
        },
        "treasury": {"name": TREASURY, "revenue_account": REVENUE_ACCOUNT},
        "collecting_body": agency.name,
        "lines": items,
        "total": total,
        # beyond what the words go to (a trillion đồng) the form's line stays for the hand
        "amount_in_words": amount_in_words(total) if 0 <= total <= MAX_AMOUNT else "",
    }
