"""Catalog import (upsert by code/id, validated whole before anything is written) and look-ups."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import yaml
from marshmallow import ValidationError
from sqlalchemy import select

from payments.auth.services import Principal
from payments.catalog.models import (
    Agency,
    BeneficiaryAccount,
    FeeItem,
    Procedure,
    ReceiptSeries,
    ReductionPolicy,
)
from payments.catalog.schemas import CatalogIn
from payments.errors import CatalogInvalid, Forbidden
from payments.uow import UnitOfWork

_ENTRY_KEYS = {"agencies": "code", "procedures": "code", "reductions": "id"}


@dataclass(frozen=True)
class CatalogImportResult:
    agencies: int
    accounts: int
    receipt_series: int
    procedures: int
    fees: int
    reductions: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def parse_document(text: str | bytes) -> Any:
    """JSON, or YAML (a superset of JSON) when JSON fails."""
    raw = text.decode("utf-8-sig") if isinstance(text, bytes) else text
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise CatalogInvalid([{"entry": "document", "field": "", "message": str(exc)}]) from exc


def import_catalog(
    document: Any, *, uow: UnitOfWork, principal: Principal | None = None
) -> CatalogImportResult:
    """Validate the whole document, then upsert every entry in one transaction.

    The catalog spans agencies, so only a client for every agency may import it over the API.
    """
    if principal is not None and principal.agencies is not None:
        raise Forbidden("a client limited to some agencies cannot import the catalog")
    if not isinstance(document, dict):
        raise CatalogInvalid([{"entry": "document", "field": "", "message": "must be an object"}])
    try:
        data = CatalogIn().load(document)
    except ValidationError as exc:
        raise CatalogInvalid(_flatten(exc.messages, document)) from exc
    with uow:
        errors = _cross_check(data, uow)
        if errors:
            raise CatalogInvalid(errors)
        result = _upsert(data, uow)
        uow.commit()
    return result


def _entry_name(document: dict[str, Any], section: str, index: int) -> str:
    try:
        key = document[section][index].get(_ENTRY_KEYS.get(section, "id"))
    except (KeyError, IndexError, TypeError, AttributeError):
        key = None
    return f"{section}[{index}]" + (f" ({key})" if key else "")


def _flatten(messages: Any, document: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def walk(node: Any, path: list[str | int]) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, [*path, key])
        elif isinstance(node, list) and all(isinstance(x, str) for x in node):
            entry = "document"
            if len(path) >= 2 and isinstance(path[1], int):
                entry = _entry_name(document, str(path[0]), path[1])
                rest = path[2:]
            else:
                rest = path
            field = ".".join(str(p) for p in rest)
            out.extend({"entry": entry, "field": field, "message": m} for m in node)

    walk(messages, [])
    return out


def _cross_check(data: dict[str, Any], uow: UnitOfWork) -> list[dict[str, str]]:
    """References between entries: to the document or to what the database already holds."""
    s = uow.session
    agencies = {a["code"] for a in data["agencies"]} | set(s.scalars(select(Agency.code)))
    account_owner = {acc["id"]: a["code"] for a in data["agencies"] for acc in a["accounts"]}
    for acc_id, owner in s.execute(select(BeneficiaryAccount.id, BeneficiaryAccount.agency_code)):
        account_owner.setdefault(acc_id, owner)
    fee_codes = {f["code"] for p in data["procedures"] for f in p["fees"]}
    fee_codes |= set(s.scalars(select(FeeItem.code)))
    errors: list[dict[str, str]] = []
    for i, proc in enumerate(data["procedures"]):
        entry = f"procedures[{i}] ({proc['code']})"
        if proc["agency"] not in agencies:
            errors.append({"entry": entry, "field": "agency", "message": "unknown agency"})
        elif account_owner.get(proc["account"]) != proc["agency"]:
            msg = (
                "unknown account"
                if proc["account"] not in account_owner
                else "account of another agency"
            )
            errors.append({"entry": entry, "field": "account", "message": msg})
    for i, red in enumerate(data["reductions"]):
        missing = sorted(set(red["fees"]) - fee_codes)
        if missing:
            errors.append(
                {
                    "entry": f"reductions[{i}] ({red['id']})",
                    "field": "fees",
                    "message": f"unknown fee code(s): {', '.join(missing)}",
                }
            )
    errors += _duplicates(data)
    return errors


def _duplicates(data: dict[str, Any]) -> list[dict[str, str]]:
    errors = []
    for section, key in _ENTRY_KEYS.items():
        seen: set[str] = set()
        for i, item in enumerate(data[section]):
            if item[key] in seen:
                errors.append(
                    {
                        "entry": f"{section}[{i}] ({item[key]})",
                        "field": key,
                        "message": "appears twice in the document",
                    }
                )
            seen.add(item[key])
    # account ids are global: the same id under two agencies would silently move the account
    accounts: set[str] = set()
    for i, agency in enumerate(data["agencies"]):
        for j, account in enumerate(agency["accounts"]):
            if account["id"] in accounts:
                errors.append(
                    {
                        "entry": f"agencies[{i}] ({agency['code']})",
                        "field": f"accounts.{j}.id",
                        "message": f"account {account['id']} appears twice in the document",
                    }
                )
            accounts.add(account["id"])
    return errors


def _upsert(data: dict[str, Any], uow: UnitOfWork) -> CatalogImportResult:
    s = uow.session
    counts = {"accounts": 0, "receipt_series": 0, "fees": 0}
    for a in data["agencies"]:
        agency = s.get(Agency, a["code"]) or Agency(code=a["code"])
        agency.name, agency.tax_code = a["name"], a["tax_code"]
        s.add(agency)
        for acc in a["accounts"]:
            row = s.get(BeneficiaryAccount, acc["id"]) or BeneficiaryAccount(id=acc["id"])
            row.agency_code = a["code"]
            row.bank_bin, row.account_number = acc["bank_bin"], acc["account_number"]
            row.account_name, row.kind = acc["account_name"], acc["kind"]
            s.add(row)
            counts["accounts"] += 1
        for ser in a["receipt_series"]:
            _upsert_series(uow, a["code"], ser["template"], ser["series"])
            counts["receipt_series"] += 1
    s.flush()
    for p in data["procedures"]:
        counts["fees"] += _upsert_procedure(uow, p)
    for r in data["reductions"]:
        policy = s.get(ReductionPolicy, r["id"]) or ReductionPolicy(id=r["id"])
        for key in (
            "fees",
            "channels",
            "payer_categories",
            "kind",
            "value",
            "valid_from",
            "valid_to",
            "legal_basis",
        ):
            setattr(policy, key, r[key])
        s.add(policy)
    s.flush()
    return CatalogImportResult(
        agencies=len(data["agencies"]),
        procedures=len(data["procedures"]),
        reductions=len(data["reductions"]),
        **counts,
    )


def _upsert_series(uow: UnitOfWork, agency_code: str, template: str, series: str) -> None:
    exists = uow.session.scalar(
        select(ReceiptSeries).where(
            ReceiptSeries.agency_code == agency_code,
            ReceiptSeries.template == template,
            ReceiptSeries.series == series,
        )
    )
    if exists is None:
        uow.session.add(ReceiptSeries(agency_code=agency_code, template=template, series=series))


def _upsert_procedure(uow: UnitOfWork, p: dict[str, Any]) -> int:
    proc = uow.session.get(Procedure, p["code"]) or Procedure(code=p["code"])
    proc.name, proc.agency_code, proc.account_id = p["name"], p["agency"], p["account"]
    existing = {fee.code: fee for fee in proc.fees}
    fees = []
    for pos, f in enumerate(p["fees"]):
        fee = existing.get(f["code"]) or FeeItem(code=f["code"])
        fee.position, fee.name, fee.kind = pos, f["name"], f["kind"]
        fee.amount, fee.legal_basis = f["amount"], f["legal_basis"]
        fees.append(fee)
    proc.fees = fees  # fees no longer listed are orphans and go
    uow.session.add(proc)
    return len(fees)
