"""Statement import: idempotent, all-or-nothing, set-based.

Each line is stored once per account under its fingerprint (see ``parsers.base``): the same file
twice adds nothing and an overlapping statement adds only its new lines. The lines are written in
one transaction — COPY into a temporary table and ``INSERT … ON CONFLICT DO NOTHING`` on
PostgreSQL, one look-up of known fingerprints per chunk then a plain insert on SQLite (whose
single writer holds the database for the whole transaction).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import structlog
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from payments import reference as refs
from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount
from payments.uow import UnitOfWork
from reconciliation import audit
from reconciliation.errors import AccountNotFound, StatementRejected, WrongAccount
from reconciliation.models import Statement, StatementLine
from reconciliation.parsers import ParsedLine, StatementFormatError, parse_statement

log = structlog.get_logger(__name__)
CHUNK = 5_000
Progress = Callable[[str, int, int], None]
Row = tuple[Any, ...]
LINE_COLUMNS = (
    "account_id",
    "statement_id",
    "fingerprint",
    "line_no",
    "booking_date",
    "value_date",
    "amount",
    "description",
    "bank_reference",
    "counterparty_name",
    "counterparty_account",
    "balance",
    "reference",
    "reference_candidate",
)


@dataclass(frozen=True)
class ImportStatement:
    """Command: import ``data`` as a statement of ``account_id``."""

    account_id: str
    data: bytes
    filename: str | None = None
    format: str | None = None
    actor: str = "system"


@dataclass(frozen=True)
class ImportResult:
    statement_id: int
    format: str
    lines_total: int
    lines_imported: int
    lines_skipped: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "statement_id": self.statement_id,
            "format": self.format,
            "lines_total": self.lines_total,
            "lines_imported": self.lines_imported,
            "lines_skipped": self.lines_skipped,
        }


def load_account(
    session: Session, account_id: str, principal: Principal | None
) -> BeneficiaryAccount:
    """The account, if it exists and the caller may see its agency (404 otherwise)."""
    account = session.get(BeneficiaryAccount, account_id)
    if account is None or (principal is not None and not principal.may_see(account.agency_code)):
        raise AccountNotFound(f"no account {account_id!r}")
    return account


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isalnum()).upper()


def references_of(description: str) -> tuple[str | None, str | None]:
    """(valid reference, first reference-shaped candidate that fails its check) of a memo."""
    candidates = list(refs.candidates_in(description))
    valid = next((c for c in candidates if refs.is_valid(c)), None)
    if valid:
        return valid, None
    return None, candidates[0] if candidates else None


def import_statement(
    cmd: ImportStatement,
    *,
    uow: UnitOfWork,
    principal: Principal | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Parse and store a statement; a malformed file or another account's statement is refused
    whole (422) and nothing is written."""
    try:
        parsed = parse_statement(cmd.data, cmd.filename, cmd.format)
    except StatementFormatError as exc:
        raise StatementRejected(str(exc), line=exc.line_no, reason=exc.reason) from exc
    digest = hashlib.sha256(cmd.data).hexdigest()
    with uow:
        session = uow.session
        account = load_account(session, cmd.account_id, principal)
        if parsed.account_number and _digits(parsed.account_number) != _digits(
            account.account_number
        ):
            raise WrongAccount(f"the statement is for another account, not {account.id}")
        if parsed.currency != "VND":
            raise StatementRejected(f"the statement is in {parsed.currency}; accounts are in VND")
        known = session.scalar(
            select(Statement.id).where(
                Statement.account_id == account.id, Statement.sha256 == digest
            )
        )
        if known is not None:  # the very same file again
            total = len(parsed.lines)
            return ImportResult(known, parsed.format, total, 0, total)
        statement = Statement(
            account_id=account.id,
            format=parsed.format,
            sha256=digest,
            filename=(cmd.filename or "")[:255] or None,
            imported_by=cmd.actor,
            currency=parsed.currency,
            opening_balance=parsed.opening_balance,
            closing_balance=parsed.closing_balance,
            lines_net=sum(line.amount for line in parsed.lines),
            lines_total=len(parsed.lines),
            period_start=parsed.period_start,
            period_end=parsed.period_end,
        )
        session.add(statement)
        session.flush()
        rows = _rows(account.id, statement.id, parsed.lines)
        imported = store_lines(session, rows, len(parsed.lines), progress)
        result = ImportResult(
            statement.id, parsed.format, len(parsed.lines), imported, len(parsed.lines) - imported
        )
        audit.append(
            session, cmd.actor, "statement_imported", f"statement:{statement.id}", result.as_dict()
        )
        uow.commit()
    log.info("statement_imported", account=cmd.account_id, **result.as_dict())
    return result


def _rows(account_id: str, statement_id: int, lines: Sequence[ParsedLine]) -> Iterator[Row]:
    """The table rows, made as they are written (a million tuples never sit in memory)."""
    for ln in lines:
        reference, candidate = references_of(ln.description)
        yield (
            account_id,
            statement_id,
            ln.fingerprint,
            ln.line_no,
            ln.booking_date,
            ln.value_date,
            ln.amount,
            ln.description,
            (ln.bank_reference or None) and ln.bank_reference[:64],
            (ln.counterparty_name or None) and ln.counterparty_name[:255],
            (ln.counterparty_account or None) and ln.counterparty_account[:64],
            ln.balance,
            reference,
            candidate,
        )


def store_lines(
    session: Session, rows: Iterator[Row], total: int, progress: Progress | None = None
) -> int:
    """Insert the lines whose fingerprint the account does not have yet; returns how many."""
    if session.get_bind().dialect.name == "postgresql":
        return _copy_lines(session, rows, total, progress)
    imported = done = 0
    while chunk := list(islice(rows, CHUNK)):
        account_id = chunk[0][0]
        have = set(
            session.scalars(
                select(StatementLine.fingerprint).where(
                    StatementLine.account_id == account_id,
                    StatementLine.fingerprint.in_([r[2] for r in chunk]),
                )
            )
        )
        new = [dict(zip(LINE_COLUMNS, r, strict=True)) for r in chunk if r[2] not in have]
        if new:
            session.execute(insert(StatementLine), new)
        imported += len(new)
        done += len(chunk)
        if progress:
            progress("import", done, total)
    return imported


def _copy_lines(
    session: Session, rows: Iterator[Row], total: int, progress: Progress | None
) -> int:
    cols = ", ".join(LINE_COLUMNS)
    session.execute(text("SET LOCAL work_mem = '64MB'"))  # the ORDER BY of a day in memory
    # same column types as the real table, no constraints; gone at commit
    session.execute(
        text(
            "CREATE TEMP TABLE recon_lines_in ON COMMIT DROP AS "  # noqa: S608 - fixed names
            f"SELECT {cols} FROM recon_statement_lines WITH NO DATA"
        )
    )
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY recon_lines_in ({cols}) FROM STDIN") as copy:
        for i, row in enumerate(rows, 1):
            copy.write_row(row)
            if progress and i % 10_000 == 0:
                progress("copy", i, total)
    result = session.execute(
        text(
            f"INSERT INTO recon_statement_lines ({cols}) "  # noqa: S608 - fixed column names
            f"SELECT {cols} FROM recon_lines_in ORDER BY line_no "
            "ON CONFLICT (account_id, fingerprint) DO NOTHING"
        )
    )
    if progress:
        progress("import", total, total)
    return int(result.rowcount)  # type: ignore[attr-defined]
