"""Receipts issued per second on PostgreSQL with continuous numbering (issue 5).

    .venv/bin/python bench/bench_receipts.py [--requests 1000] [--workers 8]

1. creates a fresh PostgreSQL schema (THUPHI_BENCH_PG_URL, default the test database), migrates
   it, imports the demo catalog and generates a development signing pair;
2. creates ``--requests`` payment requests over four agencies (one or two receipts each) and pays
   them by bank transfer, so their ``payment_request.paid`` events wait in the outbox;
3. times ``--workers`` threads, each with its own unit of work, running the outbox until every
   receipt is issued (number taken under the counter's row lock, XML signed, row inserted);
4. prints receipts/s, then checks every series holds exactly the numbers 1..N;
5. drops the schema, on success or failure alike.

Exit status 0 only when numbering is continuous and every paid request has its receipts.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_support import fresh_schema  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from payments.app import build_container  # noqa: E402
from payments.auth.services import Principal  # noqa: E402
from payments.catalog.services import import_catalog, parse_document  # noqa: E402
from payments.clock import utcnow  # noqa: E402
from payments.config import Settings  # noqa: E402
from payments.db import make_engine  # noqa: E402
from payments.demo import CATALOG  # noqa: E402
from payments.http import Container  # noqa: E402
from payments.migrate import upgrade  # noqa: E402
from payments.money import Money  # noqa: E402
from payments.outbox.models import DeliveryStatus, OutboxDelivery  # noqa: E402
from payments.outbox.services import deliver_due, fan_out  # noqa: E402
from payments.payment_requests.services import (  # noqa: E402
    CreatePaymentRequest,
    Payer,
    create_payment_request,
)
from payments.transactions.services import record_event  # noqa: E402
from providers.base import EventKind, ProviderEvent, TxnStatus  # noqa: E402
from receipts.devcert import generate_dev_pair  # noqa: E402
from receipts.jobs import ISSUE_SUBSCRIBER  # noqa: E402
from receipts.models import Receipt  # noqa: E402

PROCEDURES = ("1.001234", "1.012345", "2.001610", "1.004227")  # 1, 1, 2, 2 receipts
EVERYONE = Principal("bench", frozenset({"payments:write", "payments:read"}), None)


def prepare(url: str, folder: Path, workers: int) -> Container:
    key, cert = generate_dev_pair("thuphi bench")
    (folder / "key.pem").write_bytes(key)
    (folder / "cert.pem").write_bytes(cert)
    settings = Settings.from_env(
        {},
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        receipt_key=str(folder / "key.pem"),
        receipt_cert=str(folder / "cert.pem"),
    )
    engine = make_engine(url, pool_size=workers + 4, max_overflow=8)
    upgrade(engine)
    container = build_container(settings, engine)
    import_catalog(parse_document(CATALOG.read_bytes()), uow=container.uow())
    # only the issuing subscriber: tax-authority submissions are another bench's business
    container.registry.subscribers = {
        ISSUE_SUBSCRIBER: container.registry.subscribers[ISSUE_SUBSCRIBER]
    }
    return container


def create_and_pay(container: Container, procedure: str) -> None:
    cmd = CreatePaymentRequest(
        dossier_code=f"BENCH-{uuid.uuid4().hex[:12]}",
        procedure_code=procedure,
        channel="counter",
        payer=Payer("Nguyễn Thị Thu Hằng", "040201001234"),
        idempotency_key=uuid.uuid4().hex,
    )
    view, _ = create_payment_request(
        cmd, uow=container.uow(), settings=container.settings, principal=EVERYONE
    )
    record_event(
        ProviderEvent(
            provider="bank",
            provider_txn_id=uuid.uuid4().hex,
            reference=view["reference"],
            amount=Money(view["total_amount"]),
            currency="VND",
            status=TxnStatus.PAID,
            occurred_at=utcnow(),
            kind=EventKind.TRANSFER_IN,
            account_number=view["beneficiary"]["account_number"],
        ),
        uow=container.uow(),
    )


def issue_all(container: Container, workers: int) -> float:
    """Seconds for ``workers`` threads to deliver every pending issuing delivery."""
    while fan_out(container.uow(), container.registry):
        pass

    def worker(_: int) -> None:
        uow = container.uow()
        while deliver_due(uow, container.registry, limit=50):
            pass

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(worker, range(workers)))
    return time.perf_counter() - start


def check(container: Container) -> tuple[int, list[str]]:
    problems = []
    with container.uow() as uow:
        rows = uow.session.execute(select(Receipt.agency_code, Receipt.series, Receipt.number))
        by_series: dict[tuple[str, str], list[int]] = defaultdict(list)
        for agency, series, number in rows:
            by_series[(agency, series)].append(number)
        left = uow.session.scalar(
            select(func.count()).where(OutboxDelivery.status != DeliveryStatus.DELIVERED)
        )
    for key, numbers in sorted(by_series.items()):
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            problems.append(f"{key}: numbers are not exactly 1..{len(numbers)}")
    if left:
        problems.append(f"{left} deliveries not delivered")
    return sum(len(n) for n in by_series.values()), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with fresh_schema("bench_receipts") as url, tempfile.TemporaryDirectory() as tmp:
        container = prepare(url, Path(tmp), args.workers)
        procedures = list(itertools.islice(itertools.cycle(PROCEDURES), args.requests))
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(lambda p: create_and_pay(container, p), procedures))
        expected = sum(2 if p in ("2.001610", "1.004227") else 1 for p in procedures)
        seconds = issue_all(container, args.workers)
        issued, problems = check(container)
        container.engine.dispose()
    if issued != expected:
        problems.append(f"issued {issued} receipts, expected {expected}")
    print(
        f"receipts issued: {issued} in {seconds:.2f} s with {args.workers} workers "
        f"on {os.cpu_count()} CPU(s) = {issued / seconds:.0f} receipts/s "
        f"(PostgreSQL, 4 agencies, continuous numbering, RSA-SHA256 XMLDSig)"
    )
    print("continuity: " + ("PASS (every series is exactly 1..N)" if not problems else "FAIL"))
    for problem in problems:
        print("  " + problem)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
