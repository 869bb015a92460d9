"""The matching engine's building blocks, and two runs of one day at once on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from factories import payment_request_row
from sqlalchemy import func, select, text

from payments.http import Container
from payments.payment_requests.models import PaymentRequest
from payments.reference import check_digits, is_valid, new_reference
from payments.transactions.models import PaymentTransaction
from reconciliation import importing
from reconciliation.importing import ImportStatement, import_statement, references_of
from reconciliation.matching import name_fits, typo_variants
from reconciliation.runs import ReconcileDay, reconcile_day

REF = "TPH123456789012" + check_digits("123456789012")


def test_every_single_digit_typo_leads_back_to_the_reference() -> None:
    for pos in range(3, len(REF)):
        for digit in "0123456789":
            typo = REF[:pos] + digit + REF[pos + 1 :]
            if typo != REF:
                assert not is_valid(typo)
                assert REF in typo_variants(typo)


def test_typo_variants_are_all_valid_references() -> None:
    variants = typo_variants(REF[:5] + "9" + REF[6:])
    assert variants and all(is_valid(v) for v in variants)


@pytest.mark.parametrize(
    ("memo", "expected"),
    [
        (f"{REF} nop phi", (REF, None)),
        (f"ck {REF.lower()}", (REF, None)),
        (f"T P H {' '.join(REF[3:])}", (REF, None)),
        (f"{REF[:6]}-{REF[6:]}", (REF, None)),
        (f"{REF[:5]}0{REF[6:]}" if REF[5] != "0" else f"{REF[:5]}1{REF[6:]}", None),
        ("chuyen tien", (None, None)),
    ],
)
def test_references_are_found_in_memos(memo: str, expected: tuple[Any, Any] | None) -> None:
    valid, candidate = references_of(memo)
    if expected is None:  # a typo: kept as a candidate to recover
        assert valid is None and candidate is not None and candidate != REF
    else:
        assert (valid, candidate) == expected


@pytest.mark.parametrize(
    ("payer", "text", "fits"),
    [
        ("Nguyễn Văn An", "NGUYEN VAN AN", True),
        ("Nguyễn Văn An", "chuyen tien NGUYEN VAN AN ho so", True),
        ("Đặng Thị Hà", "DANG THI HA", True),
        ("Nguyễn Văn An", "NGUYEN VAN BINH", False),
        ("Nguyễn Văn An", "NGUYEN VAN", False),
        ("An", "AN", False),  # one word proves nothing
        ("Nguyen Van An", "ck.nguyen-van_an/ho so", True),
        ("Nguyen Van An", "NGUYEN VANAN", False),
        ("Ngô Thị Hà", "ngo_thi-ha", True),
    ],
)
def test_payer_names_meet_bank_spellings(payer: str, text: str, fits: bool) -> None:
    assert name_fits(payer, text) is fits


@pytest.mark.postgres_only
def test_two_runs_of_one_day_at_once_pay_each_request_once(
    container: Container, catalog: dict[str, Any], backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrency runs on PostgreSQL")
    day = date(2026, 11, 2)
    created = datetime(2026, 11, 1, 3, tzinfo=UTC)
    refs = []
    with container.uow() as uow:
        for i in range(30):
            ref = new_reference()
            refs.append(ref)
            uow.session.add(
                payment_request_row(
                    reference=ref,
                    dossier_code=f"D{i}",
                    total_amount=100_000 + i,
                    created_at=created,
                )
            )
        uow.commit()
    rows = "\n".join(f"2026-11-02,,{100_000 + i},{ref},FT{i},,," for i, ref in enumerate(refs))
    data = (
        "booking_date,value_date,amount,description,bank_reference,counterparty_name,"
        f"counterparty_account,balance\n{rows}\n"
    ).encode()
    import_statement(ImportStatement("stp-kbnn", data), uow=container.uow())
    results: list[Any] = []

    def run() -> None:
        results.append(reconcile_day(ReconcileDay("stp-kbnn", day), uow=container.uow()))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert len({r["id"] for r in results}) == 1
    assert all(r["summary"]["matched"] == 30 for r in results)
    with container.uow() as uow:
        paid = uow.session.scalar(
            select(func.sum(PaymentRequest.paid_amount)).where(
                PaymentRequest.dossier_code.like("D%")
            )
        )
        statement_txns = uow.session.scalar(
            select(func.count()).where(PaymentTransaction.provider == "statement")
        )
    assert paid == sum(100_000 + i for i in range(30))
    assert statement_txns == 30


@pytest.mark.postgres_only
def test_a_large_import_leaves_the_lines_analysed_for_the_day_s_run(
    container: Container, catalog: dict[str, Any], backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(importing, "ANALYZE_AFTER", 3)  # "large": three lines here
    rows = "\n".join(f"2026-11-02,,{100_000 + i},{new_reference()},FT{i},,," for i in range(3))
    data = (
        "booking_date,value_date,amount,description,bank_reference,counterparty_name,"
        f"counterparty_account,balance\n{rows}\n"
    ).encode()
    import_statement(ImportStatement("stp-kbnn", data), uow=container.uow())
    with container.uow() as uow:
        counted = uow.session.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = 'recon_statement_lines'::regclass")
        )
    assert counted == 3  # -1 until the table is first analysed
