"""Fee rules as tables: the pure engine, the demo catalog through the database, and over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from payments.catalog.services import import_catalog
from payments.fees.engine import (
    FeeSpec,
    PolicySpec,
    QuoteLine,
    Tier,
    price_line,
    price_procedure,
)
from payments.fees.services import quote_line_view
from payments.http import Container
from payments.payment_requests.services import quote, quote_view
from tests.conftest import payment_request_body

ALL_CHANNELS = ("online", "online_partial", "counter", "postal")
IN_WINDOW = date(2025, 6, 1)


def fee(amount: int = 200_000, code: str = "FEE") -> FeeSpec:
    return FeeSpec(code, f"Fee {code}", "le_phi", amount, "Thông tư 00/2020/TT-BTC")


def policy(
    id: str = "p",
    kind: str = "rate_percent",
    value: Decimal | int | str = 90,
    *,
    fees: tuple[str, ...] = ("FEE",),
    channels: tuple[str, ...] = ("online",),
    categories: tuple[str, ...] | None = None,
    valid_from: date | None = date(2023, 12, 1),
    valid_to: date | None = date(2025, 12, 31),
) -> PolicySpec:
    return PolicySpec(
        id=id,
        fees=frozenset(fees),
        channels=frozenset(channels),
        payer_categories=frozenset(categories) if categories is not None else None,
        kind=kind,
        value=Decimal(value),
        valid_from=valid_from,
        valid_to=valid_to,
        legal_basis=f"basis of {id}",
    )


# (normal amount, policies, channel, payer category, date) → (unit payable, winning policy id)
# fmt: off
ENGINE_CASES: list[Any] = [
    # each reduction kind
    pytest.param(200_000, [policy(value=90)], "online", None, IN_WINDOW, 180_000, "p",
                 id="rate_percent pays that percentage of the normal amount"),
    pytest.param(135_000, [policy(kind="fixed", value=115_000)], "online", None, IN_WINDOW,
                 115_000, "p", id="fixed pays exactly the value"),
    pytest.param(200_000, [policy(kind="exempt", value=0)], "online", None, IN_WINDOW, 0, "p",
                 id="exempt pays nothing"),
    # the window is inclusive at both ends
    pytest.param(135_000, [policy(kind="fixed", value=115_000)], "online", None,
                 date(2023, 11, 30), 135_000, None, id="the day before the window is normal"),
    pytest.param(135_000, [policy(kind="fixed", value=115_000)], "online", None,
                 date(2023, 12, 1), 115_000, "p", id="the first day of the window is reduced"),
    pytest.param(135_000, [policy(kind="fixed", value=115_000)], "online", None,
                 date(2025, 12, 31), 115_000, "p", id="the last day of the window is reduced"),
    pytest.param(135_000, [policy(kind="fixed", value=115_000)], "online", None,
                 date(2026, 1, 1), 135_000, None, id="the day after the window is normal"),
    # open-ended windows
    pytest.param(200_000, [policy(valid_from=None, valid_to=date(2025, 12, 31))], "online", None,
                 date(1990, 1, 1), 180_000, "p", id="no valid_from applies to any earlier day"),
    pytest.param(200_000, [policy(valid_from=None, valid_to=date(2025, 12, 31))], "online", None,
                 date(2026, 1, 1), 200_000, None, id="no valid_from still ends at valid_to"),
    pytest.param(200_000, [policy(valid_from=date(2024, 1, 1), valid_to=None)], "online", None,
                 date(2099, 12, 31), 180_000, "p", id="no valid_to applies to any later day"),
    pytest.param(200_000, [policy(valid_from=date(2024, 1, 1), valid_to=None)], "online", None,
                 date(2023, 12, 31), 200_000, None, id="no valid_to still starts at valid_from"),
    pytest.param(200_000, [policy(valid_from=None, valid_to=None)], "online", None,
                 date(2000, 2, 29), 180_000, "p", id="no window at all applies on every day"),
    # channels
    *[
        pytest.param(200_000, [policy(channels=("online", "online_partial"))], channel, None,
                     IN_WINDOW, expected, pid, id=f"a policy for online channels on {channel}")
        for channel, expected, pid in [
            ("online", 180_000, "p"),
            ("online_partial", 180_000, "p"),
            ("counter", 200_000, None),
            ("postal", 200_000, None),
        ]
    ],
    pytest.param(200_000, [policy(channels=("postal",))], "postal", None, IN_WINDOW, 180_000,
                 "p", id="a postal-only policy applies to postal submissions"),
    # payer categories
    pytest.param(200_000, [policy(kind="fixed", value=100_000, categories=("student",))],
                 "online", "student", IN_WINDOW, 100_000, "p",
                 id="a listed payer category gets the reduction"),
    pytest.param(200_000, [policy(kind="fixed", value=100_000, categories=("student",))],
                 "online", "veteran", IN_WINDOW, 200_000, None,
                 id="a category not in the list pays the normal amount"),
    pytest.param(200_000, [policy(kind="fixed", value=100_000, categories=("student",))],
                 "online", None, IN_WINDOW, 200_000, None,
                 id="no category does not match a policy that lists categories"),
    pytest.param(200_000, [policy(categories=None)], "online", "veteran", IN_WINDOW, 180_000,
                 "p", id="a policy without categories applies to every category"),
    # fee codes
    pytest.param(200_000, [policy(fees=("OTHER",))], "online", None, IN_WINDOW, 200_000, None,
                 id="a policy for another fee code does not apply"),
    # no stacking
    pytest.param(200_000, [policy("a-rate", value=90), policy("b-fixed", "fixed", 150_000)],
                 "online", None, IN_WINDOW, 150_000, "b-fixed",
                 id="two applicable policies: the lowest amount wins, not both"),
    pytest.param(200_000, [policy("b-fixed", "fixed", 150_000), policy("a-rate", value=90)],
                 "online", None, IN_WINDOW, 150_000, "b-fixed",
                 id="the lowest amount wins whatever the order of the policies"),
    pytest.param(200_000, [policy("b-equal", "fixed", 180_000), policy("a-equal", value=90)],
                 "online", None, IN_WINDOW, 180_000, "a-equal",
                 id="equal amounts: the smallest id wins"),
    pytest.param(200_000, [policy("a-equal", value=90), policy("b-equal", "fixed", 180_000)],
                 "online", None, IN_WINDOW, 180_000, "a-equal",
                 id="equal amounts: the smallest id wins whatever the order"),
    pytest.param(200_000, [policy("z-exempt", "exempt", 0), policy("a-rate", value=10)],
                 "online", None, IN_WINDOW, 0, "z-exempt",
                 id="exempt beats a smaller id with a higher amount"),
    # a policy never raises the price
    pytest.param(200_000, [policy(kind="fixed", value=250_000)], "online", None, IN_WINDOW,
                 200_000, None, id="a fixed amount above the normal one is not applied"),
    pytest.param(200_000, [policy(kind="fixed", value=200_000)], "online", None, IN_WINDOW,
                 200_000, None, id="a fixed amount equal to the normal one is not a reduction"),
    pytest.param(200_000, [policy(value=100)], "online", None, IN_WINDOW, 200_000, None,
                 id="a 100 percent rate is not a reduction"),
    pytest.param(200_000, [policy("a-up", "fixed", 250_000), policy("b-down", value=90)],
                 "online", None, IN_WINDOW, 180_000, "b-down",
                 id="a price-raising policy does not hide a real reduction"),
    # half-up rounding to whole đồng, in exact arithmetic
    pytest.param(15_555, [policy(value=90)], "online", None, IN_WINDOW, 14_000, "p",
                 id="90 percent of 15555 is 13999.5, rounded up to 14000"),
    pytest.param(15_555, [policy(value=50)], "online", None, IN_WINDOW, 7_778, "p",
                 id="50 percent of 15555 is 7777.5, rounded up to 7778"),
    pytest.param(15_554, [policy(value=50)], "online", None, IN_WINDOW, 7_777, "p",
                 id="50 percent of 15554 is exactly 7777"),
    pytest.param(15_553, [policy(value=50)], "online", None, IN_WINDOW, 7_777, "p",
                 id="50 percent of 15553 is 7776.5, half-up not half-even gives 7777"),
    pytest.param(20, [policy(value="12.5")], "online", None, IN_WINDOW, 3, "p",
                 id="a fractional rate: 12.5 percent of 20 is 2.5, rounded up to 3"),
    pytest.param(3_000_000, [policy(value="33.3333")], "online", None, IN_WINDOW, 999_999, "p",
                 id="33.3333 percent of 3000000 is exactly 999999"),
    pytest.param(1_001, [policy(value="0.05")], "online", None, IN_WINDOW, 1, "p",
                 id="0.05 percent of 1001 is 0.5005, rounded to 1"),
]
# fmt: on


@pytest.mark.parametrize(
    ("normal", "policies", "channel", "category", "on", "unit", "policy_id"), ENGINE_CASES
)
def test_fee_engine_prices_one_line_by_the_table(
    normal: int,
    policies: list[PolicySpec],
    channel: str,
    category: str | None,
    on: date,
    unit: int,
    policy_id: str | None,
) -> None:
    line = price_line(fee(normal), 1, channel, category, on, policies)
    assert (line.unit_amount, line.policy_id) == (unit, policy_id)
    assert line.unit_normal_amount == normal
    assert line.amount == unit and line.normal_amount == normal
    assert line.reduction_legal_basis == (f"basis of {policy_id}" if policy_id else None)
    assert line.legal_basis == "Thông tư 00/2020/TT-BTC"


@pytest.mark.parametrize(
    ("quantity", "policies", "amount", "normal_amount"),
    [
        pytest.param(7, [], 14_000, 14_000, id="seven pages at the normal price"),
        pytest.param(
            7, [policy(fees=("CTBS",), value=50)], 7_000, 14_000, id="seven pages at half price"
        ),
        pytest.param(
            3,
            [policy(fees=("CTBS",), value="33.3333")],
            2_001,
            6_000,
            id="the unit is rounded first, then multiplied",
        ),
        pytest.param(1, [policy(fees=("CTBS",), value=50)], 1_000, 2_000, id="a single page"),
    ],
)
def test_quantities_multiply_the_unit_payable(
    quantity: int, policies: list[PolicySpec], amount: int, normal_amount: int
) -> None:
    line = price_line(fee(2_000, "CTBS"), quantity, "online", None, IN_WINDOW, policies)
    assert line.quantity == quantity
    assert (line.amount, line.normal_amount) == (amount, normal_amount)
    assert line.reduction_amount == normal_amount - amount


def test_a_procedure_is_priced_fee_by_fee_with_each_fee_its_own_policy() -> None:
    fees = [fee(50_000, "DKDN"), fee(100_000, "CBTT")]
    lines = price_procedure(
        fees, None, "online", None, IN_WINDOW, [policy("dkdn", "exempt", 0, fees=("DKDN",))]
    )
    assert [(q.fee_code, q.quantity, q.amount, q.policy_id) for q in lines] == [
        ("DKDN", 1, 0, "dkdn"),
        ("CBTT", 1, 100_000, None),
    ]


def test_a_procedure_priced_with_quantities_keeps_only_the_fees_asked_for() -> None:
    fees = [fee(50_000, "DKDN"), fee(100_000, "CBTT")]
    lines = price_procedure(fees, {"CBTT": 2, "DKDN": 0}, "online", None, IN_WINDOW, [])
    assert [(q.fee_code, q.quantity, q.amount) for q in lines] == [("CBTT", 2, 200_000)]


def test_policies_given_as_a_one_shot_iterator_serve_every_fee() -> None:
    fees = [fee(100_000, "A"), fee(100_000, "B")]
    policies = iter([policy(fees=("A", "B"), value=50)])
    lines = price_procedure(fees, None, "online", None, IN_WINDOW, policies)
    assert [q.amount for q in lines] == [50_000, 50_000]


# --- the demo catalog, through the database (the law of December 2026, LAW.md) -----------

GPLX, HC, LLTP, CTBS, DKDN, HT, CT = (
    "1.012345",  # driving licence (GPLX): 135,000; TT 63 115,000 online until 2025-12-31
    "2.002163",  # passport (HC): 200,000; TT 63 90 % online until 2025-12-31; TT 64 50 %
    "1.001234",  # criminal-record extract (LLTP): 200,000 for 1-2, +5,000 from the 3rd
    "2.000815",  # certified copies (CTBS): 2,000 pages 1-2, 1,000 from page 3, cap 200,000
    "2.001610",  # enterprise registration: DKDN exempt online, CBTT never reduced
    "1.001193",  # HT-NCMC 15,555; 50 % online from 2024-01-01, no end
    "1.004194",  # permanent residence (cư trú): 20,000; 10,000 online
)
ONLINE = ("online", "online_partial")
OFFLINE = ("counter", "postal")
DC = "digital_citizen"  # công dân số, NQ 66.22/2026/NQ-CP: 2026-08-15..2027-02-28
NQ66_EDGES = [
    (date(2026, 8, 14), False, "the day before NQ 66.22"),
    (date(2026, 8, 15), True, "NQ 66.22's first day"),
    (date(2027, 2, 28), True, "NQ 66.22's last day"),
    (date(2027, 3, 1), False, "the day after NQ 66.22"),
]

# (procedure, channel, date, categories, items) → [(fee code, quantity, amount, policy id)]
# fmt: off
CATALOG_CASES: list[Any] = [
    # driving licence: Thông tư 63/2023 fixed 115,000 online (and partially online) until 2025
    *[
        pytest.param(GPLX, channel, on, None, None, [("GPLX", 1, amount, pid)],
                     id=f"GPLX {channel} {label}")
        for channel in ONLINE
        for on, amount, pid, label in [
            (date(2023, 11, 30), 135_000, None, "the day before TT 63"),
            (date(2023, 12, 1), 115_000, "tt63-gplx-online", "TT 63's first day"),
            (date(2025, 12, 31), 115_000, "tt63-gplx-online", "TT 63's last day"),
            (date(2026, 1, 1), 135_000, None, "the day after TT 63"),
        ]
    ],
    *[
        pytest.param(GPLX, channel, date(2025, 6, 1), None, None, [("GPLX", 1, 135_000, None)],
                     id=f"GPLX {channel} in TT 63's window pays the normal amount")
        for channel in OFFLINE
    ],
    # NQ 66.22 công dân số: GPLX, passport, LLTP, residence, civil status exempt online
    *[
        pytest.param(proc, channel, on, (DC,), None,
                     [(code, 1, 0 if inside else normal, pid if inside else other)],
                     id=f"{code} công dân số {channel} on {label}")
        for proc, code, normal, pid, other in [
            (GPLX, "GPLX", 135_000, "nq66-gplx", None),
            (LLTP, "LLTP", 200_000, "nq66-lltp", None),
            (CT, "LP-CT", 10_000, "nq66-cutru", "tt75-cutru-online"),
            (HT, "HT-NCMC", 7_778, "nq66-hotich", "ht-tinh-online-50"),
        ]
        for channel in ONLINE
        for on, inside, label in NQ66_EDGES
    ],
    *[
        pytest.param(proc, "counter", date(2026, 12, 5), (DC,), None, [(code, 1, amount, None)],
                     id=f"{code} công dân số at the counter pays the normal amount")
        for proc, code, amount in [(GPLX, "GPLX", 135_000), (LLTP, "LLTP", 200_000),
                                   (CT, "LP-CT", 20_000)]
    ],
    # passport: TT 63 90 % online until 2025; TT 64/2025 50 % on every channel
    # 2025-07-01..2026-12-31; NQ 66.22 exempts a công dân số online
    pytest.param(HC, "online", date(2023, 12, 31), None, None, [("HC", 1, 200_000, None)],
                 id="HC online the day before TT 63"),
    pytest.param(HC, "online", date(2024, 1, 1), None, None,
                 [("HC", 1, 180_000, "tt63-hochieu-online")], id="HC online on TT 63's first day"),
    pytest.param(HC, "online_partial", date(2025, 6, 30), None, None,
                 [("HC", 1, 180_000, "tt63-hochieu-online")],
                 id="HC online_partial the day before TT 64: TT 63's 90 percent"),
    pytest.param(HC, "counter", date(2025, 6, 30), None, None, [("HC", 1, 200_000, None)],
                 id="HC at the counter the day before TT 64"),
    *[
        pytest.param(HC, channel, on, None, None, [("HC", 1, 100_000, "tt64-hochieu-50")],
                     id=f"HC {channel} {label}: TT 64's 50 percent")
        for channel in (*ONLINE, *OFFLINE)
        for on, label in [(date(2025, 7, 1), "on TT 64's first day"),
                          (date(2026, 12, 31), "on TT 64's last day")]
    ],
    *[
        pytest.param(HC, channel, date(2027, 1, 1), None, None, [("HC", 1, 200_000, None)],
                     id=f"HC {channel} the day after TT 64")
        for channel in (*ONLINE, *OFFLINE)
    ],
    pytest.param(HC, "online", date(2026, 8, 14), (DC,), None,
                 [("HC", 1, 100_000, "tt64-hochieu-50")],
                 id="HC công dân số online the day before NQ 66.22: TT 64"),
    pytest.param(HC, "online", date(2026, 8, 15), (DC,), None, [("HC", 1, 0, "nq66-hochieu")],
                 id="HC công dân số online on NQ 66.22's first day: exempt, the best wins"),
    pytest.param(HC, "online", date(2027, 2, 28), (DC,), None, [("HC", 1, 0, "nq66-hochieu")],
                 id="HC công dân số online on NQ 66.22's last day"),
    pytest.param(HC, "online", date(2027, 3, 1), (DC,), None, [("HC", 1, 200_000, None)],
                 id="HC công dân số online the day after NQ 66.22 and TT 64"),
    pytest.param(HC, "counter", date(2026, 12, 5), (DC,), None,
                 [("HC", 1, 100_000, "tt64-hochieu-50")],
                 id="HC công dân số at the counter: TT 64 only"),
    # LLTP groups on every channel (TT 16/2025): martyrs' relatives pay 100,000
    *[
        pytest.param(LLTP, channel, date(2026, 12, 5), (category,) if category else None, None,
                     [("LLTP", 1, amount, pid)], id=f"LLTP {category} on {channel}")
        for channel in (*ONLINE, *OFFLINE)
        for category, amount, pid in [
            ("student", 100_000, "lltp-uu-dai"),
            ("meritorious", 100_000, "lltp-uu-dai"),
            ("martyr_relative", 100_000, "lltp-uu-dai"),
            ("child", 0, "lltp-mien"),
            ("elderly", 0, "lltp-mien"),
            ("disabled", 0, "lltp-mien"),
            ("poor_household", 0, "lltp-mien"),
            ("difficult_commune", 0, "lltp-mien"),
            (None, 200_000, None),
        ]
    ],
    # LLTP extra copies: 200,000 for one or two, +5,000 each from the third
    *[
        pytest.param(LLTP, "counter", date(2026, 12, 5), categories, (("LLTP", n),),
                     [("LLTP", n, amount, pid)], id=f"{n} LLTP extracts for {categories}")
        for n, categories, amount, pid in [
            (1, None, 200_000, None),
            (2, None, 200_000, None),
            (3, None, 205_000, None),
            (5, None, 215_000, None),
            (3, ("student",), 105_000, "lltp-uu-dai"),
            (3, ("martyr_relative",), 105_000, "lltp-uu-dai"),
            (3, ("child",), 0, "lltp-mien"),
        ]
    ],
    # several categories: the most favourable policy wins (NQ 66.22 Điều 5 k2)
    pytest.param(LLTP, "online", date(2026, 12, 5), ("student", DC), None,
                 [("LLTP", 1, 0, "nq66-lltp")], id="a student công dân số online pays nothing"),
    pytest.param(LLTP, "counter", date(2026, 12, 5), ("student", DC), None,
                 [("LLTP", 1, 100_000, "lltp-uu-dai")],
                 id="a student công dân số at the counter pays the student rate"),
    pytest.param(LLTP, "online", date(2027, 3, 1), (DC, "student"), None,
                 [("LLTP", 1, 100_000, "lltp-uu-dai")],
                 id="a student công dân số after NQ 66.22 pays the student rate"),
    # chứng thực bản sao (TT 226/2016 Điều 4): tiers and a cap per copy, no TT 63 reduction
    *[
        pytest.param(CTBS, channel, on, None, (("CTBS", pages),), [("CTBS", pages, amount, None)],
                     id=f"CTBS {pages} pages {channel} on {on}")
        for channel in ("online", "counter")
        for on in (date(2025, 6, 1), date(2026, 12, 5))
        for pages, amount in [(1, 2_000), (2, 4_000), (3, 5_000), (10, 12_000),
                              (198, 200_000), (199, 200_000), (1000, 200_000)]
    ],
    # cư trú (TT 75/2022): 20,000 at the counter, 10,000 online, open-ended
    *[
        pytest.param(CT, channel, on, None, None, [("LP-CT", 1, amount, pid)],
                     id=f"LP-CT {channel} on {on}")
        for on in (date(2023, 1, 1), date(2026, 12, 5), date(2099, 1, 1))
        for channel, amount, pid in [("online", 10_000, "tt75-cutru-online"),
                                     ("online_partial", 10_000, "tt75-cutru-online"),
                                     ("counter", 20_000, None), ("postal", 20_000, None)]
    ],
    # several fees, each on its own
    *[
        pytest.param(DKDN, channel, date(2026, 6, 1), None, None,
                     [("DKDN", 1, 0, "dkdn-online"), ("CBTT", 1, 100_000, None)],
                     id=f"enterprise registration {channel}: one fee exempt, the other normal")
        for channel in ONLINE
    ],
    pytest.param(DKDN, "counter", date(2026, 6, 1), None, None,
                 [("DKDN", 1, 50_000, None), ("CBTT", 1, 100_000, None)],
                 id="enterprise registration at the counter: both normal"),
    pytest.param(DKDN, "online", date(2026, 6, 1), None, (("CBTT", 1),),
                 [("CBTT", 1, 100_000, None)], id="items select only the fees asked for"),
    # an open-ended window and half-up rounding through the database
    pytest.param(HT, "online", date(2023, 12, 31), None, None, [("HT-NCMC", 1, 15_555, None)],
                 id="HT-NCMC online before its open-ended window starts"),
    pytest.param(HT, "online", date(2024, 1, 1), None, None,
                 [("HT-NCMC", 1, 7_778, "ht-tinh-online-50")],
                 id="HT-NCMC online: 50 percent of 15555 is 7778"),
    pytest.param(HT, "online_partial", date(2099, 12, 31), None, None,
                 [("HT-NCMC", 1, 7_778, "ht-tinh-online-50")],
                 id="HT-NCMC online_partial decades later: no valid_to, still reduced"),
    pytest.param(HT, "counter", date(2025, 6, 1), None, None, [("HT-NCMC", 1, 15_555, None)],
                 id="HT-NCMC at the counter is normal"),
    pytest.param(CTBS, "online", date(2026, 6, 1), None, (("CTBS", 4), ("CTBS", 6)),
                 [("CTBS", 10, 12_000, None)], id="CTBS items of one fee add up before the tiers"),
]
# fmt: on


@pytest.mark.parametrize(
    ("procedure", "channel", "on", "category", "items", "expected"), CATALOG_CASES
)
def test_demo_catalog_quote_by_the_table(
    container: Container,
    catalog: dict[str, Any],
    procedure: str,
    channel: str,
    on: date,
    category: tuple[str, ...] | None,
    items: tuple[tuple[str, int], ...] | None,
    expected: list[tuple[str, int, int, str | None]],
) -> None:
    with container.uow() as uow:
        _, lines = quote(uow.session, procedure, channel, on, category, items)
    assert [(q.fee_code, q.quantity, q.amount, q.policy_id) for q in lines] == expected


def quoted(container: Container, procedure: str, channel: str, on: date) -> QuoteLine:
    with container.uow() as uow:
        _, (line,) = quote(uow.session, procedure, channel, on, None)
    return line


def test_gplx_online_quotes_dated_2025_06_01_and_2026_06_01_differ(
    container: Container, catalog: dict[str, Any]
) -> None:
    before = quoted(container, GPLX, "online", date(2025, 6, 1))
    after = quoted(container, GPLX, "online", date(2026, 6, 1))
    assert (before.amount, before.policy_id) == (115_000, "tt63-gplx-online")
    assert before.reduction_legal_basis is not None
    assert "63/2023" in before.reduction_legal_basis
    assert (after.amount, after.policy_id, after.reduction_legal_basis) == (135_000, None, None)
    assert before.normal_amount == after.normal_amount == 135_000


def add_reductions(container: Container, *reductions: dict[str, Any]) -> None:
    full = [
        {"channels": ["online"], "valid_from": None, "valid_to": None, "legal_basis": "test"} | r
        for r in reductions
    ]
    import_catalog({"reductions": full}, uow=container.uow())


@pytest.mark.parametrize(
    ("extra", "amount", "policy_id"),
    [
        pytest.param(
            [{"id": "aa-gplx-same", "fees": ["GPLX"], "kind": "fixed", "value": 115_000}],
            115_000,
            "aa-gplx-same",
            id="a second policy at the same amount with a smaller id wins the tie",
        ),
        pytest.param(
            [{"id": "zz-gplx-same", "fees": ["GPLX"], "kind": "fixed", "value": 115_000}],
            115_000,
            "tt63-gplx-online",
            id="a second policy at the same amount with a larger id loses the tie",
        ),
        pytest.param(
            [{"id": "zz-gplx-cheaper", "fees": ["GPLX"], "kind": "rate_percent", "value": 80}],
            108_000,
            "zz-gplx-cheaper",
            id="a cheaper second policy wins and the two do not stack",
        ),
        pytest.param(
            [{"id": "aa-gplx-dearer", "fees": ["GPLX"], "kind": "fixed", "value": 150_000}],
            115_000,
            "tt63-gplx-online",
            id="a policy that would raise the price is ignored",
        ),
        pytest.param(
            [
                {
                    "id": "aa-gplx-fraction",
                    "fees": ["GPLX"],
                    "kind": "rate_percent",
                    "value": "33.3333",
                }
            ],
            45_000,
            "aa-gplx-fraction",
            id="a fractional rate survives the database: 33.3333 percent of 135000",
        ),
    ],
)
def test_policies_stored_in_the_database_never_stack(
    container: Container,
    catalog: dict[str, Any],
    extra: list[dict[str, Any]],
    amount: int,
    policy_id: str,
) -> None:
    add_reductions(container, *extra)
    line = quoted(container, GPLX, "online", date(2025, 6, 1))
    assert (line.amount, line.policy_id) == (amount, policy_id)


def test_quote_view_totals_the_lines_and_names_the_agency(
    container: Container, catalog: dict[str, Any]
) -> None:
    view = quote_view(DKDN, "online", date(2026, 6, 1), None, uow=container.uow(), principal=None)
    assert view["agency_code"] == "000.00.08.H40"
    assert (view["normal_total"], view["total_amount"]) == (150_000, 100_000)
    assert view["lines"][0]["reduction"] == {
        "policy_id": "dkdn-online",
        "legal_basis": "Thông tư 47/2019/TT-BTC, Điều 5"
        " (miễn lệ phí đăng ký doanh nghiệp qua mạng)",
        "kind": "exempt",
        "value": 0,
        "valid_from": None,
        "valid_to": None,
        "payer_categories": None,
    }
    assert view["lines"][1]["reduction"] is None


def test_a_quote_explains_the_tier_arithmetic_the_cap_and_the_policy_window(
    container: Container, catalog: dict[str, Any]
) -> None:
    uow = container.uow()
    ten = quote_view(CTBS, "counter", date(2026, 12, 5), None, uow=uow, principal=None)
    (line,) = ten["lines"]  # every fee once: one page
    assert line["arithmetic"] == "1 × 2.000 = 2.000"
    with container.uow() as u:
        _, (many,) = quote(u.session, CTBS, "counter", date(2026, 12, 5), None, (("CTBS", 250),))
    view = quote_line_view(many)
    assert view["arithmetic"] == "2 × 2.000 + 248 × 1.000 = 252.000, tối đa (cap) 200.000"
    assert (view["amount"], view["cap"], view["capped"]) == (200_000, 200_000, True)
    assert view["tiers"] == [
        {"from": 1, "to": 2, "per": "unit", "units": 2, "unit_amount": 2_000, "amount": 4_000},
        {"from": 3, "to": None, "per": "unit", "units": 248, "unit_amount": 1_000,
         "amount": 248_000},
    ]  # fmt: skip
    passport = quote_view(
        HC, "online", date(2026, 12, 5), ["student", DC], uow=container.uow(), principal=None
    )
    assert passport["payer_categories"] == ["student", DC]
    reduction = passport["lines"][0]["reduction"]
    assert (reduction["policy_id"], reduction["kind"]) == ("nq66-hochieu", "exempt")
    assert (reduction["valid_from"], reduction["valid_to"]) == (
        date(2026, 8, 15),
        date(2027, 2, 28),
    )
    assert "66.22/2026/NQ-CP" in reduction["legal_basis"]
    assert reduction["payer_categories"] == [DC]


# --- tiers and caps in the pure engine --------------------------------------------------------

LLTP_TIERS = (Tier(1, 2, 200_000, "tier"), Tier(3, None, 5_000, "unit"))
CTBS_TIERS = (Tier(1, 2, 2_000), Tier(3, None, 1_000))


@pytest.mark.parametrize(
    ("tiers", "cap", "quantity", "policies", "amount", "normal"),
    [
        pytest.param(LLTP_TIERS, None, 3, [], 205_000, 205_000, id="three extracts: 205,000"),
        pytest.param(LLTP_TIERS, None, 2, [], 200_000, 200_000, id="two extracts: one flat tier"),
        pytest.param(
            LLTP_TIERS,
            None,
            3,
            [policy(kind="fixed", value=100_000)],
            105_000,
            205_000,
            id="a fixed amount replaces the base tier, extra copies keep their price",
        ),
        pytest.param(
            LLTP_TIERS,
            None,
            4,
            [policy(value=50)],
            105_000,
            210_000,
            id="a rate scales every tier",
        ),
        pytest.param(CTBS_TIERS, 200_000, 10, [], 12_000, 12_000, id="ten pages: 12,000"),
        pytest.param(CTBS_TIERS, 200_000, 500, [], 200_000, 200_000, id="the cap per line"),
        pytest.param(
            CTBS_TIERS,
            200_000,
            500,
            [policy(value=50)],
            100_000,
            200_000,
            id="tiers and cap before the reduction: half of the capped line",
        ),
        pytest.param(
            CTBS_TIERS,
            200_000,
            500,
            [policy(kind="exempt", value=0)],
            0,
            200_000,
            id="exempt pays nothing whatever the tiers",
        ),
    ],
)
def test_tiers_and_caps_price_the_line_before_the_reduction(
    tiers: tuple[Tier, ...],
    cap: int | None,
    quantity: int,
    policies: list[PolicySpec],
    amount: int,
    normal: int,
) -> None:
    spec = FeeSpec("FEE", "Fee", "phi", tiers[0].amount, "basis", tiers, cap)
    line = price_line(spec, quantity, "online", None, IN_WINDOW, policies)
    assert (line.amount, line.normal_amount) == (amount, normal)


def test_a_payer_with_several_categories_gets_the_most_favourable_policy() -> None:
    policies = [
        policy("a-student", "fixed", 100_000, categories=("student",)),
        policy("b-digital", "exempt", 0, categories=("digital_citizen",)),
        policy("c-elderly", value=80, categories=("elderly",)),
    ]
    both = price_line(fee(), 1, "online", ["student", "digital_citizen"], IN_WINDOW, policies)
    assert (both.amount, both.policy_id) == (0, "b-digital")
    pair = price_line(fee(), 1, "online", ["elderly", "student"], IN_WINDOW, policies)
    assert (pair.amount, pair.policy_id) == (100_000, "a-student")
    none = price_line(fee(), 1, "online", ["veteran"], IN_WINDOW, policies)
    assert (none.amount, none.policy_id) == (200_000, None)


# --- over HTTP -----------------------------------------------------------------------------

Api = Callable[..., Any]


def get_quote(api: Api, **params: str) -> Any:
    s = api(["payments:read"])
    return s.get(f"{s.base_url}/api/v1/fees/quote", params=params, timeout=10)


def test_http_quote_shows_the_reduction_and_its_legal_basis(api: Api) -> None:
    resp = get_quote(api, procedure=GPLX, channel="online", date="2025-06-01")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["date"] == "2025-06-01"
    assert body["normal_total"] == 135_000 and body["total_amount"] == 115_000
    (line,) = body["lines"]
    assert (line["unit_normal_amount"], line["unit_amount"]) == (135_000, 115_000)
    assert line["reduction"] == {
        "policy_id": "tt63-gplx-online",
        "legal_basis": "Thông tư 63/2023/TT-BTC (lệ phí cấp GPLX trực tuyến 115.000 đồng)",
        "kind": "fixed",
        "value": 115_000,
        "valid_from": "2023-12-01",
        "valid_to": "2025-12-31",
        "payer_categories": None,
    }
    assert line["arithmetic"] == "1 × 135.000 = 135.000"


def test_http_quote_after_the_window_is_the_normal_amount(api: Api) -> None:
    resp = get_quote(api, procedure=GPLX, channel="online", date="2026-06-01")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total_amount"] == body["normal_total"] == 135_000
    assert body["lines"][0]["reduction"] is None


def test_http_quote_applies_the_payer_category(api: Api) -> None:
    resp = get_quote(api, procedure=LLTP, channel="counter", payer_category="student")
    assert resp.status_code == 200, resp.text
    assert resp.json()["payer_category"] == "student"
    assert resp.json()["total_amount"] == 100_000


def test_http_quote_with_an_unknown_channel_is_a_422_naming_the_field(api: Api) -> None:
    resp = get_quote(api, procedure=GPLX, channel="fax")
    assert resp.status_code == 422
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.json()["code"] == "validation-failed"
    assert set(resp.json()["errors"]) == {"channel"}


def test_http_quote_for_an_unknown_procedure_says_unknown_procedure(api: Api) -> None:
    resp = get_quote(api, procedure="9.999999", channel="online")
    assert resp.status_code == 422
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.json()["code"] == "unknown-procedure"


def test_http_quote_needs_a_token(api: Api) -> None:
    s = api(["payments:read"])
    resp = requests.get(
        f"{s.base_url}/api/v1/fees/quote",
        params={"procedure": GPLX, "channel": "online"},
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthorized"


def test_http_quote_for_another_agencys_procedure_is_forbidden(api: Api) -> None:
    s = api(["payments:read"], ["000.00.12.H40"])
    resp = s.get(
        f"{s.base_url}/api/v1/fees/quote",
        params={"procedure": GPLX, "channel": "online"},
        timeout=10,
    )
    assert resp.status_code == 403
    assert resp.json()["code"] == "forbidden"


def test_http_quote_takes_several_categories_and_the_best_one_wins(api: Api) -> None:
    resp = get_quote(
        api, procedure=LLTP, channel="online", date="2026-12-05",
        payer_categories="student,digital_citizen",
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["payer_categories"] == ["student", "digital_citizen"]
    assert (body["total_amount"], body["lines"][0]["reduction"]["policy_id"]) == (0, "nq66-lltp")


@pytest.mark.parametrize("category", ["alien", "studnet"])
def test_http_quote_with_an_unknown_category_is_a_422_naming_it(api: Api, category: str) -> None:
    resp = get_quote(api, procedure=LLTP, channel="counter", payer_category=category)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "unknown-payer-category"
    assert category in resp.json()["detail"] and resp.json()["value"] == category


def create_request(api: Api, **overrides: Any) -> Any:
    s = api(["payments:write"])
    body = payment_request_body(**overrides)
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    return s.post(f"{s.base_url}/api/v1/payment-requests", json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "payer",
    [
        {"name": "Trần Thị Bình", "category": "alien"},
        {"name": "Trần Thị Bình", "categories": ["student", "studnet"]},
    ],
)
def test_a_payment_request_with_an_unknown_category_is_refused_not_charged_in_full(
    api: Api, payer: dict[str, Any]
) -> None:
    resp = create_request(api, payer=payer, channel="counter")
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "unknown-payer-category"
    assert resp.json()["value"] in {"alien", "studnet"}


def test_a_payment_request_with_several_categories_pays_the_best_rate(api: Api) -> None:
    payer = {"name": "Lê Văn Cường", "categories": ["student"], "category": "digital_citizen"}
    resp = create_request(api, payer=payer, channel="online_partial")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["total_amount"] == 0 and body["lines"][0]["reduction"]["policy_id"] == "nq66-lltp"
    assert body["payer"]["categories"] == ["student", "digital_citizen"]
    counter = create_request(api, payer=payer, channel="counter", dossier_code="H40.12-counter")
    assert counter.json()["total_amount"] == 100_000


def test_a_payment_request_for_an_unknown_fee_is_a_422_naming_it(api: Api) -> None:
    resp = create_request(api, items=[{"fee_code": "NOPE", "quantity": 1}])
    assert resp.status_code == 422, resp.text
    assert (resp.json()["code"], resp.json()["value"]) == ("unknown-fee", "NOPE")
    assert "items.0.fee_code" in resp.json()["errors"]


def test_three_lltp_extracts_in_one_request_cost_205000(api: Api) -> None:
    resp = create_request(api, channel="counter", items=[{"fee_code": "LLTP", "quantity": 3}])
    assert resp.status_code == 201, resp.text
    assert resp.json()["total_amount"] == 205_000


# --- reading the catalog ----------------------------------------------------------------------


def test_http_procedures_of_an_agency_carry_fees_tiers_and_the_policies_in_force(
    api: Api,
) -> None:
    s = api(["payments:read"])
    url = f"{s.base_url}/api/v1/procedures"
    resp = s.get(url, params={"agency": "000.00.12.H40", "date": "2026-12-05"}, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    by_code = {p["code"]: p for p in body["items"]}
    assert {p["agency_code"] for p in body["items"]} == {"000.00.12.H40"}
    ctbs = by_code[CTBS]["fees"][0]
    assert (ctbs["cap"], ctbs["tiers"][1]) == (
        200_000,
        {"from": 3, "to": None, "amount": 1_000, "per": "unit"},
    )
    assert "226/2016" in ctbs["legal_basis"]
    ids = {r["id"] for r in by_code[LLTP]["reductions"]}
    assert ids == {"lltp-uu-dai", "lltp-mien", "nq66-lltp"}
    later = s.get(url, params={"agency": "000.00.12.H40", "date": "2027-03-01"}, timeout=10)
    later_ids = {
        r["id"] for p in later.json()["items"] if p["code"] == LLTP for r in p["reductions"]
    }
    assert later_ids == {"lltp-uu-dai", "lltp-mien"}
    assert s.get(url, params={"agency": "bad code"}, timeout=10).status_code == 422


def test_http_procedures_show_a_limited_client_only_its_agencies(api: Api) -> None:
    s = api(["payments:read"], ["000.00.30.H40"])
    resp = s.get(f"{s.base_url}/api/v1/procedures", timeout=10)
    assert resp.status_code == 200, resp.text
    assert {p["agency_code"] for p in resp.json()["items"]} == {"000.00.30.H40"}


def test_http_payer_categories_list_the_catalogs_codes_with_their_names(api: Api) -> None:
    s = api(["payments:read"])
    resp = s.get(f"{s.base_url}/api/v1/payer-categories", timeout=10)
    assert resp.status_code == 200, resp.text
    names = {c["code"]: c["name"] for c in resp.json()["items"]}
    assert names["digital_citizen"].startswith("Công dân số")
    assert {"student", "martyr_relative", "child"} <= set(names)


def test_the_catalog_reading_endpoints_are_in_the_openapi_document(api: Api) -> None:
    s = api(["payments:read"])
    paths = s.get(f"{s.base_url}/api/openapi.json", timeout=10).json()["paths"]
    assert {"agency", "date"} <= {
        p["name"] for p in paths["/api/v1/procedures"]["get"]["parameters"]
    }
    assert "get" in paths["/api/v1/payer-categories"]
