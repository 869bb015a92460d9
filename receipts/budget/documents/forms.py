"""The layout the declaration documents share: the form's heading, its numbered columns and
rows, from the JSON view of a declaration (monthly, 01/PHLP) or settlement (yearly, 02/PHLP).

Columns after the forms of TT 80/2021/TT-BTC as the tax authority's stylesheets print them
(docs/budget.md "Declaration forms"). Column (7) is the form's "trích để lại": everything the
collector does not owe the budget (kept, and transferred to another body where a circular says
so), summed from receipt lines rounded half-up each, so (8) = (5) − (7) to the đồng.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Cell = str | int | None

TITLES = {"01/PHLP": "TỜ KHAI PHÍ, LỆ PHÍ", "02/PHLP": "TỜ KHAI QUYẾT TOÁN PHÍ, LỆ PHÍ"}
BASIS = "(Theo mẫu của Thông tư số 80/2021/TT-BTC; TT 89/2026/TT-BTC Điều 26 k3)"
COUNTRY = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
UNIT = "Đơn vị tiền: Đồng Việt Nam"
DECLARATION_COLUMNS = (
    ("STT", "(1)"),
    ("Loại phí, lệ phí", "(2)"),
    ("Mã chương", "(3)"),
    ("Tiểu mục", "(4)"),
    ("Số tiền phí, lệ phí thu được", "(5)"),
    ("Tỷ lệ trích để lại theo chế độ (%)", "(6)"),
    ("Số tiền phí, lệ phí trích để lại theo chế độ", "(7)"),
    ("Số tiền phí, lệ phí phải nộp NSNN", "(8) = (5) − (7)"),
)
SETTLEMENT_COLUMNS = (
    *DECLARATION_COLUMNS,
    ("Số tiền phí, lệ phí đã kê khai trong kỳ", "(9)"),
    ("Chênh lệch giữa số quyết toán và số đã kê khai", "(10) = (8) − (9)"),
)
REMITTED_COLUMNS = (
    ("STT", "(1)"),
    ("Loại phí, lệ phí", "(2)"),
    ("Số phải nộp NSNN", "(3)"),
    ("Số đã nộp NSNN", "(4)"),
    ("Số còn phải nộp (+) / nộp thừa (−)", "(5) = (3) − (4)"),
)


@dataclass
class Table:
    columns: tuple[tuple[str, str], ...]
    rows: list[list[Cell]]
    total: list[Cell]
    money: frozenset[int]  # indexes of the columns holding đồng
    widths: tuple[int, ...] = field(default=())


def is_settlement(doc: dict[str, Any]) -> bool:
    return bool(doc["form"] == "02/PHLP")


def title(doc: dict[str, Any]) -> str:
    return TITLES[doc["form"]]


def period_text(doc: dict[str, Any]) -> str:
    if is_settlement(doc):
        return f"Năm {doc['period']}"
    year, month = doc["period"].split("-")
    return f"Tháng {int(month):02d} năm {year}"


def heading(doc: dict[str, Any]) -> list[str]:
    """The numbered heading fields: period, first or supplement, taxpayer, tax code."""
    supplement = int(doc.get("supplement") or 0)
    return [
        f"[01] Kỳ tính thuế: {period_text(doc)}",
        f"[02] Lần đầu: [{' ' if supplement else 'X'}]    "
        f"[03] Bổ sung lần thứ: [{supplement or ' '}]",
        f"[04] Tên người nộp thuế: {doc['agency_name']}",
        f"[05] Mã số thuế: {doc['tax_code']}",
        f"Mã đơn vị: {doc['agency_code']}",
    ]


def form_table(doc: dict[str, Any]) -> Table:
    settlement = is_settlement(doc)
    rows: list[list[Cell]] = []
    for index, line in enumerate(doc["lines"], start=1):
        row: list[Cell] = [
            index,
            line["fee_name"],
            line["chapter"],
            line["sub_item"],
            line["collected"],
            line["not_owed_percent"],
            line["collected"] - line["owed"],
            line["owed"],
        ]
        if settlement:
            row += [line["declared"], line["difference"]]
        rows.append(row)
    t = doc["totals"]
    total: list[Cell] = ["", "Tổng cộng", None, None, t["collected"], None]
    total += [t["collected"] - t["owed"], t["owed"]]
    if settlement:
        total += [t["declared"], t["difference"]]
    columns = SETTLEMENT_COLUMNS if settlement else DECLARATION_COLUMNS
    money = frozenset({4, 6, 7, 8, 9} if settlement else {4, 6, 7})
    widths = (7, 44, 10, 10, 18, 12, 18, 18, 18, 18)[: len(columns)]
    return Table(columns, rows, total, money, widths)


def remitted_table(doc: dict[str, Any]) -> Table:
    """What the settlement's year owes and what was paid for it (thuphi's own table)."""
    rows: list[list[Cell]] = [
        [i, line["fee_name"], line["owed"], line["remitted"], line["outstanding"]]
        for i, line in enumerate(doc["lines"], start=1)
    ]
    t = doc["totals"]
    total: list[Cell] = ["", "Tổng cộng", t["owed"], t["remitted"], t["outstanding"]]
    return Table(REMITTED_COLUMNS, rows, total, frozenset({2, 3, 4}), (7, 44, 18, 18, 22))


def dong(amount: int) -> str:
    """``1234567`` → ``1.234.567`` (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".")
