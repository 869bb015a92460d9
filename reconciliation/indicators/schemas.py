"""Wire format of the online-payment indicator (QĐ 766/QĐ-TTg)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from receipts.budget.schemas import PERIOD  # YYYY-MM, as the agency's other monthly reports


def _calendar_year(period: str) -> None:
    # a month whose Vietnamese days are all instants Python can hold (year 0 is no year)
    if not 1 < int(period[:4]) < 9999:
        raise ValidationError("the year must be from 0002 to 9998")


class IndicatorQuery(Schema):
    period = fields.String(
        required=True,
        validate=[validate.Regexp(PERIOD, error="must be YYYY-MM"), _calendar_year],
    )


class ByChannelOut(Schema):
    bank = fields.Integer(metadata={"description": "dossiers with a VietQR transfer"})
    paygov = fields.Integer(metadata={"description": "dossiers with a national-portal payment"})
    pos = fields.Integer(metadata={"description": "dossiers with a card paid at the counter"})


class OnlinePaymentOut(Schema):
    agency_code = fields.String()
    period = fields.String()
    indicator = fields.String()
    with_obligation = fields.Integer(
        metadata={"description": "dossiers whose financial obligation was first paid this month"}
    )
    paid_online = fields.Integer(metadata={"description": "of them, paid only online"})
    paid_at_counter = fields.Integer()
    mixed = fields.Integer(metadata={"description": "paid partly online, partly at the counter"})
    rate_percent = fields.Float(
        allow_none=True, metadata={"description": "paid_online / with_obligation × 100"}
    )
    by_channel = fields.Nested(ByChannelOut)
