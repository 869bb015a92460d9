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
