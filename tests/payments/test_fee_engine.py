"""Fee rules as tables: the pure engine, the demo catalog through the database, and over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from payments.catalog.services import import_catalog
from payments.fees.engine import FeeSpec, PolicySpec, QuoteLine, price_line, price_procedure
from payments.http import Container
from payments.payment_requests.services import quote, quote_view

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


# --- the demo catalog, through the database ------------------------------------------------

GPLX, HC, LLTP, CTBS, DKDN, HT = (
    "1.012345",  # driving licence (GPLX): 135,000; 115,000 online 2023-12-01..2025-12-31
    "2.002163",  # passport (HC): 200,000; 90 % online 2024-01-01..2025-12-31
    "1.001234",  # criminal-record extract (LLTP): 200,000; student 100,000; child exempt
    "2.000815",  # certified copies (CTBS): 2,000 a page; 50 % online until 2025-12-31
    "2.001610",  # enterprise registration: DKDN exempt online, CBTT never reduced
    "1.001193",  # HT-NCMC 15,555; 50 % online from 2024-01-01, no end
)

# (procedure, channel, date, category, items) → [(fee code, quantity, amount, policy id)]
# fmt: off
CATALOG_CASES: list[Any] = [
    # Thông tư 63/2023 driving licence: fixed 115,000 online, window edges
    pytest.param(GPLX, "online", date(2023, 11, 30), None, None, [("GPLX", 1, 135_000, None)],
                 id="GPLX online the day before the window"),
    pytest.param(GPLX, "online", date(2023, 12, 1), None, None,
                 [("GPLX", 1, 115_000, "tt63-gplx-online")], id="GPLX online on the first day"),
    pytest.param(GPLX, "online", date(2025, 12, 31), None, None,
                 [("GPLX", 1, 115_000, "tt63-gplx-online")], id="GPLX online on the last day"),
    pytest.param(GPLX, "online", date(2026, 1, 1), None, None, [("GPLX", 1, 135_000, None)],
                 id="GPLX online the day after the window"),
    *[
        pytest.param(GPLX, channel, date(2025, 6, 1), None, None, [("GPLX", 1, 135_000, None)],
                     id=f"GPLX {channel} in the window pays the normal amount")
        for channel in ("online_partial", "counter", "postal")
    ],
    # Thông tư 63/2023 passport: 90 % online, window edges
    pytest.param(HC, "online", date(2023, 12, 31), None, None, [("HC", 1, 200_000, None)],
                 id="HC online the day before the window"),
    pytest.param(HC, "online", date(2024, 1, 1), None, None,
                 [("HC", 1, 180_000, "tt63-hochieu-online")], id="HC online on the first day"),
    pytest.param(HC, "online", date(2025, 12, 31), None, None,
                 [("HC", 1, 180_000, "tt63-hochieu-online")], id="HC online on the last day"),
    pytest.param(HC, "online", date(2026, 1, 1), None, None, [("HC", 1, 200_000, None)],
                 id="HC online the day after the window"),
    *[
        pytest.param(HC, channel, date(2025, 6, 1), None, None, [("HC", 1, 200_000, None)],
                     id=f"HC {channel} in the window pays the normal amount")
        for channel in ("online_partial", "counter", "postal")
    ],
    # payer categories on every channel
    *[
        pytest.param(LLTP, channel, date(2026, 6, 1), category, None,
                     [("LLTP", 1, amount, pid)], id=f"LLTP {category} on {channel}")
        for channel in ALL_CHANNELS
        for category, amount, pid in [
            ("student", 100_000, "lltp-sinhvien"),
            ("child", 0, "lltp-mienphi"),
            ("veteran", 200_000, None),
            (None, 200_000, None),
        ]
    ],
    # several fees, each on its own
    pytest.param(DKDN, "online", date(2026, 6, 1), None, None,
                 [("DKDN", 1, 0, "dkdn-online"), ("CBTT", 1, 100_000, None)],
                 id="enterprise registration online: one fee exempt, the other normal"),
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
    # quantities
    pytest.param(CTBS, "online", date(2025, 6, 1), None, (("CTBS", 7),),
                 [("CTBS", 7, 7_000, "ctbs-online-tt63")],
                 id="CTBS 7 pages online in the window: 1000 a page"),
    pytest.param(CTBS, "counter", date(2025, 6, 1), None, (("CTBS", 7),),
                 [("CTBS", 7, 14_000, None)], id="CTBS 7 pages at the counter: 2000 a page"),
    pytest.param(CTBS, "online", date(2026, 6, 1), None, (("CTBS", 4), ("CTBS", 3)),
                 [("CTBS", 7, 14_000, None)],
                 id="CTBS items of one fee add up, after the window: 2000 a page"),
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
    category: str | None,
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
    }
    assert view["lines"][1]["reduction"] is None


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
    }


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
