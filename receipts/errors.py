"""Receipt errors with stable codes (rendered as problem+json by the app factory)."""

from __future__ import annotations

from payments.errors import Conflict, DomainError


class ReceiptsNotConfigured(DomainError):
    """THUPHI_RECEIPT_CERT / THUPHI_RECEIPT_KEY missing or unreadable: nothing can be signed."""

    status = 503
    code = "receipts-not-configured"
    title = "Receipt signing is not configured"


class NoSeriesForYear(DomainError):
    """The agency has no receipt series for the year of issue (e.g. ``27T..`` in 2027).

    From the outbox this fails the delivery, which is retried with backoff and finally parked:
    ``thuphi receipts pending-tax`` lists it until an admin imports the series.
    """

    status = 409
    code = "no-receipt-series"
    title = "No receipt series for the year of issue"


class SeriesExhausted(DomainError):
    status = 409
    code = "receipt-series-exhausted"
    title = "Receipt series has used all 8-digit numbers"


class ReceiptAlreadyReplaced(Conflict):
    code = "receipt-already-replaced"
    title = "Receipt already replaced"


class TaxAuthorityNotAccepted(Exception):
    """The tax authority did not accept a submission (yet): the outbox retries it."""


class ReceiptsNotYetIssued(Exception):
    """A refund reached a paid request whose receipts are still to be issued: the outbox retries
    the correction after the issue delivery has run."""
