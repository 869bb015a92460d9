"""The console's daily rollups (migration 0008) never drift from the rows they sum.

After a mix of everything that writes payments (callbacks of every channel, a POS void, an
overpayment, a late payment, an unknown credit, statement credits applied in bulk, cancellation,
expiry) and of hand-run SQL (a refund, a reversed payment, edited and deleted fee lines, a request
moved to another procedure and day, a deleted request), each rollup equals the aggregate computed
here in Python from the rows themselves, and the report equals the same figures computed the way
the report used to (from the transactions and fee lines).
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from alembic import command
from factories import make_payment_request
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount, Procedure
from payments.clock import VN_TZ, as_utc, today, utcnow
from payments.http import Container
from payments.migrate import alembic_config, upgrade
from payments.money import Money
from payments.payment_requests.models import PaymentLine, PaymentRequest
from payments.payment_requests.services import (
    Payer,
    cancel_payment_request,
    expire_overdue,
)
from payments.transactions.models import PaygovAttempt, PaymentTransaction
from payments.transactions.services import record_event
from providers.base import EventKind, ProviderEvent, TxnStatus
from reconciliation.console import reports
from reconciliation.console.models import PaymentDay, ReductionDay
from reconciliation.console.services import channel_of
from reconciliation.importing import ImportStatement, import_statement
from reconciliation.runs import ReconcileDay, reconcile_day

WRITER = Principal("rollup-test", frozenset({"payments:write"}), None)
TRACE = itertools.count(1)
COUNTED = ("paid", "overpaid")


STATEMENT_HEADER = (
    "booking_date,value_date,amount,description,bank_reference,"
    "counterparty_name,counterparty_account,balance\n"
)


def create(
    container: Container, procedure: str, channel: str = "online", category: str | None = None
) -> dict[str, Any]:
    return make_payment_request(
        container,
        principal=WRITER,
        dossier_code=f"ROLLUP-{uuid.uuid4().hex[:8]}",
        procedure_code=procedure,
        channel=channel,
        payer=Payer("Nguyễn Thị Cuộn", category=category),
    )


def event(
    provider: str,
    req: dict[str, Any] | None,
    amount: int,
    when: datetime,
    kind: EventKind = EventKind.PAYMENT,
    **details: str,
) -> ProviderEvent:
    reference = req["reference"] if req and provider != "bank" else None
    if provider == "bank":
        kind = EventKind.TRANSFER_IN
        details.setdefault("content", f"{req['reference'] if req else 'KHONG RO'} nop phi")
    return ProviderEvent(
        provider=provider,
        provider_txn_id=f"{provider}-{next(TRACE)}",
        reference=reference,
        amount=Money(amount),
        currency="VND",
        status=TxnStatus.PAID,
        occurred_at=when,
        kind=kind,
        details={"terminal_id": "T1", "batch_no": "9", **details},
    )


def pay(
    container: Container, provider: str, req: dict[str, Any] | None, amount: int, when: datetime
) -> str:
    ev = event(provider, req, amount, when)
    if provider == "paygov" and req is not None:
        # the platform's result names the attempt (MaThamChieu) the checkout page started
        ev = replace(ev, reference=f"PG{next(TRACE):08d}")
        with container.uow() as uow:
            attempt = PaygovAttempt(
                payment_request_id=uuid.UUID(req["id"]), provider_ref=ev.reference, amount=amount
            )
            uow.session.add(attempt)
            uow.commit()
    return record_event(ev, uow=container.uow()).outcome


def vn_day(at: datetime) -> date:
    return as_utc(at).astimezone(VN_TZ).date()


def direct_payment_days(s: Session) -> Counter[tuple[Any, ...]]:
    """Applied payments per rollup key, from the transactions themselves."""
    out: Counter[tuple[Any, ...]] = Counter()
    rows = s.execute(
        select(PaymentTransaction, PaymentRequest.agency_code, PaymentRequest.procedure_code)
        .join(PaymentRequest, PaymentRequest.id == PaymentTransaction.payment_request_id)
        .where(PaymentTransaction.state == "applied", PaymentTransaction.account_id.is_not(None))
    )
    for t, agency, procedure in rows:
        key = (agency, t.account_id, vn_day(t.occurred_at), t.provider, procedure)
        out[(*key, "payments")] += 1
        out[(*key, "amount")] += t.amount
    return +out


def rolled_payment_days(s: Session) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for d in s.scalars(select(PaymentDay)):
        key = (d.agency_code, d.account_id, d.day, d.provider, d.procedure_code)
        out[(*key, "payments")] += d.payments
        out[(*key, "amount")] += d.amount
    return +out


def direct_reduction_days(s: Session) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    rows = s.execute(
        select(PaymentLine, PaymentRequest.agency_code, PaymentRequest.created_at)
        .join(PaymentRequest, PaymentRequest.id == PaymentLine.payment_request_id)
        .where(PaymentLine.reduction_policy_id.is_not(None), PaymentRequest.status.in_(COUNTED))
    )
    for line, agency, created in rows:
        key = (agency, vn_day(created), line.reduction_legal_basis or "")
        out[(*key, "lines")] += 1
        out[(*key, "amount")] += line.normal_amount - line.amount
    return +out


def rolled_reduction_days(s: Session) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for d in s.scalars(select(ReductionDay)):
        out[(d.agency_code, d.day, d.legal_basis, "lines")] += d.lines
        out[(d.agency_code, d.day, d.legal_basis, "amount")] += d.amount
    return +out


def assert_no_drift(container: Container) -> None:
    with container.uow() as uow:
        s = uow.session
        assert rolled_payment_days(s) == direct_payment_days(s)
        assert rolled_reduction_days(s) == direct_reduction_days(s)


def expected_report(
    s: Session, scope: list[str] | None, start: date, end: date
) -> tuple[dict[date, int], dict[str, int], list[tuple[str, int, int]], list[Any]]:
    """The report's figures the way it computed them before the rollup, in Python."""
    accounts = {
        a.id
        for a in s.scalars(select(BeneficiaryAccount))
        if scope is None or a.agency_code in scope
    }
    names = dict(s.execute(select(Procedure.code, Procedure.name)).all())
    per_day: Counter[date] = Counter()
    per_channel: Counter[str] = Counter({"bank": 0, "paygov": 0, "pos": 0})
    per_proc: dict[str, list[int]] = {}
    for t, r in s.execute(
        select(PaymentTransaction, PaymentRequest).join(
            PaymentRequest, PaymentRequest.id == PaymentTransaction.payment_request_id
        )
    ):
        day = vn_day(t.occurred_at)
        if t.state != "applied" or t.account_id not in accounts or not start <= day <= end:
            continue
        if scope is not None and r.agency_code not in scope:
            continue
        per_day[day] += t.amount
        per_channel[channel_of(t.provider)] += t.amount
        if r.procedure_code in names:
            row = per_proc.setdefault(r.procedure_code, [0, 0])
            row[0] += 1
            row[1] += t.amount
    procs = sorted(per_proc.items(), key=lambda item: (-item[1][1], item[0]))
    reductions: dict[str, list[int]] = {}
    for line, r in s.execute(
        select(PaymentLine, PaymentRequest).join(
            PaymentRequest, PaymentRequest.id == PaymentLine.payment_request_id
        )
    ):
        if line.reduction_policy_id is None or r.status not in COUNTED:
            continue
        if not start <= vn_day(r.created_at) <= end:
            continue
        if scope is not None and r.agency_code not in scope:
            continue
        row = reductions.setdefault(line.reduction_legal_basis or "", [0, 0])
        row[0] += 1
        row[1] += line.normal_amount - line.amount
    return (
        dict(per_day),
        dict(per_channel),
        [(c, names[c], n, a) for c, (n, a) in procs],
        sorted(((b, n, a) for b, (n, a) in reductions.items()), key=lambda x: (-x[2], x[0])),
    )


def a_mix_of_payments(container: Container) -> dict[str, dict[str, Any]]:
    """Requests of four agencies, paid, voided, overpaid, cancelled, expired, paid late."""
    now = utcnow()
    evening = datetime.combine(today(), datetime.min.time(), VN_TZ).astimezone(UTC)
    evening += timedelta(days=-2, hours=23, minutes=30)  # 16:30 UTC, two business days ago
    after_midnight = evening + timedelta(hours=1)  # the same UTC day, the next business day
    reqs = {
        "land": create(container, "1.004227"),  # two reduced lines
        "build": create(container, "1.009794"),  # one reduced line
        "birth": create(container, "1.001193"),
        "student": create(container, "1.001234", "counter", "student"),
        "passport": create(container, "2.002163", "counter"),
        "partial": create(container, "1.009794"),
        "cancelled": create(container, "1.004227"),
        "expired": create(container, "1.001193"),
        "overpaid": create(container, "2.002163", "counter"),
        "voided": create(container, "1.004227"),
    }
    assert any(line["reduction"] for line in reqs["land"]["lines"])
    due = {k: r["total_amount"] for k, r in reqs.items()}
    assert pay(container, "bank", reqs["land"], due["land"], evening) == "applied"
    assert pay(container, "paygov", reqs["build"], due["build"], after_midnight) == "applied"
    assert pay(container, "pos", reqs["birth"], due["birth"], now) == "applied"
    assert pay(container, "bank", reqs["student"], due["student"], now) == "applied"
    assert pay(container, "pos", reqs["passport"], due["passport"], evening) == "applied"
    assert pay(container, "bank", reqs["partial"], due["partial"] // 2, now) == "applied"
    assert pay(container, "bank", reqs["overpaid"], due["overpaid"], now) == "applied"
    assert pay(container, "pos", reqs["overpaid"], 5_000, now) == "applied"
    assert pay(container, "bank", None, 123_000, now) == "unmatched"
    # a POS payment, then its void before the batch settles
    sale = event("pos", reqs["voided"], due["voided"], now)
    assert record_event(sale, uow=container.uow()).outcome == "applied"
    void = event(
        "pos", reqs["voided"], due["voided"], now, EventKind.VOID,
        original_txn_id=sale.provider_txn_id,
    )  # fmt: skip
    assert record_event(void, uow=container.uow()).outcome == "reversed"
    cancel_payment_request(
        reqs["cancelled"]["id"], uow=container.uow(), settings=container.settings, principal=WRITER
    )
    assert pay(container, "bank", reqs["cancelled"], due["cancelled"], now) == "recorded"
    with container.uow() as uow:  # only "expired" is still pending and untouched by then
        uow.session.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id != uuid.UUID(reqs["expired"]["id"]))
            .where(PaymentRequest.status == "pending")
            .values(expires_at=now + timedelta(days=30))
        )
        uow.commit()
    assert expire_overdue(uow=container.uow(), now=now + timedelta(days=7)) == 1
    return reqs


def test_the_rollups_equal_the_rows_after_every_kind_of_payment(
    container: Container, catalog: Any
) -> None:
    reqs = a_mix_of_payments(container)
    assert_no_drift(container)
    # statement credits applied in bulk: a statement of the day, then the day's run
    more = [
        create(container, "1.004227"),
        create(container, "1.001193"),
        create(container, "1.009794"),
    ]
    by_account: dict[str, list[dict[str, Any]]] = {}
    with container.uow() as uow:
        for r in more:
            account = uow.session.scalar(
                select(PaymentRequest.account_id).where(PaymentRequest.id == uuid.UUID(r["id"]))
            )
            by_account.setdefault(str(account), []).append(r)
    day = today()
    for account, paid in by_account.items():
        lines = "".join(
            f"{day},{day},{r['total_amount']},CK {r['reference']} nop phi,FT{r['reference']},,,\n"
            for r in paid
        )
        data = (STATEMENT_HEADER + lines).encode()
        import_statement(
            ImportStatement(account, data, "day.csv", actor="test"), uow=container.uow()
        )
        run = reconcile_day(ReconcileDay(account, day, "test"), uow=container.uow())
        assert run["summary"]["matched"] == len(paid)
    assert_no_drift(container)
    with container.uow() as uow:
        s = uow.session
        assert s.scalar(select(PaymentDay.payments).where(PaymentDay.provider == "statement"))
        assert s.scalars(select(ReductionDay)).all(), "reductions were granted"
    assert reqs


def test_the_rollups_follow_hand_run_sql(container: Container, catalog: Any) -> None:
    reqs = a_mix_of_payments(container)
    land, build = uuid.UUID(reqs["land"]["id"]), uuid.UUID(reqs["build"]["id"])
    with container.uow() as uow:
        s = uow.session
        # sums made so far as if by other sessions (slots 8-15, which no session uses, so no
        # two rows of a key meet): what follows adds to this session's slot, and the key's
        # rows must still add up
        for model in (PaymentDay, ReductionDay):
            s.execute(update(model).values(slot=model.slot + 8))
        # a refund booked by hand: the request no longer counts its reductions
        s.execute(update(PaymentRequest).where(PaymentRequest.id == land).values(status="refunded"))
        # a payment reversed by hand, another moved to the previous day
        s.execute(
            update(PaymentTransaction)
            .where(PaymentTransaction.payment_request_id == build)
            .values(state="reversed")
        )
        s.execute(
            update(PaymentTransaction)
            .where(PaymentTransaction.provider == "pos", PaymentTransaction.state == "applied")
            .values(occurred_at=utcnow() - timedelta(days=1))
        )
        # fee lines edited and deleted under paid requests, in one statement each
        paid = select(PaymentRequest.id).where(PaymentRequest.status.in_(COUNTED))
        s.execute(
            update(PaymentLine)
            .where(PaymentLine.payment_request_id.in_(paid))
            .where(PaymentLine.reduction_policy_id.is_not(None))
            .values(amount=PaymentLine.amount - 1)
        )
        s.execute(
            delete(PaymentLine).where(
                PaymentLine.payment_request_id == uuid.UUID(reqs["student"]["id"])
            )
        )
        # a paid request moved to another procedure and creation day, with its payments
        s.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id == uuid.UUID(reqs["birth"]["id"]))
            .values(procedure_code="1.009794", created_at=utcnow() - timedelta(days=3))
        )
        uow.commit()
    assert_no_drift(container)
    # the refund undone, and a request paid by hand without a transaction, then deleted (its
    # lines go by cascade)
    orphan = create(container, "1.004227")
    with container.uow() as uow:
        s = uow.session
        s.execute(update(PaymentRequest).where(PaymentRequest.id == land).values(status="paid"))
        s.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id == uuid.UUID(orphan["id"]))
            .values(status="paid")
        )
        uow.commit()
    assert_no_drift(container)
    with container.uow() as uow:
        uow.session.execute(
            delete(PaymentRequest).where(PaymentRequest.id == uuid.UUID(orphan["id"]))
        )
        uow.commit()
    assert_no_drift(container)


def test_the_report_gives_the_figures_of_the_rows_for_an_agency_and_for_the_province(
    container: Container, catalog: Any
) -> None:
    a_mix_of_payments(container)
    start, end = today() - timedelta(days=10), today() + timedelta(days=1)
    for scope in (["000.00.15.H40"], ["000.00.30.H40", "000.00.21.H40"], None):
        rep = reports.report(scope, start, end, uow=container.uow())
        with container.uow() as uow:
            per_day, per_channel, per_procedure, reductions = expected_report(
                uow.session, scope, start, end
            )
        assert {d: a for d, a in rep.per_day if a} == per_day
        assert len(rep.per_day) == (end - start).days + 1
        assert rep.per_channel == per_channel
        assert rep.per_procedure == per_procedure
        assert rep.reductions == reductions
    assert rep.per_procedure and rep.reductions, "the mix has payments and reductions"


def test_the_migration_sums_what_was_there_before_it(container: Container, catalog: Any) -> None:
    a_mix_of_payments(container)
    engine = container.engine
    command.downgrade(alembic_config(engine), "0007")
    try:
        with engine.connect() as conn:
            tables = set(
                conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                        if engine.dialect.name == "postgresql"
                        else "SELECT name FROM sqlite_master WHERE type = 'table'"
                    )
                ).scalars()
            )
        assert "console_payment_days" not in tables
    finally:
        upgrade(engine)
    assert_no_drift(container)
    with container.uow() as uow:
        assert uow.session.scalars(select(PaymentDay)).all()
