"""The day page: one account's reconciliation of one business day, paged, filtered and sorted.

A day may hold thousands of statement lines: the page reads the counters with a few GROUP BYs of
the current rows (so they move as soon as an exception is resolved) and one page of rows for the
chosen view, never the whole day.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Select, String, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from payments.payment_requests.models import PaymentRequest
from payments.uow import UnitOfWork
from reconciliation import runs
from reconciliation.console import undo
from reconciliation.console.services.common import (
    Scope,
    account_row,
    line_row,
    request_row,
    visible_account,
)
from reconciliation.console.services.trail import audit_entries
from reconciliation.models import (
    Action,
    ExceptionResolution,
    ExceptionStatus,
    MatchStatus,
    Reason,
    ReconciliationException,
    ReconciliationMatch,
    ReconciliationRun,
    StatementLine,
)

VIEWS = ("exceptions", "proposals", "matches", "lines")
STATUSES = ("open", "resolved", "all")
SORTS = ("line", "-line", "amount", "-amount")
PER_PAGE = 50
# a transfer short by at most this much is the sending bank's fee (interbank fees are a few
# thousand đồng; 50.000 đ leaves room for an international one)
BANK_FEE_CEILING = 50_000
# what banks write on a fee line; a citizen's memo says "le phi" or "nop phi": never a bank fee
FEE_WORDS = re.compile(
    r"\b(phi (dich vu|sms|chuyen tien|quan ly|thuong nien|duy tri|ngan hang|giao dich)"
    r"|bank fee|service charge|fee charge)\b"
)
UNDOABLE = undo.UNDOABLE  # what moved no money


@dataclass(frozen=True)
class DayQuery:
    view: str = "exceptions"
    status: str = "open"
    reason: str = ""
    text: str = ""
    sort: str = "line"
    page: int = 1
    focus: int | None = None  # the exception just resolved or reopened, shown on top

    def clean(self) -> DayQuery:
        """Unknown values fall back to the defaults rather than failing the page."""
        return replace(
            self,
            view=self.view if self.view in VIEWS else "exceptions",
            status=self.status if self.status in STATUSES else "open",
            reason=self.reason if self.reason in set(Reason) else "",
            text=self.text.strip()[:100],
            sort=self.sort if self.sort in SORTS else "line",
            page=max(self.page, 1),
        )


def plain(text: str | None) -> str:
    """Lower case without diacritics: "Phí SMS" → "phi sms" (đ → d)."""
    folded = unicodedata.normalize("NFD", (text or "").lower().replace("đ", "d"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def similarity(line: dict[str, Any] | None, payer_name: str) -> int:
    """How alike, in per cent, the payer's name and the credit's sender (or memo) are."""
    if line is None:
        return 0
    wanted = plain(payer_name)
    best = 0.0
    for said in (line.get("counterparty_name"), line.get("description")):
        text = plain(said)
        if not text or not wanted:
            continue
        best = max(best, difflib.SequenceMatcher(None, wanted, text).ratio())
        if wanted in text:
            best = 1.0
    return round(best * 100)


def is_bank_fee(reason: str, line: dict[str, Any] | None, difference: int) -> bool:
    """An exception a bank fee explains: a small line naming a bank fee, or a transfer short of
    what was due (``difference`` < 0, the exception's signed amount) by no more than a fee."""
    if line is not None and FEE_WORDS.search(plain(line.get("description"))):
        small = abs(int(line["amount"])) <= BANK_FEE_CEILING
        return small and reason in runs._ALLOWED[Action.BOOK_AS_BANK_FEE]
    return reason == Reason.AMOUNT_MISMATCH and -BANK_FEE_CEILING <= difference < 0


def day_view(
    account_id: str, day: date, scope: Scope, query: DayQuery, *, uow: UnitOfWork
) -> dict[str, Any] | None:
    """Everything the day page shows, in one unit of work; None if the account is not visible."""
    q = query.clean()
    with uow:
        s = uow.session
        account = visible_account(s, account_id, scope)
        if account is None:
            return None
        run = s.scalar(
            select(ReconciliationRun).where(
                ReconciliationRun.account_id == account_id,
                ReconciliationRun.business_date == day,
            )
        )
        page: dict[str, Any] = {
            "account": account_row(account),
            "date": day,
            "query": q,
            "run": runs.run_view(s, run, details=False) if run else None,
            "runs": run.runs if run else 0,
            "updated_at": run.updated_at if run else None,
            "updated_by": run.updated_by if run else None,
            "counters": _counters(s, account_id, day, run),
            "allowed": {a: sorted(r) for a, r in runs._ALLOWED.items()},
            "undoable": sorted(UNDOABLE),
        }
        rows, total = _rows(s, account_id, day, run, q)
        focused = _exceptions(s, run, DayQuery(status="all"), only=q.focus)[0] if run else []
        page["focus"] = focused[0] if q.focus is not None and focused else None
        page |= {"rows": rows, "total": total, "pages": max(1, -(-total // PER_PAGE))}
        page["trail"] = audit_entries(s, _day_entities(run), limit=30)
        return page


def _day_entities(run: ReconciliationRun | None) -> Any:
    """The audit entities of a day: its run and every exception of the run (as a subquery)."""
    if run is None:
        return []
    exceptions = select(literal("exception:") + cast(ReconciliationException.id, String)).where(
        ReconciliationException.run_id == run.id
    )
    return select(literal(f"run:{run.id}")).union_all(exceptions)


def _counters(
    s: Session, account_id: str, day: date, run: ReconciliationRun | None
) -> dict[str, Any]:
    """The day as it stands now: lines in and out, matches by status, exceptions by reason."""
    credit = StatementLine.amount > 0
    lines = s.execute(
        select(
            func.count(case((credit, 1))),
            func.coalesce(func.sum(case((credit, StatementLine.amount))), 0),
            func.count(case((~credit, 1))),
            func.coalesce(func.sum(case((~credit, StatementLine.amount))), 0),
        ).where(StatementLine.account_id == account_id, StatementLine.booking_date == day)
    ).one()
    out: dict[str, Any] = {
        "credits": int(lines[0]),
        "credits_amount": int(lines[1]),
        "debits": int(lines[2]),
        "debits_amount": -int(lines[3]),
        "matches": {},
        "open": {},
        "resolved": 0,
    }
    if run is None:
        return out
    for status, n, amount in s.execute(
        select(ReconciliationMatch.status, func.count(), func.sum(ReconciliationMatch.amount))
        .where(ReconciliationMatch.run_id == run.id)
        .group_by(ReconciliationMatch.status)
    ):
        out["matches"][status] = (int(n), int(amount or 0))
    for reason, status, n in s.execute(
        select(ReconciliationException.reason, ReconciliationException.status, func.count())
        .where(ReconciliationException.run_id == run.id)
        .group_by(ReconciliationException.reason, ReconciliationException.status)
    ):
        if status == ExceptionStatus.OPEN:
            out["open"][reason] = int(n)
        else:
            out["resolved"] += int(n)
    return out


def _text_filter(text: str) -> Any:
    like = f"%{text}%"
    return or_(
        StatementLine.description.ilike(like),
        StatementLine.counterparty_name.ilike(like),
        StatementLine.reference.ilike(like),
        StatementLine.bank_reference.ilike(like),
    )


def _order(stmt: Select[Any], sort: str, amount: Any, tie: Any) -> Select[Any]:
    column = {"line": tie, "amount": amount}[sort.lstrip("-")]
    first = column.desc() if sort.startswith("-") else column.asc()
    return stmt.order_by(first, tie)


def _rows(
    s: Session, account_id: str, day: date, run: ReconciliationRun | None, q: DayQuery
) -> tuple[list[dict[str, Any]], int]:
    if q.view == "lines":
        stmt: Select[Any] = select(StatementLine).where(
            StatementLine.account_id == account_id, StatementLine.booking_date == day
        )
        if q.text:
            stmt = stmt.where(_text_filter(q.text))
        total = _count(s, stmt)
        stmt = _order(stmt, q.sort, StatementLine.amount, StatementLine.line_no)
        found = s.scalars(_paged(stmt, q.page))
        return [line_row(ln) for ln in found], total
    if run is None:
        return [], 0
    if q.view == "exceptions":
        return _exceptions(s, run, q)
    return _matches(s, run, q)


def _count(s: Session, stmt: Select[Any]) -> int:
    return int(s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


def _paged(stmt: Select[Any], page: int) -> Select[Any]:
    return stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)


def _exceptions(
    s: Session, run: ReconciliationRun, q: DayQuery, *, only: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    stmt: Any = (
        select(ReconciliationException, StatementLine)
        .outerjoin(StatementLine, StatementLine.id == ReconciliationException.statement_line_id)
        .where(ReconciliationException.run_id == run.id)
    )
    if only is not None:
        stmt = stmt.where(ReconciliationException.id == only)
    if q.status != "all":
        stmt = stmt.where(ReconciliationException.status == q.status)
    if q.reason:
        stmt = stmt.where(ReconciliationException.reason == q.reason)
    if q.text:
        stmt = stmt.where(_text_filter(q.text))
    total = _count(s, stmt)
    stmt = _order(stmt, q.sort, ReconciliationException.amount, ReconciliationException.id)
    found = s.execute(_paged(stmt, q.page)).all()
    requests = _requests(s, [e.payment_request_id for e, _ in found])
    done = _resolutions(s, [e.id for e, _ in found])
    rows = []
    for exc, ln in found:
        line = line_row(ln) if ln is not None else None
        req = requests.get(str(exc.payment_request_id)) if exc.payment_request_id else None
        rows.append(
            {
                **runs.exception_view(exc),
                "line": line,
                "request": req,
                "similarity": similarity(line, req["payer_name"]) if req else None,
                "bank_fee": is_bank_fee(exc.reason, line, exc.amount),
                "resolutions": done.get(exc.id, []),
            }
        )
    return rows, total


def _matches(s: Session, run: ReconciliationRun, q: DayQuery) -> tuple[list[dict[str, Any]], int]:
    proposed = q.view == "proposals"
    stmt: Any = (
        select(ReconciliationMatch, StatementLine)
        .join(StatementLine, StatementLine.id == ReconciliationMatch.statement_line_id)
        .where(ReconciliationMatch.run_id == run.id)
        .where(
            (ReconciliationMatch.status == MatchStatus.PROPOSED)
            if proposed
            else (ReconciliationMatch.status != MatchStatus.PROPOSED)
        )
    )
    if q.text:
        stmt = stmt.where(_text_filter(q.text))
    total = _count(s, stmt)
    stmt = _order(stmt, q.sort, ReconciliationMatch.amount, ReconciliationMatch.id)
    found = s.execute(_paged(stmt, q.page)).all()
    wanted = [rid for m, _ in found for rid in m.payment_request_ids]
    requests = _requests(s, wanted)
    open_exceptions = _open_exceptions(s, run, [m.statement_line_id for m, _ in found])
    rows = []
    for m, ln in found:
        line = line_row(ln)
        named = [requests[r] for r in m.payment_request_ids if r in requests]
        rows.append(
            {
                "rule": m.rule,
                "status": m.status,
                "amount": m.amount,
                "line": line,
                "requests": named,
                "exception_id": open_exceptions.get(m.statement_line_id),
                "similarity": similarity(line, named[0]["payer_name"]) if named else None,
            }
        )
    return rows, total


def _open_exceptions(s: Session, run: ReconciliationRun, line_ids: list[int]) -> dict[int, int]:
    if not line_ids:
        return {}
    rows = s.execute(
        select(ReconciliationException.statement_line_id, ReconciliationException.id).where(
            ReconciliationException.run_id == run.id,
            ReconciliationException.status == ExceptionStatus.OPEN,
            ReconciliationException.statement_line_id.in_(line_ids),
        )
    )
    return {int(line_id): int(exc_id) for line_id, exc_id in rows if line_id is not None}


def _requests(s: Session, ids: list[Any]) -> dict[str, dict[str, Any]]:
    keys = set()
    for rid in ids:
        try:
            keys.add(rid if isinstance(rid, uuid.UUID) else uuid.UUID(str(rid)))
        except ValueError:
            continue
    if not keys:
        return {}
    found = s.scalars(select(PaymentRequest).where(PaymentRequest.id.in_(keys)))
    return {str(r.id): request_row(r) for r in found}


def _resolutions(s: Session, exception_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not exception_ids:
        return out
    for r in s.scalars(
        select(ExceptionResolution)
        .where(ExceptionResolution.exception_id.in_(exception_ids))
        .order_by(ExceptionResolution.id)
    ):
        out.setdefault(r.exception_id, []).append(
            {"id": r.id, "action": r.action, "note": r.note, "actor": r.actor, "at": r.at}
        )
    return out


BULK_KINDS = ("bank_fees", "proposals")


def bulk_candidates(
    account_id: str,
    day: date,
    scope: Scope,
    kind: str,
    *,
    uow: UnitOfWork,
    min_similarity: int = 90,
) -> list[int]:
    """The open exceptions of the day a bulk action covers: those a bank fee explains
    (``bank_fees``), or the proposals whose payer name is at least ``min_similarity`` per cent
    like the credit's sender (``proposals``)."""
    with uow:
        s = uow.session
        if visible_account(s, account_id, scope) is None or kind not in BULK_KINDS:
            return []
        stmt = (
            select(ReconciliationException, StatementLine)
            .join(ReconciliationRun, ReconciliationRun.id == ReconciliationException.run_id)
            .outerjoin(StatementLine, StatementLine.id == ReconciliationException.statement_line_id)
            .where(
                ReconciliationRun.account_id == account_id,
                ReconciliationRun.business_date == day,
                ReconciliationException.status == ExceptionStatus.OPEN,
            )
            .order_by(ReconciliationException.id)
        )
        if kind == "proposals":
            stmt = stmt.where(
                ReconciliationException.reason == Reason.UNKNOWN_CREDIT,
                ReconciliationException.payment_request_id.is_not(None),
            )
        found = s.execute(stmt).all()
        requests = _requests(s, [e.payment_request_id for e, _ in found if e.payment_request_id])
        chosen = []
        for exc, ln in found:
            line = line_row(ln) if ln is not None else None
            req = requests.get(str(exc.payment_request_id)) if exc.payment_request_id else None
            if kind == "bank_fees":
                take = is_bank_fee(exc.reason, line, exc.amount)
            else:
                take = req is not None and similarity(line, req["payer_name"]) >= min_similarity
            if take:
                chosen.append(exc.id)
        return chosen
