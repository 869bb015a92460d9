"""Vietnamese first, English available: a small phrase book, chosen per session."""

from __future__ import annotations

from flask import request, session

LANGUAGES = ("vi", "en")

PHRASES: dict[str, dict[str, str]] = {
    "app_title": {"vi": "Thu phí — Bàn làm việc kế toán", "en": "thuphi — Finance console"},
    "login": {"vi": "Đăng nhập", "en": "Sign in"},
    "logout": {"vi": "Đăng xuất", "en": "Sign out"},
    "username": {"vi": "Tên đăng nhập", "en": "Username"},
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "wrong_login": {"vi": "Sai tên đăng nhập hoặc mật khẩu.", "en": "Wrong username or password."},
    "throttled": {
        "vi": "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút.",
        "en": "Too many failed sign-ins. Try again in 15 minutes.",
    },
    "dashboard": {"vi": "Tổng quan", "en": "Dashboard"},
    "payment_requests": {"vi": "Yêu cầu thanh toán", "en": "Payment requests"},
    "accounts": {"vi": "Tài khoản & sao kê", "en": "Accounts & statements"},
    "reconciliation": {"vi": "Đối soát", "en": "Reconciliation"},
    "receipts": {"vi": "Biên lai", "en": "Receipts"},
    "reports": {"vi": "Báo cáo", "en": "Reports"},
    "admin": {"vi": "Quản trị danh mục", "en": "Catalog admin"},
    "today": {"vi": "Hôm nay", "en": "Today"},
    "this_month": {"vi": "Tháng này", "en": "This month"},
    "collections_by_channel": {"vi": "Số thu theo kênh", "en": "Collections by channel"},
    "online_ratio": {
        "vi": "Tỷ lệ hồ sơ thanh toán trực tuyến (QĐ 766/QĐ-TTg)",
        "en": "Dossiers paid online (Decision 766/QĐ-TTg)",
    },
    "reductions": {"vi": "Miễn, giảm theo căn cứ pháp lý", "en": "Reductions by legal basis"},
    "attention": {"vi": "Cần xử lý", "en": "Needs attention"},
    "search": {"vi": "Tìm kiếm", "en": "Search"},
    "dossier_code": {"vi": "Mã hồ sơ", "en": "Dossier code"},
    "reference": {"vi": "Mã thanh toán", "en": "Reference"},
    "payer": {"vi": "Người nộp", "en": "Payer"},
    "amount": {"vi": "Số tiền", "en": "Amount"},
    "from_date": {"vi": "Từ ngày", "en": "From"},
    "to_date": {"vi": "Đến ngày", "en": "To"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "created": {"vi": "Ngày tạo", "en": "Created"},
    "total": {"vi": "Tổng cộng", "en": "Total"},
    "paid": {"vi": "Đã thu", "en": "Paid"},
    "procedure": {"vi": "Thủ tục", "en": "Procedure"},
    "lines": {"vi": "Các khoản phí, lệ phí", "en": "Fee lines"},
    "transactions": {"vi": "Giao dịch", "en": "Transactions"},
    "events": {"vi": "Nhật ký nhà cung cấp", "en": "Provider messages"},
    "no_results": {"vi": "Không có kết quả.", "en": "No results."},
    "parked_webhooks": {"vi": "Webhook tạm dừng", "en": "Parked webhooks"},
    "unpaid_open": {"vi": "Yêu cầu đang chờ", "en": "Open requests"},
    "language": {"vi": "English", "en": "Tiếng Việt"},
    "not_found": {"vi": "Không tìm thấy trang.", "en": "Page not found."},
    # accounts and statements
    "account": {"vi": "Tài khoản", "en": "Account"},
    "account_name": {"vi": "Tên tài khoản", "en": "Account name"},
    "agency": {"vi": "Cơ quan", "en": "Agency"},
    "statements": {"vi": "Sao kê", "en": "Statements"},
    "statement": {"vi": "Sao kê", "en": "Statement"},
    "last_import": {"vi": "Lần nhập gần nhất", "en": "Last import"},
    "calendar": {"vi": "Lịch đối soát", "en": "Reconciliation calendar"},
    "upload_statement": {"vi": "Tải lên sao kê ngân hàng", "en": "Upload a bank statement"},
    "statement_file": {"vi": "Tệp sao kê", "en": "Statement file"},
    "format": {"vi": "Định dạng", "en": "Format"},
    "format_auto": {"vi": "Tự nhận biết", "en": "Detect automatically"},
    "upload": {"vi": "Tải lên và nhập", "en": "Upload and import"},
    "uploading": {"vi": "Đang tải lên", "en": "Uploading"},
    "choose_file": {"vi": "Hãy chọn một tệp.", "en": "Choose a file."},
    "import_history": {"vi": "Lịch sử nhập sao kê", "en": "Import history"},
    "file": {"vi": "Tệp", "en": "File"},
    "period": {"vi": "Kỳ sao kê", "en": "Period"},
    "lines_total": {"vi": "Số dòng", "en": "Lines"},
    "lines_imported": {"vi": "Dòng đã nhập", "en": "Lines imported"},
    "lines_skipped": {"vi": "Dòng bỏ qua (đã có)", "en": "Lines skipped (already known)"},
    "imported_at": {"vi": "Thời điểm nhập", "en": "Imported at"},
    "by": {"vi": "Người thực hiện", "en": "By"},
    "import_done": {"vi": "Đã nhập sao kê", "en": "Statement imported"},
    "opening_balance": {"vi": "Số dư đầu kỳ", "en": "Opening balance"},
    "closing_balance": {"vi": "Số dư cuối kỳ", "en": "Closing balance"},
    "statement_lines": {"vi": "Các dòng sao kê", "en": "Statement lines"},
    "statement_line": {"vi": "Dòng sao kê", "en": "Statement line"},
    "booking_date": {"vi": "Ngày hạch toán", "en": "Booking date"},
    "description": {"vi": "Nội dung", "en": "Description"},
    "counterparty": {"vi": "Người chuyển", "en": "Counterparty"},
    "reconcile_day": {"vi": "Đối soát ngày", "en": "Reconcile the day"},
    "truncated": {"vi": "Chỉ hiển thị 500 dòng đầu.", "en": "Only the first 500 lines are shown."},
    "no_new_lines": {
        "vi": "Tệp này không có dòng mới (mọi dòng đã được nhập trước đó).",
        "en": "This file brought no new lines (every line was already imported).",
    },
    "failed_line": {"vi": "Dòng lỗi", "en": "Line that failed"},
    # reconciliation
    "run_day": {"vi": "Đối soát ngày này", "en": "Run this day"},
    "run_summary": {"vi": "Kết quả đối soát", "en": "Run summary"},
    "rerun_day": {"vi": "Đối soát lại ngày này", "en": "Re-run this day"},
    "not_run_yet": {"vi": "Ngày này chưa được đối soát.", "en": "This day has not been run yet."},
    "statement_credits": {"vi": "Khoản ghi có", "en": "Credits"},
    "statement_debits": {"vi": "Khoản ghi nợ", "en": "Debits"},
    "matched": {"vi": "Đã khớp", "en": "Matched"},
    "matches": {"vi": "Các khoản đã khớp", "en": "Matches"},
    "proposed": {"vi": "Đề xuất", "en": "Proposed"},
    "proposals": {"vi": "Đề xuất cần xác nhận", "en": "Proposals to confirm"},
    "proposed_request": {"vi": "Yêu cầu được đề xuất", "en": "Proposed request"},
    "confirm_proposal": {"vi": "Xác nhận đề xuất", "en": "Confirm proposal"},
    "exceptions": {"vi": "Chênh lệch", "en": "Exceptions"},
    "open_items": {"vi": "Còn mở", "en": "Open"},
    "balance_check": {"vi": "Kiểm tra số dư", "en": "Balance check"},
    "last_run": {"vi": "Lần đối soát gần nhất", "en": "Last run"},
    "rule": {"vi": "Quy tắc", "en": "Rule"},
    "action": {"vi": "Xử lý", "en": "Action"},
    "link_request_id": {"vi": "Yêu cầu cần gắn (khi gắn)", "en": "Request to link"},
    "link_request_hint": {"vi": "Mã hồ sơ hoặc mã thanh toán", "en": "Dossier code or reference"},
    "note": {"vi": "Ghi chú (bắt buộc)", "en": "Note (required)"},
    "resolve": {"vi": "Ghi nhận xử lý", "en": "Resolve"},
    "payment_request": {"vi": "Yêu cầu thanh toán", "en": "Payment request"},
    "done_run": {"vi": "Đã đối soát ngày.", "en": "The day was reconciled."},
    "done_resolved": {"vi": "Đã ghi nhận xử lý chênh lệch.", "en": "The exception was resolved."},
    "audit_trail": {"vi": "Nhật ký kiểm toán", "en": "Audit trail"},
    "chain_ok": {
        "vi": "Chuỗi băm toàn vẹn: nhật ký không bị sửa.",
        "en": "Hash chain intact: the log has not been altered.",
    },
    "chain_broken": {"vi": "Chuỗi băm bị phá vỡ tại mục", "en": "Hash chain broken at entries"},
    "time": {"vi": "Thời gian", "en": "Time"},
    "entity": {"vi": "Đối tượng", "en": "Entity"},
    "detail": {"vi": "Chi tiết", "en": "Detail"},
    "show": {"vi": "Xem", "en": "Show"},
    # dashboard
    "unreconciled_days": {
        "vi": "Ngày chưa đối soát xong (60 ngày)",
        "en": "Unreconciled days (60 days)",
    },
    "pending_tax": {
        "vi": "Biên lai chờ cơ quan thuế chấp nhận",
        "en": "Receipts awaiting the tax authority",
    },
    "unable_to_sign": {
        "vi": "Cơ quan chưa ký được biên lai",
        "en": "Agencies that cannot sign receipts",
    },
    "unable_to_sign_why": {
        "vi": "thiếu chứng thư số hoặc khóa ký (biên lai chưa được lập)",
        "en": "no signing certificate or key (receipts are not issued)",
    },
    "open_exceptions_by_age": {"vi": "Chênh lệch còn mở theo tuổi", "en": "Open exceptions by age"},
    "age_0_1": {"vi": "0–1 ngày", "en": "0–1 days"},
    "age_2_7": {"vi": "2–7 ngày", "en": "2–7 days"},
    "age_8_30": {"vi": "8–30 ngày", "en": "8–30 days"},
    "age_31": {"vi": "Trên 30 ngày", "en": "Over 30 days"},
    # receipts
    "receipt": {"vi": "Biên lai", "en": "Receipt"},
    "number": {"vi": "Số biên lai", "en": "Number"},
    "series_number": {"vi": "Ký hiệu – số", "en": "Series – number"},
    "kind": {"vi": "Loại", "en": "Kind"},
    "tax_status": {"vi": "Cơ quan thuế", "en": "Tax authority"},
    "issued_at": {"vi": "Ngày lập", "en": "Issued"},
    "open_pdf": {"vi": "Mở bản PDF", "en": "Open the PDF"},
    "verification_page": {"vi": "Trang tra cứu", "en": "Verification page"},
    "replaces": {"vi": "Thay thế cho", "en": "Replaces"},
    "replaced_by": {"vi": "Bị thay thế bởi", "en": "Replaced by"},
    "error_notices": {"vi": "Thông báo sai sót", "en": "Error notices"},
    "replace_receipt": {"vi": "Lập biên lai thay thế", "en": "Issue a replacement"},
    "replace_help": {
        "vi": "Biên lai mới có số mới; biên lai này chuyển sang trạng thái bị thay thế. "
        "Sửa mã khoản thu, số lượng, số tiền khi thu sai; để trống mã để bỏ một dòng. "
        "Chênh lệch được hoàn trả hoặc lập yêu cầu nộp thêm.",
        "en": "A new number; this receipt becomes replaced. Correct a fee code, quantity or "
        "amount collected wrongly; clear a code to drop its line. The difference is refunded "
        "or requested as an additional payment.",
    },
    "fee_code": {"vi": "Mã khoản thu", "en": "Fee code"},
    "quantity": {"vi": "Số lượng", "en": "Quantity"},
    "lines_required": {
        "vi": "Biên lai cần ít nhất một khoản thu.",
        "en": "Keep at least one line.",
    },
    "whole_number": {"vi": "Nhập số nguyên (đồng).", "en": "Type a whole number."},
    "money_consequence": {"vi": "Chênh lệch số tiền", "en": "Money consequence"},
    "original_total": {"vi": "Tổng trên biên lai bị thay thế", "en": "Replaced receipt's total"},
    "corrected_total": {"vi": "Tổng đúng", "en": "Corrected total"},
    "difference": {"vi": "Chênh lệch", "en": "Difference"},
    "concerned_request": {"vi": "Yêu cầu thanh toán", "en": "Payment request"},
    "error_notice": {
        "vi": "Thông báo sai sót (Mẫu 04/SS-CTĐT)",
        "en": "Error notice (form 04/SS-CTĐT)",
    },
    "notice_help": {
        "vi": "Chỉ dùng khi sai tên, địa chỉ người nộp; số tiền và mã số thuế đúng.",
        "en": "Only for a wrong payer name or address; amount and tax code are right.",
    },
    "payer_name": {"vi": "Tên người nộp", "en": "Payer name"},
    "payer_address": {"vi": "Địa chỉ", "en": "Address"},
    "payer_id_number": {"vi": "Số định danh", "en": "ID number"},
    "reason": {"vi": "Lý do", "en": "Reason"},
    "reason_required": {"vi": "Hãy ghi lý do.", "en": "Give a reason."},
    "done_replaced": {"vi": "Đã lập biên lai thay thế.", "en": "Replacement issued."},
    "done_notice": {"vi": "Đã ghi nhận thông báo sai sót.", "en": "Error notice recorded."},
    # reports
    "export": {"vi": "Xuất dữ liệu", "en": "Export"},
    "payments": {"vi": "Số giao dịch", "en": "Payments"},
    "chart_per_day": {"vi": "Số thu theo ngày", "en": "Collections per day"},
    "chart_per_channel": {"vi": "Số thu theo kênh", "en": "Collections per channel"},
    "chart_per_procedure": {"vi": "Số thu theo thủ tục", "en": "Collections per procedure"},
    # admin
    "catalog_import": {"vi": "Nhập danh mục", "en": "Import the catalog"},
    "catalog_file": {"vi": "Tệp danh mục (JSON/YAML)", "en": "Catalog file (JSON/YAML)"},
    "catalog_text": {"vi": "Hoặc dán nội dung", "en": "Or paste the document"},
    "catalog_imported": {"vi": "Đã nhập danh mục", "en": "Catalog imported"},
    "cat_agencies": {"vi": "cơ quan", "en": "agencies"},
    "cat_accounts": {"vi": "tài khoản", "en": "accounts"},
    "cat_receipt_series": {"vi": "ký hiệu biên lai", "en": "receipt series"},
    "cat_procedures": {"vi": "thủ tục", "en": "procedures"},
    "cat_fees": {"vi": "khoản thu", "en": "fees"},
    "cat_reductions": {"vi": "chính sách miễn giảm", "en": "reductions"},
    "import": {"vi": "Nhập", "en": "Import"},
    "fee_schedule": {"vi": "Biểu phí, lệ phí", "en": "Fee schedule"},
    "fee": {"vi": "Khoản thu", "en": "Fee"},
    "legal_basis": {"vi": "Căn cứ pháp lý", "en": "Legal basis"},
    "reduction_policies": {"vi": "Chính sách miễn, giảm", "en": "Reduction policies"},
    "channels": {"vi": "Kênh nộp", "en": "Channels"},
    "payer_categories": {"vi": "Đối tượng", "en": "Payer categories"},
    "value": {"vi": "Mức", "en": "Value"},
    "valid_from": {"vi": "Hiệu lực từ", "en": "Valid from"},
    "valid_to": {"vi": "Hiệu lực đến", "en": "Valid to"},
    # day page: counters, views, filters, bulk actions, picker, undo
    "open_exceptions": {"vi": "Chênh lệch chưa xử lý", "en": "Open exceptions"},
    "resolved_exceptions": {"vi": "Chênh lệch đã xử lý", "en": "Resolved exceptions"},
    "times": {"vi": "lần", "en": "times"},
    "bulk_actions": {"vi": "Xử lý hàng loạt", "en": "Bulk actions"},
    "bulk_fees_help": {
        "vi": "Hạch toán phí ngân hàng cho mọi chênh lệch do phí: dòng sao kê ghi phí, hoặc "
        "chuyển thiếu không quá 50.000 đ so với số phải nộp.",
        "en": "Book every difference a bank fee explains: a line naming a fee, or a transfer "
        "short by at most 50.000 đ.",
    },
    "bulk_fees_note": {"vi": "Phí ngân hàng", "en": "Bank fee"},
    "bulk_fees": {"vi": "Hạch toán tất cả phí ngân hàng", "en": "Book every bank fee"},
    "min_similarity": {
        "vi": "Xác nhận các đề xuất có tên người nộp giống từ (%)",
        "en": "Confirm proposals whose payer name is at least (%) alike",
    },
    "bulk_proposals_note": {"vi": "Tên người chuyển khớp người nộp", "en": "Sender matches payer"},
    "bulk_proposals": {"vi": "Xác nhận các đề xuất", "en": "Confirm the proposals"},
    "views": {"vi": "Các mục của ngày", "en": "Views of the day"},
    "view_exceptions": {"vi": "Chênh lệch", "en": "Exceptions"},
    "view_proposals": {"vi": "Đề xuất", "en": "Proposals"},
    "view_matches": {"vi": "Đã khớp", "en": "Matches"},
    "view_lines": {"vi": "Dòng sao kê", "en": "Statement lines"},
    "filter_open": {"vi": "Chưa xử lý", "en": "Open"},
    "filter_resolved": {"vi": "Đã xử lý", "en": "Resolved"},
    "filter_all": {"vi": "Tất cả", "en": "All"},
    "sort": {"vi": "Sắp xếp", "en": "Sort"},
    "sort_line": {"vi": "Theo thứ tự dòng", "en": "By line"},
    "sort_line_desc": {"vi": "Dòng mới nhất trước", "en": "Newest line first"},
    "sort_amount": {"vi": "Số tiền tăng dần", "en": "Amount, smallest first"},
    "sort_amount_desc": {"vi": "Số tiền giảm dần", "en": "Amount, largest first"},
    "rows": {"vi": "mục", "en": "rows"},
    "page": {"vi": "Trang", "en": "Page"},
    "pages": {"vi": "Các trang", "en": "Pages"},
    "previous": {"vi": "Trang trước", "en": "Previous"},
    "next": {"vi": "Trang sau", "en": "Next"},
    "selected_action": {"vi": "Xử lý các mục đã chọn", "en": "For the ticked exceptions"},
    "apply_selected": {"vi": "Áp dụng", "en": "Apply"},
    "select": {"vi": "Chọn", "en": "Select"},
    "looks_like_bank_fee": {"vi": "Có thể là phí ngân hàng", "en": "Looks like a bank fee"},
    "similarity": {"vi": "Độ giống tên", "en": "Name similarity"},
    "find_request": {"vi": "Tìm yêu cầu thanh toán", "en": "Find the payment request"},
    "find_request_hint": {
        "vi": "Mã hồ sơ, mã thanh toán, tên người nộp hoặc số tiền",
        "en": "Dossier code, reference, payer name or amount",
    },
    "found_requests": {"vi": "Chọn yêu cầu để gắn", "en": "Choose the request to link"},
    "undo": {"vi": "Hoàn tác xử lý", "en": "Undo"},
    "undo_note": {"vi": "Lý do hoàn tác (bắt buộc)", "en": "Why undo (required)"},
    "to_exception": {"vi": "Xử lý chênh lệch", "en": "Go to exception"},
    "hash": {"vi": "Mã băm", "en": "Hash"},
    "done_bulk": {"vi": "Đã xử lý hàng loạt", "en": "Bulk action done"},
    "bulk_resolved": {"vi": "mục đã xử lý", "en": "resolved"},
    "bulk_refused": {"vi": "mục không áp dụng được", "en": "refused"},
    "done_undone": {
        "vi": "Đã hoàn tác; chênh lệch mở lại để xử lý.",
        "en": "Undone; the exception is open again.",
    },
    "request_not_found": {
        "vi": "Không tìm thấy đúng một yêu cầu thanh toán của tài khoản này với mã «%s».",
        "en": "No single payment request of this account has the code «%s».",
    },
    "channel": {"vi": "Kênh", "en": "Channel"},
    "just_handled": {"vi": "Vừa xử lý", "en": "Just handled"},
    "chart_max": {"vi": "cao nhất", "en": "highest"},
    "provider_txn_id": {"vi": "Mã giao dịch", "en": "Transaction id"},
    "txn_kind": {"vi": "Loại · trạng thái", "en": "Kind · state"},
    "flags": {"vi": "Ghi chú", "en": "Flags"},
    "outcome": {"vi": "Kết quả", "en": "Outcome"},
    # errors
    "go_back": {"vi": "Quay lại", "en": "Go back"},
    "error_statement-rejected": {"vi": "Sao kê bị từ chối", "en": "Statement rejected"},
    "error_statement-wrong-account": {
        "vi": "Sao kê của tài khoản khác",
        "en": "Statement belongs to another account",
    },
    "error_resolution-refused": {"vi": "Không thể xử lý như vậy", "en": "Resolution refused"},
    "error_detail": {
        "vi": "Thao tác không thực hiện được. Vui lòng kiểm tra lại thông tin.",
        "en": "The action could not be done.",
    },
    "error_detail_validation-failed": {
        "vi": "Một số thông tin chưa hợp lệ, xem chi tiết dưới đây.",
        "en": "Some fields are invalid.",
    },
    "error_detail_resolution-refused": {
        "vi": "Cách xử lý này không áp dụng được cho chênh lệch (đã xử lý, hoặc không phù hợp "
        "với loại chênh lệch, hoặc yêu cầu thanh toán không còn nhận tiền).",
        "en": "This resolution does not apply to the exception.",
    },
    "error_detail_statement-rejected": {
        "vi": "Tệp sao kê không đọc được; xem dòng lỗi dưới đây.",
        "en": "The statement file could not be read.",
    },
    "field": {"vi": "Thông tin", "en": "Field"},
    "field_note": {"vi": "Ghi chú", "en": "Note"},
    "field_reason": {"vi": "Lý do", "en": "Reason"},
    "field_file": {"vi": "Tệp", "en": "File"},
    "field_action": {"vi": "Cách xử lý", "en": "Action"},
    "field_payment_request_id": {"vi": "Yêu cầu thanh toán", "en": "Payment request"},
    "field_lines": {"vi": "Các khoản thu", "en": "Fee lines"},
    "field_row": {"vi": "Dòng %d", "en": "Line %d"},  # a field of a form's row: "lines.0.amount"
    "error_validation-failed": {"vi": "Thông tin chưa hợp lệ", "en": "Invalid input"},
    "error_catalog-invalid": {"vi": "Danh mục không hợp lệ", "en": "Catalog is invalid"},
    # the request page's national-portal block (reconciliation/console/paygov.py)
    "paygov_title": {
        "vi": "Thanh toán qua Cổng Dịch vụ công quốc gia",
        "en": "National portal payments",
    },
    "paygov_poll_now": {"vi": "Hỏi trạng thái ngay", "en": "Poll now"},
    "paygov_polled": {
        "vi": "Đã hỏi nền tảng: {applied} giao dịch có kết quả, {pending} còn chờ, {errors} lỗi.",
        "en": "Asked the platform: {applied} settled, {pending} still pending, {errors} error(s).",
    },
    "paygov_bill": {"vi": "Biên lai của nền tảng (PDF)", "en": "Platform receipt (PDF)"},
    "paygov_no_bill": {"vi": "Chưa có biên lai", "en": "No receipt yet"},
    "paygov_polled_at": {"vi": "Hỏi lần cuối", "en": "Last polled"},
}


def current_language() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    lang = session.get("lang", "vi")
    return lang if lang in LANGUAGES else "vi"


def t(key: str) -> str:
    phrase = PHRASES.get(key)
    if phrase is None:
        return key
    return phrase[current_language()]


def field_name(field: str) -> str:
    """A form field in words: ``reason`` → "Lý do"; a field of a row, ``lines.0.amount``, as
    "Dòng 1 · Số tiền"; a field with no words yet as "Thông tin"."""
    if f"field_{field}" in PHRASES:
        return t(f"field_{field}")
    _, row, name = [*field.split("."), "", ""][:3]
    if row.isdigit() and name in PHRASES:
        return f"{t('field_row') % (int(row) + 1)} · {t(name)}"
    return t("field")
