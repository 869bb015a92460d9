"""HTTP wire format of payment requests and fee quotes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from payments.amounts import positive_amount
from payments.catalog.models import Channel
from payments.catalog.schemas import TierOut
from payments.payment_requests.services import CreatePaymentRequest, Payer

CHANNELS = [c.value for c in Channel]


class PayerIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 255))
    id_number = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9A-Za-z]{6,20}$")
    )
    phone = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\+?[0-9 .-]{8,20}$")
    )
    email = fields.Email(load_default=None, allow_none=True)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    # several categories (a student who is also a công dân số): the most favourable policy wins
    categories = fields.List(
        fields.String(validate=validate.Length(1, 64)),
        load_default=list,
        validate=validate.Length(max=10),
    )

    @post_load
    def _tuple(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["categories"] = tuple(data.get("categories") or ())
        return data


class ItemIn(Schema):
    fee_code = fields.String(required=True, validate=validate.Length(1, 32))
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 1000))


class PaymentRequestIn(Schema):
    """Body of ``POST /api/v1/payment-requests``; loads into a CreatePaymentRequest."""

    dossier_code = fields.String(required=True, validate=validate.Length(1, 64))
    procedure_code = fields.String(required=True, validate=validate.Length(1, 32))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    submitted_at = fields.AwareDateTime(load_default=None, allow_none=True)
    payer = fields.Nested(PayerIn, required=True)
    items = fields.List(
        fields.Nested(ItemIn),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=50),
    )
    callback_url = fields.Url(
        load_default=None, allow_none=True, schemes={"http", "https"}, require_tld=False
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> CreatePaymentRequest:
        items = data.get("items")
        return CreatePaymentRequest(
            dossier_code=data["dossier_code"],
            procedure_code=data["procedure_code"],
            channel=data["channel"],
            submitted_at=data.get("submitted_at"),
            payer=Payer(**data["payer"]),
            items=tuple((i["fee_code"], i["quantity"]) for i in items) if items else None,
            callback_url=data.get("callback_url"),
        )


class ReductionOut(Schema):
    policy_id = fields.String()
    legal_basis = fields.String()
    # quotes explain the policy applied: its kind, value, window and payer categories
    kind = fields.String()
    value = fields.Raw()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    payer_categories = fields.List(fields.String(), allow_none=True)


class TierStepOut(TierOut):
    """A tier's part of a quoted line: the catalog's tier with the units it priced."""

    units = fields.Integer()
    unit_amount = fields.Integer()


class LineOut(Schema):
    fee_code = fields.String()
    name = fields.String()
    kind = fields.String()
    quantity = fields.Integer()
    unit_normal_amount = fields.Integer()
    unit_amount = fields.Integer()
    normal_amount = fields.Integer()
    amount = fields.Integer()
    legal_basis = fields.String()
    reduction = fields.Nested(ReductionOut, allow_none=True)


class QuoteLineOut(LineOut):
    """A quoted line: the tier arithmetic and the cap beside the amounts."""

    tiers = fields.List(fields.Nested(TierStepOut))
    cap = fields.Integer(allow_none=True)
    capped = fields.Boolean()
    arithmetic = fields.String()


class PayerOut(Schema):
    name = fields.String()
    id_number = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    categories = fields.List(fields.String())


class BeneficiaryOut(Schema):
    bank_bin = fields.String()
    bank_name = fields.String(allow_none=True)
    account_number = fields.String()
    account_name = fields.String()


class VietQROut(Schema):
    payload = fields.String()
    png_url = fields.String()
    svg_url = fields.String()


class RefundIn(Schema):
    """``POST /payment-requests/{id}/refunds`` (DESIGN §4.2): money paid back to the payer."""

    amount = fields.Integer(
        required=True, strict=True, validate=[validate.Range(min=1), positive_amount]
    )
    refunded_on = fields.Date(required=True)
    bank_reference = fields.String(required=True, validate=validate.Length(1, 128))
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class TransactionOut(Schema):
    id = fields.Integer()
    provider = fields.String()
    provider_txn_id = fields.String()
    kind = fields.String()
    state = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    # ISO 8601 with its offset, like every other instant of the API (not an HTTP date)
    occurred_at = fields.AwareDateTime()
    flags = fields.List(fields.String())


class PaymentRequestOut(Schema):
    id = fields.String()
    reference = fields.String()
    status = fields.String()
    dossier_code = fields.String()
    procedure_code = fields.String()
    agency_code = fields.String()
    channel = fields.String()
    submitted_at = fields.AwareDateTime()
    payer = fields.Nested(PayerOut)
    lines = fields.List(fields.Nested(LineOut))
    total_amount = fields.Integer()
    paid_amount = fields.Integer()
    remaining_amount = fields.Integer()
    beneficiary = fields.Nested(BeneficiaryOut)
    vietqr = fields.Nested(VietQROut)
    checkout_url = fields.String()
    callback_url = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    expires_at = fields.AwareDateTime()
    created_at = fields.AwareDateTime()
    transactions = fields.List(fields.Nested(TransactionOut))
    receipts = fields.List(fields.Dict())


class PaymentRequestListOut(Schema):
    items = fields.List(fields.Nested(PaymentRequestOut))


class ListQuery(Schema):
    dossier_code = fields.String(required=True, validate=validate.Length(1, 64))


class QuoteQuery(Schema):
    procedure = fields.String(required=True, validate=validate.Length(1, 32))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    date = fields.Date(load_default=None)
    payer_category = fields.String(load_default=None, validate=validate.Length(1, 64))
    payer_categories = fields.String(
        load_default=None,
        validate=validate.Length(1, 400),
        metadata={"description": "comma-separated"},
    )

    @post_load
    def _categories(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        listed = (data.pop("payer_categories", None) or "").split(",")
        single = [data["payer_category"]] if data.get("payer_category") else []
        data["categories"] = tuple(
            dict.fromkeys(c.strip() for c in [*listed, *single] if c.strip())
        )
        return data


class QuoteOut(Schema):
    procedure_code = fields.String()
    procedure_name = fields.String()
    agency_code = fields.String()
    channel = fields.String()
    date = fields.Date()
    payer_category = fields.String(allow_none=True)
    payer_categories = fields.List(fields.String())
    lines = fields.List(fields.Nested(QuoteLineOut))
    normal_total = fields.Integer()
    total_amount = fields.Integer()
