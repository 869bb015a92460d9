"""Fee quotes: a procedure priced with the rules in force on a business day."""

from __future__ import annotations

from collections.abc import Iterable
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
from payments.errors import UnknownProcedure
from payments.fees.engine import QuoteLine, as_categories, price_procedure
from payments.fees.services import check_categories, check_items, quote_line_view
from payments.uow import UnitOfWork


class Unset:
    """A parameter left out (None is a value: a database without a catalog token)."""


UNSET = Unset()


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
