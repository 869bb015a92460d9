"""The officer's daily work through the console over real HTTP: statement upload, resolving with
a note, exports with formulas neutralised, and the admin's catalog import."""

from __future__ import annotations

import copy
import csv
import io
import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
import requests
from console_kit import (  # noqa: F401 - console_signing_files and settings_with_receipts are fixtures
    JUSTICE,
    POLICE,
    console_signing_files,
    exception_status,
    make_user,
    new_request,
    seed_day,
    settings_with_receipts,
    sign_in,
    statement_csv,
)
from openpyxl import load_workbook
from sqlalchemy import func, select

from payments.catalog.models import Agency as AgencyRow
from payments.clock import today
from payments.http import Container
from payments.payment_requests.models import PaymentRequest
from receipts.models import ReceiptErrorNotice, TaxStatus
from reconciliation import importing, runs
from reconciliation.console.exports import neutralise
from reconciliation.models import StatementLine


def post(s: requests.Session, path: str, **kw: Any) -> requests.Response:
    data = {**kw.pop("data", {}), "csrf_token": s.csrf}  # type: ignore[attr-defined]
    return s.post(f"{s.base}{path}", data=data, timeout=30, **kw)  # type: ignore[attr-defined]


def get(s: requests.Session, path: str) -> requests.Response:
    return s.get(f"{s.base}{path}", timeout=30)  # type: ignore[attr-defined]


@pytest.fixture
def officer(live_server: Any, catalog: Any) -> requests.Session:
    make_user(live_server.container, "ketoan")
    return sign_in(live_server.url, "ketoan")


def lines_of(container: Container, account: str) -> int:
    with container.uow() as uow:
        return int(
            uow.session.scalar(select(func.count()).where(StatementLine.account_id == account)) or 0
        )


# ---------------------------------------------------------------- statements


def test_an_uploaded_statement_is_imported_once_and_listed_in_the_history(
    officer: requests.Session, live_server: Any
) -> None:
    data = statement_csv(today(), (200_000, "TT ho so 1", ""), (-1_100, "Phi SMS", ""))
    upload = {"file": ("sao-ke-thang-11.csv", data)}

    first = post(officer, f"/console/accounts/{JUSTICE.account}/statements", files=upload)
    again = post(officer, f"/console/accounts/{JUSTICE.account}/statements", files=upload)

    assert first.status_code == 200 and first.history[0].status_code == 303
    assert "imported=2" in first.url and 'id="import-result"' in first.text
    assert "TT ho so 1" in first.text and "Phi SMS" in first.text
    assert "imported=0" in again.url and "skipped=2" in again.url
    assert lines_of(live_server.container, JUSTICE.account) == 2
    history = get(officer, f"/console/accounts/{JUSTICE.account}").text
    assert "sao-ke-thang-11.csv" in history


def test_a_malformed_statement_is_refused_whole_with_its_line_and_nothing_is_imported(
    officer: requests.Session, live_server: Any
) -> None:
    good = statement_csv(today(), (200_000, "TT ho so 1", "")).decode()
    bad = good + f"{today().isoformat()},,hai tram,TT ho so 2,FT2,,,\n"

    resp = post(
        officer,
        f"/console/accounts/{JUSTICE.account}/statements",
        files={"file": ("hong.csv", bad.encode())},
    )

    assert resp.status_code == 422
    assert "Sao kê bị từ chối" in resp.text and "3" in resp.text
    assert lines_of(live_server.container, JUSTICE.account) == 0


# ---------------------------------------------------------------- resolving


def test_an_exception_is_resolved_only_with_a_note_which_the_day_and_audit_trail_show(
    officer: requests.Session, live_server: Any
) -> None:
    day = seed_day(live_server.container, JUSTICE)
    _proposal, stray = day.exception_ids
    path = f"/console/exceptions/{stray}/resolve"

    blank = post(officer, path, data={"action": "dismiss", "note": "  "})
    assert blank.status_code == 422
    assert exception_status(live_server.container, stray) == "open"

    done = post(officer, path, data={"action": "dismiss", "note": "Tiền thử của ngân hàng"})

    assert done.status_code == 200 and f"#exception-{stray}" in done.history[0].headers["Location"]
    assert exception_status(live_server.container, stray) == "resolved"
    page = done.text
    assert "<q>Tiền thử của ngân hàng</q>" in page  # under the exception and in the audit trail
    assert page.count("Tiền thử của ngân hàng") >= 2
    assert "user:ketoan" in page
    assert 'id="chain" class="ok"' in page


def test_confirming_a_proposal_pays_the_proposed_request(
    officer: requests.Session, live_server: Any
) -> None:
    day = seed_day(live_server.container, JUSTICE)
    proposal, _ = day.exception_ids

    resp = post(
        officer,
        f"/console/exceptions/{proposal}/resolve",
        data={"action": "confirm_proposal", "note": "Đúng người nộp, đã gọi điện xác nhận"},
    )

    assert resp.status_code == 200
    with live_server.container.uow() as uow:
        req = uow.session.get(PaymentRequest, uuid.UUID(day.requests["proposed"]["id"]))
        assert req is not None and req.status == "paid"
    again = post(
        officer,
        f"/console/exceptions/{proposal}/resolve",
        data={"action": "dismiss", "note": "lần hai"},
    )
    assert again.status_code == 409


# ---------------------------------------------------------------- exports

FORMULAS = ['=HYPERLINK("http://x")', "+84 912", "-1+1", "@SUM(A1)", "\tTab", "\rCR"]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_a_spreadsheet_would_run_as_a_formula_is_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert neutralise("Nguyễn Văn An") == "Nguyễn Văn An"
    assert neutralise(-5) == -5  # numbers stay numbers


def test_exports_keep_payer_names_that_look_like_formulas_as_text(
    officer: requests.Session, live_server: Any
) -> None:
    container = live_server.container
    paid = [new_request(container, JUSTICE, name, "F") for name in FORMULAS]
    data = statement_csv(today(), *[(r["total_amount"], f"TT {r['reference']}", "") for r in paid])
    cmd = importing.ImportStatement(JUSTICE.account, data, "f.csv", "csv", "user:kit")
    importing.import_statement(cmd, uow=container.uow())
    runs.reconcile_day(runs.ReconcileDay(JUSTICE.account, today(), "user:kit"), uow=container.uow())

    body = get(officer, "/console/reports/export.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    book = load_workbook(io.BytesIO(get(officer, "/console/reports/export.xlsx").content))
    sheet = book["Chi tiết"]
    header = [c.value for c in sheet[1]]
    xlsx_names = {row[header.index("Người nộp")] for row in sheet.iter_rows(2, values_only=True)}

    expected = {"'" + name for name in FORMULAS}
    assert {r["Người nộp"] for r in rows} == expected
    assert xlsx_names == expected
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


# ---------------------------------------------------------------- admin


def _catalog_with(catalog: dict[str, Any], amount: int) -> dict[str, Any]:
    doc = copy.deepcopy(catalog)
    doc["procedures"][0]["fees"][0]["amount"] = amount
    doc["reductions"].append(
        {
            "id": "lltp-thu-nghiem-2027",
            "fees": ["LLTP"],
            "channels": ["online"],
            "kind": "rate_percent",
            "value": 80,
            "valid_from": "2027-01-01",
            "valid_to": "2027-06-30",
            "legal_basis": "Thông tư thử nghiệm 99/2026/TT-BTC",
        }
    )
    return doc


def test_an_admin_imports_the_catalog_through_the_page_and_sees_the_new_schedule(
    live_server: Any, catalog: dict[str, Any]
) -> None:
    make_user(live_server.container, "quantri", role="admin", agency=None)
    admin = sign_in(live_server.url, "quantri")
    document = json.dumps(_catalog_with(catalog, 250_000)).encode()

    resp = post(admin, "/console/admin/catalog", files={"file": ("catalog.json", document)})

    assert resp.status_code == 200
    assert 'id="catalog-result"' in resp.text
    assert "250.000 đ" in resp.text
    assert "lltp-thu-nghiem-2027" in resp.text
    assert "01/01/2027" in resp.text and "30/06/2027" in resp.text


def test_an_invalid_catalog_changes_nothing_and_officers_cannot_import(
    live_server: Any, catalog: dict[str, Any]
) -> None:
    make_user(live_server.container, "quantri", role="admin", agency=None)
    make_user(live_server.container, "ketoan")
    admin = sign_in(live_server.url, "quantri")
    broken = _catalog_with(catalog, 250_000)
    broken["procedures"][1]["agency"] = "000.00.99.H40"  # no such agency: all or nothing

    resp = post(admin, "/console/admin/catalog", data={"document": json.dumps(broken)})

    assert resp.status_code == 422
    assert "procedures[1] (2.000815)" in resp.text and "unknown agency" in resp.text
    assert "250.000 đ" not in get(admin, "/console/admin/catalog").text
    officer = sign_in(live_server.url, "ketoan")
    good = json.dumps(_catalog_with(catalog, 250_000))
    assert get(officer, "/console/admin/catalog").status_code == 404
    assert post(officer, "/console/admin/catalog", data={"document": good}).status_code == 404
    assert "250.000 đ" not in get(admin, "/console/admin/catalog").text


# ---------------------------------------------------------------- request detail


def test_a_request_shows_its_transactions_and_receipts(
    officer: requests.Session, live_server: Any
) -> None:
    day = seed_day(live_server.container, JUSTICE)
    page = get(officer, f"/console/payment-requests/{day.requests['paid']['id']}").text
    assert "Theo sao kê ngân hàng" in page  # the transaction the statement credit created
    assert f"/console/receipts/{day.receipt_ids[0]}" in page
    assert POLICE.marker not in page


# ---------------------------------------------------------------- receipts at the tax authority


def test_an_error_notice_shows_its_tax_authority_status_in_vietnamese(
    officer: requests.Session, live_server: Any
) -> None:
    day = seed_day(live_server.container, JUSTICE)
    rid = day.receipt_ids[0]
    data = {"reason": "Sai tên người nộp", "payer_name": "Nguyễn Văn Đúng"}
    assert post(officer, f"/console/receipts/{rid}/error-notices", data=data).status_code == 200
    page = get(officer, f"/console/receipts/{rid}").text
    assert "Đang gửi cơ quan thuế" in page and "Cơ quan thuế đã tiếp nhận" not in page
    with live_server.container.uow() as uow:
        notice = uow.session.scalars(
            select(ReceiptErrorNotice).where(ReceiptErrorNotice.receipt_id == uuid.UUID(rid))
        ).one()
        notice.tax_authority_status, notice.tax_authority_id = TaxStatus.ACCEPTED, "CQT-04-0001"
        uow.commit()
    page = get(officer, f"/console/receipts/{rid}").text
    assert "Cơ quan thuế đã tiếp nhận (CQT-04-0001)" in page


def test_the_dashboard_names_the_agencies_that_cannot_sign_receipts(
    officer: requests.Session, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_day(live_server.container, JUSTICE)
    assert 'id="unable-to-sign"' not in get(officer, "/console/").text  # a default pair signs
    unsigned = replace(live_server.container.settings, receipt_key="", receipt_cert="")
    monkeypatch.setattr(live_server.container, "settings", unsigned)
    page = get(officer, "/console/").text
    assert 'id="unable-to-sign"' in page and "Cơ quan chưa ký được biên lai" in page
    with live_server.container.uow() as uow:
        names = dict(uow.session.execute(select(AgencyRow.code, AgencyRow.name)).all())
    # the officer's own agency, not another's
    assert names[JUSTICE.code] in page and names[POLICE.code] not in page
