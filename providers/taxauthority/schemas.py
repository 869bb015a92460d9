"""Tax-authority wire format: our design for the receipt data interface.

Endpoints (relative to ``THUPHI_TAX_URL``):

- ``POST /api/v1/summaries`` — JSON, the same-day summary of issued receipts (Mẫu 01/TH-BLĐT,
  bảng tổng hợp dữ liệu biên lai điện tử);
- ``POST /api/v1/receipts`` — ``application/xml``, one signed receipt XML document.

Every request carries ``X-Submission-Id`` (the outbox row id). The server keeps what it accepted
under that id and answers a repeat with the same result, so a retry after a lost answer is safe.
A 2xx answer ``{"accepted": true, "id": "<their id>"}`` means accepted; ``{"accepted": false,
"errors": [...]}`` (HTTP 422) means refused for good; 429 and 5xx mean try again later.

Summary document (``SummaryDocument``, the columns of TT 91/2026 Phụ lục III)::

    {"form": "01/TH-BLĐT", "agency_tax_code": "3000123456", "agency_code": "000.00.12.H40",
     "agency_name": "Sở Tư pháp tỉnh Hà Tĩnh", "date": "2026-11-23",
     "sending": "first" | "supplement", "supplement_number": 0, "late": false,
     "template": "EBL01", "series": "26TAB", "from_number": 41, "to_number": 43, "count": 3,
     "currency": "VND", "totals": {"phi": 400000, "le_phi": 100000, "total": 500000},
     "receipts": [{"stt": 1, "template": "EBL01", "series": "26TAB", "number": 41,
                   "date": "2026-11-23", "kind": "phi", "issued_at": "2026-11-23T02:15:00Z",
                   "fee_name": "Phí cung cấp thông tin lý lịch tư pháp",
                   "payer_name": "Nguyễn Văn A", "amount": 200000, "exchange_rate": 1,
                   "status": "new", "status_label": "Mới", "corrected_period": null,
                   "related_receipt": null, "explanation": null, "note": null}, ...],
     "corrections": [{"stt": 4, "number": 17, "date": "2026-11-20", ...,
                      "status": "information_corrected", "status_label": "Điều chỉnh thông tin",
                      "corrected_period": "2026-11-20", "related_receipt": "EBL01-26TAB-00000017",
                      "explanation": "<the notice's reason>", "note": "04/SS-CTĐT #5",
                      "notice_id": 5}],
     "signed_xml": "<base64 of the same summary as XML, signed by the agency>"}

A day may have several sendings: the first at the configured time, then supplements for later
receipts (each continuous in numbers); ``late`` marks a catch-up sent after the day.
``corrections`` (may be absent) holds receipts whose information a 04/SS-CTĐT notice of that day
corrected: rows of the same shape, status ``information_corrected``, outside ``count``, the
number range and the totals (a sending may carry only corrections: then ``from_number`` is
``to_number`` + 1 and ``receipts`` is empty).

Numbers are continuous within a series: ``receipts`` holds every number from ``from_number`` to
``to_number`` once; amounts are integers of đồng; ``date`` is the Vietnam business day.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, TypeGuard

SUMMARIES_PATH = "/api/v1/summaries"
NOTICES_PATH = "/api/v1/notices"  # Mẫu 04/SS-CTĐT, JSON (``NoticeDocument``)
NOTICE_FORM = "04/SS-CTĐT"
RECEIPTS_PATH = "/api/v1/receipts"
SUBMISSION_HEADER = "X-Submission-Id"
SUMMARY_FORM = "01/TH-BLĐT"
KINDS = ("phi", "le_phi")


class SummaryTotals(TypedDict):
    phi: int
    le_phi: int
    total: int


class SummaryReceipt(TypedDict, total=False):
    stt: int
    template: str
    series: str
    number: int
    date: str
    kind: str
    issued_at: str
    fee_name: str  # tên phí, lệ phí: the names of the receipt's fees
    payer_name: str
    amount: int
    exchange_rate: int  # tỷ giá: 1 for VND
    status: str  # new | information_corrected | replaced | adjusted
    status_label: str  # Mới | Điều chỉnh thông tin | Thay thế | Điều chỉnh
    corrected_period: str | None
    related_receipt: str | None  # template-series-number of the receipt it replaces/corrects
    replaces: str | None
    explanation: str | None
    note: str | None
    notice_id: int  # on a correction: the 04/SS-CTĐT notice that corrected the receipt


class SummaryDocument(TypedDict, total=False):
    form: str  # "01/TH-BLĐT"
    agency_name: str
    sending: str  # "first" (lần đầu) | "supplement" (bổ sung)
    supplement_number: int
    late: bool  # sent after the day the receipts were issued
    currency: str
    signed_xml: str  # base64 of the summary XML signed by the agency
    agency_tax_code: str
    agency_code: str
    date: str
    template: str
    series: str
    from_number: int
    to_number: int
    count: int
    totals: SummaryTotals
    receipts: list[SummaryReceipt]
    corrections: list[SummaryReceipt]  # information corrected by a 04/SS-CTĐT notice


class NoticeReceipt(TypedDict):
    template: str
    series: str
    number: int
    date: str
    nature: str  # tính chất: "Điều chỉnh thông tin" (a name/address error)
    reason: str


class NoticeDocument(TypedDict):
    """Mẫu 04/SS-CTĐT: the collector notifies an error in receipts it issued."""

    form: str
    agency_tax_code: str
    agency_name: str
    date: str  # the notice's date (Vietnam)
    receipts: list[NoticeReceipt]
    corrected: dict[str, str | None]  # payer_name, payer_address as they should have been


def notice_problems(notice: Mapping[str, Any]) -> list[str]:
    """Inconsistencies in a notice document (empty when it is sound)."""
    problems = [
        f"{name} is required"
        for name in ("form", "agency_tax_code", "date")
        if not isinstance(notice.get(name), str) or not notice[name]
    ]
    rows = notice.get("receipts")
    if not isinstance(rows, list) or not rows:
        problems.append("a notice names at least one receipt")
    elif not all(isinstance(r, dict) and _is_int(r.get("number")) for r in rows):
        problems.append("every receipt needs an integer number")
    return problems


def summary_problems(summary: Mapping[str, Any]) -> list[str]:
    """Inconsistencies in a summary document (empty when it is sound); used by both sides."""
    receipts = summary.get("receipts")
    totals = summary.get("totals")
    if not isinstance(receipts, list) or not isinstance(totals, dict):
        return ["receipts and totals are required"]
    if not all(isinstance(r, dict) and _is_int(r.get("number")) for r in receipts):
        return ["every receipt needs an integer number"]
    problems = [
        f"{name} is required"
        for name in ("agency_tax_code", "date", "template", "series")
        if not isinstance(summary.get(name), str) or not summary[name]
    ]
    if summary.get("count") != len(receipts):
        problems.append("count does not match receipts")
    first, last = summary.get("from_number"), summary.get("to_number")
    expected = list(range(first, last + 1)) if _is_int(first) and _is_int(last) else None
    if sorted(r["number"] for r in receipts) != expected:
        problems.append("receipt numbers are not continuous from_number..to_number")
    for kind in KINDS:
        if totals.get(kind) != sum(r.get("amount", 0) for r in receipts if r.get("kind") == kind):
            problems.append(f"totals.{kind} does not match receipts")
    if totals.get("total") != sum(totals.get(kind, 0) for kind in KINDS):
        problems.append("totals.total is not phi + le_phi")
    corrections = summary.get("corrections", [])
    if not isinstance(corrections, list) or not all(_is_correction(r) for r in corrections):
        problems.append("a correction is an information_corrected row naming its receipt")
    return problems


def _is_correction(row: object) -> bool:
    return (
        isinstance(row, dict)
        and row.get("status") == "information_corrected"
        and _is_int(row.get("number"))
        and bool(row.get("related_receipt"))
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
