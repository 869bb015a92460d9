"""The payment requests package's service functions: quoting, creating, reading, and how an
open request ends (cancelled, expired), and what a corrected amount raises."""

from payments.payment_requests.services.additional import (
    AdditionalLine,
    create_additional_request,
    mark_refund_due,
)
from payments.payment_requests.services.creating import (
    CreatePaymentRequest,
    Payer,
    body_hash,
    create_payment_request,
)
from payments.payment_requests.services.lifecycle import (
    REFUND_PROVIDER,
    RecordRefund,
    cancel_payment_request,
    event_payload,
    expire_overdue,
    refund_payment_request,
)
from payments.payment_requests.services.payloads import (
    PAYLOAD_BUILDERS,
    Account,
    PayloadBuilder,
    qr_account_number,
    request_payload,
    transfer_payload,
)
from payments.payment_requests.services.quoting import UNSET, Unset, quote, quote_view
from payments.payment_requests.services.reading import (
    ViewExtension,
    get_payment_request,
    list_payment_requests,
    load_request,
    present,
)

__all__ = [
    "PAYLOAD_BUILDERS",
    "REFUND_PROVIDER",
    "UNSET",
    "Account",
    "AdditionalLine",
    "CreatePaymentRequest",
    "Payer",
    "PayloadBuilder",
    "RecordRefund",
    "Unset",
    "ViewExtension",
    "body_hash",
    "cancel_payment_request",
    "create_additional_request",
    "create_payment_request",
    "event_payload",
    "expire_overdue",
    "get_payment_request",
    "list_payment_requests",
    "load_request",
    "mark_refund_due",
    "present",
    "qr_account_number",
    "quote",
    "quote_view",
    "refund_payment_request",
    "request_payload",
    "transfer_payload",
]
