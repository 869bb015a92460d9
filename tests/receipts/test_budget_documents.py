"""The remitting documents over HTTP: the yearly settlement against its twelve monthly
declarations and the receipts, the declaration and settlement files (XLSX read with openpyxl, PDF
text with pypdf, XML with lxml) against the JSON, and the accounting journal against the
receipt lines, on a year of generated collections of two agencies."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import openpyxl
import pytest
import requests
from factories import make_payment_request, pay
from lxml import etree
from pypdf import PdfReader
from receipts_testkit import Kit, kit_fixture, signing_files_fixture  # noqa: F401
from test_budget_api import (
    CA,
    CENTRE,
    STP,
    Api,
    Collections,
    half_up,
    receipting,
    refund,
    remit,
)

from payments.clock import VN_TZ
from payments.http import Container
from receipts.models import Receipt

Line = tuple[str, int, date]  # agency, amount, day


def a_year(collections: Collections, seed: int, year: int = 2026) -> list[Line]:
    """A few collection days a month for both agencies, and the days either side of the year."""
    rng, lines = random.Random(seed), []
    for month in range(1, 13):
        for day in sorted(rng.sample(range(1, 29), 3)):
            on = date(year, month, day)
            for _ in range(rng.randrange(1, 3)):
                lltp = rng.choice([200_000, 205_000, rng.randrange(1, 400_000)])
                gplx = rng.choice([135_000, rng.randrange(1, 200_000)])
                collections.receipt(STP, "LLTP", "phi", lltp, on)
                collections.receipt(CA, "GPLX", "le_phi", gplx, on)
                lines += [(STP, lltp, on), (CA, gplx, on)]
    collections.receipt(STP, "LLTP", "phi", 200_000, date(year - 1, 12, 31))
    collections.receipt(CA, "GPLX", "le_phi", 135_000, date(year + 1, 1, 1))
    return lines


def get(s: requests.Session, path: str, **params: Any) -> requests.Response:
    return s.get(f"{s.base_url}/api/v1/agencies/{path}", params=params, timeout=60)  # type: ignore[attr-defined]


def ok_json(s: requests.Session, path: str, **params: Any) -> Any:
    resp = get(s, path, **params)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture
def collections(api: Api, container: Container) -> Collections:
    return Collections(container)


def test_a_years_settlement_is_the_sum_of_its_twelve_declarations(
    api: Api, collections: Collections
) -> None:
    lines = a_year(collections, seed=21)
    writer = api(["budget:write"])
    assert remit(writer, STP, amount=1_000_000, paid_on="2026-12-04", order_reference="GNT-Y").ok
    assert remit(writer, CA, amount=7_000, paid_on="2026-01-01", order_reference="GNT-E").ok
    s = api(["receipts:read"])
    for agency in (STP, CA):
        settled = ok_json(s, f"{agency}/declarations/2026")
        months = [ok_json(s, f"{agency}/declarations/2026-{m:02d}") for m in range(1, 13)]
        [line] = settled["lines"]
        assert (settled["form"], settled["period"], settled["supplement"]) == ("02/PHLP", "2026", 0)
        for name in ("collected", "retained", "not_owed", "owed"):
            assert line[name] == sum(m["lines"][0][name] for m in months), name
        for name in ("collected", "retained", "transferred", "owed"):
            assert settled["totals"][name] == sum(m["totals"][name] for m in months), name
        assert (line["declared"], line["difference"]) == (line["owed"], 0)
        # and against the receipts themselves: the days either side of the year are not in it
        mine = [amount for a, amount, _ in lines if a == agency]
        assert line["collected"] == sum(mine)
        if agency == STP:
            retained = sum(half_up(a, "81") for a in mine)
            centre = sum(half_up(a, "4") for a in mine)
            assert (line["retained"], line["transfers"]) == (
                retained,
                [{"to": CENTRE, "amount": centre}],
            )
            assert line["owed"] == sum(mine) - retained - centre
            assert line["not_owed"] == retained + centre and line["not_owed_percent"] == "85"
            # the remittance settled the 30 000 owed for 31 Dec 2025 first (oldest first):
            # that is the previous year's, not this settlement's
            remitted = 1_000_000 - half_up(200_000, "15")
            assert (line["remitted"], line["outstanding"]) == (remitted, line["owed"] - remitted)
            assert settled["totals"]["unallocated"] == 0
        else:
            assert line["owed"] == sum(mine) and line["remitted"] == 0
            # paid on New Year's Day, before anything of the year was collected: it settles
            # nothing and is shown as such
            assert settled["totals"]["unallocated"] == 7_000
    # per-agency isolation, for the data and the files alike
    other = api(["receipts:read"], [STP])
    for path in (
        f"{CA}/declarations/2026",
        f"{CA}/declarations/2026.xlsx",
        f"{CA}/journal/2026-11",
    ):
        assert get(other, path).status_code == 403, path
    assert get(api(["budget:write"], [CA]), f"{CA}/declarations/2026").status_code == 403
    assert get(other, f"{STP}/declarations/2026.pdf").status_code == 200


def xlsx_table(body: bytes, sheet: int = 0) -> tuple[list[str], list[list[Any]], list[Any]]:
    """The heading lines above the table, the form's lines, and its total row."""
    rows = list(openpyxl.load_workbook(io.BytesIO(body)).worksheets[sheet].values)
    start = next(i for i, row in enumerate(rows) if row[0] == "STT")
    end = next(i for i, row in enumerate(rows) if row[1] == "Tổng cộng")
    above = [str(row[0]) for row in rows[:start] if row[0]]
    assert rows[start + 1][0] == "(1)"
    return above, [list(row) for row in rows[start + 2 : end]], list(rows[end])


def pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_the_declaration_files_carry_the_forms_numbers(api: Api, collections: Collections) -> None:
    a_year(collections, seed=22)
    s = api(["receipts:read"])
    month = ok_json(s, f"{STP}/declarations/2026-11")
    [line] = month["lines"]
    not_owed = line["collected"] - line["owed"]
    assert not_owed == line["retained"] + line["transfers"][0]["amount"]

    resp = get(s, f"{STP}/declarations/2026-11.xlsx")
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="01-PHLP_000.00.12.H40_2026-11.xlsx"' in resp.headers["Content-Disposition"]
    above, rows, total = xlsx_table(resp.content)
    assert "TỜ KHAI PHÍ, LỆ PHÍ" in above and "[01] Kỳ tính thuế: Tháng 11 năm 2026" in above
    assert "[02] Lần đầu: [X]    [03] Bổ sung lần thứ: [ ]" in above
    assert f"[05] Mã số thuế: {month['tax_code']}" in above
    assert rows == [
        [1, line["fee_name"], None, None, line["collected"], "85", not_owed, line["owed"]]
    ]
    assert total[4:8] == [line["collected"], None, not_owed, line["owed"]]

    supplement = get(s, f"{STP}/declarations/2026-11.xlsx", supplement=2)
    assert "[02] Lần đầu: [ ]    [03] Bổ sung lần thứ: [2]" in xlsx_table(supplement.content)[0]

    text = pdf_text(get(s, f"{STP}/declarations/2026-11.pdf").content)
    for expected in ("TỜ KHAI PHÍ, LỆ PHÍ", month["agency_name"], "Tháng 11 năm 2026"):
        assert expected in text, expected
    for money in (line["collected"], not_owed, line["owed"]):
        assert f"{money:,}".replace(",", ".") in text, money

    root = etree.fromstring(get(s, f"{STP}/declarations/2026-11.xml", supplement=1).content)
    filing = root.find("HSoKhaiThue")
    assert filing is not None
    assert filing.findtext("TTinChung/TTinTKhaiThue/NNT/mst") == month["tax_code"]
    form = "TTinChung/TTinTKhaiThue/TKhaiThue/"
    assert filing.findtext(form + "KyKKhaiThue/kyKKhai") == "11/2026"
    assert (filing.findtext(form + "loaiTKhai"), filing.findtext(form + "soLan")) == ("B", "1")
    [item] = filing.findall("CTieuTKhaiChinh/NoiDung01PHLP/ChiTietPhiLePhi")
    assert int(item.findtext("soTienPHThuDuoc") or "") == line["collected"]
    assert int(item.findtext("soTienPHTrichTheoCheDo") or "") == not_owed
    assert int(item.findtext("soTienPHPhaiNop") or "") == line["owed"]
    assert (
        int(filing.findtext("CTieuTKhaiChinh/TongCong/tongCongSTPhaiNop") or "")
        == (month["totals"]["owed"])
    )


def test_the_settlement_files_carry_the_declared_and_the_remitted(
    api: Api, collections: Collections
) -> None:
    a_year(collections, seed=23)
    assert remit(
        api(["budget:write"]), CA, amount=500_000, paid_on="2026-12-01", order_reference="G1"
    ).ok
    s = api(["receipts:read"])
    year = ok_json(s, f"{CA}/declarations/2026")
    [line] = year["lines"]
    assert line["remitted"] == 500_000

    body = get(s, f"{CA}/declarations/2026.xlsx").content
    above, rows, total = xlsx_table(body)
    assert "TỜ KHAI QUYẾT TOÁN PHÍ, LỆ PHÍ" in above and "[01] Kỳ tính thuế: Năm 2026" in above
    # a lệ phí keeps nothing: everything collected is owed, and all of it was declared
    assert rows == [
        [1, line["fee_name"], None, None, line["collected"], "0", 0, line["owed"], line["owed"], 0]
    ]
    assert total[4] == year["totals"]["collected"]
    _, paid, paid_total = xlsx_table(body, sheet=1)
    assert paid == [[1, line["fee_name"], line["owed"], 500_000, line["owed"] - 500_000]]
    assert paid_total[2:5] == [line["owed"], 500_000, line["outstanding"]]

    text = pdf_text(get(s, f"{CA}/declarations/2026.pdf").content)
    assert "TỜ KHAI QUYẾT TOÁN PHÍ, LỆ PHÍ" in text and "Năm 2026" in text
    assert f"{line['outstanding']:,}".replace(",", ".") in text

    root = etree.fromstring(get(s, f"{CA}/declarations/2026.xml").content)
    [item] = root.findall("HSoKhaiThue/CTieuTKhaiChinh/NoiDung02PHLP/ChiTietPhiLePhi")
    assert int(item.findtext("soTienPHPhaiNop") or "") == line["owed"]
    assert int(item.findtext("soTienPHKKTrongKy") or "") == line["declared"]
    assert item.findtext("chenhLech") == "0"
    assert root.findtext("HSoKhaiThue/TTinChung/TTinTKhaiThue/TKhaiThue/KyKKhaiThue/kieuKy") == "Y"


def test_the_journal_has_a_row_per_receipt_line_and_reverses_refunds(
    api: Api, collections: Collections, container: Container, kit: Kit
) -> None:
    lines = a_year(collections, seed=24)
    november = [(a, d) for agency, a, d in lines if agency == STP and d.month == 11]
    with container.uow() as uow:  # one receipt paid in cash at the counter
        cash = (
            uow.session.query(Receipt).filter_by(agency_code=STP, issued_on=november[0][1]).first()
        )
        assert cash is not None
        cash.payment_channel = "cash"
        # a line name a spreadsheet would run as a formula stays text in the files
        cash.lines = [cash.lines[0] | {"name": "=HYPERLINK(1)"}]
        cash_ref = (cash.series, cash.number)
        uow.commit()
    paid = make_payment_request(container, procedure_code="1.001234")
    assert pay(container, paid) == "paid"
    clock = receipting(kit, date(2026, 10, 30))
    kit.drain()  # its receipt, in October
    clock.flip(datetime.combine(date(2026, 11, 10), time(10), VN_TZ).astimezone(UTC))
    body = {"amount": 50_000, "refunded_on": "2026-11-10", "bank_reference": "FT77"}
    assert refund(api(["payments:write"]), paid["id"], **body).status_code == 201
    kit.drain()  # the refund replaces the October receipt: the replacement records it
    with container.uow() as uow:
        replacement = (
            uow.session.query(Receipt)
            .filter(Receipt.payment_request_id == uuid.UUID(paid["id"]))
            .filter(Receipt.replaces_id.is_not(None))
            .one()
        )
        written_on = (replacement.series, replacement.number)
    assert remit(
        api(["budget:write"]), STP, amount=90_000, paid_on="2026-11-20", order_reference="G9"
    ).ok
    s = api(["receipts:read"])
    journal = ok_json(s, f"{STP}/journal/2026-11")
    declared = ok_json(s, f"{STP}/declarations/2026-11")["totals"]
    rows = journal["rows"]

    taken = [r for r in rows if r["entry"] == "collection"]
    assert sorted(r["amount"] for r in taken) == sorted(a for a, _ in november)
    assert {(r["template"], r["credit"]) for r in taken} == {("EBL01", "3373")}
    assert {r["debit"] for r in taken if (r["series"], r["number"]) != cash_ref} == {"1121"}
    assert [r["debit"] for r in taken if (r["series"], r["number"]) == cash_ref] == ["1111"]
    [back] = [r for r in rows if r["entry"] == "refund"]
    assert (back["debit"], back["credit"], back["amount"]) == ("3373", "1121", 50_000)
    assert (back["series"], back["number"], back["reference"]) == (*written_on, "FT77")
    assert sum(r["amount"] for r in taken) - back["amount"] == declared["collected"]
    [owed] = [r for r in rows if r["entry"] == "owed"]
    [moved] = [r for r in rows if r["entry"] == "transfer"]
    [kept] = [r for r in rows if r["entry"] == "retained"]
    assert (owed["debit"], owed["credit"], owed["amount"]) == ("3373", "3332", declared["owed"])
    assert (moved["debit"], moved["credit"]) == ("3373", "336")
    assert moved["amount"] == declared["transferred"]
    assert (kept["debit"], kept["credit"], kept["amount"]) == ("014", None, declared["retained"])
    assert owed["date"] == kept["date"] == "2026-11-30"
    [paid_in] = [r for r in rows if r["entry"] == "remittance"]
    assert (paid_in["debit"], paid_in["credit"], paid_in["amount"]) == ("3332", "1121", 90_000)
    # on the balance-sheet accounts every posting has both sides: debits equal credits
    both = [r for r in rows if r["debit"] and r["credit"]]
    assert len(both) == len(rows) - 1
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)

    resp = get(s, f"{STP}/journal/2026-11.csv")
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["Ngày chứng từ", "Số chứng từ"] and len(table) == len(rows) + 1
    assert [int(r[10]) for r in table[1:]] == [r["amount"] for r in rows]
    assert [r[8] for r in table[1:]] == [r["debit"] or "" for r in rows]
    assert table[1][0] == date.fromisoformat(rows[0]["date"]).strftime("%d/%m/%Y")
    assert "'=HYPERLINK(1)" in [r[6] for r in table] and not any(
        cell == "=HYPERLINK(1)" for r in table for cell in r
    )

    book = openpyxl.load_workbook(io.BytesIO(get(s, f"{STP}/journal/2026-11.xlsx").content))
    sheet = list(book.worksheets[0].values)
    assert len(sheet) == len(rows) + 1
    assert [row[10] for row in sheet[1:]] == [r["amount"] for r in rows]
    assert ("3373", "Tạm thu phí, lệ phí") in list(book["Tài khoản"].values)


@pytest.mark.parametrize(
    "path",
    [
        "declarations/2026-11.doc",
        "declarations/26-11",
        "declarations/2026-13.xlsx",
        "journal/2026",
        "journal/2026-11.pdf",
        "declarations/0000",
        "journal/9999-12",
    ],
)
def test_a_document_name_that_is_none_of_ours_is_not_found(api: Api, path: str) -> None:
    assert get(api(["receipts:read"]), f"{STP}/{path}").status_code == 404


def test_the_documents_are_in_the_openapi_document(api: Api) -> None:
    s = api(["receipts:read"])
    paths = s.get(f"{s.base_url}/api/openapi.json", timeout=10).json()["paths"]  # type: ignore[attr-defined]
    base = "/api/v1/agencies/{code}"
    for suffix in ("", ".xlsx", ".pdf", ".xml"):
        assert "get" in paths[f"{base}/declarations/{{period}}{suffix}"], suffix
    for suffix in ("", ".csv", ".xlsx"):
        assert "get" in paths[f"{base}/journal/{{period}}{suffix}"], suffix
    bad = get(s, f"{STP}/declarations/2026-11", supplement=-1)
    assert bad.status_code == 422
