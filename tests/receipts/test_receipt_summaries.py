"""Mẫu 01/TH-BLĐT goes to the tax authority the same day: the day so far at the configured
time, supplements for later receipts before midnight, late catch-ups marked late."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from receipts_testkit import CA, Kit, SteppingClock, kit_fixture, signing_files_fixture, wire_tax  # noqa: F401 - fixtures
from signxml.verifier import SignatureConfiguration, XMLVerifier
from sqlalchemy import select

from providers.fakes.taxauthority import FakeTaxAuthority
from providers.taxauthority import summary_problems
from providers.taxauthority.schemas import NOTICES_PATH, SUMMARIES_PATH
from receipts.jobs import pending_tax, summarise_due
from receipts.models import Receipt, ReceiptSummary
from receipts.services import (
    RecordErrorNotice,
    ReplaceReceipt,
    get_receipt,
    record_error_notice,
    replace_receipt,
)

DAY = date(2026, 11, 20)


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A Hà Nội wall-clock time on ``day`` as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def tax() -> Any:
    with FakeTaxAuthority() as server:
        yield server


def issue_at(kit: Kit, clock: SteppingClock, moment: datetime, count: int = 1) -> None:
    clock.flip(moment)
    for _ in range(count):
        kit.pay(kit.create("1.012345"))  # Công an: lệ phí GPLX, series 26TCA
    kit.drain()


def sent(tax: FakeTaxAuthority) -> list[dict[str, Any]]:
    bodies = [json.loads(a.body) for a in tax.accepted.values() if a.path == SUMMARIES_PATH]
    return sorted(bodies, key=lambda b: (b["date"], b["supplement_number"]))


def test_the_day_goes_out_at_the_summary_time_and_later_receipts_as_a_supplement(
    kit: Kit, tax: FakeTaxAuthority, signing_files: tuple[Path, Path], tmp_path: Path
) -> None:
    clock = SteppingClock(local(9))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(9), count=2)
    assert summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(22, 59)) == []

    clock.flip(local(23))
    assert len(summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23))) == 1
    kit.drain()
    issue_at(kit, clock, local(23, 30))
    now = local(23, 35)
    clock.flip(now)
    assert len(summarise_due(uow=kit.container.uow(), settings=kit.settings, now=now)) == 1
    assert summarise_due(uow=kit.container.uow(), settings=kit.settings, now=now) == []
    kit.drain()

    first, supplement = sent(tax)
    assert (first["date"], first["sending"], first["late"]) == ("2026-11-20", "first", False)
    assert (first["from_number"], first["to_number"]) == (1, 2)
    assert (supplement["sending"], supplement["supplement_number"]) == ("supplement", 1)
    assert (supplement["from_number"], supplement["to_number"], supplement["late"]) == (3, 3, False)
    row = first["receipts"][0]
    assert row["fee_name"] == "Lệ phí cấp giấy phép lái xe"
    assert (row["status"], row["status_label"], row["related_receipt"]) == ("new", "Mới", None)
    assert (row["template"], row["series"], row["exchange_rate"]) == ("EBL01", "26TCA", 1)
    assert first["form"] == "01/TH-BLĐT" and summary_problems(first) == []
    # signed by the agency: the XML verifies with its certificate and carries the same rows
    cert = signing_files[1].read_text()
    xml = base64.b64decode(first["signed_xml"])
    two = SignatureConfiguration(location="./DSCKS/NNT/", expect_references=2)
    data, _ = XMLVerifier().verify(xml, x509_cert=cert, expect_config=two)  # type: ignore[misc]
    assert data.signed_xml.findtext("TTChung/MSo") == "01/TH-BLĐT"
    assert data.signed_xml.findtext("TTChung/LDau") == "1"
    assert [b.findtext("SBLai") for b in data.signed_xml.iterfind("NDTKhai/DSBLai/BLai")] == [
        "1",
        "2",
    ]
    if shutil.which("xmlsec1"):  # the independent verifier agrees
        (tmp_path / "s.xml").write_bytes(xml)
        done = subprocess.run(
            ["xmlsec1", "--verify", "--id-attr:Id", "DLTKhai", "--id-attr:Id", "Object",
             "--pubkey-cert-pem", str(signing_files[1]), str(tmp_path / "s.xml")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    with kit.container.uow() as uow:
        rows = uow.session.scalars(select(ReceiptSummary).order_by(ReceiptSummary.sequence))
        assert [(s.sequence, s.late, s.tax_authority_status) for s in rows] == [
            (0, False, "accepted"),
            (1, False, "accepted"),
        ]


def test_receipts_no_sending_covered_go_out_the_next_day_marked_late(
    kit: Kit, tax: FakeTaxAuthority
) -> None:
    clock = SteppingClock(local(10))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(10))
    summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23, 5))
    issue_at(kit, clock, local(23, 58))  # after the last run of the day
    next_day = local(0, 5, DAY + timedelta(days=1))
    clock.flip(next_day)
    assert len(summarise_due(uow=kit.container.uow(), settings=kit.settings, now=next_day)) == 1
    kit.drain()
    first, late = sent(tax)
    assert (first["late"], late["late"], late["sending"]) == (False, True, "supplement")
    assert (late["date"], late["from_number"]) == ("2026-11-20", 2)


def test_a_day_the_scheduler_missed_is_caught_up_late_and_visible_until_then(
    kit: Kit, tax: FakeTaxAuthority
) -> None:
    clock = SteppingClock(local(10))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(10), count=2)
    two_days_later = local(8, 0, DAY + timedelta(days=2))
    report = pending_tax(uow=kit.container.uow(), now=two_days_later)
    assert [(d["agency_code"], d["receipts"]) for d in report["days_without_summary"]] == [(CA, 2)]
    created = summarise_due(uow=kit.container.uow(), settings=kit.settings, now=two_days_later)
    assert len(created) == 1
    kit.drain()
    (only,) = sent(tax)
    assert (only["sending"], only["late"], only["count"]) == ("first", True, 2)


def test_the_summary_time_is_configurable(kit: Kit, tax: FakeTaxAuthority) -> None:
    clock = SteppingClock(local(9))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(9))
    early = replace(kit.settings, receipt_summary_at="17:30")
    assert summarise_due(uow=kit.container.uow(), settings=early, now=local(17, 29)) == []
    assert len(summarise_due(uow=kit.container.uow(), settings=early, now=local(17, 30))) == 1


def test_an_error_notice_reaches_the_tax_authority_and_its_status_is_shown(
    kit: Kit, tax: FakeTaxAuthority
) -> None:
    clock = SteppingClock(local(9))
    wire_tax(kit, tax.url, clock)
    tax.down = True
    issue_at(kit, clock, local(9))
    with kit.container.uow() as uow:
        receipt = uow.session.scalars(select(Receipt)).one()
        receipt_id = str(receipt.id)
    cmd = RecordErrorNotice(receipt_id, "sai tên người nộp", payer_name="Nguyễn Thị Hồng Nhung")
    notice = record_error_notice(
        cmd, uow=kit.container.uow(), settings=kit.settings, principal=None
    )
    assert notice["tax_authority_status"] == "pending"
    kit.drain()
    report = pending_tax(uow=kit.container.uow())
    (waiting,) = report["notices"]
    assert waiting["delivery"]["attempts"] >= 1 and "503" in waiting["delivery"]["last_error"]

    tax.down = False
    kit.drain(now=datetime.now(UTC) + timedelta(days=1))
    (body,) = [json.loads(a.body) for a in tax.accepted.values() if a.path == NOTICES_PATH]
    assert (body["form"], body["agency_tax_code"]) == ("04/SS-CTĐT", "3000234567")
    (row,) = body["receipts"]
    assert (row["series"], row["number"], row["nature"]) == ("26TCA", 1, "Điều chỉnh thông tin")
    assert body["corrected"]["payer_name"] == "Nguyễn Thị Hồng Nhung"
    view = get_receipt(receipt_id, uow=kit.container.uow(), settings=kit.settings, principal=None)
    (shown,) = view["error_notices"]
    assert shown["tax_authority_status"] == "accepted" and shown["tax_authority_id"]
    assert pending_tax(uow=kit.container.uow())["notices"] == []


def _only_receipt_id(kit: Kit, number: int) -> str:
    with kit.container.uow() as uow:
        return str(uow.session.scalars(select(Receipt).where(Receipt.number == number)).one().id)


def test_a_receipt_an_error_notice_corrected_is_carried_as_information_corrected(
    kit: Kit, tax: FakeTaxAuthority, signing_files: tuple[Path, Path]
) -> None:
    clock = SteppingClock(local(9))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(9), count=2)
    clock.flip(local(10))
    notice = record_error_notice(
        RecordErrorNotice(_only_receipt_id(kit, 1), "sai địa chỉ", payer_address="Thạch Hà"),
        uow=kit.container.uow(), settings=kit.settings, principal=None, now=clock,
    )  # fmt: skip
    clock.flip(local(23))
    summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23))
    kit.drain()
    (first,) = sent(tax)
    assert [(r["number"], r["status"]) for r in first["receipts"]] == [(1, "new"), (2, "new")]
    (row,) = first["corrections"]
    assert (row["number"], row["status"], row["status_label"]) == (
        1,
        "information_corrected",
        "Điều chỉnh thông tin",
    )
    assert row["related_receipt"] == "EBL01-26TCA-00000001"
    assert (row["corrected_period"], row["explanation"]) == ("11/2026", "sai địa chỉ")
    assert (row["stt"], row["notice_id"]) == (3, notice["id"])
    assert (first["count"], first["totals"]["le_phi"]) == (
        2,
        sum(r["amount"] for r in first["receipts"]),
    )
    # the signed XML has the row in the form's one table
    cert = signing_files[1].read_text()
    two = SignatureConfiguration(location="./DSCKS/NNT/", expect_references=2)
    xml = base64.b64decode(first["signed_xml"])
    data, _ = XMLVerifier().verify(xml, x509_cert=cert, expect_config=two)  # type: ignore[misc]
    rows = [
        (b.findtext("SBLai"), b.findtext("TThai"), b.findtext("BLLQuan"))
        for b in data.signed_xml.iterfind("NDTKhai/DSBLai/BLai")
    ]
    assert rows[-1] == ("1", "Điều chỉnh thông tin", "EBL01-26TCA-00000001")
    # carried once: the next run of the day has nothing to add
    assert summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23, 10)) == []


def test_a_notice_after_the_first_sending_goes_out_as_a_supplement_of_corrections_only(
    kit: Kit, tax: FakeTaxAuthority
) -> None:
    clock = SteppingClock(local(9))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(9), count=2)
    clock.flip(local(23))
    summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23))
    clock.flip(local(23, 40))
    record_error_notice(
        RecordErrorNotice(_only_receipt_id(kit, 2), "sai tên", payer_name="Lê Văn Bình"),
        uow=kit.container.uow(), settings=kit.settings, principal=None, now=clock,
    )  # fmt: skip
    created = summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23, 45))
    assert len(created) == 1
    kit.drain()
    first, supplement = sent(tax)
    assert first["corrections"] == [] and supplement["sending"] == "supplement"
    assert (supplement["receipts"], supplement["count"]) == ([], 0)
    assert (supplement["from_number"], supplement["to_number"]) == (3, 2)
    (row,) = supplement["corrections"]
    assert (row["number"], row["status"], row["payer_name"]) == (
        2,
        "information_corrected",
        "Lê Văn Bình",
    )
    assert summary_problems(supplement) == []


def test_a_receipt_of_an_earlier_day_corrected_today_is_in_todays_sending(
    kit: Kit, tax: FakeTaxAuthority
) -> None:
    before = DAY - timedelta(days=1)
    clock = SteppingClock(local(9, 0, before))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(9, 0, before))
    clock.flip(local(23, 0, before))
    summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23, 0, before))
    clock.flip(local(10))
    record_error_notice(
        RecordErrorNotice(_only_receipt_id(kit, 1), "sai tên", payer_name="Lê Văn Bình"),
        uow=kit.container.uow(), settings=kit.settings, principal=None, now=clock,
    )  # fmt: skip
    assert summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(22)) == []
    assert len(summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23))) == 1
    kit.drain()
    earlier, today = sent(tax)
    assert (earlier["date"], today["date"], today["sending"], today["late"]) == (
        before.isoformat(),
        DAY.isoformat(),
        "first",
        False,
    )
    (row,) = today["corrections"]
    assert (row["date"], row["corrected_period"]) == (before.isoformat(), f"{before:%m/%Y}")


def test_a_replacement_is_carried_as_replaced_with_the_receipt_it_replaces(
    kit: Kit, tax: FakeTaxAuthority
) -> None:
    clock = SteppingClock(local(9))
    wire_tax(kit, tax.url, clock)
    issue_at(kit, clock, local(9))
    clock.flip(local(11))
    cmd = ReplaceReceipt(_only_receipt_id(kit, 1), "sai số định danh", payer_id_number="040201009")
    replace_receipt(cmd, uow=kit.container.uow(), settings=kit.settings, principal=None, now=clock)
    summarise_due(uow=kit.container.uow(), settings=kit.settings, now=local(23))
    kit.drain()
    (first,) = sent(tax)
    rows = [(r["number"], r["status"], r["related_receipt"]) for r in first["receipts"]]
    assert rows == [(1, "new", None), (2, "replaced", "EBL01-26TCA-00000001")]
    assert (first["receipts"][1]["status_label"], first["receipts"][1]["explanation"]) == (
        "Thay thế",
        "sai số định danh",
    )
