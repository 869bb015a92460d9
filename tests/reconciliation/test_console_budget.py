"""The console's budget section over HTTP: an officer's month of obligations, the remittance form,
the payment orders, the declaration page, the dashboard's overdue reminders; never another
agency's."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from console_kit import JUSTICE, POLICE, make_user, months_ago, seed_budget, sign_in
from lxml import etree
from sqlalchemy import select

from payments.clock import today
from receipts.budget.models import Remittance

STP_PAGE = f"/console/budget/{JUSTICE.code}"


@pytest.fixture
def officer(live_server: Any, catalog: Any) -> requests.Session:
    make_user(live_server.container, "ketoan")
    seed_budget(live_server.container)
    return sign_in(live_server.url, "ketoan")


def get(s: requests.Session, path: str, **params: Any) -> requests.Response:
    return s.get(s.base + path, params=params, timeout=30)  # type: ignore[attr-defined]


def remit(s: requests.Session, agency: str, *, csrf: bool = True, **form: str) -> Any:
    """The remittance form posted as the page posts it (with the session's CSRF token)."""
    token = {"csrf_token": s.csrf} if csrf else {}  # type: ignore[attr-defined]
    url = f"{s.base}/console/budget/{agency}/remittances"  # type: ignore[attr-defined]
    return s.post(url, data=form | token, timeout=30)


def test_the_dashboard_shows_what_is_overdue_and_leads_to_the_agencys_budget_page(
    officer: requests.Session,
) -> None:
    board = get(officer, "/console/").text
    assert "Quá hạn nộp ngân sách" in board
    assert "Phí cung cấp thông tin lý lịch tư pháp" in board and "90.000 đ" in board
    assert "Lệ phí cấp giấy phép lái xe" not in board  # the police's, not this officer's
    section = get(officer, "/console/budget")
    assert section.url.endswith(STP_PAGE)  # one agency: straight to its page
    period = f"{months_ago(2):%Y-%m}"
    page = get(officer, STP_PAGE, period=period).text
    assert 'id="overdue"' in page and "90.000 đ" in page
    assert f"/console/budget/{JUSTICE.code}/declarations/{period}" in page


def test_the_officer_records_a_remittance_and_downloads_its_payment_order(
    officer: requests.Session, live_server: Any
) -> None:
    draft = get(officer, f"{STP_PAGE}/payment-order.xml")
    assert draft.headers["Content-Type"].startswith("application/xml")
    # both ended months: 90,000 overdue from two months ago, 30,000 of last month
    order = etree.fromstring(draft.content)
    assert [i.findtext("SoTien") for i in order.iter("KhoanNop")] == ["90000", "30000"]
    assert order.findtext("TongTien") == "120000"

    paid_on = today().strftime("%d/%m/%Y")
    form = {"amount": "90.000", "paid_on": paid_on, "order_reference": "GNT-7"}
    assert remit(officer, JUSTICE.code, csrf=False, **form).status_code == 400  # no CSRF token
    done = remit(officer, JUSTICE.code, **form)
    assert done.status_code == 200 and "Đã ghi nhận lần nộp ngân sách." in done.text
    with live_server.container.uow() as uow:
        [(rid, amount, paid)] = uow.session.execute(
            select(Remittance.id, Remittance.amount, Remittance.paid_on)
        ).all()
    assert (amount, paid) == (90_000, today())
    # the oldest month is settled first: nothing is overdue any more
    assert "GNT-7" in done.text and "Không có khoản nào quá hạn." in done.text
    pdf = get(officer, f"{STP_PAGE}/remittances/{rid}/payment-order.pdf")
    assert (pdf.status_code, pdf.content[:4]) == (200, b"%PDF")


def test_a_bad_remittance_is_explained_in_vietnamese(officer: requests.Session) -> None:
    resp = remit(officer, JUSTICE.code, amount="abc", paid_on="31/02/2026", order_reference="G")
    assert resp.status_code == 422
    assert "Ngày nộp" in resp.text and "Ngày không hợp lệ (dd/mm/yyyy)." in resp.text


def test_the_months_declaration_page_renders_the_declarations_figures(
    officer: requests.Session,
) -> None:
    page = get(officer, f"{STP_PAGE}/declarations/{months_ago(2):%Y-%m}").text
    assert "01/PHLP" in page and "3000123456" in page
    assert "600.000 đ" in page and "486.000 đ" in page and "24.000 đ" in page
    assert 'id="declaration-owed">90.000 đ' in page
    assert get(officer, f"{STP_PAGE}/declarations/2026-13").status_code == 404


def test_the_declaration_page_links_its_files_which_carry_the_same_figures(
    officer: requests.Session,
) -> None:
    period = f"{months_ago(2):%Y-%m}"
    page = get(officer, f"{STP_PAGE}/declarations/{period}").text
    for fmt in ("xlsx", "pdf", "xml"):
        assert f'href="{STP_PAGE}/declarations/{period}.{fmt}"' in page
    xml = get(officer, f"{STP_PAGE}/declarations/{period}.xml")
    assert xml.status_code == 200 and "attachment" in xml.headers["Content-Disposition"]
    assert b"3000123456" in xml.content and b"90000" in xml.content
    assert get(officer, f"{STP_PAGE}/declarations/{period}.doc").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        f"/console/budget/{POLICE.code}",
        f"/console/budget/{POLICE.code}/declarations/2026-11",
        f"/console/budget/{POLICE.code}/declarations/2026-11.pdf",
        f"/console/budget/{POLICE.code}/payment-order.pdf",
    ],
)
def test_an_officer_never_sees_another_agencys_budget(officer: requests.Session, path: str) -> None:
    resp = get(officer, path)
    assert resp.status_code == 404 and "Công an" not in resp.text


def test_an_officer_cannot_record_for_another_agency(officer: requests.Session) -> None:
    resp = remit(officer, POLICE.code, amount="1", paid_on="01/11/2026", order_reference="X")
    assert resp.status_code == 404


def test_an_admin_picks_any_agency_and_sees_every_agencys_overdue(
    live_server: Any, catalog: Any
) -> None:
    make_user(live_server.container, "quantri", role="admin", agency=None)
    seed_budget(live_server.container)
    admin = sign_in(live_server.url, "quantri")
    board = get(admin, "/console/").text
    assert "Phí cung cấp thông tin lý lịch tư pháp" in board
    assert "Lệ phí cấp giấy phép lái xe" in board and "270.000 đ" in board
    index = get(admin, "/console/budget").text
    assert f"/console/budget/{POLICE.code}" in index and f"/console/budget/{JUSTICE.code}" in index
    police = get(admin, f"/console/budget/{POLICE.code}", period=f"{months_ago(2):%Y-%m}").text
    assert "Công an tỉnh Hà Tĩnh" in police and "270.000 đ" in police
