"""An officer corrects a receipt's fee lines in the console (Flask test client): the replacement
carries the right amounts and its page shows what the difference means for the money."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from console_kit import (  # noqa: F401 - console_signing_files and settings_with_receipts are fixtures
    JUSTICE,
    PASSWORD,
    console_signing_files,
    csrf_of,
    make_user,
    seed_day,
    settings_with_receipts,
)
from flask.testing import FlaskClient
from sqlalchemy import select

from payments.app import create_app
from payments.http import Container
from payments.payment_requests.models import PaymentRequest
from receipts.models import Receipt


@pytest.fixture
def officer(container: Container, catalog: Any) -> FlaskClient:
    make_user(container, "ketoan")
    client = create_app(container=container).test_client()
    token = csrf_of(client.get("/console/login").get_data(True))
    signed = client.post(
        "/console/login",
        data={"username": "ketoan", "password": PASSWORD, "csrf_token": token},
        follow_redirects=True,
    )
    assert signed.status_code == 200
    return client


def _receipt(container: Container) -> Receipt:
    rid = seed_day(container, JUSTICE).receipt_ids[0]
    with container.uow() as uow:
        found = uow.session.get(Receipt, uuid.UUID(rid))
        assert found is not None and found.lines
        uow.session.expunge(found)
        return found


def _replace(
    client: FlaskClient, r: Receipt, lines: list[tuple[str, str, str]], **more: str
) -> Any:
    page = client.get(f"/console/receipts/{r.id}").get_data(True)
    assert 'name="line_amount"' in page  # the form offers the lines to correct
    data: dict[str, Any] = {
        "csrf_token": csrf_of(page),
        "reason": "Thu sai số tiền",
        "payer_name": r.payer_name,
        "line_fee_code": [code for code, _, _ in lines] + [""],  # and the blank row to add
        "line_quantity": [quantity for _, quantity, _ in lines] + ["1"],
        "line_amount": [amount for _, _, amount in lines] + [""],
        **more,
    }
    return client.post(f"/console/receipts/{r.id}/replace", data=data, follow_redirects=True)


def _typed(r: Receipt, change: int) -> list[tuple[str, str, str]]:
    """The receipt's lines as the form shows them, the first one's amount changed."""
    rows = [
        (x["fee_code"], str(x["quantity"]), f"{x['amount']:,}".replace(",", ".")) for x in r.lines
    ]
    first = r.lines[0]
    rows[0] = (first["fee_code"], str(first["quantity"]), str(first["amount"] + change))
    return rows


def test_a_higher_amount_makes_a_replacement_and_an_additional_request_shown_to_the_officer(
    officer: FlaskClient, container: Container
) -> None:
    original = _receipt(container)
    page = _replace(officer, original, _typed(original, 50_000))
    text = page.get_data(True)
    assert page.status_code == 200 and 'id="money-consequence"' in text
    assert "Đã lập yêu cầu nộp thêm" in text and "50.000" in text
    with container.uow() as uow:
        old = uow.session.get(Receipt, original.id)
        assert old is not None and old.status == "replaced" and old.replaced_by_id is not None
        new = uow.session.get(Receipt, old.replaced_by_id)
        assert new is not None and new.total_amount == original.total_amount + 50_000
        consequence = new.money_consequence or {}
        assert (consequence["kind"], consequence["amount"]) == ("additional_payment_due", 50_000)
        extra = uow.session.get(PaymentRequest, uuid.UUID(consequence["payment_request_id"]))
        assert extra is not None and extra.total_amount == 50_000
        assert extra.id != original.payment_request_id and extra.reference in text


def test_a_lower_amount_shows_the_refund_due(officer: FlaskClient, container: Container) -> None:
    original = _receipt(container)
    lower = -min(10_000, int(original.lines[0]["amount"]))
    text = _replace(officer, original, _typed(original, lower)).get_data(True)
    assert "Cần hoàn trả cho người nộp" in text and f"{-lower:,}".replace(",", ".") in text
    with container.uow() as uow:
        new = uow.session.scalars(select(Receipt).where(Receipt.replaces_id == original.id)).one()
        assert (new.money_consequence or {})["kind"] == "refund_due"


def test_lines_left_as_they_were_correct_the_payer_only(
    officer: FlaskClient, container: Container
) -> None:
    original = _receipt(container)
    text = _replace(officer, original, _typed(original, 0), payer_name="Nguyễn Văn Sửa").get_data(
        True
    )
    assert 'id="money-consequence"' not in text and "Nguyễn Văn Sửa" in text
    with container.uow() as uow:
        new = uow.session.scalars(select(Receipt).where(Receipt.replaces_id == original.id)).one()
        assert new.money_consequence is None and new.lines == original.lines


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (("", "1", "1000"), "Các khoản thu"),  # no line left
        (("{code}", "1", "mười nghìn"), "Dòng 1 · Số tiền"),
        (("{code}", "0", "1000"), "Dòng 1 · Số lượng"),  # the API's own rule (ReplaceIn)
        (("KHONG_CO", "1", "1000"), "Dòng 1 · Mã khoản thu"),  # not a fee of the procedure
    ],
)
def test_a_wrong_line_is_refused_naming_it_and_nothing_is_replaced(
    officer: FlaskClient, container: Container, row: tuple[str, str, str], field: str
) -> None:
    original = _receipt(container)
    code, quantity, amount = row
    page = _replace(
        officer, original, [(code.format(code=original.lines[0]["fee_code"]), quantity, amount)]
    )
    assert page.status_code == 422 and field in page.get_data(True)
    with container.uow() as uow:
        assert uow.session.get(Receipt, original.id).status == "issued"  # type: ignore[union-attr]
