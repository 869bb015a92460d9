"""Wire format of the catalog document (DESIGN §4.3): JSON or YAML, validated whole."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from payments.catalog.models import AccountKind, Channel, FeeKind, ReductionKind
from payments.money import BIGINT_MAX, amount_error


def _whole(pattern: str) -> re.Pattern[str]:
    # validate.Regexp uses match(): "$" would also accept a trailing newline, and without
    # re.ASCII "\d" accepts any Unicode digit (full-width, Arabic-Indic…)
    return re.compile(rf"(?:{pattern})\Z", re.ASCII)


AGENCY_CODE = _whole(r"[0-9A-Z]{3}(\.[0-9A-Z]{2,3}){2,4}")
TAX_CODE = _whole(r"\d{10}(-\d{3})?")
# receipt series: 2-digit year, "T" (thu phí), two letters of the tax authority's alphabet
SERIES = _whole(r"\d{2}T[ABCDEGHKLMNPQRSTUVXY]{2}")
TEMPLATE = "EBL01"
# reduction_policies.value is NUMERIC(14, 4): ten digits before the point, four after
VALUE_MAX = Decimal("9999999999.9999")
VALUE_PLACES = Decimal("0.0001")


def series_is_valid(series: str, year: int | None = None) -> bool:
    """``26TAB``; with ``year``, the series must also belong to that year."""
    if not SERIES.match(series):
        return False
    return year is None or int(series[:2]) == year % 100


class _Strict(Schema):
    class Meta:
        ordered = True


class AccountIn(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(_whole(r"[a-z0-9][a-z0-9_-]{1,63}")))
    bank_bin = fields.String(required=True, validate=validate.Regexp(_whole(r"\d{6}")))
    account_number = fields.String(required=True, validate=validate.Length(1, 32))
    account_name = fields.String(required=True, validate=validate.Length(1, 255))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in AccountKind]))


class SeriesIn(_Strict):
    template = fields.String(load_default=TEMPLATE, validate=validate.Equal(TEMPLATE))
    series = fields.String(
        required=True,
        validate=validate.Regexp(
            SERIES, error="must be YY + T + two letters of ABCDEGHKLMNPQRSTUVXY"
        ),
    )


class AgencyIn(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(AGENCY_CODE))
    name = fields.String(required=True, validate=validate.Length(1, 255))
    tax_code = fields.String(required=True, validate=validate.Regexp(TAX_CODE))
    accounts = fields.List(fields.Nested(AccountIn), load_default=list)
    receipt_series = fields.List(fields.Nested(SeriesIn), load_default=list)


class TierIn(_Strict):
    start = fields.Integer(
        data_key="from", required=True, strict=True, validate=validate.Range(min=1)
    )
    end = fields.Integer(
        data_key="to",
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1),
    )
    amount = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=BIGINT_MAX)
    )
    per = fields.String(load_default="unit", validate=validate.OneOf(["unit", "tier"]))


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PERCENT = validate.Range(min=0, max=100)


def _percent_places(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("at most 2 decimal places")


class TransferIn(_Strict):
    to = fields.String(required=True, validate=validate.Length(1, 255))
    percent = fields.Decimal(required=True, validate=[PERCENT, _percent_places])


class RemitIn(_Strict):
    every = fields.String(required=True, validate=validate.OneOf(["week", "month"]))
    by = fields.String(load_default=None, validate=validate.OneOf(WEEKDAYS))
    by_day = fields.Integer(load_default=None, strict=True, validate=validate.Range(1, 31))

    @validates_schema
    def _one_deadline(self, data: dict[str, Any], **_: Any) -> None:
        weekly = data.get("every") == "week"
        if weekly and (data.get("by") is None or data.get("by_day") is not None):
            raise ValidationError("a weekly rule names a weekday in by (and no by_day)", "by")
        if not weekly and (data.get("by_day") is None or data.get("by") is not None):
            raise ValidationError("a monthly rule names a day in by_day (and no by)", "by_day")


class BudgetIn(_Strict):
    """DESIGN §4.3 ``budget``: what the collector keeps, transfers and remits, and when."""

    retained_percent = fields.Decimal(required=True, validate=[PERCENT, _percent_places])
    transfers = fields.List(fields.Nested(TransferIn), load_default=list)
    chapter = fields.String(load_default=None, validate=validate.Regexp(_whole(r"\d{3}")))
    sub_item = fields.String(load_default=None, validate=validate.Regexp(_whole(r"\d{4}")))
    remit = fields.Nested(RemitIn, required=True)

    @validates_schema
    def _shares_fit(self, data: dict[str, Any], **_: Any) -> None:
        shares = data.get("retained_percent", 0) + sum(
            t["percent"] for t in data.get("transfers", [])
        )
        if shares > 100:
            raise ValidationError("retained and transfers exceed 100 %", "transfers")

    @post_load
    def _as_json(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # percentages kept as exact decimal strings (the JSON column holds no Decimal)
        data["retained_percent"] = str(data["retained_percent"])
        data["transfers"] = [
            {"to": t["to"], "percent": str(t["percent"])} for t in data["transfers"]
        ]
        data["remit"] = {k: v for k, v in data["remit"].items() if v is not None}
        return data


class FeeIn(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(_whole(r"[A-Z0-9_.-]{1,32}")))
    name = fields.String(required=True, validate=validate.Length(1, 500))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in FeeKind]))
    # the base amount; with tiers it may be left out (then the first tier's amount)
    amount = fields.Integer(
        load_default=None, strict=True, validate=validate.Range(min=0, max=BIGINT_MAX)
    )
    tiers = fields.List(fields.Nested(TierIn), load_default=None, allow_none=True)
    cap = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=0, max=BIGINT_MAX),
    )
    legal_basis = fields.String(load_default="", validate=validate.Length(max=500))
    budget = fields.Nested(BudgetIn, load_default=None, allow_none=True)

    @validates_schema
    def _le_phi_goes_whole_to_the_budget(self, data: dict[str, Any], **_: Any) -> None:
        budget = data.get("budget")
        if budget is None or data.get("kind") != FeeKind.LE_PHI:
            return
        if Decimal(budget["retained_percent"]) != 0 or budget["transfers"]:
            raise ValidationError("a lệ phí goes whole to the budget: nothing retained", "budget")

    @validates_schema
    def _tiers_cover_every_quantity(self, data: dict[str, Any], **_: Any) -> None:
        tiers = data.get("tiers") or []
        if not tiers:
            if data.get("amount") is None:
                raise ValidationError("an amount or tiers are required", "amount")
            return
        expected = 1
        for i, tier in enumerate(tiers):
            if tier["start"] != expected:
                raise ValidationError(f"tier {i} must start at {expected}", "tiers")
            if tier["end"] is None:
                if i != len(tiers) - 1:
                    raise ValidationError("only the last tier may be open", "tiers")
                return
            if tier["end"] < tier["start"]:
                raise ValidationError(f"tier {i} ends before it starts", "tiers")
            expected = tier["end"] + 1
        raise ValidationError("the last tier must be open (to: null)", "tiers")

    @post_load
    def _base_amount(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        tiers = data.get("tiers") or None
        data["tiers"] = (
            [
                {"from": t["start"], "to": t["end"], "amount": t["amount"], "per": t["per"]}
                for t in tiers
            ]
            if tiers
            else None
        )
        if tiers:
            # an amount beside tiers is the first tier's price (the base a reduction's fixed
            # value replaces); without one, the first tier's amount is the fee's amount
            if data.get("amount") is None:
                data["amount"] = tiers[0]["amount"]
            data["tiers"][0]["amount"] = data["amount"]
        return data

    @validates("amount")
    def _within_ceiling(self, value: int | None, **_: Any) -> None:
        # a fee may be free (0), never above THUPHI_MAX_AMOUNT; None: its tiers price it
        problem = amount_error(value, zero=True) if value is not None else ""
        if problem:
            raise ValidationError(problem)


class ProcedureIn(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(_whole(r"\d\.\d{6}(\.\d+)?")))
    name = fields.String(required=True, validate=validate.Length(1, 500))
    agency = fields.String(required=True)
    account = fields.String(required=True)
    dvc_code = fields.String(load_default=None, validate=validate.Length(1, 64))
    fees = fields.List(fields.Nested(FeeIn), required=True)

    @validates_schema
    def _unique_fee_codes(self, data: dict[str, Any], **_: Any) -> None:
        codes = [f["code"] for f in data.get("fees", [])]
        if len(codes) != len(set(codes)):
            raise ValidationError("fee codes repeat within the procedure", "fees")


class ReductionIn(_Strict):
    id = fields.String(
        required=True, validate=validate.Regexp(_whole(r"[a-z0-9][a-z0-9_.-]{0,63}"))
    )
    fees = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    channels = fields.List(
        fields.String(validate=validate.OneOf([c.value for c in Channel])),
        required=True,
        validate=validate.Length(min=1),
    )
    payer_categories = fields.List(fields.String(), load_default=None, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ReductionKind]))
    value = fields.Decimal(load_default=0, validate=validate.Range(min=0, max=VALUE_MAX))
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    legal_basis = fields.String(required=True, validate=validate.Length(1, 500))

    @validates_schema
    def _coherent(self, data: dict[str, Any], **_: Any) -> None:
        kind, value = data.get("kind"), data.get("value", 0)
        if kind == ReductionKind.RATE_PERCENT and not 0 <= value <= 100:
            raise ValidationError("a rate is a percentage from 0 to 100", "value")
        if Decimal(value) != Decimal(value).quantize(VALUE_PLACES):
            # the column would round it, and PostgreSQL and SQLite round differently
            raise ValidationError("at most 4 decimal places", "value")
        if kind == ReductionKind.FIXED and value != int(value):
            raise ValidationError("a fixed amount is whole đồng", "value")
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end < start:
            raise ValidationError("valid_to is before valid_from", "valid_to")


class PayerCategoryIn(_Strict):
    code = fields.String(
        required=True, validate=validate.Regexp(_whole(r"[a-z0-9][a-z0-9_.-]{0,63}"))
    )
    name = fields.String(required=True, validate=validate.Length(1, 255))
    legal_basis = fields.String(load_default="", validate=validate.Length(max=500))


class CatalogIn(_Strict):
    payer_categories = fields.List(fields.Nested(PayerCategoryIn), load_default=list)
    agencies = fields.List(fields.Nested(AgencyIn), load_default=list)
    procedures = fields.List(fields.Nested(ProcedureIn), load_default=list)
    reductions = fields.List(fields.Nested(ReductionIn), load_default=list)


class CatalogImportOut(Schema):
    payer_categories = fields.Integer()
    agencies = fields.Integer()
    accounts = fields.Integer()
    receipt_series = fields.Integer()
    procedures = fields.Integer()
    fees = fields.Integer()
    reductions = fields.Integer()


# --- reading the catalog (GET /api/v1/procedures, GET /api/v1/payer-categories) ---------------


class ProcedureListQuery(Schema):
    agency = fields.String(load_default=None, validate=validate.Regexp(AGENCY_CODE))
    date = fields.Date(load_default=None)


class TierOut(Schema):
    start = fields.Integer(data_key="from", attribute="from")
    end = fields.Integer(data_key="to", attribute="to", allow_none=True)
    amount = fields.Integer()
    per = fields.String()


class FeeOut(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    amount = fields.Integer()
    tiers = fields.List(fields.Nested(TierOut))
    cap = fields.Integer(allow_none=True)
    legal_basis = fields.String()
    budget = fields.Raw(allow_none=True)


class PolicyOut(Schema):
    id = fields.String()
    fees = fields.List(fields.String())
    channels = fields.List(fields.String())
    payer_categories = fields.List(fields.String(), allow_none=True)
    kind = fields.String()
    value = fields.Raw()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    legal_basis = fields.String()


class ProcedureOut(Schema):
    code = fields.String()
    name = fields.String()
    agency_code = fields.String()
    fees = fields.List(fields.Nested(FeeOut))
    reductions = fields.List(fields.Nested(PolicyOut))


class ProcedureListOut(Schema):
    date = fields.Date()
    items = fields.List(fields.Nested(ProcedureOut))


class PayerCategoryOut(Schema):
    code = fields.String()
    name = fields.String()
    legal_basis = fields.String()


class PayerCategoryListOut(Schema):
    items = fields.List(fields.Nested(PayerCategoryOut))
