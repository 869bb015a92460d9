"""Obligations to the state budget and remittances over HTTP (DESIGN §4.2), on a month of
generated collections of two agencies: the Sở Tư pháp (phí LLTP, monthly by the 5th, 81 % kept and
4 % to the national centre) and the Công an (lệ phí GPLX, weekly by Thursday)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests
from factories import make_payment_request, pay, payment_request_row
from receipts_testkit import Kit, SteppingClock, kit_fixture, signing_files_fixture  # noqa: F401

from payments.clock import VN_TZ
from payments.http import Container
from receipts.models import Receipt, ReceiptStatus

STP, CA = "000.00.12.H40", "000.00.30.H40"
CENTRE = "Trung tâm Lý lịch tư pháp quốc gia"
Api = Callable[..., requests.Session]
Line = tuple[str, str, int, date]  # agency, fee, amount, day


def half_up(amount: int, percent: str) -> int:
    exact = Decimal(amount) * Decimal(percent) / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Collections:
    """Receipts stored as the issuer stores them (one request per agency holds them all)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.number = 10_000  # clear of the numbers the issuer takes from its counter
        with container.uow() as uow:
            stp = payment_request_row()
            ca = payment_request_row(
                agency_code=CA, account_id="ca-kbnn", procedure_code="1.012345"
            )
            uow.session.add_all([stp, ca])
            uow.commit()
            self.requests = {STP: stp.id, CA: ca.id}

    def receipt(
        self,
        agency: str,
        fee: str,
        kind: str,
        amount: int,
        day: date,
        *,
        replaces: Receipt | None = None,
    ) -> Receipt:
        self.number += 1
        # late in the Vietnamese evening: still ``day`` there, already the day before in UTC
        issued_at = datetime.combine(day, time(23, 30), VN_TZ).astimezone(UTC)
        receipt = Receipt(
            payment_request_id=self.requests[agency],
            agency_code=agency,
            template="EBL01",
            series="26TAB" if agency == STP else "26TCA",
            number=self.number,
            kind=kind,
            issued_at=issued_at,
            issued_on=day,
            payer_name="Nguyễn Văn An",
            dossier_code=f"H40-{self.number}",
            procedure_code="1.001234" if agency == STP else "1.012345",
            procedure_name="thủ tục",
            lines=[{"fee_code": fee, "name": fee, "quantity": 1, "amount": amount}],
            total_amount=amount,
            amount_in_words="…",
            payment_channel="bank_transfer",
            payment_reference=f"REF{self.number}",
            verification_token=uuid.uuid4().hex,
            signed_xml=b"<x/>",
            replaces_id=replaces.id if replaces else None,
        )
        with self.container.uow() as uow:
            uow.session.add(receipt)
            if replaces is not None:
                original = uow.session.get(Receipt, replaces.id)
                assert original is not None
                original.status = ReceiptStatus.REPLACED
                original.replaced_by_id = receipt.id
            uow.commit()
        return receipt

    def month(self, seed: int, year: int = 2026, month: int = 11) -> list[Line]:
        rng, lines = random.Random(seed), []
        day = date(year, month, 1)
        while day.month == month:
            for _ in range(rng.randrange(0, 6)):
                lltp = rng.choice([200_000, 100_000, 205_000, rng.randrange(1, 400_000)])
                self.receipt(STP, "LLTP", "phi", lltp, day)
                gplx = rng.choice([135_000, rng.randrange(1, 200_000)])
                self.receipt(CA, "GPLX", "le_phi", gplx, day)
                lines += [(STP, "LLTP", lltp, day), (CA, "GPLX", gplx, day)]
            day += timedelta(days=1)
        return lines


@pytest.fixture
def collections(api: Api, container: Container) -> Collections:
    return Collections(container)


def obligations(s: requests.Session, agency: str, period: str, as_of: str) -> Any:
    resp = s.get(
        f"{s.base_url}/api/v1/agencies/{agency}/obligations",  # type: ignore[attr-defined]
        params={"period": period, "as_of": as_of},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def remit(s: requests.Session, agency: str, **body: Any) -> requests.Response:
    return s.post(
        f"{s.base_url}/api/v1/agencies/{agency}/remittances",  # type: ignore[attr-defined]
        json=body,
        timeout=30,
    )


def test_a_months_obligations_equal_the_receipts_times_the_shares_to_the_dong(
    api: Api, collections: Collections
) -> None:
    lines = collections.month(seed=11)
    # a replaced receipt counts once, through its replacement, on the day first receipted
    original = collections.receipt(STP, "LLTP", "phi", 200_000, date(2026, 11, 30))
    collections.receipt(STP, "LLTP", "phi", 200_000, date(2026, 12, 2), replaces=original)
    lines.append((STP, "LLTP", 200_000, date(2026, 11, 30)))
    s = api(["receipts:read"])

    stp = obligations(s, STP, "2026-11", "2026-11-30")
    [lltp] = stp["lines"]
    mine = [amount for agency, _, amount, _ in lines if agency == STP]
    retained = sum(half_up(a, "81") for a in mine)
    centre = sum(half_up(a, "4") for a in mine)
    assert (lltp["fee_code"], lltp["kind"], lltp["period"]) == ("LLTP", "phi", "2026-11")
    assert lltp["collected"] == sum(mine)
    assert lltp["retained"] == retained
    assert lltp["transfers"] == [{"to": CENTRE, "amount": centre}]
    assert lltp["owed"] == sum(mine) - retained - centre == lltp["outstanding"]
    assert (lltp["remitted"], lltp["due_on"]) == (0, "2026-12-05")
    assert stp["totals"] == {
        "collected": sum(mine),
        "retained": retained,
        "transferred": centre,
        "owed": lltp["owed"],
        "remitted": 0,
        "outstanding": lltp["owed"],
    }

    ca = obligations(s, CA, "2026-11", "2026-11-30")
    gplx = [(a, d) for agency, _, a, d in lines if agency == CA]
    # Nov 2026 begins on a Sunday: weeks 44 (1 Nov only) to 49 (30 Nov only)
    assert [line["period"] for line in ca["lines"]] == [f"2026-W{w}" for w in range(44, 50)]
    for line in ca["lines"]:
        start, end = (
            date.fromisoformat(line["period_start"]),
            date.fromisoformat(line["period_end"]),
        )
        week = sum(a for a, d in gplx if start <= d <= end)
        assert (line["collected"], line["retained"], line["owed"]) == (week, 0, week)
        assert date.fromisoformat(line["due_on"]) == end - timedelta(
            days=end.weekday()
        ) + timedelta(days=10)
    assert ca["totals"]["owed"] == sum(a for a, _ in gplx)


def test_remittances_settle_the_oldest_obligations_first(
    api: Api, collections: Collections
) -> None:
    collections.month(seed=12)
    reader, writer = api(["receipts:read"]), api(["budget:write"], [CA])
    weeks = obligations(reader, CA, "2026-11", "2026-11-30")["lines"]
    first_two = weeks[0]["owed"] + weeks[1]["owed"]

    resp = remit(writer, CA, amount=first_two + 1, paid_on="2026-11-12", order_reference="GNT-1")
    assert resp.status_code == 201, resp.text
    settled = resp.json()["settled"]
    assert [(x["period_start"], x["amount"]) for x in settled] == [
        (weeks[0]["period_start"], weeks[0]["owed"]),
        (weeks[1]["period_start"], weeks[1]["owed"]),
        (weeks[2]["period_start"], 1),  # collected by 12 Nov: the week of 9 Nov is open
    ]
    assert resp.json()["unallocated"] == 0
    # the same order again is the same remittance; another amount under it is a conflict
    again = remit(writer, CA, amount=first_two + 1, paid_on="2026-11-12", order_reference="GNT-1")
    assert (again.status_code, again.json()["id"]) == (200, resp.json()["id"])
    clash = remit(writer, CA, amount=5, paid_on="2026-11-12", order_reference="GNT-1")
    assert (clash.status_code, clash.json()["code"]) == (409, "remittance-exists")

    after = obligations(reader, CA, "2026-11", "2026-11-30")["lines"]
    assert [line["outstanding"] for line in after[:3]] == [0, 0, weeks[2]["owed"] - 1]
    assert after[2]["remitted"] == 1
    # a remittance paid before anything was collected settles nothing and keeps its money
    early = remit(writer, CA, amount=1_000, paid_on="2026-10-30", order_reference="GNT-0")
    assert (early.json()["settled"], early.json()["unallocated"]) == ([], 1_000)


def test_remitting_needs_budget_write_for_the_agency(api: Api, collections: Collections) -> None:
    body = {"amount": 1_000, "paid_on": "2026-11-12", "order_reference": "GNT-9"}
    assert remit(api(["receipts:write"]), CA, **body).status_code == 403
    assert remit(api(["budget:write"], [STP]), CA, **body).status_code == 403
    assert remit(api(["budget:write"]), "000.00.99.H40", **body).status_code == 404
    bad = remit(api(["budget:write"]), CA, **(body | {"amount": "1000"}))
    assert (bad.status_code, bad.json()["code"]) == (422, "validation-failed")
    # past THUPHI_MAX_AMOUNT (default 10^12): the one money check, named in the answer
    absurd = remit(api(["budget:write"]), CA, **(body | {"amount": 10**13}))
    assert absurd.status_code == 422 and "amount" in absurd.json()["errors"], absurd.text
    unknown = remit(api(["budget:write"]), CA, **(body | {"fee_codes": ["LLTP"]}))
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown-fee")
    future = remit(api(["budget:write"]), CA, **(body | {"paid_on": "2999-01-01"}))
    assert future.status_code == 422
    other = api(["receipts:read"], [STP])
    resp = other.get(
        f"{other.base_url}/api/v1/agencies/{CA}/obligations",  # type: ignore[attr-defined]
        params={"period": "2026-11"},
        timeout=10,
    )
    assert resp.status_code == 403
    resp = other.get(
        f"{other.base_url}/api/v1/agencies/{STP}/obligations",  # type: ignore[attr-defined]
        params={"period": "2026-13"},
        timeout=10,
    )
    assert resp.status_code == 422


@pytest.mark.parametrize(
    ("agency", "as_of", "overdue"),
    [
        # GPLX collected Mon 2 – Sun 8 Nov falls due Thursday 12 Nov
        (CA, "2026-11-12", []),
        (CA, "2026-11-13", [("GPLX", "2026-W45", "2026-11-12")]),
        # LLTP collected in November falls due 5 December
        (STP, "2026-12-05", []),
        (STP, "2026-12-06", [("LLTP", "2026-11", "2026-12-05")]),
    ],
)
def test_overdue_appears_the_day_after_the_deadline(
    api: Api, collections: Collections, agency: str, as_of: str, overdue: list[tuple[str, ...]]
) -> None:
    collections.receipt(STP, "LLTP", "phi", 200_000, date(2026, 11, 20))
    collections.receipt(CA, "GPLX", "le_phi", 135_000, date(2026, 11, 4))
    view = obligations(api(["receipts:read"]), agency, "2026-11", as_of)
    assert [(o["fee_code"], o["period"], o["due_on"]) for o in view["overdue"]] == overdue
    assert all(o["amount"] == (30_000 if agency == STP else 135_000) for o in view["overdue"])


def test_a_remittance_clears_what_was_overdue(api: Api, collections: Collections) -> None:
    collections.receipt(STP, "LLTP", "phi", 200_000, date(2026, 11, 20))
    s = api(["receipts:read", "budget:write"])
    assert obligations(s, STP, "2026-11", "2026-12-06")["overdue"][0]["amount"] == 30_000
    assert remit(s, STP, amount=30_000, paid_on="2026-12-04", order_reference="GNT-2").ok
    assert obligations(s, STP, "2026-11", "2026-12-06")["overdue"] == []
    # read as of a day before it was paid, it was still open
    assert obligations(s, STP, "2026-11", "2026-12-03")["lines"][0]["outstanding"] == 30_000


def test_the_budget_operations_are_in_the_openapi_document(api: Api) -> None:
    s = api(["receipts:read"])
    paths = s.get(f"{s.base_url}/api/openapi.json", timeout=10).json()["paths"]  # type: ignore[attr-defined]
    assert "get" in paths["/api/v1/agencies/{code}/obligations"]
    assert "post" in paths["/api/v1/agencies/{code}/remittances"]


def refund(s: requests.Session, request_id: str, **body: Any) -> requests.Response:
    return s.post(
        f"{s.base_url}/api/v1/payment-requests/{request_id}/refunds",  # type: ignore[attr-defined]
        json=body,
        timeout=30,
    )


def receipting(kit: Kit, day: date) -> SteppingClock:
    """Receipts issued by the outbox on ``day`` (10:00 in Hà Nội) and after."""
    clock = SteppingClock(datetime.combine(day, time(10), VN_TZ).astimezone(UTC))
    kit.use_clock(clock)
    return clock


def test_a_refund_in_a_later_month_lowers_that_months_obligation(
    api: Api, collections: Collections, container: Container, kit: Kit
) -> None:
    collections.receipt(STP, "LLTP", "phi", 200_000, date(2026, 10, 20))
    collections.receipt(STP, "LLTP", "phi", 200_000, date(2026, 11, 3))
    paid = make_payment_request(container, procedure_code="1.001234")
    assert paid["total_amount"] == 200_000
    assert pay(container, paid) == "paid"
    clock = receipting(kit, date(2026, 10, 25))
    kit.drain()  # its receipt, 25 October
    clock.flip(datetime.combine(date(2026, 11, 10), time(10), VN_TZ).astimezone(UTC))
    writer, reader = api(["payments:write"]), api(["receipts:read"])
    body = {"amount": 100_000, "refunded_on": "2026-11-10", "bank_reference": "FT1", "note": "x"}

    resp = refund(writer, paid["id"], **body)
    assert resp.status_code == 201, resp.text
    assert (resp.json()["status"], resp.json()["paid_amount"]) == ("paid", 100_000)
    assert refund(writer, paid["id"], **body).status_code == 200  # the same refund again
    clash = refund(writer, paid["id"], **(body | {"amount": 5}))
    assert (clash.status_code, clash.json()["code"]) == (409, "refund-exists")
    too_much = refund(writer, paid["id"], **(body | {"amount": 100_001, "bank_reference": "FT2"}))
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund-exceeds-paid")

    kit.drain()  # the refund replaces the receipt: 100 000 kept
    october = obligations(reader, STP, "2026-10", "2026-11-30")["lines"][0]
    november = obligations(reader, STP, "2026-11", "2026-11-30")["lines"][0]
    assert (october["collected"], october["owed"]) == (400_000, 60_000)
    assert (november["collected"], november["retained"]) == (100_000, 81_000)
    assert (november["transfers"][0]["amount"], november["owed"]) == (4_000, 15_000)

    rest = refund(writer, paid["id"], **(body | {"bank_reference": "FT3"}))
    assert (rest.json()["status"], rest.json()["paid_amount"]) == ("refunded", 0)
    assert refund(writer, paid["id"], **(body | {"bank_reference": "FT4"})).status_code == 409


def test_refunding_an_overpayments_excess_owes_the_budget_nothing_less(
    api: Api, collections: Collections, container: Container, kit: Kit
) -> None:
    request = make_payment_request(container, procedure_code="1.001234")
    assert pay(container, request, 300_000) == "overpaid"
    receipting(kit, date(2026, 10, 25))
    kit.drain()  # a receipt for the 200 000 due
    resp = refund(
        api(["payments:write"]),
        request["id"],
        amount=150_000,
        refunded_on="2026-11-10",
        bank_reference="FT9",
    )
    assert resp.status_code == 201, resp.text
    assert (resp.json()["status"], resp.json()["paid_amount"]) == ("paid", 150_000)
    assert "refund_due" not in resp.json()["flags"]
    kit.drain()
    # the 100 000 paid beyond the total went back first: only 50 000 of the fee was refunded
    [line] = obligations(api(["receipts:read"]), STP, "2026-11", "2026-11-30")["lines"]
    assert (line["collected"], line["owed"]) == (-50_000, -7_500)


def test_the_monthly_declaration_sums_each_fees_month(api: Api, collections: Collections) -> None:
    lines = collections.month(seed=13)
    collections.receipt(CA, "GPLX", "le_phi", 135_000, date(2026, 12, 1))  # not November
    s = api(["receipts:read"])
    url = f"{s.base_url}/api/v1/agencies/{CA}/declarations"  # type: ignore[attr-defined]
    resp = s.get(f"{url}/2026-11", timeout=30)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["form"], body["period"], body["tax_code"]) == ("01/PHLP", "2026-11", "3000234567")
    [gplx] = body["lines"]
    november = sum(a for agency, _, a, _ in lines if agency == CA)
    assert (gplx["fee_code"], gplx["kind"], gplx["retained_percent"]) == ("GPLX", "le_phi", "0")
    assert gplx["collected"] == gplx["owed"] == november == body["totals"]["owed"]
    stp = obligations(s, STP, "2026-11", "2026-11-30")["totals"]
    declared = s.get(
        f"{s.base_url}/api/v1/agencies/{STP}/declarations/2026-11",  # type: ignore[attr-defined]
        timeout=30,
    ).json()
    assert declared["lines"][0]["retained_percent"] == "81"
    assert declared["totals"] == {
        k: stp[k] for k in ("collected", "retained", "transferred", "owed")
    }
    assert s.get(f"{url}/2026-13", timeout=10).status_code == 404  # no such month
