"""The online-payment indicator read from the database (rule in ``engine``, docs/indicators.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import Agency, BeneficiaryAccount
from payments.clock import business_day, day_bounds
from payments.errors import NotFound
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaymentTransaction, TxnState
from payments.uow import UnitOfWork
from reconciliation.indicators.engine import (
    CHANNELS,
    Payment,
    Tally,
    channel_of,
    combined,
    tally,
)


def month_bounds(period: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``."""
    year, month = (int(part) for part in period.split("-"))
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


Window = tuple[list[Payment], set[tuple[str, str]]]


def payments_of(
    session: Session, agencies: Sequence[str] | None, first: date, last: date
) -> Window:
    """The applied payments, to requests with money due, of ``agencies`` (None: all) from
    ``first`` to ``last``; and the (agency, dossier) pairs among them paid already before
    ``first`` (not first paid in the window). Both read ranges of indexes: the payments by
    (account_id, occurred_at), the earlier ones by dossier code and request."""
    in_scope = (PaymentRequest.agency_code.in_(list(agencies)),) if agencies is not None else ()
    accounts = select(BeneficiaryAccount.id)
    if agencies is not None:
        accounts = accounts.where(BeneficiaryAccount.agency_code.in_(list(agencies)))
    applied = (
        PaymentTransaction.state == TxnState.APPLIED,
        PaymentRequest.total_amount > 0,
        *in_scope,
    )
    in_window = (
        # naming the accounts lets PostgreSQL walk (account_id, occurred_at) for the window
        PaymentTransaction.account_id.in_(list(session.scalars(accounts))),
        PaymentTransaction.occurred_at >= day_bounds(first)[0],
        PaymentTransaction.occurred_at < day_bounds(last)[1],
    )
    window = select(
        PaymentRequest.agency_code,
        PaymentRequest.dossier_code,
        PaymentTransaction.provider,
        PaymentTransaction.occurred_at,
    ).join(PaymentTransaction, PaymentTransaction.payment_request_id == PaymentRequest.id)
    window = window.where(*in_window, *applied)
    payments = [
        Payment(str(agency), str(dossier), channel_of(provider), business_day(at))
        for agency, dossier, provider, at in session.execute(window)
    ]
    if not payments:
        return [], set()
    codes = select(PaymentRequest.dossier_code).join(
        PaymentTransaction, PaymentTransaction.payment_request_id == PaymentRequest.id
    )
    codes = codes.where(*in_window, *applied)
    earlier = (
        select(PaymentRequest.agency_code, PaymentRequest.dossier_code)
        .join(PaymentTransaction, PaymentTransaction.payment_request_id == PaymentRequest.id)
        .where(
            PaymentRequest.dossier_code.in_(codes.scalar_subquery()),
            PaymentTransaction.occurred_at < day_bounds(first)[0],
            *applied,
        )
        .distinct()
    )
    return payments, {(str(a), str(d)) for a, d in session.execute(earlier)}


def online_tally(
    session: Session, agencies: Sequence[str] | None, first: date, last: date
) -> Tally:
    """The indicator over the agencies in scope (None: all) for dossiers first paid from
    ``first`` to ``last``: the console dashboard's figure."""
    payments, paid_before = payments_of(session, agencies, first, last)
    return combined(tally(payments, first, last, paid_before).values())


def online_payment(
    agency_code: str, period: str, *, uow: UnitOfWork, principal: Principal | None
) -> dict[str, Any]:
    """``GET /agencies/{code}/indicators/online-payment?period=YYYY-MM``."""
    if principal is not None:
        principal.require_agency(agency_code)
    first, last = month_bounds(period)
    with uow:
        if uow.session.get(Agency, agency_code) is None:
            raise NotFound(f"no agency {agency_code}")
        payments, paid_before = payments_of(uow.session, [agency_code], first, last)
    found = tally(payments, first, last, paid_before)
    t = found.get(agency_code, Tally())
    return {
        "agency_code": agency_code,
        "period": period,
        "indicator": "QĐ 766/QĐ-TTg: tỷ lệ hồ sơ có nghĩa vụ tài chính được thanh toán trực tuyến",
        "with_obligation": t.with_obligation,
        "paid_online": t.paid_online,
        "paid_at_counter": t.paid_at_counter,
        "mixed": t.mixed,
        "rate_percent": t.rate_percent,
        "by_channel": {channel: t.by_channel.get(channel, 0) for channel in CHANNELS},
    }
