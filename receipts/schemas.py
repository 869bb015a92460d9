"""HTTP wire format of receipts, replacements and error notices (marshmallow 4)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from receipts.services import CorrectedLine, RecordErrorNotice, ReplaceReceipt


def _printable(value: str) -> bool:
    # a NUL cannot be stored in PostgreSQL text, and control characters have no place on a receipt
    if any(ord(ch) < 32 for ch in value):
        raise ValidationError("control characters are not allowed")
    return True


def _text(low: int, high: int) -> list[Any]:
    return [validate.Length(low, high), _printable]


class ReceiptListQuery(Schema):
    payment_request_id = fields.UUID(required=True)


class ReplaceLineIn(Schema):
    """A corrected fee line: a fee of the receipt's procedure and kind, and its right amount."""

    fee_code = fields.String(required=True, validate=validate.Length(1, 32))
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 1000))
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(0, 10**12))


class ReplaceIn(Schema):
    """Body of ``POST /api/v1/receipts/{id}/replace``: corrected payer details and/or fee lines
    (amounts, fees), and why (TT 91/2026 Điều 20: a wrong amount or fee is replaced)."""

    payer_name = fields.String(load_default=None, validate=_text(1, 255))
    payer_address = fields.String(load_default=None, validate=_text(1, 500))
    payer_id_number = fields.String(
        load_default=None, validate=validate.Regexp(r"^[0-9A-Za-z]{6,20}$")
    )
    reason = fields.String(required=True, validate=_text(3, 1000))
    lines = fields.List(
        fields.Nested(ReplaceLineIn), load_default=None, validate=validate.Length(1, 50)
    )

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> ReplaceReceipt:
        lines = data.pop("lines", None)
        corrected = (
            tuple(CorrectedLine(x["fee_code"], x["quantity"], x["amount"]) for x in lines)
            if lines
            else None
        )
        return ReplaceReceipt(receipt_id="", lines=corrected, **data)


class ErrorNoticeIn(Schema):
    """Body of ``POST /api/v1/receipts/{id}/error-notices`` (Mẫu 04/SS-CTĐT)."""

    payer_name = fields.String(load_default=None, validate=_text(1, 255))
    payer_address = fields.String(load_default=None, validate=_text(1, 500))
    reason = fields.String(required=True, validate=_text(3, 1000))

    @post_load
    def _command(self, data: dict[str, Any], **_: Any) -> RecordErrorNotice:
        return RecordErrorNotice(receipt_id="", **data)


class ReceiptPayerOut(Schema):
    name = fields.String()
    id_number = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class ReceiptReductionOut(Schema):
    policy_id = fields.String()
    legal_basis = fields.String(allow_none=True)


class ReceiptLineOut(Schema):
    fee_code = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    normal_amount = fields.Integer()
    amount = fields.Integer()
    legal_basis = fields.String()
    reduction = fields.Nested(ReceiptReductionOut, allow_none=True)


class ErrorNoticeOut(Schema):
    id = fields.Integer()
    receipt_id = fields.String()
    form = fields.String()
    payer_name = fields.String(allow_none=True)
    payer_address = fields.String(allow_none=True)
    reason = fields.String()
    created_at = fields.AwareDateTime()
    # sent to the tax authority through the outbox (TT 91/2026 Điều 20): pending | accepted
    tax_authority_status = fields.String()
    tax_authority_id = fields.String(allow_none=True)
    tax_accepted_at = fields.AwareDateTime(allow_none=True)


class ReceiptOut(Schema):
    id = fields.String()
    payment_request_id = fields.String()
    agency_code = fields.String()
    template = fields.String()
    series = fields.String()
    number = fields.Integer()
    kind = fields.String()
    issued_at = fields.AwareDateTime()
    issued_on = fields.Date()
    payer = fields.Nested(ReceiptPayerOut)
    dossier_code = fields.String()
    procedure_code = fields.String()
    procedure_name = fields.String()
    payment_channel = fields.String()
    payment_reference = fields.String()
    lines = fields.List(fields.Nested(ReceiptLineOut))
    total_amount = fields.Integer()
    amount_in_words = fields.String()
    status = fields.String()
    replaces = fields.String(allow_none=True)
    replaced_by = fields.String(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    tax_authority_status = fields.String()
    tax_authority_id = fields.String(allow_none=True)
    error_notices = fields.List(fields.Nested(ErrorNoticeOut))
    # on a replacement that corrected amounts: {kind: none | refund_due |
    # additional_payment_due, amount, original_total, corrected_total}
    money_consequence = fields.Dict(allow_none=True)
    verification_url = fields.String()
    xml_url = fields.String()
    pdf_url = fields.String()


class ReceiptListOut(Schema):
    items = fields.List(fields.Nested(ReceiptOut))
