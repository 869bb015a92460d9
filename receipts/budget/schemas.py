"""Wire format of obligations and remittances (DESIGN §4.2 "Remitting to the budget")."""

from __future__ import annotations

import re

from marshmallow import Schema, fields, validate

from payments.amounts import positive_amount

PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])\Z", re.ASCII)


class ObligationQuery(Schema):
    period = fields.String(required=True, validate=validate.Regexp(PERIOD, error="must be YYYY-MM"))
    # the day overdue items and remittances are read at (default: today in Việt Nam)
    as_of = fields.Date(load_default=None)


class OrderQuery(Schema):
    # the day the order is prepared for (default: today in Việt Nam)
    as_of = fields.Date(load_default=None)


class TransferOut(Schema):
    to = fields.String()
    amount = fields.Integer()


class ObligationLineOut(Schema):
    fee_code = fields.String()
    kind = fields.String()
    period = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    collected = fields.Integer()
    retained = fields.Integer()
    transfers = fields.List(fields.Nested(TransferOut))
    owed = fields.Integer()
    remitted = fields.Integer()
    outstanding = fields.Integer()
    due_on = fields.Date()


class TotalsOut(Schema):
    collected = fields.Integer()
    retained = fields.Integer()
    transferred = fields.Integer()
    owed = fields.Integer()
    remitted = fields.Integer()
    outstanding = fields.Integer()


class OverdueOut(Schema):
    fee_code = fields.String()
    period = fields.String()
    amount = fields.Integer()
    due_on = fields.Date()


class ObligationsOut(Schema):
    agency_code = fields.String()
    period = fields.String()
    as_of = fields.Date()
    lines = fields.List(fields.Nested(ObligationLineOut))
    totals = fields.Nested(TotalsOut)
    overdue = fields.List(fields.Nested(OverdueOut))


class RemittanceIn(Schema):
    amount = fields.Integer(
        required=True, strict=True, validate=[validate.Range(min=1), positive_amount]
    )
    paid_on = fields.Date(required=True)
    order_reference = fields.String(required=True, validate=validate.Length(1, 64))
    fee_codes = fields.List(
        fields.String(validate=validate.Length(1, 32)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1),
    )


class SettledOut(Schema):
    fee_code = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    amount = fields.Integer()


class RemittanceOut(Schema):
    id = fields.UUID()
    agency_code = fields.String()
    amount = fields.Integer()
    paid_on = fields.Date()
    order_reference = fields.String()
    fee_codes = fields.List(fields.String(), allow_none=True)
    settled = fields.List(fields.Nested(SettledOut))
    unallocated = fields.Integer()


class DocumentQuery(Schema):
    # 0: the first declaration (lần đầu); n: the n-th supplement (bổ sung lần thứ n)
    supplement = fields.Integer(load_default=0, validate=validate.Range(min=0, max=99))


class RemittancesOut(Schema):
    agency_code = fields.String()
    remittances = fields.List(fields.Nested(RemittanceOut))


class DeclarationLineOut(Schema):
    fee_code = fields.String()
    fee_name = fields.String()
    kind = fields.String()
    chapter = fields.String(allow_none=True)
    sub_item = fields.String(allow_none=True)
    retained_percent = fields.String()
    # the form's "trích để lại": kept and transferred, everything not owed to the budget
    not_owed_percent = fields.String()
    collected = fields.Integer()
    retained = fields.Integer()
    transfers = fields.List(fields.Nested(TransferOut))
    not_owed = fields.Integer()
    owed = fields.Integer()


class DeclarationTotalsOut(Schema):
    collected = fields.Integer()
    retained = fields.Integer()
    transferred = fields.Integer()
    owed = fields.Integer()


class DeclarationOut(Schema):
    form = fields.String()
    agency_code = fields.String()
    agency_name = fields.String()
    tax_code = fields.String()
    period = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    prepared_on = fields.Date()
    supplement = fields.Integer()
    lines = fields.List(fields.Nested(DeclarationLineOut))
    totals = fields.Nested(DeclarationTotalsOut)


class SettlementLineOut(DeclarationLineOut):
    declared = fields.Integer()  # what the twelve monthly declarations declared owed
    difference = fields.Integer()  # owed − declared
    remitted = fields.Integer()
    outstanding = fields.Integer()  # owed − remitted: still owed (+) or overpaid (−)


class SettlementTotalsOut(DeclarationTotalsOut):
    declared = fields.Integer()
    difference = fields.Integer()
    remitted = fields.Integer()
    outstanding = fields.Integer()
    unallocated = fields.Integer()  # remitted in the year and settling nothing


class SettlementOut(DeclarationOut):
    """``/declarations/{YYYY}``: the yearly settlement (the monthly declaration's fields, and
    what was declared, remitted and is still owed)."""

    lines = fields.List(fields.Nested(SettlementLineOut))
    totals = fields.Nested(SettlementTotalsOut)


class JournalRowOut(Schema):
    date = fields.Date()
    entry = fields.String()  # collection | refund | owed | transfer | retained | remittance
    document = fields.String()  # số chứng từ: the receipt, the order, or the period's entry
    template = fields.String(allow_none=True)
    series = fields.String(allow_none=True)
    number = fields.Integer(allow_none=True)
    fee_code = fields.String(allow_none=True)
    fee_name = fields.String(allow_none=True)
    description = fields.String()
    amount = fields.Integer()
    # one side empty: an off-balance account (014) is written alone
    debit = fields.String(allow_none=True)
    credit = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)


class AccountOut(Schema):
    code = fields.String()
    name = fields.String()


class JournalOut(Schema):
    agency_code = fields.String()
    agency_name = fields.String()
    period = fields.String()
    accounts = fields.List(fields.Nested(AccountOut))
    rows = fields.List(fields.Nested(JournalRowOut))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
