"""HTTP wire format of statements, runs and exception resolutions."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates
from werkzeug.datastructures import FileStorage

from reconciliation.models import Action, Reason
from reconciliation.parsers import FORMATS


class StatementUploadIn(Schema):
    """The multipart/form-data body of ``POST /api/v1/accounts/{id}/statements``: the statement
    ``file`` and, optionally, its ``format`` (detected from the content when left out)."""

    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "The statement file"},
    )
    format = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(FORMATS),
        metadata={"description": "Skips format detection"},
    )
    override = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Import even when the memo references say the statement belongs to "
            "another account (the refusal names that account)"
        },
    )

    @validates("file")
    def _is_a_file_part(self, value: Any, **_: Any) -> None:
        if not isinstance(value, FileStorage):
            raise ValidationError("send the statement as a multipart 'file' part")


class StatementImportOut(Schema):
    statement_id = fields.Integer()
    format = fields.String()
    lines_total = fields.Integer()
    lines_imported = fields.Integer()
    lines_skipped = fields.Integer()
    warnings = fields.List(fields.String())
    account_unverified = fields.Boolean()


class StatementLineOut(Schema):
    id = fields.Integer()
    line_no = fields.Integer()
    booking_date = fields.Date()
    value_date = fields.Date(allow_none=True)
    amount = fields.Integer()
    description = fields.String()
    bank_reference = fields.String(allow_none=True)
    counterparty_name = fields.String(allow_none=True)
    counterparty_account = fields.String(allow_none=True)
    balance = fields.Integer(allow_none=True)
    reference = fields.String(allow_none=True)
    account_unverified = fields.Boolean()


class StatementOut(Schema):
    """``GET /api/v1/statements/{id}``: the statement as read, one page of its lines
    (``?after=<line id>&limit=``; ``next_after`` is the cursor of the next page, or null)."""

    id = fields.Integer()
    account_id = fields.String()
    format = fields.String()
    filename = fields.String(allow_none=True)
    imported_at = fields.DateTime()
    currency = fields.String()
    opening_balance = fields.Integer(allow_none=True)
    closing_balance = fields.Integer(allow_none=True)
    lines_net = fields.Integer()
    lines_total = fields.Integer()
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    warnings = fields.List(fields.String())
    account_unverified = fields.Boolean()
    lines = fields.List(fields.Nested(StatementLineOut))
    next_after = fields.Integer(allow_none=True)


class StatementPageIn(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class ReconcileIn(Schema):
    """Body of ``POST /api/v1/accounts/{id}/reconciliations``: the business day."""

    date = fields.Date(required=True)


class SummaryOut(Schema):
    statement_credits = fields.Integer()
    credits_amount = fields.Integer()
    statement_debits = fields.Integer()
    debits_amount = fields.Integer()
    matched = fields.Integer()
    matched_amount = fields.Integer()
    proposed = fields.Integer()
    exceptions = fields.Dict(
        keys=fields.String(validate=validate.OneOf([r.value for r in Reason])),
        values=fields.Integer(),
    )
    open_items = fields.Integer()
    balance_check = fields.Dict()


class MatchOut(Schema):
    rule = fields.String()
    status = fields.String()
    statement_line_id = fields.Integer()
    payment_request_ids = fields.List(fields.String())
    amount = fields.Integer()


class ExceptionOut(Schema):
    id = fields.Integer()
    reason = fields.String()
    amount = fields.Integer()
    statement_line_id = fields.Integer(allow_none=True)
    payment_request_id = fields.String(allow_none=True)
    detail = fields.String()
    status = fields.String()


class RunOut(Schema):
    id = fields.String()
    account_id = fields.String()
    date = fields.Date()
    status = fields.String()
    summary = fields.Nested(SummaryOut)


class RunDetailOut(RunOut):
    matches = fields.List(fields.Nested(MatchOut))
    exceptions = fields.List(fields.Nested(ExceptionOut))


class ResolveIn(Schema):
    """Body of ``POST /api/v1/reconciliation-exceptions/{id}/resolve``."""

    action = fields.String(required=True, validate=validate.OneOf([a.value for a in Action]))
    payment_request_id = fields.UUID(load_default=None, allow_none=True)
    note = fields.String(required=True, validate=validate.Length(1, 2000))

    @post_load
    def _plain(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        rid = data.get("payment_request_id")
        return {**data, "payment_request_id": str(rid) if rid else None}
