"""The marshmallow face of the one money check: an amount field at the HTTP edge is refused with a
422 naming it when ``payments.money.amount_error`` says why (THUPHI_MAX_AMOUNT, BIGINT, sign)."""

from __future__ import annotations

from marshmallow import ValidationError

from payments.money import amount_error


def positive_amount(value: int) -> None:
    """A marshmallow validator: a positive amount of đồng within the configured ceiling."""
    problem = amount_error(value)
    if problem:
        raise ValidationError(problem)
