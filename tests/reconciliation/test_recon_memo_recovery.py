"""Memos damaged the ways banks damage them, recovered on the statement path as on the callback
path: only with one open candidate and the exact amount, and flagged ``reference_corrected``."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Any

from factories import payment_request_row
from sqlalchemy import select

from payments.http import Container
from payments.payment_requests.models import PaymentRequest, RequestStatus
from payments.transactions.models import Flag, PaymentTransaction
from reconciliation.importing import ImportStatement, import_statement
from reconciliation.models import Rule
from reconciliation.parsers.generic_csv import COLUMNS
from reconciliation.runs import ReconcileDay, get_run, reconcile_day

ACCOUNT = "stp-kbnn"
DAY = date(2026, 11, 3)


def damaged(reference: str, how: str) -> str:
    """The reference as a bank app or statement may print it."""
    if how == "glued_digits":  # the bank's own digits straight after it
        return f"{reference}9024123456"
    if how == "truncated":  # the memo cut one character short
        return reference[:-1]
    if how == "letter_o":  # O typed for 0 (the reference is chosen to hold a 0)
        return reference[:3] + reference[3:].replace("0", "O")
    return reference[:3] + reference[3:].replace("1", "l")  # l typed for 1


def open_request(container: Container, amount: int, digit: str) -> PaymentRequest:
    """A pending request of ``amount`` whose reference holds ``digit`` after its prefix."""
    while True:
        with container.uow() as uow:
            req = payment_request_row(account_id=ACCOUNT, total_amount=amount)
            if digit not in req.reference[3:]:
                continue
            uow.session.add(req)
            uow.commit()
            return req


def import_lines(container: Container, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    cmd = ImportStatement(ACCOUNT, buf.getvalue().encode(), "sao-ke.csv", actor="test")
    import_statement(cmd, uow=container.uow())


def line(memo: str, amount: int) -> dict[str, Any]:
    return {
        "booking_date": DAY.isoformat(),
        "value_date": DAY.isoformat(),
        "amount": amount,
        "description": f"CK {memo} NOP PHI",
        "bank_reference": f"FT{uuid.uuid4().hex[:10].upper()}",
    }


def test_damaged_memos_pay_the_one_request_of_that_amount_and_are_flagged(
    container: Container, catalog: Any
) -> None:
    ways = {"glued_digits": "0", "truncated": "0", "letter_o": "0", "letter_l": "1"}
    requests = {
        how: open_request(container, 150_000 + i * 1_111, digit)
        for i, (how, digit) in enumerate(ways.items())
    }
    wrong_amount = open_request(container, 90_000, "0")
    rows = [line(damaged(r.reference, how), r.total_amount) for how, r in requests.items()]
    rows.append(line(damaged(wrong_amount.reference, "truncated"), 89_000))
    import_lines(container, rows)

    run = get_run(
        reconcile_day(ReconcileDay(ACCOUNT, DAY, "test"), uow=container.uow())["id"],
        uow=container.uow(),
    )

    typo_matched = {
        rid
        for m in run["matches"]
        if m["rule"] == Rule.REFERENCE_TYPO
        for rid in m["payment_request_ids"]
    }
    assert typo_matched == {str(r.id) for r in requests.values()}
    with container.uow() as uow:
        for how, req in requests.items():
            stored = uow.session.get(PaymentRequest, req.id)
            assert stored is not None
            assert stored.status == RequestStatus.PAID, how
            assert Flag.REFERENCE_CORRECTED in stored.flags, how
            credit = uow.session.scalars(
                select(PaymentTransaction).where(PaymentTransaction.payment_request_id == req.id)
            ).one()
            assert Flag.REFERENCE_CORRECTED in credit.flags, how
        # a recovered reference with another amount pays nothing: nothing is guessed
        untouched = uow.session.get(PaymentRequest, wrong_amount.id)
        assert untouched is not None and untouched.status == RequestStatus.PENDING
