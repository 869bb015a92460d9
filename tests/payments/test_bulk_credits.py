"""Set-based credits (``payments.transactions.bulk``) against ``record_event``, one at a time,
and the bulk writers against each other.

Identical sets of requests, the same credits in the same order: one set through the
single-payment path, the others through ``apply_credits`` with each writer (the portable one,
and on PostgreSQL the COPY one). Every request state, transaction, logged message and outbox
event must come out the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import payment_request_row
from sqlalchemy import select

from payments.errors import IllegalTransition
from payments.http import Container
from payments.money import Money
from payments.outbox.models import OutboxEvent
from payments.payment_requests.models import PaymentRequest
from payments.payment_requests.models import RequestStatus as S
from payments.transactions.bulk import Credit, Writer, apply_credits, write_copy, write_portable
from payments.transactions.models import PaymentTransaction, ProviderMessage
from payments.transactions.services import record_event
from providers.base import EventKind, ProviderEvent, TxnStatus

CREATED = datetime(2026, 11, 2, 2, tzinfo=UTC)
BOOKED = datetime(2026, 11, 2, 5, tzinfo=UTC)
# role: (total, status, paid, flags)
REQUESTS: dict[str, tuple[int, str, int, list[str]]] = {
    "exact": (100_000, S.PENDING, 0, []),
    "instalments": (300_000, S.PENDING, 0, []),
    "over": (100_000, S.PENDING, 0, []),
    "twice": (50_000, S.PENDING, 0, []),
    "paid_already": (80_000, S.PAID, 80_000, []),
    "expired": (70_000, S.EXPIRED, 0, []),
    "cancelled": (70_000, S.CANCELLED, 0, ["reference_corrected"]),
    "partial_flagged": (90_000, S.PARTIALLY_PAID, 20_000, ["reference_corrected"]),
    "refunded": (40_000, S.REFUNDED, 40_000, []),
}
CREDITS = [
    ("instalments", 100_000),
    ("exact", 100_000),
    ("over", 60_000),
    ("twice", 50_000),
    ("expired", 70_000),
    ("over", 60_000),
    ("instalments", 200_000),
    ("paid_already", 80_000),
    ("cancelled", 70_000),
    ("twice", 50_000),
    ("partial_flagged", 70_000),
    ("over", 10_000),
    ("refunded", 1_000),
    ("expired", 5_000),
]


def make_world(container: Container, name: str) -> dict[str, PaymentRequest]:
    out = {}
    with container.uow() as uow:
        for role, (total, status, paid, flags) in REQUESTS.items():
            req = payment_request_row(
                dossier_code=f"H40-{name}-{role}",
                total_amount=total,
                paid_amount=paid,
                status=status,
                flags=flags,
                callback_url=f"https://dossier.example/{role}" if role != "exact" else None,
                created_at=CREATED,
            )
            uow.session.add(req)
            out[role] = req
        uow.commit()
    return out


def credit_rows(world: dict[str, PaymentRequest], name: str) -> list[Credit]:
    return [
        Credit(
            request_id=world[role].id,
            provider="statement",
            provider_txn_id=f"{name}-{i}",
            amount=amount,
            occurred_at=BOOKED,
            memo=f"nop phi {i}",
            details={"description": f"nop phi {i}", "statement_line_id": str(i)},
            raw={"statement_line_id": i, "amount": amount, "bank_reference": None},
        )
        for i, (role, amount) in enumerate(CREDITS)
    ]


def one_by_one(container: Container, world: dict[str, PaymentRequest], name: str) -> None:
    by_id = {req.id: req for req in world.values()}
    for row in credit_rows(world, name):
        event = ProviderEvent(
            provider=row.provider,
            provider_txn_id=row.provider_txn_id,
            reference=by_id[row.request_id].reference,
            amount=Money(row.amount),
            currency="VND",
            status=TxnStatus.PAID,
            occurred_at=row.occurred_at,
            kind=EventKind.TRANSFER_IN,
            details=row.details,
            raw=row.raw,
        )
        record_event(event, uow=container.uow())


def in_bulk(
    container: Container, rows: list[Credit], writer: Writer | None = None
) -> dict[str, int]:
    with container.uow() as uow:
        counts = apply_credits(uow.session.connection(), rows, writer=writer)
        uow.commit()
    return counts


def outcome(container: Container, world: dict[str, PaymentRequest], name: str) -> dict[str, Any]:
    """Everything the credits wrote, with ids, references and names replaced by roles."""
    role_of = {str(req.id): role for role, req in world.items()}
    with container.uow() as uow:
        s = uow.session
        requests = {}
        for role, req in world.items():
            fresh = s.get(PaymentRequest, req.id, populate_existing=True)
            assert fresh is not None
            requests[role] = (fresh.status, fresh.paid_amount, fresh.version, fresh.flags)
        txns = [
            (
                role_of[str(t.payment_request_id)],
                t.provider_txn_id.removeprefix(name),
                *(t.kind, t.state, t.amount, t.currency, t.occurred_at, t.memo, t.flags, t.details),
                t.reference == world[role_of[str(t.payment_request_id)]].reference,
                t.account_id,
            )
            for t in s.scalars(
                select(PaymentTransaction)
                .where(PaymentTransaction.provider_txn_id.startswith(f"{name}-"))
                .order_by(PaymentTransaction.id)
            )
        ]
        messages = [
            (
                *(m.provider, m.outcome, m.reason, m.provider_txn_id.removeprefix(name)),
                *(m.payload, role_of[str(m.payment_request_id)]),
            )
            for m in s.scalars(
                select(ProviderMessage)
                .where(ProviderMessage.provider_txn_id.startswith(f"{name}-"))
                .order_by(ProviderMessage.id)
            )
        ]
        events: dict[str, list[Any]] = {}
        for e in s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.aggregate_id.in_(role_of))
            .order_by(OutboxEvent.id)
        ):
            role = role_of[e.aggregate_id]
            payload = dict(e.payload)
            assert payload.pop("payment_request_id") == e.aggregate_id
            assert payload.pop("reference") == world[role].reference
            assert payload.pop("dossier_code") == f"H40-{name}-{role}"
            events.setdefault(role, []).append((e.topic, payload, e.fanned_out))
    return {"requests": requests, "txns": txns, "messages": messages, "events": events}


def test_credits_in_bulk_leave_what_the_single_payment_path_leaves(
    container: Container, catalog: dict[str, Any]
) -> None:
    single, bulk = make_world(container, "one"), make_world(container, "bulk")

    one_by_one(container, single, "one")
    counts = in_bulk(container, credit_rows(bulk, "bulk"))

    expected = outcome(container, single, "one")
    assert outcome(container, bulk, "bulk") == expected
    assert counts == {"applied": 10, "recorded": 4}
    # the table above exercises every branch of the state machine a credit can take
    assert expected["requests"]["over"][0] == S.OVERPAID
    assert expected["requests"]["expired"][3] == ["late_payment", "refund_due"]
    assert [t for t, _, _ in expected["events"]["over"]] == [
        "payment_request.partially_paid",
        "payment_request.overpaid",
        "payment_request.overpaid",
    ]


def test_credits_applied_again_in_bulk_change_nothing(
    container: Container, catalog: dict[str, Any]
) -> None:
    world = make_world(container, "bulk")
    rows = credit_rows(world, "bulk")
    in_bulk(container, rows)
    before = outcome(container, world, "bulk")

    counts = in_bulk(container, rows)

    assert counts == {}
    assert outcome(container, world, "bulk") == before


def test_a_credit_the_state_machine_forbids_fails_the_batch_as_it_fails_one_payment(
    container: Container, catalog: dict[str, Any]
) -> None:
    # a paid request whose paid amount says otherwise: more money cannot make it partly paid
    broken = {"broken": (100_000, S.PAID, 0, [])}
    world = make_world(container, "bulk")
    with container.uow() as uow:
        req = uow.session.get(PaymentRequest, world["exact"].id)
        assert req is not None
        req.status, req.paid_amount = broken["broken"][1], 0
        uow.commit()
    rows = [r for r in credit_rows(world, "bulk") if r.request_id == world["exact"].id]
    rows[0] = replace(rows[0], amount=10_000)

    with pytest.raises(IllegalTransition):
        in_bulk(container, rows)

    with container.uow() as uow:
        assert uow.session.scalars(select(PaymentTransaction.id)).all() == []


def test_the_copy_writer_leaves_every_row_the_portable_writer_leaves(
    container: Container, catalog: dict[str, Any]
) -> None:
    with container.uow() as uow:
        if uow.dialect != "postgresql":
            pytest.skip("COPY is PostgreSQL's")
    portable, fast = make_world(container, "port"), make_world(container, "fast")

    in_bulk(container, credit_rows(portable, "port"), write_portable)
    in_bulk(container, credit_rows(fast, "fast"), write_copy)

    expected = outcome(container, portable, "port")
    assert outcome(container, fast, "fast") == expected
    assert len(expected["txns"]) == len(CREDITS)
    assert sum(len(e) for e in expected["events"].values()) > 0
