"""The matching engine: one account, one business day, in memory, set-based.

``runs.py`` loads everything a day needs with a few bulk queries; this module joins it with
dicts (never a query per line) and decides, strongest evidence first:

1. ``manual``        an officer already linked the line to a request (kept across re-runs);
2. ``provider_txn``  a transaction a provider reported (bank notification, PayGov) is this
                     credit: same bank reference, or same payment reference and amount;
3. ``reference``     our payment reference in the memo, and the amount due;
4. ``reference_typo``one wrong digit, when exactly one open request with that amount fits;
5. ``pos_batch``     a POS batch settlement: Σ batch payments − card fee, one line;
6. ``amount_date_name`` amount + recent request + payer name: only a *proposal*.

Requests are seen as they stood before this day's statement credits were applied, so running a
day twice decides the same way; the credits themselves are applied by the caller, idempotently.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter

from payments import reference as refs
from payments.clock import business_day
from payments.payment_requests.state import LATE, OPEN
from payments.records import maker
from reconciliation.models import MatchStatus, Reason, Rule

PROPOSAL_WINDOW_DAYS = 3  # a request created up to three days before the credit


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    booking_date: date
    amount: int
    description: str
    bank_reference: str | None
    counterparty_name: str | None
    reference: str | None
    reference_candidate: str | None


@dataclass(slots=True)
class Req:
    """A payment request as the day sees it; ``paid`` excludes this day's statement credits."""

    id: str
    reference: str
    account_id: str
    total: int
    paid: int
    status: str
    payer_name: str
    created_at: datetime  # as stored (UTC): its business day is asked only for a proposal

    @property
    def remaining(self) -> int:
        return max(self.total - self.paid, 0)


@dataclass(frozen=True, slots=True)
class Txn:
    """A provider transaction applied to a request (the money should show on the statement)."""

    id: int
    provider: str
    request_id: str | None
    reference: str | None
    amount: int
    bank_refs: tuple[str, ...]  # bank reference codes / provider ids it may appear under
    business_day: date


@dataclass(frozen=True, slots=True)
class Batch:
    """A POS batch close: the bank credits the batch's payments less the card fee, once."""

    key: str
    terminal_id: str
    batch_no: str
    expected_net: int
    request_ids: tuple[str, ...]
    business_day: date


@dataclass(frozen=True, slots=True)
class BalanceCheck:
    statement_id: int
    opening: int
    closing: int
    net: int


@dataclass
class DayInput:
    account_id: str
    day: date
    lines: list[Line]  # every line of the day (credits and debits)
    earlier_lines: list[Line]  # the previous day's: they may already hold a provider's money
    requests: dict[str, Req]  # by reference (memo references and typo variants)
    requests_by_id: dict[str, Req]
    txns: list[Txn]
    batches: list[Batch]
    manual: dict[int, str]  # statement line id → request id an officer linked it to
    balances: list[BalanceCheck]
    window: Callable[[set[int]], list[Req]] = lambda _amounts: []  # proposal candidates


@dataclass(frozen=True, slots=True)
class MatchOut:
    rule: str
    line_id: int
    request_ids: tuple[str, ...]
    amount: int
    status: str = MatchStatus.MATCHED
    transaction_id: int | None = None
    settlement_key: str | None = None


@dataclass(frozen=True, slots=True)
class ExceptionOut:
    key: str
    reason: str
    amount: int
    line_id: int | None = None
    request_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CreditOut:
    """A statement credit to apply to a request through the payment state machine."""

    line: Line
    request_id: str
    reference: str
    reference_corrected: bool = False  # found by one wrong digit (``reference_typo``)


@dataclass
class DayResult:
    matches: list[MatchOut] = field(default_factory=list)
    exceptions: list[ExceptionOut] = field(default_factory=list)
    credits: list[CreditOut] = field(default_factory=list)
    balance: dict[str, object] = field(default_factory=dict)


_NOT_ALNUM = re.compile(r"[^A-Z0-9]")  # str.isalnum, upper-case ASCII
_REFERENCE = Rule.REFERENCE  # looked up once: an enum member costs a lookup per line
_MATCHED = MatchStatus.MATCHED
# a day makes one of each per statement line: without the frozen __setattr__ (payments.records)
make_line = maker(Line)
_match_out = maker(MatchOut)
_exception_out = maker(ExceptionOut)
_credit_out = maker(CreditOut)


def typo_variants(candidate: str) -> list[str]:
    """Valid references a damaged ``candidate`` may stand for: one wrong digit, letters typed for
    digits, a missing last character, bank digits glued after it (``refs.recovery_variants``)."""
    return refs.recovery_variants(candidate)


def normalise_name(text: str) -> set[str]:
    """Upper-case ASCII words: "Nguyễn Văn Ân" and "NGUYEN VAN AN" meet."""
    if text.isascii():  # no marks to strip: the same words, split in C
        return set(_NOT_ALNUM.sub(" ", text.upper()).split())
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    )
    return {w for w in "".join(c if c.isalnum() else " " for c in ascii_text.upper()).split()}


def name_fits(payer_name: str, text: str) -> bool:
    """Every word of the payer's name (two at least) appears in the credit's name or memo."""
    return words_fit(normalise_name(payer_name), normalise_name(text))


def words_fit(payer: set[str], words: set[str]) -> bool:
    """:func:`name_fits` on names already normalised (a day normalises each once)."""
    return len(payer) >= 2 and payer <= words


class _Day:
    def __init__(self, inp: DayInput) -> None:
        self.inp = inp
        self.out = DayResult()
        credits = sorted((ln for ln in inp.lines if ln.amount > 0), key=attrgetter("id"))
        self.open: dict[int, Line] = {ln.id: ln for ln in credits}
        self.matches, self.credits = self.out.matches, self.out.credits
        self.claimed_txns: set[int] = set()
        self.claimed_batches: set[str] = set()

    def match(
        self,
        rule: str,
        line: Line,
        request_ids: Iterable[str],
        status: str = MatchStatus.MATCHED,
        transaction_id: int | None = None,
        settlement_key: str | None = None,
    ) -> None:
        self.open.pop(line.id, None)
        self.matches.append(
            _match_out(
                rule,
                line.id,
                tuple(request_ids),
                line.amount,
                status,
                transaction_id,
                settlement_key,
            )
        )

    def exception(
        self,
        reason: str,
        key: str,
        amount: int,
        line_id: int | None = None,
        request_id: str | None = None,
        detail: str = "",
    ) -> None:
        self.out.exceptions.append(
            _exception_out(f"{reason}:{key}", reason, amount, line_id, request_id, detail)
        )

    def credit(self, line: Line, req: Req, *, corrected: bool = False) -> None:
        self.credits.append(_credit_out(line, req.id, req.reference, corrected))


def reconcile(inp: DayInput) -> DayResult:
    """Decide one account's day: matches, proposals, exceptions and credits to apply."""
    day = _Day(inp)
    _manual(day)
    _provider_txns(day)
    _references(day)
    _typos(day)
    _pos_batches(day)
    _proposals(day)
    for line in day.open.values():
        day.exception(
            Reason.UNKNOWN_CREDIT,
            f"line:{line.id}",
            line.amount,
            line_id=line.id,
            detail=f"no request for reference {line.reference}" if line.reference else "",
        )
    _missing(day)
    _balances(day)
    return day.out


def _manual(day: _Day) -> None:
    if not day.inp.manual:
        return  # no officer linked a line of this day
    for line in list(day.open.values()):
        req = day.inp.requests_by_id.get(day.inp.manual.get(line.id, ""))
        if req is not None:
            day.credit(line, req)  # applied when the officer resolved it; a no-op replay
            req.paid += line.amount
            day.match(Rule.MANUAL, line, [req.id], status=MatchStatus.CONFIRMED)


def _provider_txns(day: _Day) -> None:
    if not day.inp.txns:
        return  # nothing a provider reported: no line to look up
    by_bank_ref: dict[tuple[str, int], list[Txn]] = defaultdict(list)
    by_reference: dict[tuple[str, int], list[Txn]] = defaultdict(list)
    for t in sorted(day.inp.txns, key=lambda t: t.id):
        for ref in t.bank_refs:
            by_bank_ref[ref, t.amount].append(t)
        if t.reference:
            by_reference[t.reference, t.amount].append(t)
    # yesterday's lines first: money booked then cannot be today's
    earlier = [ln for ln in day.inp.earlier_lines if ln.amount > 0]
    for line in [*earlier, *day.open.values()]:
        found = _first_unclaimed(day, by_bank_ref.get((line.bank_reference or "", line.amount)))
        if found is None and line.reference:
            found = _first_unclaimed(day, by_reference.get((line.reference, line.amount)))
        if found is None:
            continue
        day.claimed_txns.add(found.id)
        if line.id in day.open:
            ids = [found.request_id] if found.request_id else []
            day.match(Rule.PROVIDER_TXN, line, ids, transaction_id=found.id)


def _first_unclaimed(day: _Day, txns: list[Txn] | None) -> Txn | None:
    return next((t for t in txns or () if t.id not in day.claimed_txns), None)


def _references(day: _Day) -> None:
    groups: dict[str, list[Line]] = defaultdict(list)
    for line in day.open.values():
        if line.reference:
            groups[line.reference].append(line)
    for reference, lines in groups.items():
        req = day.inp.requests.get(reference)
        if req is None or req.account_id != day.inp.account_id:
            continue  # left for the weaker rules, else an unknown credit
        if req.status in LATE:
            for line in lines:
                day.open.pop(line.id)
                day.credit(line, req)
                day.exception(
                    Reason.LATE_PAYMENT,
                    f"line:{line.id}",
                    line.amount,
                    line_id=line.id,
                    request_id=req.id,
                    detail=f"request is {req.status}",
                )
            continue
        _settle(day, req, lines)


def _settle(day: _Day, req: Req, lines: list[Line]) -> None:
    """A request's credits of the day: instalments that add up match; the rest are explained."""
    remaining = req.remaining
    received = lines[0].amount if len(lines) == 1 else sum(line.amount for line in lines)
    together = received == remaining > 0
    ids, rid, reference = (req.id,), req.id, req.reference
    # a day settles most of its lines here: the records made inline (as ``credit`` and
    # ``match`` make them), not through two method calls a line
    credit, matched, unopen = day.credits.append, day.matches.append, day.open.pop
    for line in lines:
        credit(_credit_out(line, rid, reference, False))
        if together or line.amount == remaining > 0:
            unopen(line.id, None)
            matched(_match_out(_REFERENCE, line.id, ids, line.amount, _MATCHED, None, None))
        else:
            day.open.pop(line.id)
            reason = Reason.DUPLICATE_PAYMENT if remaining == 0 else Reason.AMOUNT_MISMATCH
            due = remaining if remaining else req.total
            day.exception(
                reason,
                f"line:{line.id}",
                line.amount - due if remaining else line.amount,
                line_id=line.id,
                request_id=req.id,
                detail=f"received {line.amount}, due {due}",
            )
        remaining = max(remaining - line.amount, 0)
        req.paid += line.amount


def _typos(day: _Day) -> None:
    for line in list(day.open.values()):
        if line.reference or not line.reference_candidate:
            continue
        fits = [
            req
            for v in typo_variants(line.reference_candidate)
            if (req := day.inp.requests.get(v)) is not None
            and req.account_id == day.inp.account_id
            and req.status in OPEN
            and req.remaining == line.amount
        ]
        if len(fits) == 1:
            (req,) = fits
            day.credit(line, req, corrected=True)
            req.paid += line.amount
            day.match(Rule.REFERENCE_TYPO, line, [req.id])


def _pos_batches(day: _Day) -> None:
    if not day.inp.batches:
        return  # no batch closed: no line to look up
    by_net: dict[int, list[Batch]] = defaultdict(list)
    for b in sorted(day.inp.batches, key=lambda b: b.key):
        by_net[b.expected_net].append(b)
    earlier = [ln for ln in day.inp.earlier_lines if ln.amount > 0]
    for line in [*earlier, *list(day.open.values())]:
        cands = [b for b in by_net.get(line.amount, ()) if b.key not in day.claimed_batches]
        named = [b for b in cands if b.terminal_id and b.terminal_id in line.description]
        pick = named if named else cands
        if len(pick) != 1:
            continue
        (batch,) = pick
        day.claimed_batches.add(batch.key)
        if line.id in day.open:
            day.match(Rule.POS_BATCH, line, batch.request_ids, settlement_key=batch.key)


def _proposals(day: _Day) -> None:
    if not day.open:
        return
    candidates: dict[int, list[Req]] = defaultdict(list)
    earliest = day.inp.day - timedelta(days=PROPOSAL_WINDOW_DAYS)
    for req in day.inp.window({line.amount for line in day.open.values()}):
        req = day.inp.requests_by_id.setdefault(req.id, req)  # share the day's view of it
        recent = earliest <= business_day(req.created_at) <= day.inp.day
        if req.status in OPEN and req.account_id == day.inp.account_id and recent:
            candidates[req.remaining].append(req)
    proposed: set[str] = set()
    payers: dict[str, set[str]] = {}  # request id → its payer's words, normalised once
    for line in list(day.open.values()):
        if not (same_amount := candidates.get(line.amount)):
            continue
        words = normalise_name(f"{line.counterparty_name or ''} {line.description}")
        fits = [
            r
            for r in same_amount
            if r.id not in proposed
            and words_fit(
                payers.get(r.id) or payers.setdefault(r.id, normalise_name(r.payer_name)), words
            )
        ]
        if len(fits) != 1:
            continue
        (req,) = fits
        proposed.add(req.id)
        day.match(Rule.PROPOSAL, line, [req.id], status=MatchStatus.PROPOSED)
        day.exception(
            Reason.UNKNOWN_CREDIT,
            f"line:{line.id}",
            line.amount,
            line_id=line.id,
            request_id=req.id,
            detail=f"proposed: request {req.reference} (amount, date, name)",
        )


def _missing(day: _Day) -> None:
    """Money recorded yesterday that neither yesterday's nor today's statement shows."""
    yesterday = day.inp.day - timedelta(days=1)
    for t in day.inp.txns:
        if t.business_day == yesterday and t.provider == "bank" and t.id not in day.claimed_txns:
            day.exception(
                Reason.MISSING_CREDIT,
                f"txn:{t.id}",
                t.amount,
                request_id=t.request_id,
                detail=f"{t.provider} transaction {t.id} has no statement credit",
            )
    for b in day.inp.batches:
        if b.business_day == yesterday and b.key not in day.claimed_batches:
            day.exception(
                Reason.MISSING_CREDIT,
                f"pos:{b.key}",
                b.expected_net,
                detail=f"POS batch {b.key} settled without a statement credit",
            )


def _balances(day: _Day) -> None:
    if not day.inp.balances:
        day.out.balance = {"status": "none"}
        return
    differences = []
    for b in day.inp.balances:
        difference = b.closing - (b.opening + b.net)
        if difference:
            differences.append(difference)
            day.exception(
                Reason.BALANCE_MISMATCH,
                f"statement:{b.statement_id}",
                difference,
                detail=f"opening {b.opening} + lines {b.net} ≠ closing {b.closing}",
            )
    day.out.balance = {
        "status": "mismatch" if differences else "ok",
        "statements": len(day.inp.balances),
        "difference": sum(differences),
    }
