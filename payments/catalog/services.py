"""Catalog import (upsert by code/id, validated whole before anything is written) and look-ups."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import yaml
from marshmallow import ValidationError
from sqlalchemy import ScalarSelect, select
from sqlalchemy.orm import Session, joinedload

from payments.auth.services import Principal
from payments.catalog.models import (
    Agency,
    BeneficiaryAccount,
    CatalogState,
    FeeItem,
    PayerCategory,
    Procedure,
    ReceiptSeries,
    ReductionPolicy,
)
from payments.catalog.schemas import CatalogIn
from payments.errors import CatalogInvalid, Forbidden
from payments.fees.engine import FeeSpec, PolicySpec
from payments.uow import UnitOfWork

_ENTRY_KEYS = {
    "payer_categories": "code",
    "agencies": "code",
    "procedures": "code",
    "reductions": "id",
}


@dataclass(frozen=True)
class CatalogImportResult:
    payer_categories: int
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
    try:
        raw = text.decode("utf-8-sig") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise _unreadable("not UTF-8 text") from exc
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise _unreadable("nested too deep") from exc
    except ValueError:  # not JSON (or a number of more than 4300 digits): try YAML
        pass
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise _unreadable(str(exc)) from exc
    except (RecursionError, ValueError) as exc:
        raise _unreadable("nested too deep or a number too long") from exc


def _unreadable(message: str) -> CatalogInvalid:
    return CatalogInvalid([{"entry": "document", "field": "", "message": message}])


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
    errors += _unknown_categories(data, s)
    errors += _duplicates(data)
    return errors


def _unknown_categories(data: dict[str, Any], s: Session) -> list[dict[str, str]]:
    """Once payer categories are declared (here or before), policies name only those."""
    declared = {c["code"] for c in data["payer_categories"]}
    declared |= set(s.scalars(select(PayerCategory.code)))
    if not declared:
        return []  # a catalog without a list: the codes its policies use are its categories
    errors = []
    for i, red in enumerate(data["reductions"]):
        unknown = sorted(set(red["payer_categories"] or ()) - declared)
        if unknown:
            errors.append(
                {
                    "entry": f"reductions[{i}] ({red['id']})",
                    "field": "payer_categories",
                    "message": f"unknown payer categor(y/ies): {', '.join(unknown)}",
                }
            )
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
    for c in data["payer_categories"]:
        category = s.get(PayerCategory, c["code"]) or PayerCategory(code=c["code"])
        category.name, category.legal_basis = c["name"], c["legal_basis"]
        s.add(category)
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
        payer_categories=len(data["payer_categories"]),
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
    proc.dvc_code = p.get("dvc_code")
    existing = {fee.code: fee for fee in proc.fees}
    fees = []
    for pos, f in enumerate(p["fees"]):
        fee = existing.get(f["code"]) or FeeItem(code=f["code"])
        fee.position, fee.name, fee.kind = pos, f["name"], f["kind"]
        fee.amount, fee.legal_basis = f["amount"], f["legal_basis"]
        fee.tiers, fee.cap = f["tiers"], f["cap"]
        fee.budget = f.get("budget")
        fees.append(fee)
    proc.fees = fees  # fees no longer listed are orphans and go
    uow.session.add(proc)
    return len(fees)


# --- per-process cache of what quotes need ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """A beneficiary account as a quote and a new request show it."""

    id: str
    agency_code: str
    bank_bin: str
    account_number: str
    account_name: str
    kind: str


@dataclass(frozen=True, slots=True)
class ProcedureSnapshot:
    """A procedure with its fees (in order) and its account, detached from any session."""

    code: str
    name: str
    agency_code: str
    account_id: str
    account: AccountSnapshot
    fees: tuple[FeeSpec, ...]


def catalog_token_column() -> ScalarSelect[str]:
    """The catalog's current token as a scalar subquery, to ride along a statement sent anyway."""
    return select(CatalogState.token).where(CatalogState.id == 1).scalar_subquery()


def catalog_token(session: Session) -> str | None:
    return session.scalar(select(CatalogState.token).where(CatalogState.id == 1))


class CatalogCache:
    """Procedures and reduction policies read once per process, for as long as the catalog's
    token (changed by triggers on every catalog write) stays the same.

    The caller reads the token in its own transaction, before asking: what it then gets is what
    that transaction would have read. A snapshot loaded under a token that changed meanwhile is
    only ever used under the old token, which no transaction sees again. Without a token (a
    database whose catalog_state row was deleted) nothing is cached.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: str | None = None
        self._procedures: dict[str, ProcedureSnapshot] = {}
        self._policies: tuple[PolicySpec, ...] | None = None
        self._categories: frozenset[str] | None = None

    @property
    def token(self) -> str | None:
        """The token of the snapshot held now (None before the first quote)."""
        return self._token

    def procedure(self, session: Session, code: str, token: str | None) -> ProcedureSnapshot | None:
        procedures = self._current(token)[0]
        found = procedures.get(code) if procedures is not None else None
        if found is None:
            found = _load_procedure(session, code)
            if found is not None and procedures is not None:
                procedures[code] = found
        return found

    def policies(self, session: Session, token: str | None) -> tuple[PolicySpec, ...]:
        procedures, policies = self._current(token)
        if policies is None:
            policies = tuple(p.to_spec() for p in session.scalars(select(ReductionPolicy)))
            with self._lock:
                if procedures is not None and self._token == token:
                    self._policies = policies
        return policies

    def categories(self, session: Session, token: str | None) -> frozenset[str]:
        """The payer category codes a payer may carry: those declared, or (a catalog that
        declares none) those its policies name."""
        with self._lock:
            cached = self._categories if token is not None and token == self._token else None
        if cached is not None:
            return cached
        found = known_categories(session, self.policies(session, token))
        with self._lock:
            if token is not None and self._token == token:
                self._categories = found
        return found

    def _current(
        self, token: str | None
    ) -> tuple[dict[str, ProcedureSnapshot] | None, tuple[PolicySpec, ...] | None]:
        """The cache for ``token`` (emptied when the token moved); (None, None) without one."""
        if token is None:
            return None, None
        with self._lock:
            if token != self._token:
                self._token, self._procedures, self._policies = token, {}, None
                self._categories = None
            return self._procedures, self._policies


def known_categories(session: Session, policies: Iterable[PolicySpec]) -> frozenset[str]:
    declared = frozenset(session.scalars(select(PayerCategory.code)))
    if declared:
        return declared
    return frozenset(c for p in policies for c in p.payer_categories or ())


def _load_procedure(session: Session, code: str) -> ProcedureSnapshot | None:
    # one query for the procedure, its fees and its account
    procedure = (
        session.execute(
            select(Procedure)
            .where(Procedure.code == code)
            .options(joinedload(Procedure.fees), joinedload(Procedure.account))
        )
        .unique()
        .scalar_one_or_none()
    )
    if procedure is None:
        return None
    a = procedure.account
    return ProcedureSnapshot(
        code=procedure.code,
        name=procedure.name,
        agency_code=procedure.agency_code,
        account_id=procedure.account_id,
        account=AccountSnapshot(
            a.id, a.agency_code, a.bank_bin, a.account_number, a.account_name, a.kind
        ),
        fees=tuple(fee.to_spec() for fee in procedure.fees),
    )


CATALOG_CACHE = CatalogCache()
