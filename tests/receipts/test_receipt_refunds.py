"""Money paid back replaces the receipts it touched (TT 91/2026 Điều 20: a biên lai is corrected
by a replacement), numbered on in the series, reported on Mẫu 01/TH-BLĐT as "Thay thế", and the
budget obligation of the refund's month is lowered once, through that replacement."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from receipts_testkit import (  # noqa: F401 - fixtures
    CA,
    STP,
    Kit,
    SteppingClock,
    kit_fixture,
    signing_files_fixture,
)
from sqlalchemy import select

from payments.clock import VN_TZ
from payments.payment_requests.services import RecordRefund, refund_payment_request
from receipts.budget.services import month_view
from receipts.errors import ReceiptsNotYetIssued
from receipts.html import replaces_line
from receipts.models import Receipt, ReceiptStatus, ReceiptSummary
from receipts.pdf import render_pdf
from receipts.services import (
    CorrectedLine,
    ReplaceReceipt,
    correct_for_refunds,
    get_receipt_document,
    replace_receipt,
)
from receipts.summaries import create_daily_summaries

STC = "000.00.08.H40"  # Sở Tài chính: DKDN 50 000 lệ phí and CBTT 100 000 phí on one request


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), VN_TZ).astimezone(UTC)


def receipts_of(kit: Kit, view: dict[str, Any]) -> list[Receipt]:
    with kit.container.uow() as uow:
        rows = uow.session.scalars(
            select(Receipt)
            .where(Receipt.payment_request_id == uuid.UUID(view["id"]))
            .order_by(Receipt.number)
        ).all()
        uow.session.expunge_all()
        return list(rows)


def refund(kit: Kit, view: dict[str, Any], amount: int, on: date, ref: str) -> dict[str, Any]:
    result, created = refund_payment_request(
        RecordRefund(view["id"], amount, on, ref, "hồ sơ không đủ điều kiện"),
        uow=kit.container.uow(),
        settings=kit.settings,
        principal=None,
    )
    assert created
    return result


def obligation(kit: Kit, agency: str, period: str, fee: str) -> dict[str, Any] | None:
    view = month_view(
        agency, period, uow=kit.container.uow(), principal=None, as_of=date(2026, 12, 1)
    )
    return next((line for line in view["lines"] if line["fee_code"] == fee), None)


@pytest.fixture
def clock(kit: Kit) -> SteppingClock:
    stepping = SteppingClock(local(date(2026, 10, 20)))
    kit.use_clock(stepping)
    return stepping


def test_a_partial_then_a_full_refund_each_replace_the_receipt(
    kit: Kit, clock: SteppingClock
) -> None:
    view = kit.create("1.001234")  # LLTP 200 000 phí
    kit.pay(view)
    kit.drain()
    [original] = receipts_of(kit, view)
    assert original.total_amount == 200_000

    clock.flip(local(date(2026, 11, 10)))
    assert refund(kit, view, 50_000, date(2026, 11, 10), "FT-R1")["status"] == "paid"
    kit.drain()
    first, partial = receipts_of(kit, view)
    assert (first.status, first.replaced_by_id) == (ReceiptStatus.REPLACED, partial.id)
    assert (partial.replaces_id, partial.number, partial.series) == (first.id, 2, "26TAB")
    assert (partial.total_amount, partial.amount_in_words) == (
        150_000,
        "Một trăm năm mươi nghìn đồng",
    )
    assert partial.issued_on == date(2026, 11, 10)
    assert "Hoàn trả 50.000 đồng ngày 10/11/2026 (giao dịch FT-R1)" in (
        partial.correction_reason or ""
    )
    [line] = partial.lines
    assert (line["normal_amount"], line["amount"]) == (200_000, 150_000)
    assert "Hoàn trả 50.000 đồng" in line["reduction"]["legal_basis"]
    consequence = partial.money_consequence or {}
    assert (consequence["kind"], consequence["amount"], consequence["refunded_on"]) == (
        "refunded",
        50_000,
        "2026-11-10",
    )
    # the delivery again, or the service again, changes nothing
    with kit.container.uow() as uow:
        assert correct_for_refunds(uow.session, view["id"], settings=kit.settings) == []
    assert len(receipts_of(kit, view)) == 2

    clock.flip(local(date(2026, 11, 25)))
    assert refund(kit, view, 150_000, date(2026, 11, 25), "FT-R2")["status"] == "refunded"
    kit.drain()
    *_, full = receipts_of(kit, view)
    assert (full.number, full.total_amount, full.amount_in_words) == (3, 0, "Không đồng")
    assert full.replaces_id == partial.id
    assert receipts_of(kit, view)[1].status == ReceiptStatus.REPLACED
    # the signed document says what it replaces and why each line is below its fee
    doc = get_receipt_document(str(full.id), uow=kit.container.uow(), principal=None)
    assert (
        replaces_line(doc)
        == "Thay thế cho biên lai mẫu số EBL01, ký hiệu 26TAB, số 00000002 ngày 10/11/2026"
    )
    [printed] = doc.lines
    assert (printed.amount.amount, printed.normal_amount.amount) == (0, 200_000)
    assert "Hoàn trả 150.000 đồng ngày 25/11/2026" in (printed.reduction_legal_basis or "")
    assert render_pdf(doc).startswith(b"%PDF")


def test_a_refund_in_a_later_month_lowers_that_months_obligation_once(
    kit: Kit, clock: SteppingClock
) -> None:
    view = kit.create("1.001234")
    kit.pay(view)
    kit.drain()  # receipted 20 October
    clock.flip(local(date(2026, 11, 10)))
    refund(kit, view, 50_000, date(2026, 11, 10), "FT-B1")
    kit.drain()
    october = obligation(kit, STP, "2026-10", "LLTP")
    november = obligation(kit, STP, "2026-11", "LLTP")
    assert october is not None and november is not None
    assert (october["collected"], october["retained"], october["owed"]) == (
        200_000,
        162_000,
        30_000,
    )
    # 81 % kept, 4 % to the centre, 15 % owed: each of the 50 000 paid back
    assert (november["collected"], november["retained"]) == (-50_000, -40_500)
    assert (november["transfers"][0]["amount"], november["owed"]) == (-2_000, -7_500)
    # refunded on 30 November, its replacement issued on 2 December: November's still
    clock.flip(local(date(2026, 12, 2)))
    refund(kit, view, 150_000, date(2026, 11, 30), "FT-B2")
    kit.drain()
    november = obligation(kit, STP, "2026-11", "LLTP")
    assert november is not None and november["collected"] == -200_000
    assert obligation(kit, STP, "2026-12", "LLTP") is None
    assert obligation(kit, STP, "2026-10", "LLTP") == october


def test_an_overpayments_excess_goes_back_first_and_only_the_rest_touches_the_receipt(
    kit: Kit, clock: SteppingClock
) -> None:
    view = kit.create("1.001234")
    kit.pay(view, 300_000)  # overpaid by 100 000, never receipted
    kit.drain()
    clock.flip(local(date(2026, 11, 10)))
    refund(kit, view, 100_000, date(2026, 11, 10), "FT-O1")
    kit.drain()
    assert len(receipts_of(kit, view)) == 1  # the excess only: the receipt stands
    refund(kit, view, 50_000, date(2026, 11, 10), "FT-O2")
    kit.drain()
    *_, replacement = receipts_of(kit, view)
    assert replacement.total_amount == 150_000
    november = obligation(kit, STP, "2026-11", "LLTP")
    assert november is not None and november["collected"] == -50_000


def test_a_refund_takes_the_phi_lines_first_then_le_phi(kit: Kit, clock: SteppingClock) -> None:
    view = kit.create("2.001610")  # DKDN 50 000 lệ phí, CBTT 100 000 phí: two receipts
    kit.pay(view)
    kit.drain()
    assert sorted(r.kind for r in receipts_of(kit, view)) == ["le_phi", "phi"]
    clock.flip(local(date(2026, 11, 10)))
    refund(kit, view, 120_000, date(2026, 11, 10), "FT-K1")
    kit.drain()
    current = {r.kind: r for r in receipts_of(kit, view) if r.status == ReceiptStatus.ISSUED}
    assert (current["phi"].total_amount, current["le_phi"].total_amount) == (0, 30_000)
    assert [r.number for r in receipts_of(kit, view)] == [1, 2, 3, 4]  # continuous
    assert obligation(kit, STC, "2026-11", "DKDN")["collected"] == -20_000  # type: ignore[index]
    assert obligation(kit, STC, "2026-11", "CBTT")["collected"] == -100_000  # type: ignore[index]


def test_the_replacement_is_on_the_summary_as_replacing_its_receipt(
    kit: Kit, clock: SteppingClock
) -> None:
    view = kit.create("1.012345")  # GPLX 135 000 lệ phí, Công an, series 26TCA
    kit.pay(view)
    kit.drain()
    clock.flip(local(date(2026, 11, 10)))
    refund(kit, view, 135_000, date(2026, 11, 10), "FT-S1")
    kit.drain()
    create_daily_summaries(
        date(2026, 11, 10), uow=kit.container.uow(), now=local(date(2026, 11, 10), 23)
    )
    with kit.container.uow() as uow:
        [summary] = uow.session.scalars(
            select(ReceiptSummary).where(
                ReceiptSummary.agency_code == CA, ReceiptSummary.day == date(2026, 11, 10)
            )
        ).all()
        [row] = summary.document["receipts"]
    assert (row["number"], row["amount"], row["status"], row["status_label"]) == (
        2,
        0,
        "replaced",
        "Thay thế",
    )
    assert (row["related_receipt"], row["corrected_period"]) == ("EBL01-26TCA-00000001", "10/2026")
    assert "Hoàn trả 135.000 đồng ngày 10/11/2026" in row["explanation"]


def test_a_refund_waits_for_the_receipts_a_paid_request_is_owed(
    kit: Kit, clock: SteppingClock
) -> None:
    view = kit.create("1.001234")
    kit.pay(view)
    refund(kit, view, 50_000, date(2026, 11, 10), "FT-W1")
    with kit.container.uow() as uow, pytest.raises(ReceiptsNotYetIssued):
        correct_for_refunds(uow.session, view["id"], settings=kit.settings)
    kit.drain()  # the issue delivery first, then the correction's
    totals = [(r.total_amount, r.status) for r in receipts_of(kit, view)]
    assert totals == [(200_000, "replaced"), (150_000, "issued")]


def correct(kit: Kit, receipt: Receipt, amount: int) -> dict[str, Any]:
    """A replacement correcting the LLTP line to ``amount`` (POST /receipts/{id}/replace)."""
    return replace_receipt(
        ReplaceReceipt(str(receipt.id), "sai số tiền", lines=(CorrectedLine("LLTP", 1, amount),)),
        uow=kit.container.uow(),
        settings=kit.settings,
        principal=None,
    )


def paid_lltp(kit: Kit) -> tuple[dict[str, Any], Receipt]:
    """A paid LLTP request (200 000) and its receipt."""
    view = kit.create("1.001234")
    kit.pay(view)
    kit.drain()
    [receipt] = receipts_of(kit, view)
    return view, receipt


def test_an_overcharge_corrected_then_refunded_lowers_the_budget_once(
    kit: Kit, clock: SteppingClock
) -> None:
    view, original = paid_lltp(kit)
    correct(kit, original, 150_000)  # restated in October: 50 000 is owed back
    clock.flip(local(date(2026, 11, 10)))
    assert refund(kit, view, 50_000, date(2026, 11, 10), "FT-C1")["status"] == "paid"
    kit.drain()
    assert len(receipts_of(kit, view)) == 2  # the refund returned money no receipt states
    october = obligation(kit, STP, "2026-10", "LLTP")
    assert october is not None and october["collected"] == 150_000
    assert obligation(kit, STP, "2026-11", "LLTP") is None


def test_an_undercharge_is_counted_through_the_additional_request_only(
    kit: Kit, clock: SteppingClock
) -> None:
    view, original = paid_lltp(kit)
    more = correct(kit, original, 250_000)["money_consequence"]
    assert (more["kind"], more["amount"]) == ("additional_payment_due", 50_000)
    additional = {**view, "id": more["payment_request_id"], "reference": more["reference"]}
    kit.pay(additional | {"total_amount": 50_000})
    kit.drain()
    october = obligation(kit, STP, "2026-10", "LLTP")
    assert october is not None and october["collected"] == 250_000  # 200 000 + 50 000, once
