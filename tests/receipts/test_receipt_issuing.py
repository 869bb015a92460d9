"""Receipts are issued by the outbox when a request is paid: content, numbering, idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from receipts_testkit import (  # noqa: F401 - fixtures
    CA,
    NEW_YEARS_EVE,
    STC,
    STP,
    Kit,
    SteppingClock,
    add_series,
    kit_fixture,
    signing_files_fixture,
)
from sqlalchemy import func, select

from payments.outbox.models import DeliveryStatus, OutboxDelivery
from payments.payment_requests.services import Payer, get_payment_request
from receipts.jobs import ISSUE_SUBSCRIBER, pending_tax
from receipts.models import Receipt, ReceiptCounter
from receipts.services import issue_for_request


def receipts_of(kit: Kit, request_id: str) -> list[Receipt]:
    with kit.container.uow() as uow:
        rows = list(
            uow.session.scalars(
                select(Receipt)
                .where(Receipt.payment_request_id == uuid.UUID(request_id))
                .order_by(Receipt.number)
            )
        )
        uow.session.expunge_all()  # keep them readable after the block rolls back
        return rows


def test_a_paid_request_gets_one_receipt_for_its_phi_lines(kit: Kit) -> None:
    request = kit.create("1.001234")
    kit.pay(request)
    assert receipts_of(kit, request["id"]) == []  # not inside the callback
    kit.drain()
    [receipt] = receipts_of(kit, request["id"])
    assert (receipt.agency_code, receipt.template, receipt.series, receipt.number) == (
        STP,
        "EBL01",
        "26TAB",
        1,
    )
    assert receipt.kind == "phi"
    assert receipt.total_amount == 200_000
    assert receipt.amount_in_words == "Hai trăm nghìn đồng"
    assert receipt.payment_channel == "bank_transfer"
    assert receipt.status == "issued"
    assert receipt.tax_authority_status == "pending"
    assert receipt.lines[0]["fee_code"] == "LLTP"
    assert receipt.payer_id_number == "040201001234"
    assert b"<KHBLai>26TAB</KHBLai>" in receipt.signed_xml


def test_phi_and_le_phi_lines_go_on_two_receipts_numbered_in_one_series(kit: Kit) -> None:
    request = kit.create("2.001610")  # DKDN lệ phí 50,000 + CBTT phí 100,000 at the counter
    kit.pay(request)
    kit.drain()
    receipts = receipts_of(kit, request["id"])
    assert [(r.kind, r.series, r.number, r.total_amount) for r in receipts] == [
        ("phi", "26TTC", 1, 100_000),
        ("le_phi", "26TTC", 2, 50_000),
    ]
    assert receipts[1].amount_in_words == "Năm mươi nghìn đồng"


def test_a_kind_fully_exempted_gets_no_receipt(kit: Kit) -> None:
    request = kit.create("2.001610", channel="online")  # DKDN is exempt online
    assert request["total_amount"] == 100_000
    kit.pay(request)
    kit.drain()
    assert [r.kind for r in receipts_of(kit, request["id"])] == ["phi"]


def test_a_fully_exempt_request_gets_no_receipt_and_no_delivery(kit: Kit) -> None:
    request = kit.create("1.001234", payer=Payer("Trẻ Em", category="child"))
    assert request["status"] == "paid" and request["total_amount"] == 0
    kit.drain()
    assert receipts_of(kit, request["id"]) == []
    with kit.container.uow() as uow:
        count = uow.session.scalar(
            select(func.count()).where(OutboxDelivery.subscriber == ISSUE_SUBSCRIBER)
        )
    assert count == 0


def test_the_reduction_and_its_legal_basis_are_on_the_receipt(kit: Kit) -> None:
    request = kit.create("1.001234", payer=Payer("Lê Văn Sinh Viên", category="student"))
    kit.pay(request)
    kit.drain()
    [receipt] = receipts_of(kit, request["id"])
    line = receipt.lines[0]
    assert (line["normal_amount"], line["amount"]) == (200_000, 100_000)
    basis = (
        "Thông tư 16/2025/TT-BTC, Điều 4 (học sinh, sinh viên, người có công,"
        " thân nhân liệt sĩ: 100.000 đồng/lần)"
    )
    assert line["reduction"]["legal_basis"] == basis
    xml = receipt.signed_xml.decode()
    assert "<STGiam>100000</STGiam>" in xml
    assert f"<CCGiam>{basis}</CCGiam>" in xml
    assert "<TgTTTBChu>Một trăm nghìn đồng</TgTTTBChu>" in xml


def test_paying_twice_overpays_but_issues_no_second_receipt(kit: Kit) -> None:
    request = kit.create("1.012345")
    kit.pay(request)
    kit.drain()
    kit.pay(request)  # the same fee paid again: overpaid, flagged for refund
    kit.drain()
    receipts = receipts_of(kit, request["id"])
    assert [(r.series, r.number, r.total_amount) for r in receipts] == [("26TCA", 1, 135_000)]


def test_the_channel_is_the_provider_of_the_payment(kit: Kit) -> None:
    request = kit.create("1.012345")
    kit.pay(request, provider="pos")
    kit.drain()
    assert [r.payment_channel for r in receipts_of(kit, request["id"])] == ["pos"]


def test_the_request_json_lists_its_receipts(kit: Kit) -> None:
    request = kit.create("2.001610")
    kit.pay(request)
    kit.drain()
    view = get_payment_request(
        request["id"],
        uow=kit.container.uow(),
        settings=kit.settings,
        principal=None,
        extensions=kit.container.view_extensions,
    )
    assert [(r["kind"], r["series"], r["number"]) for r in view["receipts"]] == [
        ("phi", "26TTC", 1),
        ("le_phi", "26TTC", 2),
    ]
    assert view["receipts"][0]["status"] == "issued"
    assert isinstance(view["receipts"][0]["issued_at"], str)


def test_a_rolled_back_issue_gives_its_number_back(kit: Kit) -> None:
    first, second = kit.create("1.012345"), kit.create("1.012345")
    for request in (first, second):
        kit.pay(request)
    with kit.container.uow() as uow:
        [receipt] = issue_for_request(uow.session, first["id"], settings=kit.settings)
        assert receipt.number == 1
        uow.rollback()
    kit.drain()
    numbers = sorted(r.number for req in (first, second) for r in receipts_of(kit, req["id"]))
    assert numbers == [1, 2]


def test_without_a_series_for_the_year_the_delivery_waits_visibly_then_issues(
    kit: Kit,
) -> None:
    clock = SteppingClock(
        NEW_YEARS_EVE.replace(year=2028, month=1, day=2)
    )  # the demo has 26T and 27T, no 28T
    kit.use_clock(clock)
    request = kit.create("1.001234")
    kit.pay(request)
    kit.drain()
    assert receipts_of(kit, request["id"]) == []
    late = pending_tax(uow=kit.container.uow())["unissued_payments"]
    assert [x["payment_request_id"] for x in late] == [request["id"]]
    assert "no EBL01 receipt series for 2028" in late[0]["delivery"]["last_error"]
    assert late[0]["delivery"]["status"] == DeliveryStatus.PENDING
    add_series(kit.container, (STP, "28TAB"))
    kit.drain(now=clock.moment.replace(year=2029))  # past the backoff
    [receipt] = receipts_of(kit, request["id"])
    assert (receipt.series, receipt.number) == ("28TAB", 1)
    assert receipt.issued_on.year == 2028


def test_numbers_restart_at_one_in_the_new_years_series(kit: Kit) -> None:
    add_series(kit.container, (CA, "27TCA"))
    clock = SteppingClock(NEW_YEARS_EVE)
    kit.use_clock(clock)
    requests = [kit.create("1.012345") for _ in range(6)]
    for request in requests[:3]:
        kit.pay(request)
    kit.drain()
    clock.flip(NEW_YEARS_EVE.replace(year=2027, month=1, day=1))
    for request in requests[3:]:
        kit.pay(request)
    kit.drain()
    got = [(r.series, r.number) for req in requests for r in receipts_of(kit, req["id"])]
    assert got == [("26TCA", n) for n in (1, 2, 3)] + [("27TCA", n) for n in (1, 2, 3)]
    with kit.container.uow() as uow:
        counters = {
            (c.series, c.year): c.last_number for c in uow.session.scalars(select(ReceiptCounter))
        }
    assert counters == {("26TCA", 2026): 3, ("27TCA", 2027): 3}


def test_issued_receipts_are_unique_per_request_and_kind_in_the_database(kit: Kit) -> None:
    request = kit.create("1.012345")
    kit.pay(request)
    kit.drain()
    with kit.container.uow() as uow:
        again: list[Any] = issue_for_request(uow.session, request["id"], settings=kit.settings)
    assert again == []
    assert STC  # the agency table in the testkit names every demo agency used here


@pytest.mark.parametrize("procedure", ["1.001234", "1.004227"])
def test_every_receipt_xml_names_the_dossier_and_procedure(kit: Kit, procedure: str) -> None:
    request = kit.create(procedure)
    kit.pay(request)
    kit.drain()
    for receipt in receipts_of(kit, request["id"]):
        xml = receipt.signed_xml.decode()
        assert f"<MHSo>{request['dossier_code']}</MHSo>" in xml
        assert f"<MTTHC>{procedure}</MTTHC>" in xml
        assert f"<MTChieu>{request['reference']}</MTChieu>" in xml
