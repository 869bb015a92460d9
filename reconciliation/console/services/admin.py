"""The fee schedule an administrator reads before importing a new catalog."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from payments.catalog.models import Procedure, ReductionPolicy
from payments.uow import UnitOfWork


def fee_schedule(*, uow: UnitOfWork) -> dict[str, Any]:
    """Procedures with their fee items, and reduction policies with their validity windows."""
    with uow:
        s = uow.session
        procedures = [
            {
                "code": p.code,
                "name": p.name,
                "agency_code": p.agency_code,
                "account_id": p.account_id,
                "fees": [
                    {
                        "code": f.code,
                        "name": f.name,
                        "kind": f.kind,
                        "amount": f.amount,
                        "legal_basis": f.legal_basis,
                    }
                    for f in p.fees
                ],
            }
            for p in s.scalars(select(Procedure).order_by(Procedure.agency_code, Procedure.code))
        ]
        reductions_ = [
            {
                "id": r.id,
                "fees": list(r.fees),
                "channels": list(r.channels),
                "payer_categories": list(r.payer_categories or []),
                "kind": r.kind,
                "value": r.value,
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
                "legal_basis": r.legal_basis,
            }
            for r in s.scalars(
                select(ReductionPolicy).order_by(ReductionPolicy.valid_from, ReductionPolicy.id)
            )
        ]
    return {"procedures": procedures, "reductions": reductions_}
