"""Catalog reading for dossier systems: procedures with their fees, tiers, legal bases and the
reduction policies in force on a date, and the payer categories a payer may claim."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from payments.auth.services import Principal
from payments.catalog.models import PayerCategory, Procedure, ReductionPolicy
from payments.catalog.services import known_categories
from payments.clock import business_day, utcnow
from payments.fees.engine import PolicySpec
from payments.uow import UnitOfWork


def list_procedures(
    agency: str | None, on: date | None, *, uow: UnitOfWork, principal: Principal | None
) -> dict[str, Any]:
    """Every procedure (of one agency, or of all the caller may see) with what a quote on ``on``
    (default today) would use."""
    day = on or business_day(utcnow())
    with uow:
        stmt = select(Procedure).options(selectinload(Procedure.fees)).order_by(Procedure.code)
        if agency is not None:
            stmt = stmt.where(Procedure.agency_code == agency)
        if principal is not None and principal.agencies is not None:
            stmt = stmt.where(Procedure.agency_code.in_(principal.agencies))
        procedures = list(uow.session.scalars(stmt))
        policies = [
            p.to_spec()
            for p in uow.session.scalars(select(ReductionPolicy).order_by(ReductionPolicy.id))
        ]
        in_force = [p for p in policies if p.in_force(day)]
        return {
            "date": day,
            "items": [_procedure(proc, in_force) for proc in procedures],
        }


def _procedure(proc: Procedure, policies: list[PolicySpec]) -> dict[str, Any]:
    fees = [fee.to_spec() for fee in proc.fees]
    budgets = {fee.code: fee.budget for fee in proc.fees}
    codes = {fee.code for fee in fees}
    return {
        "code": proc.code,
        "name": proc.name,
        "agency_code": proc.agency_code,
        "fees": [
            {
                "code": f.code,
                "name": f.name,
                "kind": f.kind,
                "amount": f.amount,
                "tiers": [
                    {"from": t.start, "to": t.end, "amount": t.amount, "per": t.per}
                    for t in f.tiers
                ],
                "cap": f.cap,
                "budget": budgets[f.code],
                "legal_basis": f.legal_basis,
            }
            for f in fees
        ],
        "reductions": [policy_view(p) for p in policies if p.fees & codes],
    }


def policy_view(p: PolicySpec) -> dict[str, Any]:
    return {
        "id": p.id,
        "fees": sorted(p.fees),
        "channels": sorted(p.channels),
        "payer_categories": sorted(p.payer_categories) if p.payer_categories else None,
        "kind": p.kind,
        "value": int(p.value) if p.value == int(p.value) else str(p.value),
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
        "legal_basis": p.legal_basis,
    }


def list_payer_categories(*, uow: UnitOfWork) -> dict[str, Any]:
    """The categories a payer may claim: those the catalog declares, or (a catalog that declares
    none) the codes its policies name, then named by their code."""
    with uow:
        declared = list(uow.session.scalars(select(PayerCategory).order_by(PayerCategory.code)))
        if declared:
            items = [
                {"code": c.code, "name": c.name, "legal_basis": c.legal_basis} for c in declared
            ]
        else:
            policies = [p.to_spec() for p in uow.session.scalars(select(ReductionPolicy))]
            items = [
                {"code": code, "name": code, "legal_basis": ""}
                for code in sorted(known_categories(uow.session, policies))
            ]
        return {"items": items}
