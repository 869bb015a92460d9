"""Which request a provider event pays, found and locked before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, select
from sqlalchemy.orm import Session, make_transient_to_detached

from payments import reference as refs
from payments.catalog.models import BeneficiaryAccount
from payments.db import DriverStatement
from payments.payment_requests.models import (
    LOCKED_COLUMNS,
    OPEN_STATUSES,
    AnyRequest,
    LockedRequest,
    PaymentRequest,
)
from payments.transactions.models import (
    Flag,
    PaygovAttempt,
    PaymentTransaction,
)
from payments.transactions.recording import StoredTxn
from providers.base import EventKind, ProviderEvent, TxnStatus


@dataclass(frozen=True)
class Resolution:
    """What ``resolve`` found out about an event before anything is written."""

    request: AnyRequest | None  # locked
    account: str | None = None  # the account the money reached
    flags: list[str] = field(default_factory=list)  # how the request was found
    reason: str | None = None  # why the event is rejected
    # the transaction stored under the event's (provider, id), when the look-up asked already
    existing: PaymentTransaction | StoredTxn | None = None
    existing_known: bool = False


def resolve(session: Session, event: ProviderEvent) -> Resolution:
    """The request an event pays (locked), the account the money reached, flags about how the
    request was found, or a rejection reason; and the transaction already recorded under the
    event's id when the look-up found it on the way."""
    if event.provider == "paygov" and event.reference:
        if (
            event.account_number is not None
            and _account_by_number(session, event.account_number) is None
        ):
            return Resolution(None, reason="unknown_account")
        return _resolve_paygov(session, event)
    reference = event.reference
    if reference is None and event.kind == EventKind.TRANSFER_IN:
        reference = refs.find_reference(_memo(event))
    if reference:
        found = _lock_with_context(session, event, reference)
        if found is not None:
            return found
    # no reference, or one no request holds: the general path, a statement per question
    account = None
    if event.account_number is not None:
        account = _account_by_number(session, event.account_number)
        if account is None:
            return Resolution(None, reason="unknown_account")
    flags: list[str] = []
    if reference is None and event.kind == EventKind.TRANSFER_IN:
        reference, flags = _reference_from_memo(session, event, account)
    request = None
    if reference:
        request = session.scalar(
            select(PaymentRequest).where(PaymentRequest.reference == reference).with_for_update()
        )
    if request is not None and account is not None and request.account_id != account:
        return Resolution(request, account, flags, "wrong_account")
    return Resolution(request, account or (request.account_id if request else None), flags)


def _lock_with_context(session: Session, event: ProviderEvent, reference: str) -> Resolution | None:
    """The hot path of every bank notification, in one statement: the request with this
    reference, locked, with the id of the account the money reached and of a transaction already
    stored under the event's id. None when no request has the reference.

    Under READ COMMITTED a concurrent delivery of the same event may commit after this statement's
    snapshot (while it waited for the lock): its transaction is then not seen here, and the
    unique (provider, id) constraint stops the second insert (``apply`` inserts with ON
    CONFLICT DO NOTHING and answers as for a duplicate; other outcomes retry in
    ``record_event``).
    """
    number = _normalised_number(event.account_number)
    if event.account_number is not None and not number:
        return Resolution(None, reason="unknown_account")
    params = {
        "reference": reference,
        "account_number": number,
        "provider": event.provider,
        "provider_txn_id": event.provider_txn_id,
    }
    row = _LOCK_WITH_CONTEXT.first(session.connection(), params)
    if row is None:
        return None
    request = LockedRequest(*row[: len(LOCKED_COLUMNS)])
    account_id, *stored_columns = row[len(LOCKED_COLUMNS) :]
    if event.account_number is not None and account_id is None:
        return Resolution(None, reason="unknown_account")
    stored = None
    if stored_columns[0] is not None:
        stored = StoredTxn(*stored_columns)
    if account_id is not None and request.account_id != account_id:
        return Resolution(request, account_id, reason="wrong_account")
    return Resolution(
        request, account_id or request.account_id, existing=stored, existing_known=True
    )


def _memo(event: ProviderEvent) -> str:
    return " ".join(str(event.details.get(k, "")) for k in ("content", "description"))


def _resolve_paygov(session: Session, event: ProviderEvent) -> Resolution:
    attempt = session.scalar(
        select(PaygovAttempt).where(PaygovAttempt.provider_ref == event.reference)
    )
    if attempt is None:
        return Resolution(None, reason="unknown_reference")
    request = lock(session, attempt.payment_request_id)
    account = request.account_id if request else None
    # the platform was told the amount: anything else is a protocol error, never a payment
    if event.status == TxnStatus.PAID and attempt.amount != event.amount.amount:
        return Resolution(request, account, reason="amount_mismatch")
    return Resolution(request, account)


def _account_by_number(session: Session, number: str) -> str | None:
    """The id of the catalog account with this number, ignoring the separators banks print."""
    wanted = _normalised_number(number)
    return session.scalar(_ACCOUNT_ID, {"account_number": wanted}) if wanted else None


def _normalised_number(number: str | None) -> str | None:
    return None if number is None else "".join(filter(str.isalnum, number))


def _without_separators(column: ColumnElement[str]) -> ColumnElement[str]:
    for sep in (".", "-", " "):
        column = func.replace(column, sep, "")
    return column


# Built once: the statements of the callbacks' hot path cost more to build than to run.
# An account matched in SQL on its normalised number (one small query, no Python scan).
_ACCOUNT_ID = (
    select(BeneficiaryAccount.id)
    .where(
        _without_separators(BeneficiaryAccount.account_number.expression)
        == bindparam("account_number")
    )
    .order_by(BeneficiaryAccount.id)
    .limit(1)
)
REQUEST_TABLE = cast(Table, PaymentRequest.__table__)
_STORED = cast(Table, PaymentTransaction.__table__).alias("stored")
# the columns applying a payment reads, no more (a wide row costs more to load than to lock),
# as a plain row: loading an ORM object cost more CPU than the round trip itself
_LOCK_WITH_CONTEXT = DriverStatement(
    select(
        *(REQUEST_TABLE.c[name] for name in LOCKED_COLUMNS),
        _ACCOUNT_ID.scalar_subquery().label("account_reached"),
        _STORED.c.id.label("stored_id"),
        _STORED.c.amount.label("stored_amount"),
        _STORED.c.kind.label("stored_kind"),
    )
    .select_from(
        REQUEST_TABLE.outerjoin(
            _STORED,
            and_(
                _STORED.c.provider == bindparam("provider"),
                _STORED.c.provider_txn_id == bindparam("provider_txn_id"),
            ),
        )
    )
    .where(REQUEST_TABLE.c.reference == bindparam("reference"))
    .with_for_update(of=REQUEST_TABLE)
)  # the account reached, then the stored transaction's id, amount and kind


def persistent(session: Session, request: AnyRequest) -> PaymentRequest:
    """``request`` as a persistent object of ``session`` whose changes flush as usual; a locked
    row becomes one without the ORM's loading (a column outside ``LOCKED_COLUMNS`` loads on first
    use). ``record_event`` gives each attempt a new session, so the session holds no other copy
    of the request (``add`` would refuse one)."""
    if isinstance(request, PaymentRequest):
        return request
    attached = PaymentRequest(**{name: getattr(request, name) for name in LOCKED_COLUMNS})
    make_transient_to_detached(attached)
    session.add(attached)
    return attached


def _reference_from_memo(
    session: Session, event: ProviderEvent, account: str | None
) -> tuple[str | None, list[str]]:
    text = _memo(event)
    found = refs.find_reference(text)
    if found or account is None:
        return found, []
    # one wrong digit: correct it only if exactly one open request of this account fits,
    # and only if that request's remaining amount is what arrived
    for candidate in refs.candidates_in(text):
        open_refs = session.scalars(
            select(PaymentRequest.reference).where(
                PaymentRequest.account_id == account,
                PaymentRequest.status.in_(OPEN_STATUSES),
                PaymentRequest.total_amount - PaymentRequest.paid_amount == event.amount.amount,
            )
        )
        corrected = refs.correct_one_typo(candidate, open_refs)
        if corrected:
            return corrected, [Flag.REFERENCE_CORRECTED]
    return None, []


def lock(session: Session, request_id: Any) -> PaymentRequest | None:
    return session.scalar(
        select(PaymentRequest).where(PaymentRequest.id == request_id).with_for_update()
    )
