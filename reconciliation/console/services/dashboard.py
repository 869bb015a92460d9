"""The dashboard: collections by channel, the online-payment rate, what needs attention."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from payments.catalog.models import Agency, BeneficiaryAccount
from payments.config import Settings
from payments.outbox.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest
from payments.uow import UnitOfWork
from receipts.models import Receipt, TaxStatus
from receipts.signers import agencies_unable_to_sign
from reconciliation.console.models import PaymentDay, ReductionDay
from reconciliation.console.services.accounts import DayState, day_states
from reconciliation.console.services.budget import overdue_reminders
from reconciliation.console.services.common import (
    CHANNELS,
    Scope,
    channel_of,
    scope_accounts,
    scoped,
)
from reconciliation.indicators.services import online_tally
from reconciliation.models import ExceptionStatus, ReconciliationException


def payment_days(
    session: Session, scope: Scope, first: date, last: date, *group: Any
) -> Select[Any]:
    """Applied payments to requests in scope (their agency, and the payment's account), from
    business day ``first`` to ``last``, summed from the daily rollup by ``group``: (*group,
    payments, đồng), the same figures as the transactions themselves give."""
    stmt = (
        select(*group, func.sum(PaymentDay.payments), func.sum(PaymentDay.amount))
        .where(
            PaymentDay.account_id.in_(scope_accounts(session, scope)),
            PaymentDay.day >= first,
            PaymentDay.day <= last,
        )
        .group_by(*group)
        .having(func.sum(PaymentDay.payments) != 0)  # rows whose payments were all reversed
    )
    return scoped(stmt, PaymentDay.agency_code, scope)


def collections(session: Session, scope: Scope, first: date, last: date) -> dict[str, int]:
    """Money applied to requests from business day ``first`` to ``last``, by channel."""
    out: dict[str, int] = dict.fromkeys(CHANNELS, 0)
    for provider, _, amount in session.execute(
        payment_days(session, scope, first, last, PaymentDay.provider)
    ):
        key = channel_of(provider)
        out[key] = out.get(key, 0) + int(amount or 0)
    return out


def online_ratio(session: Session, scope: Scope, first: date, last: date) -> tuple[int, int]:
    """QĐ 766/QĐ-TTg for the agencies in scope: (dossiers paid online, dossiers with a
    financial obligation) first paid from business day ``first`` to ``last`` (the one
    definition: ``reconciliation.indicators``)."""
    found = online_tally(session, scope, first, last)
    return found.paid_online, found.with_obligation


def reductions(
    session: Session, scope: Scope, first: date, last: date
) -> list[tuple[str, int, int]]:
    """(legal basis, lines, đồng granted) for paid requests created from business day ``first``
    to ``last``, from the daily rollup."""
    granted = func.sum(ReductionDay.amount)
    stmt = (
        select(ReductionDay.legal_basis, func.sum(ReductionDay.lines), granted)
        .where(ReductionDay.day >= first, ReductionDay.day <= last)
        .group_by(ReductionDay.legal_basis)
        .having(func.sum(ReductionDay.lines) != 0)
        .order_by(granted.desc(), ReductionDay.legal_basis)
    )
    rows = session.execute(scoped(stmt, ReductionDay.agency_code, scope))
    return [(str(basis), int(n), int(total or 0)) for basis, n, total in rows]


@dataclass(frozen=True)
class Dashboard:
    today: dict[str, int]
    month: dict[str, int]
    online_paid: int
    online_with_fee: int
    reductions: list[tuple[str, int, int]]
    open_requests: int
    parked_webhooks: int
    extra: dict[str, Any]


def dashboard(
    scope: Scope, day: date, *, uow: UnitOfWork, settings: Settings | None = None
) -> Dashboard:
    """The officer's dashboard; with ``settings``, the agencies that cannot sign receipts."""
    with uow:
        s = uow.session
        paid, with_fee = online_ratio(s, scope, day.replace(day=1), day)
        open_count = (
            s.scalar(
                scoped(
                    select(func.count()).where(PaymentRequest.status.in_(OPEN_STATUSES)),
                    PaymentRequest.agency_code,
                    scope,
                )
            )
            or 0
        )
        parked = parked_deliveries(s, scope)
        return Dashboard(
            today=collections(s, scope, day, day),
            month=collections(s, scope, day.replace(day=1), day),
            online_paid=paid,
            online_with_fee=with_fee,
            reductions=reductions(s, scope, day.replace(day=1), day),
            open_requests=int(open_count),
            parked_webhooks=int(parked or 0),
            extra={
                **attention(scope, day, s),
                "unable_to_sign": unable_to_sign(s, scope, settings),
                # what the scheduler reminded as overdue to the state budget today
                "budget_overdue": overdue_reminders(s, scope, day),
            },
        )


def unable_to_sign(
    session: Session, scope: Scope, settings: Settings | None
) -> list[tuple[str, str, str]]:
    """The agencies in scope whose receipts cannot be signed now: (code, name, why)."""
    if settings is None:
        return []
    stmt = scoped(select(Agency.code, Agency.name), Agency.code, scope).order_by(Agency.code)
    names = {str(code): str(name) for code, name in session.execute(stmt)}
    unable = agencies_unable_to_sign(settings, names)
    return [(code, names[code], why) for code, why in unable.items()]


def parked_deliveries(session: Session, scope: Scope) -> int:
    """Deliveries that kept failing (dossier webhooks, tax submissions), counted for the
    agencies in scope: an event belongs to the agency of the request or receipt it is about."""
    if scope is None:
        total = session.scalar(
            select(func.count()).where(OutboxDelivery.status == DeliveryStatus.PARKED)
        )
        return int(total or 0)
    aggregates = session.scalars(
        select(OutboxEvent.aggregate_id)
        .join(OutboxDelivery, OutboxDelivery.event_id == OutboxEvent.id)
        .where(OutboxDelivery.status == DeliveryStatus.PARKED)
    ).all()  # few by nature: parked means a person has to look at each
    keys = []
    for aggregate in aggregates:
        try:
            keys.append(uuid.UUID(aggregate))
        except ValueError:
            continue  # a daily summary: the province's, shown to admins
    if not keys:
        return 0
    mine = set()
    for model in (PaymentRequest, Receipt):
        mine |= set(
            session.scalars(
                select(model.id).where(model.id.in_(keys), model.agency_code.in_(list(scope)))
            )
        )
    return sum(1 for k in keys if k in mine)


AGE_BUCKETS = (("age_0_1", 0, 1), ("age_2_7", 2, 7), ("age_8_30", 8, 30), ("age_31", 31, None))


def attention(scope: Scope, day: date, session: Session, *, days: int = 60) -> dict[str, Any]:
    """Unreconciled days (last ``days``), open exceptions by age, receipts the tax authority
    has not accepted yet."""
    accounts = list(
        session.scalars(
            scoped(select(BeneficiaryAccount.id), BeneficiaryAccount.agency_code, scope)
        )
    )
    states = day_states(session, accounts, day - timedelta(days=days - 1), day) if accounts else {}
    unreconciled = sum(
        1
        for cells in states.values()
        for cell in cells.values()
        if cell["state"] in (DayState.NOT_RUN, DayState.OPEN)
    )
    open_days = session.execute(
        scoped(
            select(ReconciliationException.business_date, func.count())
            .join(
                BeneficiaryAccount,
                BeneficiaryAccount.id == ReconciliationException.account_id,
            )
            .where(ReconciliationException.status == ExceptionStatus.OPEN)
            .group_by(ReconciliationException.business_date),
            BeneficiaryAccount.agency_code,
            scope,
        )
    )
    ages = {name: 0 for name, _, _ in AGE_BUCKETS}
    for business_date, n in open_days:
        age = (day - business_date).days
        for name, low, high in AGE_BUCKETS:
            if age >= low and (high is None or age <= high):
                ages[name] += int(n)
                break
        else:  # a future day (a statement booked ahead): the youngest bucket
            ages[AGE_BUCKETS[0][0]] += int(n)
    pending_tax = session.scalar(
        scoped(
            select(func.count()).where(Receipt.tax_authority_status != TaxStatus.ACCEPTED),
            Receipt.agency_code,
            scope,
        )
    )
    return {
        "unreconciled_days": unreconciled,
        "exception_ages": ages,
        "pending_tax": int(pending_tax or 0),
    }
