"""Create, read, list and cancel payment requests; expire overdue ones."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import structlog
from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payments import vietqr
from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount
from payments.catalog.services import (
    CATALOG_CACHE,
    AccountSnapshot,
    ProcedureSnapshot,
    catalog_token,
    catalog_token_column,
)
from payments.clock import business_day, utcnow
from payments.config import Settings
from payments.errors import (
    DomainError,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    NotFound,
    UnknownProcedure,
)
from payments.fees.engine import QuoteLine, as_categories, price_procedure
from payments.fees.services import check_categories, check_items, quote_line_view
from payments.onetrip import OneTrip
from payments.outbox.services import emit
from payments.payment_requests.models import (
    AnyRequest,
    IdempotencyRecord,
    PaymentLine,
    PaymentRequest,
    RequestStatus,
)
from payments.payment_requests.state import transition
from payments.reference import new_reference
from payments.transactions import ledger
from payments.transactions.models import PaymentTransaction
from payments.uow import UnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Payer:
    name: str
    id_number: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    category: str | None = None
    categories: tuple[str, ...] = ()

    @property
    def category_codes(self) -> tuple[str, ...]:
        """``categories`` with the single ``category`` of older clients, each once, in order."""
        codes = (*self.categories, *([self.category] if self.category else []))
        return tuple(dict.fromkeys(codes))


@dataclass(frozen=True)
class CreatePaymentRequest:
    dossier_code: str
    procedure_code: str
    channel: str
    payer: Payer
    submitted_at: datetime | None = None
    items: tuple[tuple[str, int], ...] | None = None
    callback_url: str | None = None
    idempotency_key: str = ""
    body: dict[str, Any] = field(default_factory=dict, compare=False)


# Extensions add to a request's JSON what other packages own (transactions, receipts), so that
# payments never imports them; the app factory registers them.
ViewExtension = Callable[[Session, list[PaymentRequest], list[dict[str, Any]]], None]
VIEW_EXTENSIONS: list[ViewExtension] = []
# An account as the catalog holds it or as the per-process catalog cache does.
Account = BeneficiaryAccount | AccountSnapshot
# Payload builders per request (VietQR), run once at creation; the last one's answer is stored.
PayloadBuilder = Callable[[PaymentRequest, Account], str]


def qr_account_number(account_number: str) -> str:
    """The account as VietQR field 38.01.01 carries it: treasury numbers such as
    ``3761.0.1234567`` are written with separators that bank apps do not accept."""
    return "".join(ch for ch in account_number if ch.isalnum())


def transfer_payload(account: Account, amount: int, reference: str) -> str:
    """A dynamic VietQR (01=12) for ``amount`` đồng whose memo (62.08) is the reference.

    Empty when no QR can carry the transfer: nothing to pay, an amount at or over the NAPAS
    per-transfer ceiling, or an account the codec refuses (the page then shows the details).
    """
    if amount <= 0:
        return ""
    try:
        return vietqr.encode(
            bank_bin=account.bank_bin,
            account=qr_account_number(account.account_number),
            amount=amount,
            purpose=vietqr.memo_for(reference),
        )
    except vietqr.VietQRError as exc:
        log.warning("vietqr_unavailable", account_id=account.id, reason=str(exc))
        return ""


def request_payload(request: PaymentRequest, account: Account) -> str:
    """The VietQR of a new request: its remaining amount to its beneficiary account."""
    return transfer_payload(account, request.remaining_amount, request.reference)


PAYLOAD_BUILDERS: list[PayloadBuilder] = [request_payload]


class Unset:
    """A parameter left out (None is a value: a database without a catalog token)."""


UNSET = Unset()


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def quote(
    session: Session,
    procedure_code: str,
    channel: str,
    on: date,
    category: str | Iterable[str] | None,
    items: tuple[tuple[str, int], ...] | None = None,
    *,
    token: str | Unset | None = UNSET,
) -> tuple[ProcedureSnapshot, list[QuoteLine]]:
    """Price a procedure with the rules in force on ``on`` (a business date).

    The catalog comes from the per-process cache while its ``token`` (read in this transaction;
    asked for here unless the caller read it along with another statement) is unchanged.
    """
    if isinstance(token, Unset):
        token = catalog_token(session)
    procedure = CATALOG_CACHE.procedure(session, procedure_code, token)
    if procedure is None:
        raise UnknownProcedure(f"no procedure with code {procedure_code!r}")
    quantities = check_items(procedure.fees, items)
    policies = CATALOG_CACHE.policies(session, token)
    categories = check_categories(as_categories(category), CATALOG_CACHE.categories(session, token))
    return procedure, price_procedure(procedure.fees, quantities, channel, categories, on, policies)


def quote_view(
    procedure_code: str,
    channel: str,
    on: date | None,
    category: str | Iterable[str] | None,
    *,
    uow: UnitOfWork,
    principal: Principal | None,
) -> dict[str, Any]:
    """A fee quote for a procedure, channel, business date (default today) and payer category."""
    day = on or business_day(utcnow())
    codes = list(dict.fromkeys([category] if isinstance(category, str) else category or ()))
    with uow:
        procedure, lines = quote(uow.session, procedure_code, channel, day, codes)
        if principal is not None:
            principal.require_agency(procedure.agency_code)
        return {
            "procedure_code": procedure.code,
            "procedure_name": procedure.name,
            "agency_code": procedure.agency_code,
            "channel": channel,
            "date": day,
            "payer_category": codes[0] if codes else None,
            "payer_categories": codes,
            "lines": [quote_line_view(line) for line in lines],
            "normal_total": sum(line.normal_amount for line in lines),
            "total_amount": sum(line.amount for line in lines),
        }


def create_payment_request(
    cmd: CreatePaymentRequest, *, uow: UnitOfWork, settings: Settings, principal: Principal
) -> tuple[dict[str, Any], bool]:
    """Create a payment request, or return the one created earlier under the same key.

    Returns the request's JSON and whether it was created now. The idempotency record is
    inserted before anything else, so two concurrent calls with one key meet on its primary key,
    and a key used before fails that insert: only then is the earlier request looked up.
    """
    if not cmd.idempotency_key:
        raise IdempotencyKeyMissing("send an Idempotency-Key header with every create")
    digest = body_hash(cmd.body)
    try:
        with uow:
            try:
                view = _create(uow.session, cmd, digest, settings, principal, one_trip=True)
            except (_StaleCatalog, DomainError):
                # the one-trip path priced with a catalog that moved on, or refused the call
                # before claiming its key: the claim-first path answers exactly as it always did
                # (a replay or 409 before a 403 or 422)
                uow.rollback()
                view = _create(uow.session, cmd, digest, settings, principal, one_trip=False)
            uow.commit()
            return view, True
    except IntegrityError:
        # the key was used before, or by a concurrent call that committed first: answer with
        # its request (or refuse another body)
        with uow:
            replay = _replay(
                uow.session, principal.client_id, cmd.idempotency_key, digest, settings
            )
            if replay is None:
                raise
            return replay, False


class _StaleCatalog(Exception):
    """The catalog's token moved between the cached snapshot a request was priced with and the
    statement that inserted it."""


def _replay(
    session: Session, client_id: str, key: str, digest: str, settings: Settings
) -> dict[str, Any] | None:
    record = session.get(IdempotencyRecord, (client_id, key))
    if record is None:
        return None
    if record.request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another request body")
    request = session.get(PaymentRequest, record.payment_request_id)
    if request is None:  # pragma: no cover - the record is deleted with its request
        return None
    return present(session, [request], settings)[0]


def _create(
    session: Session,
    cmd: CreatePaymentRequest,
    digest: str,
    settings: Settings,
    principal: Principal,
    *,
    one_trip: bool,
) -> dict[str, Any]:
    """Price, build and insert one request with its idempotency record.

    Claim-first (every database): INSERT the idempotency record before anything else, with the
    catalog's token riding along so a cached catalog costs no query, then the request, its lines
    and the record's link to it: four statements.

    One trip (PostgreSQL, once this process has cached the catalog): price with the cached
    snapshot, then INSERT the record, the request and its lines in one statement that reads the
    catalog's token back; a token that moved meanwhile raises ``_StaleCatalog`` and the caller
    starts over claim-first. A used key fails that statement as it fails the claim.
    """
    conn = session.connection()
    claim: dict[str, Any] = {
        "client_id": principal.client_id,
        "key": cmd.idempotency_key,
        "request_hash": digest,
        "payment_request_id": None,
    }
    cached = CATALOG_CACHE.token if one_trip and conn.dialect.name == "postgresql" else None
    token = cached if cached is not None else conn.execute(_CLAIM_KEY, claim).scalar_one()
    now = utcnow()
    submitted = cmd.submitted_at or now
    procedure, lines = quote(
        session,
        cmd.procedure_code,
        cmd.channel,
        business_day(submitted),
        cmd.payer.category_codes,
        cmd.items,
        token=token,
    )
    principal.require_agency(procedure.agency_code)
    request_id = uuid.uuid4()
    request = _new_request(request_id, cmd, procedure, lines, submitted, now, settings)
    request.client_id = principal.client_id
    # before the INSERT, so the payload and status go in with the row, not in an UPDATE
    for build in PAYLOAD_BUILDERS:
        request.vietqr_payload = build(request, procedure.account)
    if request.total_amount == 0:
        # fully exempt: nothing to pay, the dossier may proceed at once
        transition(request, RequestStatus.PAID)
        emit(session, "payment_request.paid", str(request.id), event_payload(request))
    if cached is not None:
        claim.update(payment_request_id=request_id, created_at=now)
        if _insert_in_one_trip(conn, claim, request) != cached:
            raise _StaleCatalog
    else:
        _insert_new(conn, request)
        conn.execute(
            _LINK_KEY,
            {
                "claimed_client_id": principal.client_id,
                "claimed_key": cmd.idempotency_key,
                "request_id": request_id,
            },
        )
    accounts = {procedure.account_id: procedure.account}
    return present(session, [request], settings, accounts=accounts, created=True)[0]


# The statements of the API's hot path, built once, on the tables (Core): the ORM's statement
# handling and unit of work cost more CPU than the statements they send.
_IDEMPOTENCY = cast(Table, IdempotencyRecord.__table__)
_CLAIM_KEY = insert(_IDEMPOTENCY).returning(catalog_token_column())
_LINK_KEY = (
    update(_IDEMPOTENCY)
    .where(
        _IDEMPOTENCY.c.client_id == bindparam("claimed_client_id"),
        _IDEMPOTENCY.c.key == bindparam("claimed_key"),
    )
    .values(payment_request_id=bindparam("request_id"))
)
_INSERT_REQUEST = insert(cast(Table, PaymentRequest.__table__))
_INSERT_LINES = insert(cast(Table, PaymentLine.__table__))


def _insert_new(conn: Connection, request: PaymentRequest) -> None:
    """INSERT a new request and its lines as built in memory, every column set. The object stays
    out of the session: nothing else in the transaction reads it back."""
    conn.execute(_INSERT_REQUEST, _row(request))
    if request.lines:
        conn.execute(_INSERT_LINES, [_row(line) for line in request.lines])


def _row(obj: PaymentRequest | PaymentLine) -> dict[str, Any]:
    """Column values of a new object; a column left unset takes its default."""
    return {
        c.key: value
        for c in obj.__table__.columns
        if (value := getattr(obj, c.key)) is not None or (c.default is None and not c.primary_key)
    }


def _insert_in_one_trip(
    conn: Connection, claim: dict[str, Any], request: PaymentRequest
) -> str | None:
    """PostgreSQL: the idempotency record, the request and its lines in one statement; returns
    the catalog's token read by that statement."""
    trip = OneTrip()
    trip.insert("claim", _IDEMPOTENCY, [claim])
    trip.insert("req", _REQUEST_TABLE, [_row(request)])
    if request.lines:
        trip.insert("lines", _LINE_TABLE, [_row(line) for line in request.lines])
    row = trip.run(conn, "SELECT token FROM catalog_state WHERE id = 1")
    return None if row is None else cast(str, row[0])


_REQUEST_TABLE = cast(Table, PaymentRequest.__table__)
_LINE_TABLE = cast(Table, PaymentLine.__table__)


def _new_request(
    request_id: uuid.UUID,
    cmd: CreatePaymentRequest,
    procedure: ProcedureSnapshot,
    lines: list[QuoteLine],
    submitted: datetime,
    now: datetime,
    settings: Settings,
) -> PaymentRequest:
    request = PaymentRequest(
        id=request_id,
        reference=new_reference(),
        checkout_token=secrets.token_urlsafe(24),
        dossier_code=cmd.dossier_code,
        procedure_code=procedure.code,
        agency_code=procedure.agency_code,
        account_id=procedure.account_id,
        channel=cmd.channel,
        submitted_at=submitted,
        quote_date=business_day(submitted),
        payer_name=cmd.payer.name,
        payer_id_number=cmd.payer.id_number,
        payer_phone=cmd.payer.phone,
        payer_email=cmd.payer.email,
        payer_address=cmd.payer.address,
        payer_category=next(iter(cmd.payer.category_codes), None),
        payer_categories=list(cmd.payer.category_codes) or None,
        total_amount=sum(line.amount for line in lines),
        paid_amount=0,
        status=RequestStatus.PENDING,
        callback_url=cmd.callback_url,
        flags=[],
        expires_at=now + settings.request_ttl,
        created_at=now,
        updated_at=now,
        vietqr_payload="",
        version=1,
    )
    request.lines = [_line(request_id, pos, line) for pos, line in enumerate(lines)]
    return request


def _line(request_id: uuid.UUID, position: int, q: QuoteLine) -> PaymentLine:
    return PaymentLine(
        payment_request_id=request_id,
        position=position,
        fee_code=q.fee_code,
        name=q.name,
        kind=q.kind,
        quantity=q.quantity,
        unit_normal_amount=q.unit_normal_amount,
        unit_amount=q.unit_amount,
        normal_amount=q.normal_amount,
        amount=q.amount,
        legal_basis=q.legal_basis,
        reduction_policy_id=q.policy_id,
        reduction_legal_basis=q.reduction_legal_basis,
    )


def event_payload(request: AnyRequest) -> dict[str, Any]:
    """What the outbox carries about a request (built by ``ledger.event_payload``)."""
    return ledger.event_payload(request, ledger.standing(request))


def _load(session: Session, request_id: str, principal: Principal | None) -> PaymentRequest:
    try:
        key = uuid.UUID(request_id)
    except ValueError:
        raise NotFound("no such payment request") from None
    request = session.get(PaymentRequest, key)
    if request is None or (principal is not None and not principal.may_see(request.agency_code)):
        raise NotFound("no such payment request")
    return request


def get_payment_request(
    request_id: str, *, uow: UnitOfWork, settings: Settings, principal: Principal | None
) -> dict[str, Any]:
    with uow:
        return present(uow.session, [_load(uow.session, request_id, principal)], settings)[0]


def list_payment_requests(
    dossier_code: str, *, uow: UnitOfWork, settings: Settings, principal: Principal | None
) -> list[dict[str, Any]]:
    with uow:
        stmt = select(PaymentRequest).where(PaymentRequest.dossier_code == dossier_code)
        if principal is not None and principal.agencies is not None:
            stmt = stmt.where(PaymentRequest.agency_code.in_(principal.agencies))
        rows = list(uow.session.scalars(stmt.order_by(PaymentRequest.created_at)))
        return present(uow.session, rows, settings)


def cancel_payment_request(
    request_id: str, *, uow: UnitOfWork, settings: Settings, principal: Principal | None
) -> dict[str, Any]:
    """Cancel an open request. Money already received stays recorded and is flagged for refund."""
    with uow:
        request = _lock(uow.session, request_id, principal)
        if transition(request, RequestStatus.CANCELLED):
            if request.paid_amount > 0:
                request.flags = sorted({*request.flags, "refund_due"})
            emit(uow.session, "payment_request.cancelled", str(request.id), event_payload(request))
        view = present(uow.session, [request], settings)[0]
        uow.commit()
        return view


def _lock(session: Session, request_id: str, principal: Principal | None) -> PaymentRequest:
    request = _load(session, request_id, principal)
    session.refresh(request, with_for_update=True)
    return request


def expire_overdue(*, uow: UnitOfWork, now: datetime | None = None, batch: int = 1000) -> int:
    """Mark pending requests past their expiry as expired (idempotent; safe to run twice)."""
    moment = now or utcnow()
    expired = 0
    while True:
        with uow:
            stmt = (
                select(PaymentRequest)
                .where(
                    PaymentRequest.status == RequestStatus.PENDING,
                    PaymentRequest.expires_at <= moment,
                )
                .limit(batch)
            )
            if uow.dialect == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list(uow.session.scalars(stmt))
            for request in rows:
                transition(request, RequestStatus.EXPIRED)
                emit(
                    uow.session, "payment_request.expired", str(request.id), event_payload(request)
                )
            uow.commit()
        expired += len(rows)
        if len(rows) < batch:
            return expired


def present(
    session: Session,
    requests: list[PaymentRequest],
    settings: Settings,
    *,
    accounts: Mapping[str, Account] | None = None,
    created: bool = False,
) -> list[dict[str, Any]]:
    """The JSON of requests, with whatever registered extensions add.

    ``accounts`` (by id) spares the query for accounts the caller holds already; ``created``
    says the requests were inserted in this transaction, so no transaction, receipt or other
    row can refer to them yet.
    """
    if accounts is None:
        accounts = {
            a.id: a
            for a in session.scalars(
                select(BeneficiaryAccount).where(
                    BeneficiaryAccount.id.in_({r.account_id for r in requests})
                )
            )
        }
    views = [_view(r, accounts[r.account_id], settings) for r in requests]
    if created:
        # nothing refers to a request inserted in this very transaction: what other packages
        # add (receipts) comes from outbox deliveries after it commits
        return views
    _add_transactions(session, requests, views)
    for extend in VIEW_EXTENSIONS:
        extend(session, requests, views)
    return views


def _add_transactions(
    session: Session, requests: list[PaymentRequest], views: list[dict[str, Any]]
) -> None:
    by_id = {str(r.id): v for r, v in zip(requests, views, strict=True)}
    rows = session.scalars(
        select(PaymentTransaction)
        .where(PaymentTransaction.payment_request_id.in_([r.id for r in requests]))
        .order_by(PaymentTransaction.occurred_at, PaymentTransaction.id)
    )
    for t in rows:
        by_id[str(t.payment_request_id)]["transactions"].append(
            {
                "id": t.id,
                "provider": t.provider,
                "provider_txn_id": t.provider_txn_id,
                "kind": t.kind,
                "state": t.state,
                "amount": t.amount,
                "currency": t.currency,
                "occurred_at": t.occurred_at,
                "flags": list(t.flags or []),
            }
        )


def _view(r: PaymentRequest, account: Any, settings: Settings) -> dict[str, Any]:
    base = settings.public_url.rstrip("/")
    return {
        "id": str(r.id),
        "reference": r.reference,
        "status": r.status,
        "dossier_code": r.dossier_code,
        "procedure_code": r.procedure_code,
        "agency_code": r.agency_code,
        "channel": r.channel,
        "submitted_at": r.submitted_at,
        "payer": {
            "name": r.payer_name,
            "id_number": r.payer_id_number,
            "phone": r.payer_phone,
            "email": r.payer_email,
            "address": r.payer_address,
            "category": r.payer_category,
            "categories": r.payer_categories or ([r.payer_category] if r.payer_category else []),
        },
        "lines": [_line_view(line) for line in r.lines],
        "total_amount": r.total_amount,
        "paid_amount": r.paid_amount,
        "remaining_amount": r.remaining_amount,
        "beneficiary": {
            "bank_bin": account.bank_bin,
            "bank_name": vietqr.bank_name(account.bank_bin),
            "account_number": account.account_number,
            "account_name": account.account_name,
        },
        "vietqr": {
            "payload": r.vietqr_payload,
            "png_url": f"{base}/pay/{r.checkout_token}/qr.png",
            "svg_url": f"{base}/pay/{r.checkout_token}/qr.svg",
        },
        "checkout_url": f"{base}/pay/{r.checkout_token}",
        "callback_url": r.callback_url,
        "flags": list(r.flags or []),
        "expires_at": r.expires_at,
        "created_at": r.created_at,
        "transactions": [],
        "receipts": [],
    }


def _line_view(line: PaymentLine) -> dict[str, Any]:
    reduction = None
    if line.reduction_policy_id:
        reduction = {
            "policy_id": line.reduction_policy_id,
            "legal_basis": line.reduction_legal_basis,
        }
    return {
        "fee_code": line.fee_code,
        "name": line.name,
        "kind": line.kind,
        "quantity": line.quantity,
        "unit_normal_amount": line.unit_normal_amount,
        "unit_amount": line.unit_amount,
        "normal_amount": line.normal_amount,
        "amount": line.amount,
        "legal_basis": line.legal_basis,
        "reduction": reduction,
    }
