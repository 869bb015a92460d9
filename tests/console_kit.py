"""Helpers of the console tests: users, sign-in over HTTP, and one agency's day of real data.

``seed_day`` goes through the public services only (create request, import statement, reconcile,
issue receipts), so what a test sees in the console is what production would have stored.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from factories import Collections, make_payment_request
from sqlalchemy import select

from payments.auth.services import CreateUser, create_user
from payments.clock import today
from payments.config import Settings
from payments.http import Container
from payments.payment_requests.services import Payer
from receipts.budget.reminders import remind_overdue
from receipts.devcert import generate_dev_pair
from receipts.models import Receipt
from receipts.services import issue_for_request
from reconciliation import importing, runs
from reconciliation.models import ExceptionStatus, ReconciliationException

PASSWORD = "officer-password-1"
CSV_HEADER = (
    "booking_date,value_date,amount,description,bank_reference,counterparty_name,"
    "counterparty_account,balance"
)


@pytest.fixture(scope="session")
def console_signing_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("console-receipt-pair")
    key, cert = generate_dev_pair(
        "Sở Tư pháp tỉnh Hà Tĩnh", not_before=datetime(2026, 1, 1, tzinfo=UTC)
    )
    (folder / "key.pem").write_bytes(key)
    (folder / "cert.pem").write_bytes(cert)
    return str(folder / "key.pem"), str(folder / "cert.pem")


@pytest.fixture(name="settings")
def settings_with_receipts(settings: Settings, console_signing_files: tuple[str, str]) -> Settings:
    """The shared test settings plus a receipt signing pair (import it to use it)."""
    key, cert = console_signing_files
    return replace(settings, receipt_key=key, receipt_cert=cert)


@dataclass(frozen=True)
class Agency:
    code: str
    account: str
    procedure: str
    marker: str  # in every dossier code and payer name of this agency's data
    stray_amount: int  # an unknown credit, distinct per agency


JUSTICE = Agency("000.00.12.H40", "stp-kbnn", "1.001234", "TUPHAP", 77_701)
POLICE = Agency("000.00.30.H40", "ca-kbnn", "2.002163", "CONGAN", 88_802)


@dataclass
class SeededDay:
    agency: Agency
    day: date
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # paid, proposed, open
    statement_id: int = 0
    run_id: str = ""
    exception_ids: list[int] = field(default_factory=list)
    receipt_ids: list[str] = field(default_factory=list)


def make_user(
    container: Container, name: str, role: str = "officer", agency: str | None = JUSTICE.code
) -> None:
    create_user(CreateUser(name, role, PASSWORD, agency), uow=container.uow())


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def sign_in(base: str, username: str, password: str = PASSWORD) -> requests.Session:
    """A signed-in browser-like session; ``s.csrf`` is the token its forms carry."""
    s = requests.Session()
    token = csrf_of(s.get(f"{base}/console/login", timeout=10).text)
    resp = s.post(
        f"{base}/console/login",
        data={"username": username, "password": password, "csrf_token": token},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text[:500]
    s.csrf = csrf_of(resp.text)  # type: ignore[attr-defined]
    s.base = base  # type: ignore[attr-defined]
    return s


def statement_csv(day: date, *rows: tuple[int, str, str]) -> bytes:
    """A generic-CSV statement: (amount, memo, counterparty name) per line."""
    body = [CSV_HEADER]
    for i, (amount, memo, name) in enumerate(rows, 1):
        body.append(f"{day.isoformat()},,{amount},{memo},FT{uuid.uuid4().hex[:8]}{i},{name},,")
    return ("\n".join(body) + "\n").encode()


def new_request(container: Container, agency: Agency, payer: str, suffix: str) -> dict[str, Any]:
    return make_payment_request(
        container,
        dossier_code=f"{agency.marker}-{suffix}-{uuid.uuid4().hex[:6]}",
        procedure_code=agency.procedure,
        channel="counter",
        payer=Payer(payer),
    )


def seed_day(container: Container, agency: Agency, day: date | None = None) -> SeededDay:
    """One agency's day: three requests, a statement whose lines match one by reference, propose
    one by payer name and amount and bring one unknown credit; the day reconciled; receipts of
    the paid request issued."""
    day = day or today()
    seeded = SeededDay(agency, day)
    paid = new_request(container, agency, f"Nguyễn Văn {agency.marker}", "PAID")
    proposed = new_request(container, agency, f"Lê Thị {agency.marker}", "PROP")
    pending = new_request(container, agency, f"Trần Văn {agency.marker}", "OPEN")
    seeded.requests = {"paid": paid, "proposed": proposed, "open": pending}
    data = statement_csv(
        day,
        (paid["total_amount"], f"TT {paid['reference']} ho so", ""),
        (proposed["total_amount"], "chuyen tien le phi", f"LE THI {agency.marker}"),
        (agency.stray_amount, f"{agency.marker} khong ro noi dung", ""),
    )
    cmd = importing.ImportStatement(agency.account, data, "sao-ke.csv", "csv", "user:kit")
    seeded.statement_id = importing.import_statement(cmd, uow=container.uow()).statement_id
    run = runs.reconcile_day(
        runs.ReconcileDay(agency.account, day, "user:kit"), uow=container.uow()
    )
    seeded.run_id = run["id"]
    with container.uow() as uow:
        issue_for_request(uow.session, paid["id"], settings=container.settings)
        uow.commit()
        seeded.exception_ids = list(
            uow.session.scalars(
                select(ReconciliationException.id)
                .where(ReconciliationException.run_id == uuid.UUID(run["id"]))
                .order_by(ReconciliationException.id)
            )
        )
        seeded.receipt_ids = [
            str(r)
            for r in uow.session.scalars(
                select(Receipt.id).where(Receipt.payment_request_id == uuid.UUID(paid["id"]))
            )
        ]
    assert seeded.receipt_ids, "the paid request got its receipt"
    assert len(seeded.exception_ids) == 2, "a proposal and an unknown credit"
    return seeded


def months_ago(n: int, day: int = 10) -> date:
    """The ``day`` of the month ``n`` months before this one (Việt Nam's calendar)."""
    first = today().replace(day=1)
    month = first.month - n
    return first.replace(year=first.year + (month - 1) // 12, month=(month - 1) % 12 + 1, day=day)


def seed_budget(container: Container) -> dict[str, date]:
    """Receipts two months ago, now overdue to the budget: three LLTP of the Sở Tư pháp (each
    owes 30,000 đ: 81 % kept, 4 % to the centre) and two GPLX of the Công an (weekly, 135,000 đ
    each); one LLTP last month. The scheduler's reminder run of today is made."""
    made = Collections(container)  # receipts as the issuer stores them, dated in the past
    old, last = months_ago(2), months_ago(1)
    for _ in range(3):
        made.receipt(JUSTICE.code, "LLTP", "phi", 200_000, old)
    made.receipt(JUSTICE.code, "LLTP", "phi", 200_000, last)
    for _ in range(2):
        made.receipt(POLICE.code, "GPLX", "le_phi", 135_000, old)
    remind_overdue(today(), uow=container.uow())
    return {"old": old, "last": last}


def exception_status(container: Container, exception_id: int) -> str:
    with container.uow() as uow:
        exc = uow.session.get(ReconciliationException, exception_id)
        assert exc is not None
        return str(exc.status)


__all__ = ["ExceptionStatus"]
