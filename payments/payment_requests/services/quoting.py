"""Fee quotes: a procedure priced with the rules in force on a business day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.services import (
    CATALOG_CACHE,
    ProcedureSnapshot,
    catalog_token,
)
from payments.clock import business_day, utcnow
from payments.errors import (
    UnknownProcedure,
    ValidationFailed,
)
from payments.fees.engine import QuoteLine, price_procedure
from payments.uow import UnitOfWork


class Unset:
    """A parameter left out (None is a value: a database without a catalog token)."""


UNSET = Unset()


def quote(
    session: Session,
    procedure_code: str,
    channel: str,
    on: date,
    category: str | None,
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
    quantities = _quantities(procedure, items)
    policies = CATALOG_CACHE.policies(session, token)
    return procedure, price_procedure(procedure.fees, quantities, channel, category, on, policies)


def quote_view(
    procedure_code: str,
    channel: str,
    on: date | None,
    category: str | None,
    *,
    uow: UnitOfWork,
    principal: Principal | None,
) -> dict[str, Any]:
    """A fee quote for a procedure, channel, business date (default today) and payer category."""
    day = on or business_day(utcnow())
    with uow:
        procedure, lines = quote(uow.session, procedure_code, channel, day, category)
        if principal is not None:
            principal.require_agency(procedure.agency_code)
        return {
            "procedure_code": procedure.code,
            "procedure_name": procedure.name,
            "agency_code": procedure.agency_code,
            "channel": channel,
            "date": day,
            "payer_category": category,
            "lines": [_quote_line_view(line) for line in lines],
            "normal_total": sum(line.normal_amount for line in lines),
            "total_amount": sum(line.amount for line in lines),
        }


def _quote_line_view(q: QuoteLine) -> dict[str, Any]:
    reduction = (
        {"policy_id": q.policy_id, "legal_basis": q.reduction_legal_basis} if q.policy_id else None
    )
    return {
        "fee_code": q.fee_code,
        "name": q.name,
        "kind": q.kind,
        "quantity": q.quantity,
        "unit_normal_amount": q.unit_normal_amount,
        "unit_amount": q.unit_amount,
        "normal_amount": q.normal_amount,
        "amount": q.amount,
        "legal_basis": q.legal_basis,
        "reduction": reduction,
    }


def _quantities(
    procedure: ProcedureSnapshot, items: tuple[tuple[str, int], ...] | None
) -> dict[str, int] | None:
    if items is None:
        return None
    known = {fee.code for fee in procedure.fees}
    errors = {
        f"items.{i}.fee_code": ["not a fee of this procedure"]
        for i, (code, _) in enumerate(items)
        if code not in known
    }
    if errors:
        raise ValidationFailed(errors)
    quantities: dict[str, int] = {}
    for code, qty in items:
        quantities[code] = quantities.get(code, 0) + qty
    return quantities
