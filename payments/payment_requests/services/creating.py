"""Create a payment request, once per idempotency key."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.services import (
    CATALOG_CACHE,
    ProcedureSnapshot,
    catalog_token_column,
)
from payments.clock import business_day, utcnow
from payments.config import Settings
from payments.errors import (
    DomainError,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
)
from payments.fees.engine import QuoteLine
from payments.onetrip import OneTrip
from payments.outbox.services import emit
from payments.payment_requests import state
from payments.payment_requests.models import (
    IdempotencyRecord,
    PaymentLine,
    PaymentRequest,
)
from payments.payment_requests.services.lifecycle import event_payload
from payments.payment_requests.services.payloads import PAYLOAD_BUILDERS
from payments.payment_requests.services.quoting import quote
from payments.payment_requests.services.reading import ViewExtension, present
from payments.payment_requests.state import transition
from payments.reference import new_reference
from payments.uow import UnitOfWork


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


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def create_payment_request(
    cmd: CreatePaymentRequest,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal,
    extensions: Sequence[ViewExtension] = (),
) -> tuple[dict[str, Any], bool]:
    """Create a payment request, or return the one created earlier under the same key.

    Returns the request's JSON and whether it was created now. The idempotency record is
    inserted before anything else, so two concurrent calls with one key meet on its primary key,
    and a key used before fails that insert: only then is the earlier request looked up (and
    shown with what ``extensions`` add).
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
                uow.session, principal.client_id, cmd.idempotency_key, digest, settings, extensions
            )
            if replay is None:
                raise
            return replay, False


class _StaleCatalog(Exception):
    """The catalog's token moved between the cached snapshot a request was priced with and the
    statement that inserted it."""


def _replay(
    session: Session,
    client_id: str,
    key: str,
    digest: str,
    settings: Settings,
    extensions: Sequence[ViewExtension],
) -> dict[str, Any] | None:
    record = session.get(IdempotencyRecord, (client_id, key))
    if record is None:
        return None
    if record.request_hash != digest:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another request body")
    request = session.get(PaymentRequest, record.payment_request_id)
    if request is None:  # pragma: no cover - the record is deleted with its request
        return None
    return present(session, [request], settings, extensions=extensions)[0]


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
        transition(request, state.EXEMPT)
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
    request = pending_request(
        request_id,
        now,
        settings,
        dossier_code=cmd.dossier_code,
        procedure_code=procedure.code,
        agency_code=procedure.agency_code,
        account_id=procedure.account_id,
        channel=cmd.channel,
        submitted_at=submitted,
        payer_name=cmd.payer.name,
        payer_id_number=cmd.payer.id_number,
        payer_phone=cmd.payer.phone,
        payer_email=cmd.payer.email,
        payer_address=cmd.payer.address,
        payer_category=next(iter(cmd.payer.category_codes), None),
        payer_categories=list(cmd.payer.category_codes) or None,
        total_amount=sum(line.amount for line in lines),
        callback_url=cmd.callback_url,
    )
    request.lines = [_line(request_id, pos, line) for pos, line in enumerate(lines)]
    return request


def pending_request(
    request_id: uuid.UUID, now: datetime, settings: Settings, **columns: Any
) -> PaymentRequest:
    """A new pending request: its own reference and checkout token, nothing paid, expiring
    after the configured time; ``columns`` give the dossier, procedure, payer, account, total."""
    submitted: datetime = columns["submitted_at"]
    return PaymentRequest(
        id=request_id,
        reference=new_reference(),
        checkout_token=secrets.token_urlsafe(24),
        quote_date=business_day(submitted),
        paid_amount=0,
        status=state.CREATED,
        flags=[],
        expires_at=now + settings.request_ttl,
        created_at=now,
        updated_at=now,
        vietqr_payload="",
        version=1,
        **columns,
    )


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
