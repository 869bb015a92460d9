"""The payment order to the budget (giấy nộp tiền vào NSNN, Mẫu C1-02/NS) over HTTP: the order of a
recorded remittance and the one prepared before paying, as XML, CSV and PDF, per agency."""

from __future__ import annotations

import csv
import io
import unicodedata
from io import BytesIO
from typing import Any

import pytest
import requests
from factories import CA, STP, Api, Collections
from lxml import etree
from pypdf import PdfReader
from test_budget_api import obligations, remit

from payments.http import Container
from receipts.words import amount_in_words


@pytest.fixture
def collections(api: Api, container: Container) -> Collections:
    return Collections(container)


def get(s: requests.Session, path: str, **params: Any) -> requests.Response:
    return s.get(f"{s.base_url}/api/v1/agencies/{path}", params=params, timeout=30)  # type: ignore[attr-defined]


def xml_of(resp: requests.Response) -> Any:
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/xml")
    return etree.fromstring(resp.content)


def test_the_order_of_a_remittance_names_payer_account_lines_and_the_total_in_words(
    api: Api, collections: Collections
) -> None:
    collections.month(seed=21)
    reader, writer = api(["receipts:read"]), api(["budget:write"], [CA])
    weeks = obligations(reader, CA, "2026-11", "2026-11-30")["lines"]
    paid = weeks[0]["owed"] + weeks[1]["owed"] + 7
    made = remit(writer, CA, amount=paid, paid_on="2026-11-12", order_reference="GNT-21")
    assert made.status_code == 201, made.text
    rid = made.json()["id"]

    order = xml_of(get(reader, f"{CA}/remittances/{rid}/payment-order.xml"))
    assert order.get("MauSo") == "C1-02/NS"
    assert order.findtext("SoThamChieu") == "GNT-21"
    assert order.findtext("NgayLap") == "2026-11-12"
    assert order.findtext("NguoiNopThue/Ten") == "Công an tỉnh Hà Tĩnh"
    assert order.findtext("NguoiNopThue/MaSoThue") == "3000234567"
    # the agency's treasury account of the catalog, into the budget's revenue account
    assert order.findtext("TrichTaiKhoan/SoTaiKhoan") == "51010003456789"
    assert order.findtext("NopVaoNSNN/TaiKhoanThuNSNN") == "7111"
    items = order.findall("ChiTiet/KhoanNop")
    assert [(i.findtext("TuNgay"), int(i.findtext("SoTien"))) for i in items] == [
        (weeks[0]["period_start"], weeks[0]["owed"]),
        (weeks[1]["period_start"], weeks[1]["owed"]),
        (weeks[2]["period_start"], 7),
    ]
    assert items[0].findtext("KyThue") == "01/11–01/11/2026"  # week 44 cut at the month
    assert items[1].findtext("KyThue") == "02/11–08/11/2026"
    assert {i.findtext("NoiDung") for i in items} == {"Lệ phí cấp giấy phép lái xe"}
    assert int(order.findtext("TongTien")) == paid
    assert order.findtext("TongTienBangChu") == amount_in_words(paid)

    pdf = get(reader, f"{CA}/remittances/{rid}/payment-order.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = unicodedata.normalize("NFC", PdfReader(BytesIO(pdf.content)).pages[0].extract_text())
    for shown in ("GIẤY NỘP TIỀN VÀO NGÂN SÁCH NHÀ NƯỚC", "C1-02/NS", "51010003456789", "GNT-21"):
        assert shown in text
    assert amount_in_words(paid) in text.replace("\n", " ")


def test_the_order_prepared_before_paying_is_what_ended_periods_still_owe(
    api: Api, collections: Collections
) -> None:
    collections.month(seed=22)
    reader, writer = api(["receipts:read"]), api(["budget:write"], [STP])
    [nov] = obligations(reader, STP, "2026-11", "2026-11-30")["lines"]
    # on 30 November the month is still running: nothing to pay yet
    assert (
        xml_of(get(reader, f"{STP}/payment-order.xml", as_of="2026-11-30")).findall(
            "ChiTiet/KhoanNop"
        )
        == []
    )
    draft = xml_of(get(reader, f"{STP}/payment-order.xml", as_of="2026-12-03"))
    assert draft.findtext("TrangThai") == "DuThao"
    [line] = draft.findall("ChiTiet/KhoanNop")
    assert (line.findtext("KyThue"), int(line.findtext("SoTien"))) == ("11/2026", nov["owed"])
    assert line.findtext("NoiDung") == "Phí cung cấp thông tin lý lịch tư pháp"

    # paying the prepared total and recording it settles exactly that line
    total = int(draft.findtext("TongTien"))
    made = remit(writer, STP, amount=total, paid_on="2026-12-03", order_reference="GNT-22")
    assert made.json()["unallocated"] == 0
    assert [s["amount"] for s in made.json()["settled"]] == [nov["owed"]]
    after = xml_of(get(reader, f"{STP}/payment-order.xml", as_of="2026-12-03"))
    assert (after.findall("ChiTiet/KhoanNop"), after.findtext("TongTien")) == ([], "0")
    listed = get(reader, f"{STP}/remittances").json()["remittances"]
    assert [(r["order_reference"], r["amount"]) for r in listed] == [("GNT-22", total)]


def test_the_order_csv_keeps_a_formula_looking_reference_as_text(
    api: Api, collections: Collections
) -> None:
    collections.month(seed=23)
    reader, writer = api(["receipts:read"]), api(["budget:write"], [CA])
    made = remit(writer, CA, amount=1000, paid_on="2026-11-20", order_reference="=1+2")
    resp = get(reader, f"{CA}/remittances/{made.json()['id']}/payment-order.csv")
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="giay-nop-tien-' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows and {r["Số tham chiếu"] for r in rows} == {"'=1+2"}
    assert sum(int(r["Số tiền VND"]) for r in rows) == 1000


def test_an_agency_never_reads_another_agencys_orders(api: Api, collections: Collections) -> None:
    collections.month(seed=24)
    made = remit(
        api(["budget:write"], [CA]), CA, amount=500, paid_on="2026-11-20", order_reference="G-1"
    )
    rid = made.json()["id"]
    police_only = api(["receipts:read"], [CA])
    assert get(police_only, f"{STP}/payment-order.pdf").status_code == 403
    assert get(police_only, f"{STP}/remittances").status_code == 403
    # the police's remittance asked for under the justice department's code is not there
    everyone = api(["receipts:read"])
    assert get(everyone, f"{STP}/remittances/{rid}/payment-order.xml").status_code == 404
    assert get(everyone, f"{CA}/remittances/not-an-id/payment-order.xml").status_code == 404
    assert get(everyone, f"{CA}/payment-order.csv", as_of="yesterday").status_code == 422
