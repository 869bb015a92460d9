"""Result types, errors and protocols shared by every provider adapter.

Adapters are stateless: they verify and parse what a provider sends us, and build and send what we
send a provider. They never touch the database; the payments package turns their results into state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from payments.money import Money


class TxnStatus(StrEnum):
    """A provider transaction's status, as far as the adapter can tell. Unknown means pending."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    VOIDED = "voided"


class EventKind(StrEnum):
    PAYMENT = "payment"
    VOID = "void"
    SETTLEMENT = "settlement"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"


class RejectReason(StrEnum):
    """Stable codes for a callback we refuse; logged and answered, never retried by us."""

    MISSING_SIGNATURE = "missing_signature"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    MALFORMED = "malformed"
    UNAUTHORIZED = "unauthorized"
    UNMASKED_PAN = "unmasked_pan"
    UNEXPECTED_MESSAGE = "unexpected_message"
    # an amount above THUPHI_MAX_AMOUNT or past BIGINT: never applied
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range"


class CallbackRejected(Exception):
    """A provider callback failed verification or parsing. ``reason`` is a stable code."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


class ProviderError(Exception):
    """An outbound call to a provider did not give a usable answer."""

    code = "provider_error"


class ProviderUnavailable(ProviderError):
    """Network failure, timeout or 5xx. ``request_sent`` is False only when nothing left this host,
    so a non-idempotent request (PayGov INIT) may be retried only in that case."""

    code = "provider_unavailable"

    def __init__(self, detail: str, *, request_sent: bool) -> None:
        super().__init__(detail)
        self.request_sent = request_sent


class ProviderBadResponse(ProviderError):
    """The provider answered something we cannot trust or parse (bad hash, JSON, fields)."""

    code = "provider_bad_response"


class ProviderDeclined(ProviderError):
    """The provider understood the request and refused it with its own error code."""

    code = "provider_declined"

    def __init__(self, provider_code: str, message: str = "") -> None:
        super().__init__(f"{provider_code}: {message}" if message else provider_code)
        self.provider_code = provider_code
        self.message = message


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One verified fact from a provider: a payment, a void or a bank transfer.

    ``provider_txn_id`` is the deduplication key together with ``provider``. ``reference`` is our
    payment reference when the provider carries it (PayGov, POS); bank transfers leave it None and
    keep the free text in ``details`` for the reference finder. ``raw`` is the payload with secrets
    stripped, fit for the append-only event table.
    """

    provider: str
    provider_txn_id: str
    reference: str | None
    amount: Money
    currency: str
    status: TxnStatus
    occurred_at: datetime
    kind: EventKind
    account_number: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settlement:
    """A POS batch close: the bank credits ``net_amount`` once for the whole batch."""

    provider: str
    terminal_id: str
    merchant_id: str
    batch_no: str
    settled_at: datetime
    count: int
    gross_amount: Money
    fee_amount: Money
    net_amount: Money
    currency: str
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def provider_txn_id(self) -> str:
        """``<terminal_id>:<batch_no>``; payments of the batch have ids starting with it."""
        return f"{self.terminal_id}:{self.batch_no}"


@dataclass(frozen=True, slots=True)
class InitResult:
    """Where to send the citizen to pay on the provider's own page."""

    url: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one outgoing webhook attempt. ``ok`` only for a 2xx answer."""

    ok: bool
    status_code: int | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The outcome of a submission to the tax authority.

    ``retryable`` tells the outbox whether trying again later can help (network, 5xx, 429) or not
    (the document was refused as invalid)."""

    accepted: bool
    submission_id: str
    id: str | None = None
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False


class PaymentPlatform(Protocol):
    """A hosted payment page provider (PayGov): start a payment, poll its status."""

    def init_payment(
        self, reference: str, amount: Money, description: str, ip: str
    ) -> InitResult: ...

    # PayGov finds a transaction by its INIT's ThoiGianGD, which the caller stored
    def query_status(self, reference: str, *, init_time: str) -> ProviderEvent: ...


class ResultParser(Protocol):
    """Verify and parse a hosted-payment result callback (PayGov ``parse_result``)."""

    def __call__(self, body: bytes, secret: str) -> ProviderEvent: ...


class PosCallbackParser(Protocol):
    """Verify and parse a POS acquirer callback (``pos.parse_callback``)."""

    def __call__(
        self, body: bytes, headers: HeaderSource, secret: str, now: datetime
    ) -> ProviderEvent | Settlement: ...


class TransferNotificationParser(Protocol):
    """Verify and parse a bank transfer notification (``bank.parse_notification``)."""

    def __call__(
        self, body: bytes, headers: HeaderSource, api_keys: str, *, source: str = ...
    ) -> ProviderEvent: ...


class WebhookSender(Protocol):
    """Deliver one signed webhook (``dossier.deliver_webhook``); never raises for network errors."""

    def __call__(
        self,
        url: str,
        event_type: str,
        delivery_id: str,
        payload: Mapping[str, Any],
        secret: str,
        timeout: float | tuple[float, float] = ...,
    ) -> DeliveryResult: ...


class TaxAuthority(Protocol):
    """Receipt data to the tax authority; idempotent by ``submission_id``."""

    def submit_summary(self, summary: Mapping[str, Any], *, submission_id: str) -> SubmitResult: ...

    def submit_receipt_xml(self, xml: bytes, *, submission_id: str) -> SubmitResult: ...


class HeaderSource(Protocol):
    """What callbacks need of request headers: werkzeug ``Headers`` and plain dicts both fit."""

    def get(self, key: str, /) -> str | None: ...

    def keys(self) -> Iterable[str]: ...


def header_value(headers: HeaderSource, name: str) -> str | None:
    """A header by case-insensitive name from werkzeug ``Headers`` or a plain dict."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key in headers.keys():  # noqa: SIM118 - werkzeug Headers is not iterable by key
        if key.lower() == lowered:
            return headers.get(key)
    return None


def split_secrets(configured: str) -> list[str]:
    """``"new,old"`` → ``["new", "old"]``: during rotation both verify, the first signs."""
    secrets = [part.strip() for part in configured.split(",") if part.strip()]
    if not secrets:
        raise ValueError("no secret configured")
    return secrets


def load_json_object(body: bytes) -> dict[str, Any]:
    """A callback body as a JSON object, or ``CallbackRejected(MALFORMED)`` saying why not."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: JSON nested a thousand deep
        raise CallbackRejected(RejectReason.MALFORMED, "body is not JSON") from exc
    if not isinstance(message, dict):
        raise CallbackRejected(RejectReason.MALFORMED, "body is not a JSON object")
    return message
