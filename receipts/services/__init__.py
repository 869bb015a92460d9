"""The receipts package's service functions (issuing, corrections, reading)."""

from receipts.services.corrections import (
    AMOUNT_CORRECTED_TOPIC,
    CorrectedLine,
    RecordErrorNotice,
    ReplaceReceipt,
    record_error_notice,
    replace_receipt,
)
from receipts.services.issuing import (
    ISSUED_TOPIC,
    Clock,
    Draft,
    issue,
    issue_for_request,
    payment_channel,
    series_for_year,
    verification_url,
)
from receipts.services.reading import (
    add_receipts_to_requests,
    get_receipt,
    get_receipt_document,
    get_receipt_xml,
    list_receipts,
    load_receipt,
    mask_id_number,
    notice_view,
    receipt_view,
    summary_view,
    verify_public,
)
from receipts.services.refunds import REFUNDED, correct_for_refunds
from receipts.signers import SigningPair, signing_pair

__all__ = [
    "AMOUNT_CORRECTED_TOPIC",
    "ISSUED_TOPIC",
    "REFUNDED",
    "Clock",
    "CorrectedLine",
    "Draft",
    "RecordErrorNotice",
    "ReplaceReceipt",
    "SigningPair",
    "add_receipts_to_requests",
    "correct_for_refunds",
    "get_receipt",
    "get_receipt_document",
    "get_receipt_xml",
    "issue",
    "issue_for_request",
    "list_receipts",
    "load_receipt",
    "mask_id_number",
    "notice_view",
    "payment_channel",
    "receipt_view",
    "record_error_notice",
    "replace_receipt",
    "series_for_year",
    "signing_pair",
    "summary_view",
    "verification_url",
    "verify_public",
]
