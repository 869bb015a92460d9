"""How an open request ends without a payment: cancelled or expired; and what the outbox says
about a request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.clock import utcnow
from payments.config import Settings
from payments.outbox.services import emit
from payments.payment_requests.models import (
    AnyRequest,
    PaymentRequest,
    RequestStatus,
)
from payments.payment_requests.services.reading import ViewExtension, load_request, present
from payments.payment_requests.state import transition
from payments.transactions import ledger
from payments.uow import UnitOfWork


def event_payload(request: AnyRequest) -> dict[str, Any]:
    """What the outbox carries about a request (built by ``ledger.event_payload``)."""
    return ledger.event_payload(request, ledger.standing(request))


def cancel_payment_request(
    request_id: str,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    extensions: Sequence[ViewExtension] = (),
) -> dict[str, Any]:
    """Cancel an open request. Money already received stays recorded and is flagged for refund."""
    with uow:
        request = _lock(uow.session, request_id, principal)
        if transition(request, RequestStatus.CANCELLED):
            if request.paid_amount > 0:
                request.flags = sorted({*request.flags, "refund_due"})
            emit(uow.session, "payment_request.cancelled", str(request.id), event_payload(request))
        view = present(uow.session, [request], settings, extensions=extensions)[0]
        uow.commit()
        return view


def _lock(session: Session, request_id: str, principal: Principal | None) -> PaymentRequest:
    request = load_request(session, request_id, principal)
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
