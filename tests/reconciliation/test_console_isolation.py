"""An officer never sees another agency's money: every URL of agency B is a 404 for agency A's
officer (by link or by guessing ids), and B's data never shows in A's lists, dashboard or
exports."""

from __future__ import annotations

import io
import uuid
from typing import Any

import requests
from console_kit import (  # noqa: F401 - settings_with_receipts is a fixture
    JUSTICE,
    POLICE,
    SeededDay,
    console_signing_files,
    exception_status,
    make_user,
    seed_day,
    settings_with_receipts,
    sign_in,
)
from openpyxl import load_workbook

from payments.http import Container


def _urls_of(b: SeededDay, own_account: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, form) for every console URL that names one of B's records."""
    day = b.day.isoformat()
    acc = b.agency.account
    csv = {"files": {"file": ("b.csv", f"{day},,1000,x,FTX,,,\n".encode())}}
    urls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/console/accounts/{acc}", {}),
        ("GET", f"/console/accounts/{acc}/statements/{b.statement_id}", {}),
        ("GET", f"/console/accounts/{own_account}/statements/{b.statement_id}", {}),
        ("GET", f"/console/accounts/{acc}/calendar", {}),
        ("GET", f"/console/accounts/{acc}/days/{day}", {}),
        ("POST", f"/console/accounts/{acc}/days/{day}/run", {}),
        ("POST", f"/console/accounts/{acc}/statements", csv),
        ("GET", f"/console/runs/{b.run_id}", {}),
    ]
    for exc in b.exception_ids:
        urls += [
            ("GET", f"/console/exceptions/{exc}", {}),
            ("POST", f"/console/exceptions/{exc}/resolve", {"data": _dismiss()}),
        ]
    for r in b.requests.values():
        urls.append(("GET", f"/console/payment-requests/{r['id']}", {}))
    for rid in b.receipt_ids:
        urls += [
            ("GET", f"/console/receipts/{rid}", {}),
            ("GET", f"/console/receipts/{rid}.pdf", {}),
            ("POST", f"/console/receipts/{rid}/replace", {"data": _correction()}),
            ("POST", f"/console/receipts/{rid}/error-notices", {"data": _correction()}),
        ]
    return urls


def _guessed(b: SeededDay, own_account: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Ids nobody linked to: neighbours of B's integer ids, fresh UUIDs, unknown accounts."""
    ghost = str(uuid.uuid4())
    top_exc = max(b.exception_ids)
    return [
        ("GET", f"/console/accounts/{own_account}/statements/{b.statement_id + 1}", {}),
        ("GET", f"/console/accounts/no-such-account/statements/{b.statement_id}", {}),
        ("GET", "/console/accounts/no-such-account", {}),
        ("GET", f"/console/accounts/{b.agency.account}/days/not-a-date", {}),
        ("GET", f"/console/exceptions/{top_exc + 1}", {}),
        ("POST", f"/console/exceptions/{top_exc + 1}/resolve", {"data": _dismiss()}),
        ("GET", f"/console/runs/{ghost}", {}),
        ("GET", "/console/runs/not-a-uuid", {}),
        ("GET", f"/console/payment-requests/{ghost}", {}),
        ("GET", "/console/payment-requests/not-a-uuid", {}),
        ("GET", f"/console/receipts/{ghost}", {}),
        ("GET", f"/console/receipts/{ghost}.pdf", {}),
        ("GET", "/console/receipts/not-a-uuid", {}),
    ]


def _dismiss() -> dict[str, str]:
    return {"action": "dismiss", "note": "đóng hộ"}


def _correction() -> dict[str, str]:
    return {"reason": "sửa tên", "payer_name": "Tên Khác"}


def _call(s: requests.Session, method: str, path: str, extra: dict[str, Any]) -> Any:
    base, token = s.base, s.csrf  # type: ignore[attr-defined]
    extra = {**extra, "data": {**extra.get("data", {}), "csrf_token": token}}
    return s.request(method, f"{base}{path}", timeout=30, allow_redirects=False, **extra)


def test_every_url_of_another_agency_is_a_404_even_with_guessed_ids(
    live_server: Any, catalog: Any
) -> None:
    container: Container = live_server.container
    a = seed_day(container, JUSTICE)
    b = seed_day(container, POLICE)
    make_user(container, "ketoan-a", agency=JUSTICE.code)
    s = sign_in(live_server.url, "ketoan-a")

    answers = {
        f"{m} {p}": _call(s, m, p, extra).status_code
        for m, p, extra in _urls_of(b, JUSTICE.account) + _guessed(b, JUSTICE.account)
    }

    assert {k: v for k, v in answers.items() if v != 404} == {}
    assert all(exception_status(container, e) == "open" for e in b.exception_ids)
    # the same URL kinds answer for A's own records: the 404s are not broken pages
    own = [(m, p) for m, p, _ in _urls_of(a, JUSTICE.account) if m == "GET"]
    assert {p: _call(s, m, p, {}).status_code for m, p in own} == {
        p: 302 if p.startswith(("/console/runs/", "/console/exceptions/")) else 200 for _, p in own
    }


def _text_of_xlsx(body: bytes) -> str:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return " ".join(
        str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
        for cell in row if cell is not None
    )  # fmt: skip


LIST_PAGES = (
    "/console/",
    "/console/accounts",
    "/console/reconciliation",
    "/console/payment-requests",
    f"/console/payment-requests?q={POLICE.marker}",
    "/console/receipts",
    f"/console/receipts?q={POLICE.marker}",
    "/console/reports",
    "/console/reports/export.csv",
)


def test_another_agencys_data_never_appears_in_lists_dashboard_or_exports(
    live_server: Any, catalog: Any
) -> None:
    container: Container = live_server.container
    seed_day(container, JUSTICE)
    make_user(container, "ketoan-a", agency=JUSTICE.code)
    s = sign_in(live_server.url, "ketoan-a")

    def pages() -> dict[str, str]:
        out = {p: s.get(f"{live_server.url}{p}", timeout=30).text for p in LIST_PAGES}
        xlsx = s.get(f"{live_server.url}/console/reports/export.xlsx", timeout=30)
        out["xlsx"] = _text_of_xlsx(xlsx.content)
        return out

    alone = pages()
    b = seed_day(container, POLICE)
    with_b = pages()

    assert JUSTICE.marker in alone["/console/payment-requests"]
    assert JUSTICE.marker in alone["/console/reports/export.csv"]
    assert JUSTICE.marker in alone["xlsx"]
    needles = [POLICE.account] + [
        r[k] for r in b.requests.values() for k in ("dossier_code", "reference")
    ]  # (the marker itself is echoed back in the search box)
    leaks = [(page, n) for page, text in with_b.items() for n in needles if n in text]
    assert leaks == []
    # every figure of A's dashboard, reports and exports is the same with or without B's day
    assert with_b == alone
