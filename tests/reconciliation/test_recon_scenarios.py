"""Reconciliation acceptance: a generator plants a day of truth, the run must recover it.

Every planted match is found, nothing else is matched, and every planted exception is reported
with its reason code — over many seeds (hypothesis), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from factories import make_payment_request, payment_request_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from payments.clock import VN_TZ
from payments.http import Container
from payments.money import Money
from payments.payment_requests.models import PaymentRequest, RequestStatus
from payments.transactions.models import Flag, PaymentTransaction
from payments.transactions.services import record_event, record_settlement
from providers.base import EventKind, ProviderEvent, Settlement, TxnStatus
from reconciliation.importing import ImportStatement, import_statement
from reconciliation.models import Reason, Rule
from reconciliation.parsers.generic_csv import COLUMNS
from reconciliation.runs import ReconcileDay, reconcile_day

ACCOUNT = "stp-kbnn"
ACCOUNT_NUMBER = "376101234567"
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLES = ["Văn", "Thị", "Hữu", "Minh", "Quốc", "Thanh", "Đức", "Ngọc"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Khoa", "Lan", "Mai", "Nam", "Phúc"]
_days = itertools.count()
_serial = itertools.count(1)


def ascii_upper(name: str) -> str:
    """The payer's name as banks print it: upper-case ASCII, no diacritics."""
    text = name.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return text.upper()


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=VN_TZ).astimezone(UTC)


@dataclass
class World:
    """Factories over one container: requests, provider events, statements, runs."""

    container: Container
    rng: random.Random
    used_amounts: set[int] = field(default_factory=set)
    used_names: set[str] = field(default_factory=set)
    # provider ids stay unique across examples, which share one database and may share a seed
    trace: itertools.count[int] = field(default_factory=lambda: _serial)

    def amount(self) -> int:
        while True:
            value = self.rng.randrange(10, 5_000) * 1_000 + self.rng.randrange(1, 999)
            if value not in self.used_amounts:
                self.used_amounts.add(value)
                return value

    def name(self) -> str:
        while True:
            name = " ".join(
                (self.rng.choice(SURNAMES), self.rng.choice(MIDDLES), self.rng.choice(GIVEN))
            )
            full = f"{name} {self.rng.choice(GIVEN)}"
            if full not in self.used_names:
                self.used_names.add(full)
                return full

    def request(
        self, amount: int, created: datetime, status: str = RequestStatus.PENDING, **kw: Any
    ) -> PaymentRequest:
        with self.container.uow() as uow:
            req = payment_request_row(
                account_id=kw.pop("account_id", ACCOUNT),
                payer_name=kw.pop("payer_name", None) or self.name(),
                total_amount=amount,
                status=status,
                created_at=created,
                **kw,
            )
            uow.session.add(req)
            uow.commit()
            return req

    def bank_notification(
        self, req: PaymentRequest, amount: int, when: datetime, bank_ref: str
    ) -> None:
        event = ProviderEvent(
            provider="bank",
            provider_txn_id=f"sepay-{next(self.trace)}",
            reference=None,
            amount=Money(amount),
            currency="VND",
            status=TxnStatus.PAID,
            occurred_at=when,
            kind=EventKind.TRANSFER_IN,
            account_number=ACCOUNT_NUMBER,
            details={"content": f"{req.reference} nop phi", "referenceCode": bank_ref},
        )
        assert record_event(event, uow=self.container.uow()).outcome == "applied"

    def pos_batch(
        self, reqs: list[PaymentRequest], fee: int, when: datetime, terminal: str, batch: str
    ) -> int:
        for req in reqs:
            trace = next(self.trace)
            event = ProviderEvent(
                provider="pos",
                provider_txn_id=f"{terminal}:{batch}:{trace:06d}",
                reference=req.reference,
                amount=Money(req.total_amount),
                currency="VND",
                status=TxnStatus.PAID,
                occurred_at=when,
                kind=EventKind.PAYMENT,
                details={"terminal_id": terminal, "batch_no": batch, "trace_no": f"{trace}"},
            )
            assert record_event(event, uow=self.container.uow()).outcome == "applied"
        gross = sum(r.total_amount for r in reqs)
        settlement = Settlement(
            "pos",
            terminal,
            "M0001",
            batch,
            when + timedelta(hours=1),
            len(reqs),
            Money(gross),
            Money(fee),
            Money(gross - fee),
            "VND",
        )
        record_settlement(settlement, uow=self.container.uow())
        return gross - fee

    def import_overlapping(self, rows: list[dict[str, Any]], cut: float) -> None:
        """The day's lines as two statements sharing a stretch: the second starts at ``cut``,
        the first ends half-way from there; together they hold every line once."""
        start = int(len(rows) * cut)
        end = start + (len(rows) - start + 1) // 2
        imported = sum(
            self.import_csv(part)["lines_imported"] for part in (rows[:end], rows[start:]) if part
        )
        assert imported == len(rows)

    def import_csv(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
        cmd = ImportStatement(ACCOUNT, buf.getvalue().encode(), "sao-ke.csv", actor="test")
        return import_statement(cmd, uow=self.container.uow()).as_dict()

    def run(self, day: date) -> dict[str, Any]:
        from reconciliation.runs import get_run

        view = reconcile_day(ReconcileDay(ACCOUNT, day, "test"), uow=self.container.uow())
        return get_run(view["id"], uow=self.container.uow())

    def corrected(self, request_ids: Iterable[str]) -> set[str]:
        """Those of ``request_ids`` flagged reference-corrected, with their statement credit."""
        ids = [uuid.UUID(i) for i in request_ids]
        flagged = Flag.REFERENCE_CORRECTED
        with self.container.uow() as uow:
            requests = uow.session.scalars(
                select(PaymentRequest).where(PaymentRequest.id.in_(ids))
            ).all()
            txns = uow.session.scalars(
                select(PaymentTransaction).where(
                    PaymentTransaction.payment_request_id.in_(ids),
                    PaymentTransaction.provider == "statement",
                )
            ).all()
            by_txn = {str(t.payment_request_id) for t in txns if flagged in t.flags}
            by_request = {str(r.id) for r in requests if flagged in r.flags}
        assert by_txn == by_request
        return by_request

    def status(self, req: PaymentRequest) -> str:
        with self.container.uow() as uow:
            found = uow.session.get(PaymentRequest, req.id)
            assert found is not None
            return found.status


def typo(reference: str, rng: random.Random) -> str:
    pos = rng.randrange(3, len(reference))
    digit = rng.choice([d for d in "0123456789" if d != reference[pos]])
    return reference[:pos] + digit + reference[pos + 1 :]


def spaced(reference: str) -> str:
    """How some bank apps print it: groups of four, lower case."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4)).lower()


@dataclass
class Truth:
    day: date
    lines: list[dict[str, Any]] = field(default_factory=list)
    # description → (rule, request ids) the line must match with
    matches: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    # description (or key) → (reason, request id or None) the run must report
    exceptions: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    paid: list[PaymentRequest] = field(default_factory=list)
    pending: list[PaymentRequest] = field(default_factory=list)


def plant_day(w: World, day: date, counts: dict[str, int]) -> Truth:
    """Requests, provider events and statement lines for one business day, and what they mean."""
    rng, t = w.rng, Truth(day)
    morning, yesterday = at(day, 9), at(day - timedelta(days=1), 10)
    seq = itertools.count(1)

    groups: dict[int, float] = {}
    group = itertools.count()
    current = [next(group)]

    def line(amount: int, memo: str, **kw: Any) -> str:
        # lines of one planted case keep their order (the first of two equal payments is the
        # one that settles); the cases themselves are shuffled
        end = kw.pop("_end", True)
        desc = f"{memo} #{next(seq)}"
        groups.setdefault(current[0], rng.random())
        row = {"booking_date": day.isoformat(), "amount": amount, "description": desc, **kw}
        t.lines.append({"_order": (groups[current[0]], len(t.lines)), **row})
        current[0] = next(group) if end else current[0]
        return desc

    for _ in range(counts["exact"]):
        req = w.request(w.amount(), yesterday)
        memo = rng.choice([f"{req.reference} nop phi LLTP", spaced(req.reference), req.reference])
        t.matches[line(req.total_amount, memo)] = (Rule.REFERENCE, {str(req.id)})
        t.paid.append(req)
    for _ in range(counts["typo"]):
        req = w.request(w.amount(), yesterday)
        t.matches[line(req.total_amount, f"CK {typo(req.reference, rng)}")] = (
            Rule.REFERENCE_TYPO,
            {str(req.id)},
        )
        t.paid.append(req)
    for _ in range(counts["missing_memo"]):
        req = w.request(w.amount(), morning)
        desc = line(req.total_amount, "chuyen tien", counterparty_name=ascii_upper(req.payer_name))
        t.matches[desc] = (Rule.PROPOSAL, {str(req.id)})
        t.exceptions.append((Reason.UNKNOWN_CREDIT, desc, str(req.id)))
        t.pending.append(req)
    for _ in range(counts["partial"]):
        req = w.request(w.amount(), yesterday)
        desc = line(req.total_amount // 2, f"{req.reference} nop mot phan")
        t.exceptions.append((Reason.AMOUNT_MISMATCH, desc, str(req.id)))
    for _ in range(counts["split"]):  # two instalments that add up: both match
        req = w.request(w.amount(), yesterday)
        half = req.total_amount // 2
        for i, part in enumerate((half, req.total_amount - half)):
            t.matches[line(part, f"{req.reference} lan", _end=bool(i))] = (
                Rule.REFERENCE,
                {str(req.id)},
            )
        t.paid.append(req)
    for _ in range(counts["duplicate"]):
        req = w.request(w.amount(), yesterday)
        t.matches[line(req.total_amount, f"{req.reference} nop phi", _end=False)] = (
            Rule.REFERENCE,
            {str(req.id)},
        )
        desc = line(req.total_amount, f"{req.reference} nop lai")
        t.exceptions.append((Reason.DUPLICATE_PAYMENT, desc, str(req.id)))
    for _ in range(counts["late"]):
        req = w.request(w.amount(), yesterday, status=RequestStatus.CANCELLED)
        desc = line(req.total_amount, f"{req.reference}")
        t.exceptions.append((Reason.LATE_PAYMENT, desc, str(req.id)))
    for i in range(counts["notified"]):  # a bank notification recorded it first
        req = w.request(w.amount(), yesterday)
        ref = f"FT{rng.randrange(10**10):010d}"
        w.bank_notification(req, req.total_amount, morning, ref)
        memo = rng.choice([f"{req.reference}", "ung dung ngan hang"])  # memo may be lost
        desc = line(req.total_amount, memo, bank_reference=ref)
        t.matches[desc] = (Rule.PROVIDER_TXN, {str(req.id)})
        del i
    for _ in range(counts["after_midnight"]):  # paid 23:30 yesterday, booked today
        req = w.request(w.amount(), yesterday)
        ref = f"FT{rng.randrange(10**10):010d}"
        w.bank_notification(req, req.total_amount, at(day - timedelta(days=1), 23, 30), ref)
        desc = line(req.total_amount, f"{req.reference}", bank_reference=ref)
        t.matches[desc] = (Rule.PROVIDER_TXN, {str(req.id)})
    for _ in range(counts["pos"]):
        reqs = [w.request(w.amount(), yesterday) for _ in range(rng.randrange(1, 4))]
        terminal = f"T{next(w.trace):07d}"
        net = w.pos_batch(reqs, rng.randrange(1, 50) * 100, yesterday, terminal, "000001")
        desc = line(net, f"TT the POS {terminal} lo 000001")
        t.matches[desc] = (Rule.POS_BATCH, {str(r.id) for r in reqs})
    for _ in range(counts["unknown"]):
        desc = line(w.amount(), "CONG TY TNHH ABC thanh toan", counterparty_name="CONG TY ABC")
        t.exceptions.append((Reason.UNKNOWN_CREDIT, desc, None))
    for _ in range(counts["missing"]):  # notified yesterday, never on a statement
        req = w.request(w.amount(), yesterday)
        w.bank_notification(req, req.total_amount, yesterday, f"FT{rng.randrange(10**10):010d}")
        t.exceptions.append((Reason.MISSING_CREDIT, None, str(req.id)))
    for _ in range(counts["pos_missing"]):  # a batch closed yesterday the bank never credited
        reqs = [w.request(w.amount(), yesterday) for _ in range(rng.randrange(1, 3))]
        w.pos_batch(reqs, rng.randrange(1, 50) * 100, yesterday, f"M{next(w.trace):07d}", "000009")
        t.exceptions.append((Reason.MISSING_CREDIT, None, None))
    for _ in range(counts["debits"]):
        line(-rng.randrange(1, 20) * 1_100, "Phi quan ly tai khoan")
    t.lines.sort(key=lambda row: row.pop("_order"))
    return t


KINDS = (
    "exact",
    "typo",
    "missing_memo",
    "partial",
    "split",
    "duplicate",
    "late",
    "notified",
    "after_midnight",
    "pos",
    "unknown",
    "missing",
    "pos_missing",
    "debits",
)


def _order(item: tuple[str, str | None, str | None]) -> tuple[str, str, str]:
    return item[0], item[1] or "", item[2] or ""


def check(w: World, truth: Truth, run: dict[str, Any]) -> None:
    """Every planted match found, nothing else matched, every planted exception reported."""
    descriptions = _descriptions(w)
    found = {
        descriptions[m["statement_line_id"]]: (m["rule"], set(m["payment_request_ids"]))
        for m in run["matches"]
    }
    assert found == truth.matches
    reported = sorted(
        (
            (
                e["reason"],
                descriptions.get(e["statement_line_id"]) if e["statement_line_id"] else None,
                e["payment_request_id"],
            )
            for e in run["exceptions"]
        ),
        key=_order,
    )
    planted = sorted(truth.exceptions, key=_order)
    assert reported == planted
    assert all(w.status(r) == RequestStatus.PAID for r in truth.paid)
    # a reference found by one wrong digit is flagged, as on the callback path
    matched = {rid: rule for rule, ids in truth.matches.values() for rid in ids}
    assert w.corrected(matched) == {r for r, rule in matched.items() if rule == Rule.REFERENCE_TYPO}
    assert all(w.status(r) == RequestStatus.PENDING for r in truth.pending)
    summary = run["summary"]
    assert summary["matched"] == sum(
        1 for rule, _ in truth.matches.values() if rule != Rule.PROPOSAL
    )
    assert summary["proposed"] == sum(
        1 for rule, _ in truth.matches.values() if rule == Rule.PROPOSAL
    )
    assert sum(summary["exceptions"].values()) == len(truth.exceptions)


def _descriptions(w: World) -> dict[int, str]:
    from reconciliation.models import StatementLine

    with w.container.uow() as uow:
        rows = uow.session.execute(select(StatementLine.id, StatementLine.description))
        return {i: d for i, d in rows}


@pytest.fixture
def world(container: Container, catalog: dict[str, Any]) -> Callable[[int], World]:
    return lambda seed: World(container, random.Random(seed))


def fresh_day() -> date:
    # each example gets its own days, far from the others' settlement and proposal windows
    return date(2026, 1, 10) + timedelta(days=10 * next(_days))


def test_one_planted_day_of_every_kind_is_recovered(world: Callable[[int], World]) -> None:
    w = world(7)
    truth = plant_day(w, fresh_day(), dict.fromkeys(KINDS, 2))
    w.import_csv(truth.lines)

    check(w, truth, w.run(truth.day))


DAYS = st.fixed_dictionaries({kind: st.integers(0, 2) for kind in KINDS})


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(counts=DAYS, seed=st.integers(0, 2**32 - 1), cut=st.floats(0, 1))
def test_any_planted_day_is_recovered(
    world: Callable[[int], World], counts: dict[str, int], seed: int, cut: float
) -> None:
    w = world(seed)
    truth = plant_day(w, fresh_day(), counts)
    w.import_overlapping(truth.lines, cut)

    first = w.run(truth.day)
    again = w.run(truth.day)

    check(w, truth, first)
    assert again["summary"] == first["summary"]
    assert again["matches"] == first["matches"]


def test_running_a_day_twice_gives_the_same_result_and_no_second_payment(
    world: Callable[[int], World],
) -> None:
    w = world(11)
    truth = plant_day(w, fresh_day(), dict.fromkeys(KINDS, 1))
    w.import_csv(truth.lines)
    first = w.run(truth.day)

    again = w.run(truth.day)

    assert again["id"] == first["id"]
    assert again["summary"] == first["summary"]
    assert [m | {} for m in again["matches"]] == first["matches"]
    assert [e["id"] for e in again["exceptions"]] == [e["id"] for e in first["exceptions"]]
    check(w, truth, again)
    with w.container.uow() as uow:
        fingerprints = uow.session.scalars(
            select(PaymentTransaction.provider_txn_id).where(
                PaymentTransaction.provider == "statement"
            )
        ).all()
    assert len(fingerprints) == len(set(fingerprints))


def test_a_settled_credit_marks_the_request_paid_and_emits_the_paid_event(
    world: Callable[[int], World],
) -> None:
    from payments.outbox.models import OutboxEvent

    w = world(3)
    day = fresh_day()
    req = w.request(200_000, at(day, 8))
    w.import_csv(
        [{"booking_date": day.isoformat(), "amount": 200_000, "description": req.reference}]
    )

    w.run(day)

    assert w.status(req) == RequestStatus.PAID
    with w.container.uow() as uow:
        topics = uow.session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == str(req.id))
        ).all()
    assert "payment_request.paid" in topics


RESOLUTIONS = {
    Reason.DUPLICATE_PAYMENT: "mark_for_refund",
    Reason.LATE_PAYMENT: "mark_for_refund",
    Reason.AMOUNT_MISMATCH: "book_as_bank_fee",
    Reason.MISSING_CREDIT: "book_as_bank_fee",
    Reason.UNKNOWN_CREDIT: "dismiss",
}


def test_re_running_a_day_keeps_every_resolution_and_reports_only_what_is_new(
    world: Callable[[int], World],
) -> None:
    from reconciliation.runs import ResolveException, resolve_exception

    w = world(5)
    truth = plant_day(w, fresh_day(), dict.fromkeys(KINDS, 1))
    w.import_csv(truth.lines)
    first = w.run(truth.day)
    for e in first["exceptions"]:
        proposal = e["reason"] == Reason.UNKNOWN_CREDIT and e["payment_request_id"]
        action = "confirm_proposal" if proposal else RESOLUTIONS[e["reason"]]
        cmd = ResolveException(e["id"], action, f"checked: {action}", actor="officer:lan")
        resolve_exception(cmd, uow=w.container.uow())
    # a later statement of the same day repeats a line and brings one more credit
    extra = {"booking_date": truth.day.isoformat(), "amount": 12_345, "description": "la"}
    w.import_csv([truth.lines[-1], extra])

    again = w.run(truth.day)
    third = w.run(truth.day)

    before = {e["id"]: e for e in first["exceptions"]}
    kept = {e["id"]: e for e in again["exceptions"] if e["id"] in before}
    new = [e for e in again["exceptions"] if e["id"] not in before]
    assert kept.keys() == before.keys()
    assert all(e["status"] == "resolved" for e in kept.values())
    assert [(e["reason"], e["amount"], e["status"]) for e in new] == [
        ("unknown_credit", 12_345, "open")
    ]
    assert again["summary"]["open_items"] == 1
    confirmed = {
        frozenset(m["payment_request_ids"]) for m in again["matches"] if m["rule"] == Rule.MANUAL
    }
    proposed = {frozenset(ids) for rule, ids in truth.matches.values() if rule == Rule.PROPOSAL}
    assert confirmed == proposed and again["summary"]["proposed"] == 0
    assert all(w.status(r) == RequestStatus.PAID for r in truth.pending)
    assert (third["summary"], third["matches"], third["exceptions"]) == (
        again["summary"],
        again["matches"],
        again["exceptions"],
    )
    with w.container.uow() as uow:
        fingerprints = uow.session.scalars(
            select(PaymentTransaction.provider_txn_id).where(
                PaymentTransaction.provider == "statement"
            )
        ).all()
    assert len(fingerprints) == len(set(fingerprints))


def test_a_statement_credit_that_settles_a_request_issues_its_receipts(
    container: Container, catalog: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    from dataclasses import replace

    from payments.app import build_container
    from payments.auth.services import Principal
    from payments.outbox.services import run_outbox
    from receipts.devcert import generate_dev_pair
    from receipts.models import Receipt

    key, cert = generate_dev_pair(
        "Sở Tư pháp tỉnh Hà Tĩnh", not_before=datetime(2026, 1, 1, tzinfo=UTC)
    )
    (tmp_path / "key.pem").write_bytes(key)
    (tmp_path / "cert.pem").write_bytes(cert)
    signing = replace(
        settings, receipt_key=str(tmp_path / "key.pem"), receipt_cert=str(tmp_path / "cert.pem")
    )
    c = build_container(signing, container.engine)
    everyone = Principal("recon-tests", frozenset({"payments:write"}), None)
    view = make_payment_request(
        c, settings=signing, principal=everyone, dossier_code="H40-receipt", channel="counter"
    )
    w = World(c, random.Random(1))
    day = datetime.now(VN_TZ).date()  # receipts are numbered in the series of the current year
    w.import_csv(
        [
            {
                "booking_date": day.isoformat(),
                "amount": view["total_amount"],
                "description": f"{view['reference']} nop phi",
            }
        ]
    )

    w.run(day)
    while run_outbox(c.uow(), c.registry) > 0:
        pass

    with c.uow() as uow:
        receipts = uow.session.scalars(
            select(Receipt).where(Receipt.payment_request_id == uuid.UUID(view["id"]))
        ).all()
        assert receipts and sum(r.total_amount for r in receipts) == view["total_amount"]


def test_credits_applied_in_small_chunks_and_parallel_streams_keep_each_request_in_order(
    world: Callable[[int], World],
) -> None:
    from payments.outbox.models import OutboxEvent
    from reconciliation.matching import reconcile
    from reconciliation.runs import apply_statement_credits, load_day

    w = world(11)
    day = fresh_day()
    reqs = [w.request(100_000, at(day, 8)) for _ in range(9)]
    rows = [
        {"booking_date": day.isoformat(), "amount": 100_000, "description": r.reference}
        for r in reqs[1:]
    ]
    rows += [
        {
            "booking_date": day.isoformat(),
            "amount": amount,
            "description": f"{reqs[0].reference} {n}",
        }
        for n, amount in ((1, 40_000), (2, 60_000))
    ]
    w.import_csv(rows)
    with w.container.uow() as uow:
        credits = reconcile(load_day(uow.session, ACCOUNT, day)).credits

    # chunks of two: on PostgreSQL two streams of connections apply them at once
    first = apply_statement_credits(credits, uow=w.container.uow(), chunk_size=2)
    again = apply_statement_credits(credits, uow=w.container.uow(), chunk_size=2)

    assert first == {"applied": 10}
    assert again == {}
    assert {w.status(r) for r in reqs} == {RequestStatus.PAID}
    with w.container.uow() as uow:
        topics = uow.session.scalars(
            select(OutboxEvent.topic)
            .where(OutboxEvent.aggregate_id == str(reqs[0].id))
            .order_by(OutboxEvent.id)
        ).all()
        assert topics == ["payment_request.partially_paid", "payment_request.paid"]
        version = uow.session.scalar(
            select(PaymentRequest.version).where(PaymentRequest.id == reqs[0].id)
        )
    assert version == 3


def test_a_confirmed_proposal_and_its_credit_commit_together(
    world: Callable[[int], World], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolution and the credit it applies are one transaction: when the credit's write
    fails (a fault injected after it ran), the exception stays open and nothing was applied."""
    from reconciliation.runs import ResolveException, resolve_exception, resolving

    w = world(11)
    truth = plant_day(w, fresh_day(), {**dict.fromkeys(KINDS, 0), "missing_memo": 1})
    w.import_csv(truth.lines)
    (proposal,) = [e for e in w.run(truth.day)["exceptions"] if e["payment_request_id"]]
    cmd = ResolveException(proposal["id"], "confirm_proposal", "same payer", actor="officer:lan")
    real = resolving.apply_line_credits

    def fails_after_writing(*args: Any, **kwargs: Any) -> dict[str, int]:
        real(*args, **kwargs)
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr(resolving, "apply_line_credits", fails_after_writing)
    with pytest.raises(RuntimeError):
        resolve_exception(cmd, uow=w.container.uow())

    (req,) = truth.pending
    assert w.status(req) == RequestStatus.PENDING
    assert w.run(truth.day)["summary"]["open_items"] == 1
    monkeypatch.setattr(resolving, "apply_line_credits", real)

    assert resolve_exception(cmd, uow=w.container.uow())["status"] == "resolved"
    assert w.status(req) == RequestStatus.PAID
