"""Checks and explanations around the fee engine: what a quote refuses and how it shows itself."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from payments.errors import UnknownFee, UnknownPayerCategory
from payments.fees.engine import FeeSpec, QuoteLine, as_categories


def check_categories(categories: Iterable[str], known: Collection[str]) -> frozenset[str]:
    """The payer's categories, each known to the catalog; an unknown one is a 422 naming it."""
    codes = as_categories(categories)
    unknown = sorted(codes - set(known))
    if unknown:
        raise UnknownPayerCategory(
            f"unknown payer category {', '.join(map(repr, unknown))}; "
            "GET /api/v1/payer-categories lists them",
            value=unknown[0],
            errors={"payer.categories": [f"unknown: {code}" for code in unknown]},
        )
    return codes


def check_items(
    fees: Iterable[FeeSpec], items: tuple[tuple[str, int], ...] | None
) -> dict[str, int] | None:
    """Quantities per fee code from the items asked for (None: every fee once)."""
    if items is None:
        return None
    known = {fee.code for fee in fees}
    unknown = [(i, code) for i, (code, _) in enumerate(items) if code not in known]
    if unknown:
        raise UnknownFee(
            f"{unknown[0][1]!r} is not a fee of this procedure",
            value=unknown[0][1],
            errors={
                f"items.{i}.fee_code": [f"not a fee of this procedure: {c}"] for i, c in unknown
            },
        )
    quantities: dict[str, int] = {}
    for code, qty in items:
        quantities[code] = quantities.get(code, 0) + qty
    return quantities


def quote_line_view(q: QuoteLine) -> dict[str, Any]:
    """A quoted line that explains itself: the tier arithmetic, the cap, the policy applied
    with its legal basis and window."""
    reduction = None
    if q.policy is not None:
        p = q.policy
        reduction = {
            "policy_id": p.id,
            "legal_basis": p.legal_basis,
            "kind": p.kind,
            "value": int(p.value) if p.value == int(p.value) else str(p.value),
            "valid_from": p.valid_from,
            "valid_to": p.valid_to,
            "payer_categories": sorted(p.payer_categories) if p.payer_categories else None,
        }
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
        "tiers": [
            {
                "from": s.start,
                "to": s.end,
                "per": s.per,
                "units": s.units,
                "unit_amount": s.unit_amount,
                "amount": s.amount,
            }
            for s in q.steps
        ],
        "cap": q.cap,
        "capped": q.capped,
        "arithmetic": q.arithmetic,
        "reduction": reduction,
    }
