"""The finance officer's budget pages (Ngân sách): a month's obligations, the remittances, the
payment order to prepare, the month's declaration; and the dashboard's overdue reminders.

The pages read the ledger live through ``receipts.budget`` (receipts are the record); the
dashboard reads only the reminders the scheduler wrote today (a ledger per agency on every
dashboard load would read a year of receipts each time), each linking to the live page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import Agency
from payments.uow import UnitOfWork
from receipts.budget import services as budget
from receipts.budget.declarations import month_declaration
from receipts.budget.models import OverdueReminder
from receipts.budget.orders import fee_names, outstanding_order
from reconciliation.console.services.common import Scope, scoped


def budget_agencies(scope: Scope, *, uow: UnitOfWork) -> list[tuple[str, str]]:
    """The agencies whose budget pages the user may open: ``(code, name)``."""
    with uow:
        stmt = scoped(select(Agency.code, Agency.name), Agency.code, scope).order_by(Agency.code)
        return [(str(code), str(name)) for code, name in uow.session.execute(stmt)]


def budget_page(
    agency_code: str, period: str, on: date, principal: Principal, *, uow: UnitOfWork
) -> dict[str, Any]:
    """One agency's month: its obligations and what is overdue on ``on``, its remittances, and
    the payment order to prepare today (ended periods still owed)."""
    view = budget.month_view(agency_code, period, uow=uow, principal=principal, as_of=on)
    remittances = budget.list_remittances(agency_code, uow=uow, principal=principal)
    order = outstanding_order(agency_code, uow=uow, principal=principal, as_of=on)
    with uow:
        names = fee_names(uow.session, agency_code)
        agency = uow.session.get(Agency, agency_code)
        agency_name = agency.name if agency else agency_code
    return {
        "agency_code": agency_code,
        "agency_name": agency_name,
        "view": view,
        "remittances": remittances,
        "order": order,
        "fee_names": names,
    }


def declaration_page(
    agency_code: str, period: str, principal: Principal, *, uow: UnitOfWork
) -> dict[str, Any]:
    """The month's declaration (Mẫu 01/PHLP columns), as the API's JSON gives it."""
    return month_declaration(agency_code, period, uow=uow, principal=principal)


def overdue_reminders(session: Session, scope: Scope, day: date) -> list[dict[str, Any]]:
    """What the scheduler reminded as overdue on its latest run up to ``day`` for the agencies
    in scope: agency, fee, period, amount and deadline, the oldest deadline first."""
    latest = session.scalar(
        scoped(
            select(func.max(OverdueReminder.day)).where(OverdueReminder.day <= day),
            OverdueReminder.agency_code,
            scope,
        )
    )
    if latest is None:
        return []
    stmt = scoped(
        select(OverdueReminder, Agency.name)
        .join(Agency, Agency.code == OverdueReminder.agency_code)
        .where(OverdueReminder.day == latest)
        .order_by(OverdueReminder.due_on, OverdueReminder.agency_code, OverdueReminder.fee_code),
        OverdueReminder.agency_code,
        scope,
    )
    rows = session.execute(stmt).all()
    names: dict[str, dict[str, str]] = {}
    found = []
    for reminder, agency_name in rows:
        code = reminder.agency_code
        fees = names.setdefault(code, fee_names(session, code))
        found.append(
            {
                "agency_code": code,
                "agency_name": agency_name,
                "fee_code": reminder.fee_code,
                "fee_name": fees.get(reminder.fee_code, reminder.fee_code),
                "period": reminder.period,
                "amount": reminder.amount,
                "due_on": reminder.due_on,
                "day": reminder.day,
            }
        )
    return found
