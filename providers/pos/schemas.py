"""POS acquirer callbacks: our wire format with the acquirer's terminal backend (DESIGN §2).

Payment (``status`` approved | voided)::

    {"terminal_id": "T0001", "merchant_id": "M0001", "batch_no": "000012", "trace_no": "000345",
     "approval_code": "A1B2C3", "rrn": "612345678901", "masked_pan": "970436******1234",
     "card_scheme": "NAPAS", "amount": 200000, "currency": "VND",
     "transaction_time": "2026-11-23T09:15:02+07:00", "reference": "TP26ABCDEFGH7",
     "status": "approved"}

Batch close::

    {"type": "settlement", "terminal_id": "T0001", "merchant_id": "M0001", "batch_no": "000012",
     "settled_at": "2026-11-23T23:00:00+07:00", "count": 12, "gross_amount": 2400000,
     "fee_amount": 26400, "net_amount": 2373600}

Signed with ``X-Signature`` (``providers.signing``); amounts are JSON integers of đồng.

``provider_txn_id`` of a payment is ``<terminal_id>:<batch_no>:<trace_no>`` (the triple is unique
per acquirer); a void of it is ``<that>:void`` with ``details["original_txn_id"]`` naming the
payment, so deduplication never swallows a void. A settlement's id is ``<terminal_id>:<batch_no>``.
"""

from __future__ import annotations

import re

PAYMENT_FIELDS = (
    "terminal_id",
    "merchant_id",
    "batch_no",
    "trace_no",
    "approval_code",
    "rrn",
    "masked_pan",
    "card_scheme",
    "currency",
    "transaction_time",
    "reference",
    "status",
)
SETTLEMENT_FIELDS = ("terminal_id", "merchant_id", "batch_no", "settled_at")
SETTLEMENT_AMOUNTS = ("count", "gross_amount", "fee_amount", "net_amount")
DETAIL_FIELDS = (
    "terminal_id",
    "merchant_id",
    "batch_no",
    "trace_no",
    "rrn",
    "approval_code",
    "masked_pan",
    "card_scheme",
)

# PCI DSS: at most the first six and last four digits may be shown.
MASKED_PAN = re.compile(r"[0-9]{0,6}[*Xx#•]+[0-9]{0,4}", re.ASCII)
