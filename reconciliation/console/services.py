"""Read models for the console: what an officer sees, always filtered to their agencies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from payments.catalog.models import Agency, BeneficiaryAccount, Procedure, ReductionPolicy
from payments.clock import as_utc, day_bounds
from payments.outbox.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from payments.payment_requests.models import (
    OPEN_STATUSES,
    PaymentRequest,
    PaymentRequestSearch,
)
from payments.transactions.models import PaymentTransaction, ProviderMessage, TxnState
from payments.uow import UnitOfWork
from receipts.models import Receipt, TaxStatus
from reconciliation import audit
from reconciliation.console.models import PaymentDay, ReductionDay
from reconciliation.models import (
    AuditEntry,
    ExceptionResolution,
    ExceptionStatus,
    ReconciliationException,
    ReconciliationRun,
    Statement,
    StatementLine,
)

Scope = Sequence[str] | None  # agency codes; None = every agency (admin)


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def _scoped(stmt: SelectT, column: Any, scope: Scope) -> SelectT:
    return stmt if scope is None else stmt.where(column.in_(list(scope)))


CHANNELS = ("bank", "paygov", "pos")  # VietQR transfer, national portal, card at the counter


def channel_of(provider: str) -> str:
    """The collection channel of a transaction's provider. A credit first seen on the bank
    statement (provider ``statement``) is a transfer whose notification never came."""
    name = provider.split(":")[0]
    return "bank" if name == "statement" else name


def scope_accounts(session: Session, scope: Scope) -> list[str]:
    """The beneficiary accounts of the agencies in scope."""
    return list(
        session.scalars(
            _scoped(select(BeneficiaryAccount.id), BeneficiaryAccount.agency_code, scope)
        )
    )


def applied_in(session: Session, scope: Scope, start: datetime, end: datetime) -> tuple[Any, ...]:
    """Conditions for the transactions applied in [start, end) to accounts in scope. Naming the
    accounts lets PostgreSQL walk the (account_id, occurred_at) index instead of a year of
    transactions; an applied transaction always carries its request's account."""
    return (
        PaymentTransaction.account_id.in_(scope_accounts(session, scope)),
        PaymentTransaction.state == TxnState.APPLIED,
        PaymentTransaction.occurred_at >= start,
        PaymentTransaction.occurred_at < end,
    )


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
    return _scoped(stmt, PaymentDay.agency_code, scope)


def collections(session: Session, scope: Scope, first: date, last: date) -> dict[str, int]:
    """Money applied to requests from business day ``first`` to ``last``, by channel."""
    out: dict[str, int] = dict.fromkeys(CHANNELS, 0)
    for provider, _, amount in session.execute(
        payment_days(session, scope, first, last, PaymentDay.provider)
    ):
        key = channel_of(provider)
        out[key] = out.get(key, 0) + int(amount or 0)
    return out


def online_ratio(session: Session, scope: Scope, start: datetime, end: datetime) -> tuple[int, int]:
    """QĐ 766/QĐ-TTg: dossiers paid online through the national portal ÷ dossiers with a fee."""
    # one pass over the window's requests; each looks up its own transactions by index rather
    # than hashing every portal payment of the year
    paid_online = (
        select(PaymentTransaction.id)
        .where(
            PaymentTransaction.payment_request_id == PaymentRequest.id,
            PaymentTransaction.provider == "paygov",
            PaymentTransaction.state == TxnState.APPLIED,
        )
        .exists()
    )
    stmt = _scoped(
        select(
            func.count(distinct(case((paid_online, PaymentRequest.dossier_code)))),
            func.count(
                distinct(case((PaymentRequest.total_amount > 0, PaymentRequest.dossier_code)))
            ),
        ).where(PaymentRequest.created_at >= start, PaymentRequest.created_at < end),
        PaymentRequest.agency_code,
        scope,
    )
    online, with_fee = session.execute(stmt).one()
    return int(online or 0), int(with_fee or 0)


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
    rows = session.execute(_scoped(stmt, ReductionDay.agency_code, scope))
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


def dashboard(scope: Scope, day: date, *, uow: UnitOfWork) -> Dashboard:
    month_start, day_end = day_bounds(day.replace(day=1))[0], day_bounds(day)[1]
    with uow:
        s = uow.session
        paid, with_fee = online_ratio(s, scope, month_start, day_end)
        open_count = (
            s.scalar(
                _scoped(
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
            extra=attention(scope, day, s),
        )


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


@dataclass(frozen=True)
class RequestFilter:
    text: str = ""
    amount: int | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 50
    offset: int = 0


def search_requests(f: RequestFilter, scope: Scope, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Requests by dossier code, reference, payer, amount and date, newest first."""
    stmt = _scoped(select(PaymentRequest), PaymentRequest.agency_code, scope)
    if f.text:
        like = f"%{f.text.strip()}%"
        found = select(PaymentRequestSearch.id).where(
            or_(
                PaymentRequestSearch.dossier_code.ilike(like),
                PaymentRequestSearch.reference.ilike(like),
                PaymentRequestSearch.payer_name.ilike(like),
            )
        )
        stmt = stmt.where(PaymentRequest.id.in_(found))
    if f.amount is not None:
        stmt = stmt.where(PaymentRequest.total_amount == f.amount)
    if f.status:
        stmt = stmt.where(PaymentRequest.status == f.status)
    if f.date_from:
        stmt = stmt.where(PaymentRequest.created_at >= day_bounds(f.date_from)[0])
    if f.date_to:
        stmt = stmt.where(PaymentRequest.created_at < day_bounds(f.date_to)[1])
    stmt = stmt.order_by(PaymentRequest.created_at.desc()).limit(f.limit).offset(f.offset)
    with uow:
        return [_summary(r) for r in uow.session.scalars(stmt)]


def _summary(r: PaymentRequest) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "dossier_code": r.dossier_code,
        "reference": r.reference,
        "payer_name": r.payer_name,
        "total_amount": r.total_amount,
        "paid_amount": r.paid_amount,
        "status": r.status,
        "created_at": r.created_at,
        "agency_code": r.agency_code,
        "procedure_code": r.procedure_code,
    }


def request_detail(request_id: str, scope: Scope, *, uow: UnitOfWork) -> dict[str, Any] | None:
    """One request with its lines, transactions and provider messages; None if not visible."""
    try:
        key = uuid.UUID(request_id)
    except ValueError:
        return None
    with uow:
        s = uow.session
        r = s.get(PaymentRequest, key)
        if r is None or (scope is not None and r.agency_code not in scope):
            return None
        procedure = s.get(Procedure, r.procedure_code)
        agency = s.get(Agency, r.agency_code)
        txns = s.scalars(
            select(PaymentTransaction)
            .where(PaymentTransaction.payment_request_id == r.id)
            .order_by(PaymentTransaction.id)
        )
        messages = s.scalars(
            select(ProviderMessage)
            .where(and_(ProviderMessage.payment_request_id == r.id))
            .order_by(ProviderMessage.id)
        )
        receipts = s.scalars(
            select(Receipt)
            .where(Receipt.payment_request_id == r.id)
            .order_by(Receipt.issued_at, Receipt.number)
        )
        return {
            **_summary(r),
            "procedure_name": procedure.name if procedure else r.procedure_code,
            "agency_name": agency.name if agency else r.agency_code,
            "channel": r.channel,
            "expires_at": r.expires_at,
            "flags": list(r.flags or []),
            "lines": [
                {
                    "fee_code": ln.fee_code,
                    "name": ln.name,
                    "quantity": ln.quantity,
                    "normal_amount": ln.normal_amount,
                    "amount": ln.amount,
                    "reduction": ln.reduction_legal_basis,
                }
                for ln in r.lines
            ],
            "transactions": [
                {
                    "provider": t.provider,
                    "provider_txn_id": t.provider_txn_id,
                    "kind": t.kind,
                    "state": t.state,
                    "amount": t.amount,
                    "occurred_at": t.occurred_at,
                    "flags": list(t.flags or []),
                }
                for t in txns
            ],
            "messages": [
                {
                    "provider": m.provider,
                    "outcome": m.outcome,
                    "reason": m.reason,
                    "received_at": m.received_at,
                }
                for m in messages
            ],
            "receipts": [_receipt_row(rc) for rc in receipts],
        }


# ---------------------------------------------------------------- accounts and statements


def _account_visible(session: Session, account_id: str, scope: Scope) -> BeneficiaryAccount | None:
    account = session.get(BeneficiaryAccount, account_id)
    if account is None or (scope is not None and account.agency_code not in scope):
        return None
    return account


def account_visible(account_id: str, scope: Scope, *, uow: UnitOfWork) -> bool:
    with uow:
        return _account_visible(uow.session, account_id, scope) is not None


def _account_row(a: BeneficiaryAccount) -> dict[str, Any]:
    return {
        "id": a.id,
        "agency_code": a.agency_code,
        "bank_bin": a.bank_bin,
        "account_number": a.account_number,
        "account_name": a.account_name,
        "kind": a.kind,
    }


def list_accounts(scope: Scope, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """The beneficiary accounts the user may see, with their statement count and last import."""
    stats = (
        select(
            Statement.account_id,
            func.count().label("statements"),
            func.max(Statement.imported_at).label("last_import"),
        )
        .group_by(Statement.account_id)
        .subquery()
    )
    stmt = _scoped(
        select(BeneficiaryAccount, stats.c.statements, stats.c.last_import)
        .outerjoin(stats, stats.c.account_id == BeneficiaryAccount.id)
        .order_by(BeneficiaryAccount.agency_code, BeneficiaryAccount.id),
        BeneficiaryAccount.agency_code,
        scope,
    )
    with uow:
        return [
            _account_row(a) | {"statements": int(n or 0), "last_import": last}
            for a, n, last in uow.session.execute(stmt)
        ]


def account_page(account_id: str, scope: Scope, *, uow: UnitOfWork) -> dict[str, Any] | None:
    """One account and its import history (newest first); None if not visible."""
    with uow:
        s = uow.session
        account = _account_visible(s, account_id, scope)
        if account is None:
            return None
        imported = (
            select(StatementLine.statement_id, func.count().label("n"))
            .where(StatementLine.account_id == account_id)
            .group_by(StatementLine.statement_id)
            .subquery()
        )
        rows = s.execute(
            select(Statement, imported.c.n)
            .outerjoin(imported, imported.c.statement_id == Statement.id)
            .where(Statement.account_id == account_id)
            .order_by(Statement.imported_at.desc(), Statement.id.desc())
            .limit(200)
        )
        history = [_statement_row(st, int(n or 0)) for st, n in rows]
        return {"account": _account_row(account), "statements": history}


def _statement_row(st: Statement, imported: int) -> dict[str, Any]:
    return {
        "id": st.id,
        "format": st.format,
        "filename": st.filename,
        "imported_at": st.imported_at,
        "imported_by": st.imported_by,
        "lines_total": st.lines_total,
        "lines_imported": imported,
        "lines_skipped": st.lines_total - imported,
        "period_start": st.period_start,
        "period_end": st.period_end,
        "opening_balance": st.opening_balance,
        "closing_balance": st.closing_balance,
    }


def statement_page(
    account_id: str, statement_id: int, scope: Scope, *, uow: UnitOfWork, limit: int = 500
) -> dict[str, Any] | None:
    """A statement of a visible account with the lines it brought in; None otherwise."""
    with uow:
        s = uow.session
        account = _account_visible(s, account_id, scope)
        st = s.get(Statement, statement_id)
        if account is None or st is None or st.account_id != account.id:
            return None
        lines = list(
            s.scalars(
                select(StatementLine)
                .where(StatementLine.statement_id == st.id)
                .order_by(StatementLine.line_no)
                .limit(limit)
            )
        )
        imported = s.scalar(select(func.count()).where(StatementLine.statement_id == st.id))
        return {
            "account": _account_row(account),
            "statement": _statement_row(st, int(imported or 0)),
            "lines": [_line_row(ln) for ln in lines],
            "truncated": int(imported or 0) > limit,
        }


def _line_row(ln: StatementLine) -> dict[str, Any]:
    return {
        "id": ln.id,
        "line_no": ln.line_no,
        "booking_date": ln.booking_date,
        "value_date": ln.value_date,
        "amount": ln.amount,
        "description": ln.description,
        "bank_reference": ln.bank_reference,
        "counterparty_name": ln.counterparty_name,
        "balance": ln.balance,
        "reference": ln.reference,
    }


# ---------------------------------------------------------------- reconciliation calendar


class DayState(StrEnum):
    NO_STATEMENT = "no_statement"
    NOT_RUN = "not_run"  # lines but no run, or lines imported after the last run
    OK = "ok"
    OPEN = "open"  # open exceptions


def calendar(
    account_id: str, scope: Scope, end: date, *, uow: UnitOfWork, days: int = 60
) -> dict[str, Any] | None:
    """The state of each of the last ``days`` business days of an account (newest first)."""
    start = end - timedelta(days=days - 1)
    with uow:
        s = uow.session
        account = _account_visible(s, account_id, scope)
        if account is None:
            return None
        states = _day_states(s, [account_id], start, end)[account_id]
        row = _account_row(account)  # inside the session: the instance expires on leaving it
    cells = [
        {"date": d, **states.get(d, {"state": DayState.NO_STATEMENT, "lines": 0, "open": 0})}
        for d in (end - timedelta(days=i) for i in range(days))
    ]
    return {"account": row, "days": cells}


def _day_states(
    s: Session, account_ids: list[str], start: date, end: date
) -> dict[str, dict[date, dict[str, Any]]]:
    """Per account and day: statement lines, last import, run and open exceptions (4 queries)."""
    out: dict[str, dict[date, dict[str, Any]]] = {a: {} for a in account_ids}
    lines = s.execute(
        select(
            StatementLine.account_id,
            StatementLine.booking_date,
            func.count(),
            func.max(Statement.imported_at),
        )
        .join(Statement, Statement.id == StatementLine.statement_id)
        .where(
            StatementLine.account_id.in_(account_ids),
            StatementLine.booking_date >= start,
            StatementLine.booking_date <= end,
        )
        .group_by(StatementLine.account_id, StatementLine.booking_date)
    )
    for acc, day, n, last in lines:
        out[acc][day] = {"state": DayState.NOT_RUN, "lines": int(n), "open": 0, "imported": last}
    run_rows = s.execute(
        select(
            ReconciliationRun.account_id,
            ReconciliationRun.business_date,
            ReconciliationRun.id,
            ReconciliationRun.updated_at,
        ).where(
            ReconciliationRun.account_id.in_(account_ids),
            ReconciliationRun.business_date >= start,
            ReconciliationRun.business_date <= end,
        )
    )
    for acc, day, run_id, updated in run_rows:
        cell = out[acc].setdefault(day, {"lines": 0, "open": 0, "imported": None})
        stale = cell["imported"] is not None and as_utc(cell["imported"]) > as_utc(updated)
        cell["state"] = DayState.NOT_RUN if stale else DayState.OK
        cell["run_id"] = str(run_id)
    open_rows = s.execute(
        select(
            ReconciliationException.account_id,
            ReconciliationException.business_date,
            func.count(),
        )
        .where(
            ReconciliationException.account_id.in_(account_ids),
            ReconciliationException.business_date >= start,
            ReconciliationException.business_date <= end,
            ReconciliationException.status == ExceptionStatus.OPEN,
        )
        .group_by(ReconciliationException.account_id, ReconciliationException.business_date)
    )
    for acc, day, n in open_rows:
        cell = out[acc].setdefault(day, {"lines": 0, "imported": None, "state": DayState.OPEN})
        cell["open"] = int(n)
        if cell["state"] == DayState.OK:
            cell["state"] = DayState.OPEN
    return out


def day_page(account_id: str, day: date, scope: Scope, *, uow: UnitOfWork) -> dict[str, Any] | None:
    """What the day view needs around the run: the account, the run id, the day's lines and the
    requests the run names, and the audit entries of the run and its exceptions."""
    with uow:
        s = uow.session
        account = _account_visible(s, account_id, scope)
        if account is None:
            return None
        run = s.scalar(
            select(ReconciliationRun).where(
                ReconciliationRun.account_id == account_id,
                ReconciliationRun.business_date == day,
            )
        )
        lines = {
            ln.id: _line_row(ln)
            for ln in s.scalars(
                select(StatementLine)
                .where(StatementLine.account_id == account_id, StatementLine.booking_date == day)
                .order_by(StatementLine.id)
            )
        }
        page: dict[str, Any] = {
            "account": _account_row(account),
            "date": day,
            "run_id": str(run.id) if run else None,
            "runs": run.runs if run else 0,
            "updated_at": run.updated_at if run else None,
            "updated_by": run.updated_by if run else None,
            "lines": lines,
        }
        return page


def requests_by_id(ids: set[str], scope: Scope, *, uow: UnitOfWork) -> dict[str, dict[str, Any]]:
    """Summaries of the named requests the user may see (others are left out)."""
    keys = []
    for rid in ids:
        try:
            keys.append(uuid.UUID(rid))
        except ValueError:
            continue
    if not keys:
        return {}
    stmt = _scoped(
        select(PaymentRequest).where(PaymentRequest.id.in_(keys)),
        PaymentRequest.agency_code,
        scope,
    )
    with uow:
        return {str(r.id): _summary(r) for r in uow.session.scalars(stmt)}


def audit_trail(entities: list[str], *, uow: UnitOfWork) -> dict[str, Any]:
    """The audit entries about ``entities``, and whether the whole hash chain still holds."""
    with uow:
        s = uow.session
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.entity.in_(entities)).order_by(AuditEntry.id)
        )
        entries = [
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "data": e.data,
                "hash": e.hash,
            }
            for e in rows
        ]
        broken = _broken_links(s, entries)
    return {"entries": entries, "broken": broken}


def _broken_links(s: Session, entries: list[dict[str, Any]]) -> list[int]:
    """The shown entries whose own hash fails, or whose predecessor is not the entry just
    before them. ``audit.verify_chain`` re-hashes the whole log; a page doing that on every
    view would slow down with every day of the year."""
    if not entries:
        return []
    ids = [e["id"] for e in entries]
    stored = {e.id: e for e in s.scalars(select(AuditEntry).where(AuditEntry.id.in_(ids)))}
    broken = []
    for e in stored.values():
        before = s.scalar(
            select(AuditEntry.hash)
            .where(AuditEntry.id < e.id)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        expected = audit.entry_hash(e.prev_hash, e.at, e.actor, e.action, e.entity, e.data)
        if e.hash != expected or e.prev_hash != (before or audit.GENESIS):
            broken.append(e.id)
    return sorted(broken)


def resolutions(exception_ids: list[int], *, uow: UnitOfWork) -> dict[int, list[dict[str, Any]]]:
    """Who resolved which exception, how and why."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not exception_ids:
        return out
    with uow:
        for r in uow.session.scalars(
            select(ExceptionResolution)
            .where(ExceptionResolution.exception_id.in_(exception_ids))
            .order_by(ExceptionResolution.id)
        ):
            out.setdefault(r.exception_id, []).append(
                {"action": r.action, "note": r.note, "actor": r.actor, "at": r.at}
            )
    return out


def exception_account(
    exception_id: int, scope: Scope, *, uow: UnitOfWork
) -> tuple[str, date] | None:
    """(account, day) of a visible exception, for redirects; None otherwise."""
    with uow:
        s = uow.session
        exc = s.get(ReconciliationException, exception_id)
        if exc is None or _account_visible(s, exc.account_id, scope) is None:
            return None
        return exc.account_id, exc.business_date


def run_account(run_id: str, scope: Scope, *, uow: UnitOfWork) -> tuple[str, date] | None:
    """(account, day) of a visible run, for links that name a run by id; None otherwise."""
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        return None
    with uow:
        s = uow.session
        run = s.get(ReconciliationRun, key)
        if run is None or _account_visible(s, run.account_id, scope) is None:
            return None
        return run.account_id, run.business_date


# ---------------------------------------------------------------- receipts


@dataclass(frozen=True)
class ReceiptFilter:
    text: str = ""
    status: str = ""
    tax_status: str = ""
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 100


def search_receipts(f: ReceiptFilter, scope: Scope, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Receipts by dossier code, payer, reference or number; status; kind; issue day."""
    stmt = _scoped(select(Receipt), Receipt.agency_code, scope)
    text = f.text.strip()
    if text:
        like = f"%{text}%"
        match = or_(
            Receipt.dossier_code.ilike(like),
            Receipt.payer_name.ilike(like),
            Receipt.payment_reference.ilike(like),
        )
        if text.isdigit():
            match = or_(match, Receipt.number == int(text))
        stmt = stmt.where(match)
    if f.status:
        stmt = stmt.where(Receipt.status == f.status)
    if f.tax_status:
        stmt = stmt.where(Receipt.tax_authority_status == f.tax_status)
    if f.kind:
        stmt = stmt.where(Receipt.kind == f.kind)
    if f.date_from:
        stmt = stmt.where(Receipt.issued_on >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Receipt.issued_on <= f.date_to)
    stmt = stmt.order_by(Receipt.issued_at.desc(), Receipt.number.desc()).limit(f.limit)
    with uow:
        return [_receipt_row(r) for r in uow.session.scalars(stmt)]


def _receipt_row(r: Receipt) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "series": r.series,
        "number": r.number,
        "kind": r.kind,
        "issued_at": r.issued_at,
        "payer_name": r.payer_name,
        "dossier_code": r.dossier_code,
        "total_amount": r.total_amount,
        "status": r.status,
        "tax_authority_status": r.tax_authority_status,
        "agency_code": r.agency_code,
    }


# ---------------------------------------------------------------- admin (catalog, read-only)


def fee_schedule(*, uow: UnitOfWork) -> dict[str, Any]:
    """Procedures with their fee items, and reduction policies with their validity windows."""
    with uow:
        s = uow.session
        procedures = [
            {
                "code": p.code,
                "name": p.name,
                "agency_code": p.agency_code,
                "account_id": p.account_id,
                "fees": [
                    {
                        "code": f.code,
                        "name": f.name,
                        "kind": f.kind,
                        "amount": f.amount,
                        "legal_basis": f.legal_basis,
                    }
                    for f in p.fees
                ],
            }
            for p in s.scalars(select(Procedure).order_by(Procedure.agency_code, Procedure.code))
        ]
        reductions_ = [
            {
                "id": r.id,
                "fees": list(r.fees),
                "channels": list(r.channels),
                "payer_categories": list(r.payer_categories or []),
                "kind": r.kind,
                "value": r.value,
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
                "legal_basis": r.legal_basis,
            }
            for r in s.scalars(
                select(ReductionPolicy).order_by(ReductionPolicy.valid_from, ReductionPolicy.id)
            )
        ]
    return {"procedures": procedures, "reductions": reductions_}


# ---------------------------------------------------------------- dashboard additions

AGE_BUCKETS = (("age_0_1", 0, 1), ("age_2_7", 2, 7), ("age_8_30", 8, 30), ("age_31", 31, None))


def attention(scope: Scope, day: date, session: Session, *, days: int = 60) -> dict[str, Any]:
    """Unreconciled days (last ``days``), open exceptions by age, receipts the tax authority
    has not accepted yet."""
    accounts = list(
        session.scalars(
            _scoped(select(BeneficiaryAccount.id), BeneficiaryAccount.agency_code, scope)
        )
    )
    states = _day_states(session, accounts, day - timedelta(days=days - 1), day) if accounts else {}
    unreconciled = sum(
        1
        for cells in states.values()
        for cell in cells.values()
        if cell["state"] in (DayState.NOT_RUN, DayState.OPEN)
    )
    open_days = session.execute(
        _scoped(
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
        _scoped(
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
