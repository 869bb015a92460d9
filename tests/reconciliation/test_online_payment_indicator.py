"""QĐ 766/QĐ-TTg: the share of an agency's dossiers with a financial obligation paid online, per
month (docs/indicators.md), as the pure rule and over HTTP on generated dossiers of two
agencies paid through every channel."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import requests
from console_kit import make_user, sign_in
from factories import make_payment_request, payment_request_row

from payments.clock import VN_TZ
from payments.http import Container
from payments.money import Money
from payments.transactions.models import PaygovAttempt
from payments.transactions.services import record_event
from providers.base import EventKind, ProviderEvent, TxnStatus
from reconciliation.indicators.engine import (
    DossierClass,
    Payment,
    channel_of,
    classify,
    tally,
)

STP, CA = "000.00.12.H40", "000.00.30.H40"
PROCEDURES = {STP: "1.001234", CA: "1.012345"}  # LLTP 200 000 phí; GPLX 135 000 lệ phí
NOV = (date(2026, 11, 1), date(2026, 11, 30))
Api = Callable[..., requests.Session]


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ({"bank"}, DossierClass.ONLINE),
        ({"paygov"}, DossierClass.ONLINE),
        ({"bank", "paygov"}, DossierClass.ONLINE),  # any online channel, even two
        ({"pos"}, DossierClass.COUNTER),
        ({"bank", "pos"}, DossierClass.MIXED),
        ({"paygov", "pos"}, DossierClass.MIXED),
    ],
)
def test_a_dossier_is_online_only_when_every_payment_was_online(
    channels: set[str], expected: DossierClass
) -> None:
    assert classify(channels) == expected


@pytest.mark.parametrize(
    ("provider", "channel"),
    [
        ("bank", "bank"),
        ("bank:sepay", "bank"),
        ("statement", "bank"),
        ("paygov", "paygov"),
        ("pos", "pos"),
    ],
)
def test_a_credit_seen_only_on_the_statement_is_a_transfer(provider: str, channel: str) -> None:
    assert channel_of(provider) == channel


def test_a_dossier_counts_once_in_the_month_of_its_first_payment_per_agency() -> None:
    payments = [
        Payment(STP, "D1", "bank", date(2026, 10, 31)),  # first paid in October
        Payment(STP, "D1", "pos", date(2026, 11, 2)),
        Payment(STP, "D2", "bank", date(2026, 11, 3)),
        Payment(STP, "D2", "paygov", date(2026, 11, 4)),  # one dossier, two requests
        Payment(CA, "D2", "pos", date(2026, 11, 4)),  # the same code at another agency
    ]
    found = tally(payments, *NOV)
    stp, ca = found[STP], found[CA]
    assert (stp.with_obligation, stp.paid_online, stp.mixed) == (1, 1, 0)
    assert stp.by_channel == {"bank": 1, "paygov": 1}
    assert (ca.with_obligation, ca.paid_at_counter, ca.rate_percent) == (1, 1, 0.0)
    october = tally(payments, date(2026, 10, 1), date(2026, 10, 31))[STP]
    # paid online by the end of October: a card at the counter in November changes nothing
    assert (october.with_obligation, october.paid_online, october.rate_percent) == (1, 1, 100.0)
    # a dossier known to have been paid before the payments given is not first paid now
    assert STP not in tally(payments, *NOV, paid_before={(STP, "D2")})
    assert tally([], *NOV) == {}


# --- over HTTP --------------------------------------------------------------------------------


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An instant on a Vietnamese calendar day."""
    return datetime.combine(day, time(hour, minute), VN_TZ).astimezone(UTC)


def apply(
    container: Container, view: dict[str, Any], provider: str, amount: int, when: datetime
) -> None:
    """An applied payment of ``amount`` through ``provider`` as its callback records it."""
    reference = view["reference"]
    if provider == "paygov":  # the portal names the attempt started from the checkout
        reference += f"G{uuid.uuid4().hex[:2].upper()}"
        with container.uow() as uow:
            uow.session.add(
                PaygovAttempt(
                    payment_request_id=uuid.UUID(view["id"]),
                    provider_ref=reference,
                    amount=amount,
                    status="pending",
                    created_at=when,
                )
            )
            uow.commit()
    event = ProviderEvent(
        provider=provider,
        provider_txn_id=uuid.uuid4().hex,
        reference=reference,
        amount=Money(amount),
        currency="VND",
        status=TxnStatus.PAID,
        occurred_at=when,
        kind=EventKind.TRANSFER_IN if provider == "bank" else EventKind.PAYMENT,
        account_number=view["beneficiary"]["account_number"] if provider == "bank" else None,
    )
    result = record_event(event, uow=container.uow())
    assert result.outcome == "applied", (provider, result)


def dossier(container: Container, agency: str, code: str | None = None) -> dict[str, Any]:
    return make_payment_request(
        container,
        procedure_code=PROCEDURES[agency],
        dossier_code=code or f"H40-{uuid.uuid4().hex[:10]}",
    )


def indicator(s: requests.Session, agency: str, period: str) -> requests.Response:
    return s.get(
        f"{s.base_url}/api/v1/agencies/{agency}/indicators/online-payment",  # type: ignore[attr-defined]
        params={"period": period},
        timeout=30,
    )


def test_the_indicator_counts_each_edge_case_as_documented(api: Api, container: Container) -> None:
    nov = date(2026, 11, 12)
    for provider in ("bank", "paygov", "pos"):  # one dossier per channel
        view = dossier(container, STP)
        apply(container, view, provider, view["total_amount"], at(nov))
    mixed = dossier(container, STP)  # half by transfer, the rest by card at the counter
    apply(container, mixed, "bank", 100_000, at(nov))
    apply(container, mixed, "pos", 100_000, at(nov, 15))
    earlier = dossier(container, STP)  # first paid in October: October's, even if finished now
    apply(container, earlier, "bank", 50_000, at(date(2026, 10, 30)))
    apply(container, earlier, "bank", 150_000, at(nov))
    midnight = dossier(container, STP)  # 00:30 on 1 December in Hà Nội, 30 Nov in UTC
    apply(container, midnight, "bank", midnight["total_amount"], at(date(2026, 12, 1), 0, 30))
    dossier(container, STP)  # raised but not paid: no payment, not counted
    with container.uow() as uow:  # exempt (nothing due), paid all the same: no obligation
        exempt = payment_request_row(total_amount=0)
        uow.session.add(exempt)
        uow.commit()
        free = {"id": str(exempt.id), "reference": exempt.reference, "total_amount": 0}
    free["beneficiary"] = dossier(container, STP)["beneficiary"]
    apply(container, free, "bank", 10_000, at(nov))
    two = dossier(container, STP)  # one dossier, its fee and an additional request
    apply(container, two, "paygov", two["total_amount"], at(nov))
    apply(container, dossier(container, STP, two["dossier_code"]), "bank", 200_000, at(nov))
    ca = dossier(container, CA, two["dossier_code"])  # the same code at the police: its own
    apply(container, ca, "pos", ca["total_amount"], at(nov))

    s = api(["receipts:read"])
    resp = indicator(s, STP, "2026-11")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["agency_code"], body["period"]) == (STP, "2026-11")
    assert "766/QĐ-TTg" in body["indicator"]
    # bank, paygov, the two-request dossier online; pos at the counter; one mixed
    assert body["with_obligation"] == 5
    assert (body["paid_online"], body["paid_at_counter"], body["mixed"]) == (3, 1, 1)
    assert body["rate_percent"] == 60.0
    assert body["by_channel"] == {"bank": 3, "paygov": 2, "pos": 2}
    october, december = indicator(s, STP, "2026-10").json(), indicator(s, STP, "2026-12").json()
    assert (october["with_obligation"], october["paid_online"]) == (1, 1)  # finished online
    assert (december["with_obligation"], december["paid_online"]) == (1, 1)
    police = indicator(s, CA, "2026-11").json()
    assert (police["with_obligation"], police["paid_at_counter"], police["rate_percent"]) == (
        1,
        1,
        0.0,
    )
    empty = indicator(s, CA, "2026-09").json()
    assert (empty["with_obligation"], empty["rate_percent"]) == (0, None)


def test_generated_dossiers_of_two_agencies_give_each_its_own_share(
    api: Api, container: Container
) -> None:
    rng = random.Random(766)
    expected: dict[str, dict[str, int]] = {a: {"n": 0, "online": 0, "mixed": 0} for a in PROCEDURES}
    ways = [
        ("bank",),
        ("paygov",),
        ("pos",),
        ("bank", "pos"),
        ("paygov", "bank"),
        ("pos", "paygov"),
    ]
    for _ in range(24):
        agency = rng.choice([STP, CA])
        view = dossier(container, agency)
        way = rng.choice(ways)
        day = date(2026, 11, rng.randrange(1, 31))
        half = view["total_amount"] // len(way)
        for i, provider in enumerate(way):
            amount = half if i < len(way) - 1 else view["total_amount"] - half * i
            apply(container, view, provider, amount, at(day, 8 + i))
        expected[agency]["n"] += 1
        expected[agency]["online"] += "pos" not in way
        expected[agency]["mixed"] += "pos" in way and len(way) > 1
    s = api(["receipts:read"])
    for agency, want in expected.items():
        got = indicator(s, agency, "2026-11").json()
        assert (got["with_obligation"], got["paid_online"], got["mixed"]) == (
            want["n"],
            want["online"],
            want["mixed"],
        )
        assert got["rate_percent"] == (
            round(100 * want["online"] / want["n"], 2) if want["n"] else None
        )


def test_the_indicator_is_per_agency_behind_the_read_scope(api: Api) -> None:
    assert indicator(api(["receipts:read"], [CA]), STP, "2026-11").status_code == 403
    assert indicator(api(["payments:write"]), STP, "2026-11").status_code == 403
    assert indicator(api(["receipts:read"]), "000.00.99.H40", "2026-11").status_code == 404
    for period in ("2026-13", "0000-01", "9999-12", "2026-1"):
        bad = indicator(api(["receipts:read"]), STP, period)
        assert (bad.status_code, bad.json()["code"]) == (422, "validation-failed"), period
    s = api(["receipts:read"])
    paths = s.get(f"{s.base_url}/api/openapi.json", timeout=10).json()["paths"]  # type: ignore[attr-defined]
    assert "get" in paths["/api/v1/agencies/{code}/indicators/online-payment"]


def test_the_reports_page_shows_each_agencys_months_to_its_officer(
    live_server: Any, catalog: Any
) -> None:
    container = live_server.container
    for provider, day in (("bank", 3), ("pos", 4), ("paygov", 5)):
        view = dossier(container, STP)
        apply(container, view, provider, view["total_amount"], at(date(2026, 11, day)))
    december = dossier(container, STP)
    apply(container, december, "bank", december["total_amount"], at(date(2026, 12, 1)))
    police = dossier(container, CA)  # another agency: not this officer's
    apply(container, police, "pos", police["total_amount"], at(date(2026, 11, 3)))
    make_user(container, "ketoan766", agency=STP)
    officer = sign_in(live_server.url, "ketoan766")
    page = officer.get(
        f"{live_server.url}/console/reports",
        params={"from": "01/11/2026", "to": "30/11/2026"},
        timeout=30,
    ).text
    table = page.split('id="online-by-agency"')[1].split("</section>")[0]
    assert "Thanh toán trực tuyến theo cơ quan và tháng (QĐ 766/QĐ-TTg)" in table
    cells = [
        re.sub(r"<[^>]+>", "", row).split("|")
        for row in re.findall(r"<tr>(.*?)</tr>", table.replace("</td><td", "</td>|<td"))
    ]
    assert [c[1:] for c in cells if c[0].startswith("Sở Tư pháp")] == [
        ["11/2026", "3", "2", "1", "0", "66.7 %"],
    ]
    assert "Công an" not in table
    # over more than a month the table is the API's, month by month
    longer = officer.get(
        f"{live_server.url}/console/reports",
        params={"from": "01/11/2026", "to": "01/12/2026"},
        timeout=30,
    ).text
    assert 'id="online-by-agency"' not in longer
