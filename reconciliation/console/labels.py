"""The one catalogue of labels for the codes the console shows: every stored code (statuses,
providers, transaction states, flags, reasons, rules, actions, audit entries, formats, …) is
rendered through ``label(family, code)`` in Vietnamese, or English when the officer chose it.

A code missing here renders as "Khác" (with the code in a tooltip), never as raw text: a test
walks every page and fails on any code in the visible text (tests/browser/test_console_pages.py).
"""

from __future__ import annotations

import re
from typing import Any

from payments.checkout.services import PAYER_CATEGORIES
from payments.payment_requests import state
from payments.transactions.models import AttemptStatus, TxnState
from receipts.models import TaxStatus

Pair = tuple[str, str]  # (vi, en)

# families keyed by a state enum take their codes from it (StrEnum members are their strings)
LABELS: dict[str, dict[str, Pair]] = {
    "request_status": state.OFFICER_WORDS,
    "provider": {
        "bank": ("Chuyển khoản VietQR", "VietQR transfer"),
        "paygov": ("Cổng DVC quốc gia", "National portal"),
        "pos": ("Thẻ tại quầy (POS)", "Card at the counter (POS)"),
        "statement": ("Theo sao kê ngân hàng", "From the bank statement"),
        "bank_transfer": ("Chuyển khoản ngân hàng", "Bank transfer"),
    },
    "txn_state": {
        TxnState.APPLIED: ("Đã ghi nhận", "Applied"),
        TxnState.REVERSED: ("Đã đảo", "Reversed"),
        TxnState.UNMATCHED: ("Chưa khớp yêu cầu", "Unmatched"),
        TxnState.RECORDED: ("Đã lưu", "Recorded"),
        TxnState.PENDING: ("Đang chờ", "Pending"),
        TxnState.FAILED: ("Thất bại", "Failed"),
    },
    "attempt_status": {  # a national-portal payment attempt
        AttemptStatus.PENDING: ("Đang chờ kết quả", "Pending"),
        AttemptStatus.PAID: ("Đã thanh toán", "Paid"),
        AttemptStatus.FAILED: ("Không thành công", "Failed"),
    },
    "txn_kind": {
        "payment": ("Thanh toán", "Payment"),
        "void": ("Hủy giao dịch thẻ", "Card void"),
        "settlement": ("Kết toán lô POS", "POS settlement"),
        "transfer_in": ("Tiền chuyển đến", "Incoming transfer"),
        "transfer_out": ("Tiền chuyển đi", "Outgoing transfer"),
    },
    "flag": {
        "reference_corrected": ("Đã sửa mã thanh toán", "Reference corrected"),
        "late_payment": ("Nộp sau hạn", "Late payment"),
        "overpayment": ("Nộp thừa", "Overpayment"),
        "duplicate_payment": ("Nộp trùng", "Duplicate payment"),
        "amount_conflict": ("Trùng mã giao dịch, khác số tiền", "Same id, other amount"),
        "refund_due": ("Cần hoàn tiền", "Refund due"),
    },
    "outcome": {
        "applied": ("Đã ghi nhận", "Applied"),
        "duplicate": ("Trùng (đã có)", "Duplicate"),
        "conflict": ("Mâu thuẫn", "Conflict"),
        "rejected": ("Bị từ chối", "Rejected"),
        "unmatched": ("Chưa khớp yêu cầu", "Unmatched"),
        "recorded": ("Đã lưu", "Recorded"),
        "pending": ("Đang chờ", "Pending"),
        "failed": ("Thất bại", "Failed"),
        "reversed": ("Đã đảo", "Reversed"),
    },
    "message_reason": {
        "missing_signature": ("Thiếu chữ ký", "Missing signature"),
        "bad_signature": ("Sai chữ ký", "Bad signature"),
        "stale_timestamp": ("Quá hạn thời gian", "Stale timestamp"),
        "malformed": ("Sai định dạng", "Malformed"),
        "unauthorized": ("Không có quyền", "Unauthorized"),
        "unmasked_pan": ("Lộ số thẻ", "Unmasked card number"),
        "unexpected_message": ("Bản tin không mong đợi", "Unexpected message"),
        "amount_conflict": ("Trùng mã giao dịch, khác số tiền", "Same id, other amount"),
        "unknown_reference": ("Không rõ mã thanh toán", "Unknown reference"),
        "unknown_account": ("Tài khoản nhận không thuộc hệ thống", "Unknown account"),
        "wrong_account": ("Chuyển nhầm tài khoản của cơ quan khác", "Wrong account"),
        "amount_mismatch": ("Sai số tiền", "Amount mismatch"),
        "currency": ("Sai loại tiền", "Wrong currency"),
    },
    "exception_reason": {
        "unknown_credit": ("Tiền chưa rõ nguồn", "Unknown credit"),
        "missing_credit": ("Thiếu tiền về tài khoản", "Missing credit"),
        "amount_mismatch": ("Sai số tiền", "Amount mismatch"),
        "duplicate_payment": ("Nộp trùng", "Duplicate payment"),
        "late_payment": ("Nộp sau khi hết hạn/hủy", "Late payment"),
        "balance_mismatch": ("Lệch số dư", "Balance mismatch"),
    },
    "exception_status": {
        "open": ("Chưa xử lý", "Open"),
        "resolved": ("Đã xử lý", "Resolved"),
    },
    "match_status": {
        "matched": ("Tự động khớp", "Matched"),
        "proposed": ("Đề xuất", "Proposed"),
        "confirmed": ("Kế toán xác nhận", "Confirmed"),
    },
    "rule": {
        "manual": ("Kế toán xác nhận", "Officer"),
        "provider_txn": ("Mã giao dịch", "Provider transaction"),
        "reference": ("Mã thanh toán + số tiền", "Reference + amount"),
        "reference_typo": ("Mã thanh toán sai 1 ký tự", "Reference with a typo"),
        "pos_batch": ("Lô POS", "POS batch"),
        "amount_date_name": ("Số tiền, ngày, tên", "Amount, date, name"),
    },
    "action": {
        "link_to_request": ("Gắn với yêu cầu thanh toán", "Link to a request"),
        "confirm_proposal": ("Xác nhận đề xuất", "Confirm the proposal"),
        "mark_for_refund": ("Đánh dấu hoàn tiền", "Mark for refund"),
        "book_as_bank_fee": ("Hạch toán phí ngân hàng", "Book as bank fee"),
        "dismiss": ("Bỏ qua (ghi rõ lý do)", "Dismiss (with a note)"),
        "undo": ("Hoàn tác xử lý", "Undo"),
    },
    "audit": {
        "reconciliation_run": ("Chạy đối soát", "Reconciliation run"),
        "exception_resolved": ("Xử lý chênh lệch", "Exception resolved"),
        "resolution_undone": ("Hoàn tác xử lý", "Resolution undone"),
        "statement_imported": ("Nhập sao kê", "Statement imported"),
        "summary": ("Báo cáo tổng hợp", "Summary"),
    },
    "entity": {
        "run": ("Lần đối soát", "Run"),
        "exception": ("Chênh lệch", "Exception"),
        "statement": ("Sao kê", "Statement"),
        "receipt": ("Biên lai", "Receipt"),
    },
    "run_status": {
        "reconciled": ("Đã khớp", "Reconciled"),
        "balanced": ("Đã khớp", "Balanced"),
        "open_items": ("Còn việc cần xử lý", "Open items"),
        "exceptions": ("Còn chênh lệch", "Exceptions"),
    },
    "format": {
        "csv": ("CSV chung", "Generic CSV"),
        "vietcombank": ("Vietcombank (Excel/CSV)", "Vietcombank (Excel/CSV)"),
        "vietinbank": ("VietinBank (Excel/CSV)", "VietinBank (Excel/CSV)"),
        "bidv": ("BIDV (Excel/CSV)", "BIDV (Excel/CSV)"),
        "mt940": ("SWIFT MT940", "SWIFT MT940"),
        "camt053": ("ISO 20022 camt.053", "ISO 20022 camt.053"),
    },
    "reduction_kind": {
        "fixed": ("Giảm số tiền cố định", "Fixed amount off"),
        "rate_percent": ("Giảm theo tỷ lệ", "Percentage off"),
        "exempt": ("Miễn", "Exempt"),
    },
    "channel": {
        "online": ("Trực tuyến", "Online"),
        "counter": ("Tại quầy", "At the counter"),
        "postal": ("Bưu chính", "By post"),
    },
    "payer_category": PAYER_CATEGORIES,
    "receipt_kind": {
        "phi": ("Phí", "Fee (phí)"),
        "le_phi": ("Lệ phí", "Charge (lệ phí)"),
    },
    "receipt_status": {
        "issued": ("Đã phát hành", "Issued"),
        "replaced": ("Đã bị thay thế", "Replaced"),
        "cancelled": ("Đã hủy", "Cancelled"),
    },
    "tax_status": {
        "pending": ("Chờ chấp nhận", "Pending"),
        "accepted": ("Đã chấp nhận", "Accepted"),
        "rejected": ("Bị từ chối", "Rejected"),
    },
    # what a replacement that corrected the amounts means for the money (receipts.services)
    "money_consequence": {
        "none": ("Số tiền không đổi", "Amount unchanged"),
        "refund_due": ("Cần hoàn trả cho người nộp", "Refund due to the payer"),
        "additional_payment_due": ("Đã lập yêu cầu nộp thêm", "Additional payment requested"),
    },
    "notice_tax_status": {  # a Mẫu 04/SS-CTĐT error notice at the tax authority
        TaxStatus.PENDING: ("Đang gửi cơ quan thuế", "Being sent to the tax authority"),
        TaxStatus.ACCEPTED: ("Cơ quan thuế đã tiếp nhận", "Received by the tax authority"),
    },
    "day_state": {
        "no_statement": ("Chưa có sao kê", "No statement"),
        "not_run": ("Chưa đối soát", "Not reconciled"),
        "ok": ("Khớp", "Reconciled"),
        "open": ("Còn chênh lệch", "Open exceptions"),
    },
    "balance_check": {
        "ok": ("Khớp số dư", "Balances agree"),
        "mismatch": ("Lệch số dư", "Balance mismatch"),
        "none": ("Sao kê không có số dư", "No balances on the statement"),
    },
    "role": {
        "officer": ("Kế toán", "Officer"),
        "admin": ("Quản trị", "Administrator"),
    },
}
OTHER: Pair = ("Khác", "Other")


def label(family: str, code: Any, lang: str = "vi") -> str:
    """The code in words; "Khác"/"Other" for a code the catalogue does not know yet."""
    pair = LABELS.get(family, {}).get(str(code or ""), OTHER)
    return pair[1] if lang == "en" else pair[0]


def known(family: str, code: Any) -> bool:
    return str(code or "") in LABELS.get(family, {})


def every_code() -> set[str]:
    """Every code of the catalogue that looks like one (snake_case or a single lowercase word
    written the way the code stores it): what no page may show as visible text."""
    return {
        code
        for family in LABELS.values()
        for code in family
        if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", code)
    }


# the English detail the matching engine writes, read back into the catalogue's words
_DETAILS: tuple[tuple[re.Pattern[str], Pair], ...] = (
    (
        re.compile(r"received (?P<a>-?\d+), due (?P<b>-?\d+)"),
        ("Nhận {a}, phải nộp {b}", "Received {a}, due {b}"),
    ),
    (
        re.compile(r"opening (?P<a>-?\d+) \+ lines (?P<b>-?\d+) ≠ closing (?P<c>-?\d+)"),
        ("Số dư đầu {a} + phát sinh {b} ≠ số dư cuối {c}", "Opening {a} + lines {b} ≠ closing {c}"),
    ),
    (
        re.compile(r"no request for reference (?P<r>\w+)"),
        ("Không có yêu cầu với mã {r}", "No request for reference {r}"),
    ),
    (
        re.compile(r"proposed: request (?P<r>\w+)"),
        ("Đề xuất: yêu cầu {r} (khớp số tiền, ngày, tên)", "Proposed: request {r}"),
    ),
    (
        re.compile(r"request is (?P<s>\w+)"),
        ("Yêu cầu đang ở trạng thái: {s}", "The request is {s}"),
    ),
    (
        re.compile(r"(?P<p>\w+) transaction (?P<r>\S+) has no statement credit"),
        ("Giao dịch {p} chưa có khoản ghi có trên sao kê", "{p} transaction has no credit"),
    ),
    (
        re.compile(r"POS batch (?P<r>\S+) settled without a statement credit"),
        ("Lô POS {r} đã kết toán nhưng chưa có tiền về", "POS batch {r} settled, no credit"),
    ),
)


def explain(detail: str, lang: str = "vi", money: Any = str) -> str:
    """An exception's detail in words: amounts formatted, codes labelled; "" if unknown."""
    for pattern, pair in _DETAILS:
        found = pattern.search(detail or "")
        if found is None:
            continue
        values = dict(found.groupdict())
        for key in ("a", "b", "c"):
            if key in values:
                values[key] = money(int(values[key]))
        if "s" in values:
            values["s"] = label("request_status", values["s"], lang)
        if "p" in values:
            values["p"] = label("provider", values["p"], lang)
        return (pair[1] if lang == "en" else pair[0]).format(**values)
    return ""


# marshmallow's messages, and ours, in the officer's language
_FIELD_MESSAGES: dict[str, str] = {
    "Missing data for required field.": "Bắt buộc nhập.",
    "Not a valid UUID.": "Không phải mã yêu cầu hợp lệ.",
    "Unknown field.": "Thông tin không được nhận.",
    "Field may not be null.": "Bắt buộc nhập.",
}


def field_message(message: str, lang: str = "vi") -> str:
    """A form error in words: ours are written in the officer's language already."""
    if lang == "en" or not message.isascii():
        return message
    if message.startswith("Must be one of"):
        return "Giá trị không hợp lệ."
    if message.startswith(("Length must be", "Shorter than", "Longer than")):
        return "Độ dài không hợp lệ."
    return _FIELD_MESSAGES.get(message, "Giá trị không hợp lệ.")
