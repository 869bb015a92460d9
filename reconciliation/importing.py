"""Statement import: idempotent, all-or-nothing, set-based.

Each line is stored once per account under its fingerprint (see ``parsers.base``): the same file
twice adds nothing and an overlapping statement adds only its new lines. The lines are written in
one transaction — COPY into a temporary table and ``INSERT … ON CONFLICT DO NOTHING`` on
PostgreSQL, one look-up of known fingerprints per chunk then a plain insert on SQLite (whose
single writer holds the database for the whole transaction).

Before anything is written the statement is checked against the account:

* its account identifier, compared normalised (``parsers.same_account``: BIC, bank code,
  currency and punctuation stripped); a file that names none imports on the account the caller
  chose and carries ``account_unverified`` (statement and lines);
* its memo references: when most of those that name a payment request name requests of one
  other account, the file is refused naming that account (``override=True`` imports it anyway);
* another bank's layout on the account imports with a warning (agencies forward statements in
  whatever shape they received them);
* amounts above ``settings.max_amount`` and balances beyond 2^63 are refused naming the line.
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
from payments.payment_requests.models import PaymentRequest
from payments.uow import UnitOfWork
from reconciliation import audit
from reconciliation.errors import (
    AccountNotFound,
    StatementNotFound,
    StatementRejected,
    StatementTooLarge,
    WrongAccount,
)
from reconciliation.models import Statement, StatementLine
from reconciliation.parsers import (
    BANK_BINS,
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    parse_statement,
    same_account,
)
from reconciliation.parsers import StatementTooLarge as TooLarge

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
    "account_unverified",
)
MAX_INT64 = 2**63 - 1
ANALYZE_AFTER = 10_000  # lines in one import that make the table's statistics stale


@dataclass(frozen=True)
class ImportStatement:
    """Command: import ``data`` as a statement of ``account_id``."""

    account_id: str
    data: bytes
    filename: str | None = None
    format: str | None = None
    actor: str = "system"
    override: bool = False  # import even when the references say it is another account's
    max_amount: int = 10**12  # settings.max_amount: the largest amount a line may carry


@dataclass(frozen=True)
class ImportResult:
    statement_id: int
    format: str
    lines_total: int
    lines_imported: int
    lines_skipped: int
    warnings: tuple[str, ...] = ()
    account_unverified: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "statement_id": self.statement_id,
            "format": self.format,
            "lines_total": self.lines_total,
            "lines_imported": self.lines_imported,
            "lines_skipped": self.lines_skipped,
            "warnings": list(self.warnings),
            "account_unverified": self.account_unverified,
        }


def load_account(
    session: Session, account_id: str, principal: Principal | None
) -> BeneficiaryAccount:
    """The account, if it exists and the caller may see its agency (404 otherwise)."""
    account = session.get(BeneficiaryAccount, account_id)
    if account is None or (principal is not None and not principal.may_see(account.agency_code)):
        raise AccountNotFound(f"no account {account_id!r}")
    return account


def check_amounts(parsed: ParsedStatement, max_amount: int) -> None:
    """Amounts within ``max_amount`` and balances within 64 bits, or a 422 naming the line."""
    for line in parsed.lines:
        if abs(line.amount) > max_amount:
            raise StatementRejected(
                f"line {line.line_no}: amount {line.amount:,} is above the largest accepted "
                f"({max_amount:,})",
                line=line.line_no,
                reason="amount too large",
            )
        if line.balance is not None and abs(line.balance) > MAX_INT64:
            raise StatementRejected(
                f"line {line.line_no}: balance {line.balance} is too large",
                line=line.line_no,
                reason="balance too large",
            )
    for name, value in (("opening", parsed.opening_balance), ("closing", parsed.closing_balance)):
        if value is not None and abs(value) > MAX_INT64:
            raise StatementRejected(f"the {name} balance {value} is too large")


OWNER_SAMPLE = 5_000  # references looked up to tell whose statement it is


def _owners_of_references(session: Session, references: list[str]) -> dict[str, int]:
    """How many of the file's memo references name requests of each account (an evenly spread
    sample of at most ``OWNER_SAMPLE`` of them: a majority does not need them all)."""
    found = sorted(set(references))
    step = max(1, len(found) // OWNER_SAMPLE)
    sample = found[::step][:OWNER_SAMPLE]
    owners: dict[str, int] = {}
    for start in range(0, len(sample), 1000):
        for account_id in session.scalars(
            select(PaymentRequest.account_id).where(
                PaymentRequest.reference.in_(sample[start : start + 1000])
            )
        ):
            owners[account_id] = owners.get(account_id, 0) + 1
    return owners


def _check_owner(session: Session, references: list[str], account: BeneficiaryAccount) -> None:
    owners = _owners_of_references(session, references)
    named = sum(owners.values())
    other, count = max(
        ((a, n) for a, n in owners.items() if a != account.id), key=lambda x: x[1], default=("", 0)
    )
    if other and count * 2 > named:
        raise WrongAccount(
            f"{count} of the {named} payment references in this statement belong to requests "
            f"of account {other!r}, not {account.id!r}: it seems to be {other!r}'s statement "
            "(import it with the override flag if it really is this account's)",
            seems_to_be=other,
        )


def _warnings(parsed: ParsedStatement, account: BeneficiaryAccount) -> list[str]:
    warnings = list(parsed.warnings)
    layout_bin = BANK_BINS.get(parsed.format)
    if layout_bin and layout_bin != account.bank_bin:
        warnings.append(
            f"the file is a {parsed.format} export, but account {account.id} is at the bank "
            f"with BIN {account.bank_bin}: check it is this account's statement"
        )
    if parsed.account_number is None and parsed.format != "csv":  # the generic CSV names none
        warnings.append(f"the file names no account: imported as account {account.id}, unverified")
    return warnings


def references_of(description: str) -> tuple[str | None, str | None]:
    """(valid reference, first reference-shaped candidate that fails its check) of a memo."""
    candidates = refs.candidate_list(description)
    for candidate in candidates:
        if refs.is_valid(candidate):
            return candidate, None
    return None, candidates[0] if candidates else None


def import_statement(
    cmd: ImportStatement,
    *,
    uow: UnitOfWork,
    principal: Principal | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Parse and store a statement; a malformed file or another account's statement is refused
    whole (422; 413 past a size limit) and nothing is written."""
    try:
        parsed = parse_statement(cmd.data, cmd.filename, cmd.format)
    except TooLarge as exc:
        raise StatementTooLarge(str(exc), line=exc.line_no, reason=exc.reason) from exc
    except StatementFormatError as exc:
        raise StatementRejected(str(exc), line=exc.line_no, reason=exc.reason) from exc
    check_amounts(parsed, cmd.max_amount)
    digest = hashlib.sha256(cmd.data).hexdigest()
    with uow:
        session = uow.session
        account = load_account(session, cmd.account_id, principal)
        if parsed.account_number and not same_account(
            parsed.account_number, account.account_number
        ):
            raise WrongAccount(
                f"the statement is for account number {parsed.account_number!r}, "
                f"not {account.id} ({account.account_number})"
            )
        if parsed.currency != "VND":
            raise StatementRejected(f"the statement is in {parsed.currency}; accounts are in VND")
        found = [references_of(line.description) for line in parsed.lines]
        if not cmd.override:
            _check_owner(session, [ref for ref, _ in found if ref], account)
        warnings = _warnings(parsed, account)
        unverified = parsed.account_number is None
        known = session.scalar(
            select(Statement.id).where(
                Statement.account_id == account.id, Statement.sha256 == digest
            )
        )
        if known is not None:  # the very same file again
            total = len(parsed.lines)
            return ImportResult(known, parsed.format, total, 0, total, tuple(warnings), unverified)
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
            warnings=warnings,
            account_unverified=unverified,
        )
        session.add(statement)
        session.flush()
        rows = _rows(account.id, statement.id, parsed.lines, found, unverified)
        imported = store_lines(session, rows, len(parsed.lines), progress)
        total = len(parsed.lines)
        result = ImportResult(
            statement.id,
            parsed.format,
            total,
            imported,
            total - imported,
            tuple(warnings),
            unverified,
        )
        audit.append(
            session, cmd.actor, "statement_imported", f"statement:{statement.id}", result.as_dict()
        )
        uow.commit()
    log.info("statement_imported", account=cmd.account_id, **result.as_dict())
    return result


def _rows(
    account_id: str,
    statement_id: int,
    lines: Sequence[ParsedLine],
    found: Sequence[tuple[str | None, str | None]],
    unverified: bool = False,
) -> Iterator[Row]:
    """The table rows, made as they are written (a million tuples never sit in memory)."""
    for ln, (reference, candidate) in zip(lines, found, strict=True):
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
            unverified,
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
    imported = int(result.rowcount)  # type: ignore[attr-defined]
    if imported >= ANALYZE_AFTER:
        # the day's run reads these lines next, before autovacuum has looked at them: without
        # statistics PostgreSQL takes a fresh day for one row and joins it row by row
        session.execute(text("ANALYZE recon_statement_lines"))
    if progress:
        progress("import", total, total)
    return imported


def get_statement(
    statement_id: int,
    *,
    uow: UnitOfWork,
    principal: Principal | None = None,
    after: int = 0,
    limit: int = 500,
) -> dict[str, Any]:
    """An imported statement with a page of its lines (those with ``id > after``), as read.

    A line already known from an earlier file is listed under that file, not this one. 404 for a
    statement of an account the caller may not see.
    """
    with uow:
        session = uow.session
        statement = session.get(Statement, statement_id)
        if statement is None:
            raise StatementNotFound(f"no statement {statement_id}")
        try:
            load_account(session, statement.account_id, principal)
        except AccountNotFound:
            raise StatementNotFound(f"no statement {statement_id}") from None
        lines = list(
            session.scalars(
                select(StatementLine)
                .where(StatementLine.statement_id == statement.id, StatementLine.id > after)
                .order_by(StatementLine.id)
                .limit(limit + 1)
            )
        )
        more = len(lines) > limit
        lines = lines[:limit]
        fields = (*LINE_COLUMNS[3:], "id")
        page = [{name: getattr(line, name) for name in fields} for line in lines]
        return {
            "id": statement.id,
            "account_id": statement.account_id,
            "format": statement.format,
            "filename": statement.filename,
            "imported_at": statement.imported_at,
            "currency": statement.currency,
            "opening_balance": statement.opening_balance,
            "closing_balance": statement.closing_balance,
            "lines_net": statement.lines_net,
            "lines_total": statement.lines_total,
            "period_start": statement.period_start,
            "period_end": statement.period_end,
            "warnings": list(statement.warnings or []),
            "account_unverified": statement.account_unverified,
            "lines": page,
            "next_after": lines[-1].id if more and lines else None,
        }
