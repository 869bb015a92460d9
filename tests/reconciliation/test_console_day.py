"""Closing a real day from the console: a 3,000-line day pages fast, counters follow the state,
bulk actions take the common cases, the picker finds the request to link, a resolution can be
undone (and the undo is audited)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
import requests
from console_kit import (  # noqa: F401 - fixtures
    JUSTICE,
    console_signing_files,
    exception_status,
    make_user,
    new_request,
    seed_day,
    settings_with_receipts,
    sign_in,
    statement_csv,
)
from sqlalchemy import select

from payments.clock import today
from payments.payment_requests.models import PaymentRequest
from reconciliation import audit, importing, runs
from reconciliation.models import AuditEntry, ReconciliationException

BIG_DAY = 3_000


@pytest.fixture
def officer(live_server: Any, catalog: Any) -> requests.Session:
    make_user(live_server.container, "ketoan")
    return sign_in(live_server.url, "ketoan")


def day_url(s: requests.Session, day: Any, query: str = "") -> str:
    base = f"{s.base}/console/accounts/{JUSTICE.account}/days/{day.isoformat()}"  # type: ignore[attr-defined]
    return f"{base}?{query}" if query else base


def post(s: requests.Session, path: str, **data: Any) -> requests.Response:
    data["csrf_token"] = s.csrf  # type: ignore[attr-defined]
    return s.post(f"{s.base}{path}", data=data, timeout=60)  # type: ignore[attr-defined]


def open_count(html: str) -> str:
    found = re.search(r'id="count-open">(.*?)</dd>', html, re.S)
    assert found
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_3000_line_day_pages_under_300_kb_and_a_second(
    officer: requests.Session, live_server: Any
) -> None:
    day = today()
    rows = [(10_000 + i, f"chuyen tien {i} khong ro", f"NGUOI {i}") for i in range(BIG_DAY)]
    data = statement_csv(day, *rows)
    cmd = importing.ImportStatement(JUSTICE.account, data, "big.csv", "csv", "user:kit")
    importing.import_statement(cmd, uow=live_server.container.uow())
    runs.reconcile_day(
        runs.ReconcileDay(JUSTICE.account, day, "user:kit"), uow=live_server.container.uow()
    )
    for query in ("", "view=lines", "view=exceptions&sort=-amount&page=60", "q=chuyen+tien+29"):
        officer.get(day_url(officer, day, query), timeout=60)  # warm
        started = time.perf_counter()
        resp = officer.get(day_url(officer, day, query), timeout=60)
        took = time.perf_counter() - started
        assert resp.status_code == 200
        assert len(resp.content) < 300_000, (query, len(resp.content))
        assert took < 1.0, (query, took)
    first = officer.get(day_url(officer, day), timeout=60).text
    assert f"{BIG_DAY} mục" in first and "Trang 1/60" in first
    assert open_count(first) == f"Tiền chưa rõ nguồn: {BIG_DAY}"
    assert first.count('class="card exception"') == 50


def test_counters_follow_resolutions_and_an_undo_reopens_with_an_audit_entry(
    officer: requests.Session, live_server: Any
) -> None:
    c = live_server.container
    seeded = seed_day(c, JUSTICE)
    _, stray = seeded.exception_ids
    assert open_count(officer.get(day_url(officer, seeded.day), timeout=10).text).endswith(": 2")
    done = post(officer, f"/console/exceptions/{stray}/resolve", action="dismiss", note="Thử")
    assert open_count(done.text).endswith(": 1") and 'id="count-resolved">1<' in done.text
    assert 'class="undo"' in done.text

    blank = post(officer, f"/console/exceptions/{stray}/undo", note=" ")
    assert blank.status_code == 422 and exception_status(c, stray) == "resolved"
    undone = post(officer, f"/console/exceptions/{stray}/undo", note="Bấm nhầm")
    assert undone.status_code == 200 and exception_status(c, stray) == "open"
    assert open_count(undone.text).endswith(": 2")
    assert "Hoàn tác xử lý" in undone.text and "Bấm nhầm" in undone.text
    with c.uow() as uow:
        last = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last is not None and last.action == "resolution_undone"
        assert last.data["undone"] == "dismiss" and last.actor == "user:ketoan"
        assert audit.verify_chain(uow.session) == []
    again = post(officer, f"/console/exceptions/{stray}/undo", note="Lần nữa")
    assert again.status_code == 409  # nothing to undo: it is open


def test_a_linked_credit_moved_money_and_cannot_be_undone_from_the_console(
    officer: requests.Session, live_server: Any
) -> None:
    seeded = seed_day(live_server.container, JUSTICE)
    proposal, _ = seeded.exception_ids
    post(officer, f"/console/exceptions/{proposal}/resolve", action="confirm_proposal", note="Đúng")
    refused = post(officer, f"/console/exceptions/{proposal}/undo", note="Thử hoàn tác")
    assert refused.status_code == 409 and "Không thể xử lý như vậy" in refused.text
    assert exception_status(live_server.container, proposal) == "resolved"


def test_the_picker_finds_the_request_and_a_typed_dossier_code_links_it(
    officer: requests.Session, live_server: Any
) -> None:
    seeded = seed_day(live_server.container, JUSTICE)
    _, stray = seeded.exception_ids
    target = seeded.requests["open"]
    page = officer.get(
        day_url(officer, seeded.day, f"pick={stray}&find={target['payer']['name'].split()[-1]}"),
        timeout=10,
    ).text
    assert f'name="payment_request_id" value="{target["id"]}"' in page
    by_amount = officer.get(
        day_url(
            officer, seeded.day, f"pick={stray}&find={target['total_amount']:,}".replace(",", ".")
        ),
        timeout=10,
    ).text
    assert f'value="{target["id"]}"' in by_amount

    wrong = post(
        officer,
        f"/console/exceptions/{stray}/resolve",
        action="link_to_request",
        payment_request_id="KHONG-CO-HO-SO",
        note="Gắn",
    )
    assert wrong.status_code == 422 and "Not a valid UUID" not in wrong.text
    assert "Không tìm thấy đúng một yêu cầu thanh toán" in wrong.text
    linked = post(
        officer,
        f"/console/exceptions/{stray}/resolve",
        action="link_to_request",
        payment_request_id=target["dossier_code"],
        note="Người nộp gọi điện, đúng hồ sơ",
    )
    assert linked.status_code == 200
    with live_server.container.uow() as uow:
        exc = uow.session.get(ReconciliationException, stray)
        assert exc is not None and str(exc.payment_request_id) == target["id"]


def test_bulk_actions_book_bank_fees_and_confirm_close_proposals_only(
    officer: requests.Session, live_server: Any
) -> None:
    c = live_server.container
    day = today()
    short = new_request(c, JUSTICE, "Phạm Văn Phí", "FEE")
    alike = new_request(c, JUSTICE, "Đỗ Thị Giống", "ALIKE")
    other = new_request(c, JUSTICE, "Hồ Văn Khác", "OTHER")
    data = statement_csv(
        day,
        (short["total_amount"] - 11_000, f"TT {short['reference']} nop le phi", ""),
        (alike["total_amount"], "chuyen tien le phi ho so", "DO THI GIONG"),
        (other["total_amount"], "nop le phi", "CONG TY XYZ"),
        (22_000, "PHI DICH VU SMS BANKING", ""),
    )
    importing.import_statement(
        importing.ImportStatement(JUSTICE.account, data, "d.csv", "csv", "user:kit"), uow=c.uow()
    )
    runs.reconcile_day(runs.ReconcileDay(JUSTICE.account, day, "user:kit"), uow=c.uow())
    with c.uow() as uow:
        before = {
            e.id: (e.reason, e.payment_request_id, e.amount)
            for e in uow.session.scalars(select(ReconciliationException))
        }
    path = f"/console/accounts/{JUSTICE.account}/days/{day.isoformat()}/bulk"
    fees = post(officer, path, kind="bank_fees", note="Phí ngân hàng")
    assert fees.status_code == 200 and "2 mục đã xử lý" in fees.text
    proposals = post(officer, path, kind="proposals", min_similarity="90", note="Khớp tên")
    assert proposals.status_code == 200
    with c.uow() as uow:
        after = {e.id: e.status for e in uow.session.scalars(select(ReconciliationException))}
        paid = uow.session.get(PaymentRequest, uuid.UUID(alike["id"]))
        assert paid is not None and paid.status == "paid"
    for exc_id, (reason, request_id, amount) in before.items():
        stray = reason == "unknown_credit" and request_id is None and amount > 50_000
        assert after[exc_id] == ("open" if stray else "resolved"), (reason, amount)


def test_the_online_rate_counts_every_online_channel(
    officer: requests.Session, live_server: Any
) -> None:
    from payments.clock import utcnow
    from payments.money import Money
    from payments.transactions.models import PaygovAttempt
    from payments.transactions.services import record_event
    from providers.base import EventKind, ProviderEvent, TxnStatus

    c = live_server.container
    made = [new_request(c, JUSTICE, f"Người {i}", f"R{i}") for i in range(3)]
    for request, provider in zip(made, ("bank", "paygov", "pos"), strict=True):
        reference = request["reference"]
        if provider == "paygov":  # the portal names the attempt started from the checkout
            reference += "G01"
            with c.uow() as uow:
                uow.session.add(
                    PaygovAttempt(
                        payment_request_id=uuid.UUID(request["id"]),
                        provider_ref=reference,
                        amount=request["total_amount"],
                        status="pending",
                        created_at=utcnow(),
                    )
                )
                uow.commit()
        event = ProviderEvent(
            provider=provider,
            provider_txn_id=uuid.uuid4().hex,
            reference=reference,
            amount=Money(request["total_amount"]),
            currency="VND",
            status=TxnStatus.PAID,
            occurred_at=utcnow(),
            kind=EventKind.TRANSFER_IN if provider == "bank" else EventKind.PAYMENT,
            account_number=request["beneficiary"]["account_number"] if provider == "bank" else None,
        )
        result = record_event(event, uow=c.uow())
        assert result.outcome == "applied", (provider, result)
    page = officer.get(f"{officer.base}/console/", timeout=10).text  # type: ignore[attr-defined]
    found = re.search(r"id=\"online-ratio\">([^<]*)<", page)
    assert found and found.group(1) == "66.7 %", found
