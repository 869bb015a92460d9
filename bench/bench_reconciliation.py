"""Reconciliation at scale: N statement lines against N payment requests on PostgreSQL (issue 6).

    .venv/bin/python bench/bench_reconciliation.py [--lines 1000000] [--keep]

One run:

1. creates a fresh PostgreSQL schema (THUPHI_BENCH_PG_URL, default the test database), migrates
   it, imports the demo catalog and seeds N pending payment requests with COPY;
2. generates one business day's generic CSV statement of N lines: most credits carry a reference
   (plain, spaced or lower case), some a reference with one wrong digit, some no memo but the
   payer's name, some are unknown money, a few are bank charges;
3. measures the floor: parse the same bytes with the csv module, find the references with a
   regular expression and hash-join (reference, amount) against the requests, in memory;
4. measures end to end: ``import_statement`` (parse, COPY, insert-if-new) then ``reconcile_day``
   (bulk load, match, apply settling credits through the payment state machine, store the run);
5. prints each phase, the ratio to the floor, the peak RSS, PASS/FAIL against the targets
   (end to end ≤ 3 × floor, peak memory < 2 GB) and drops the schema.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import resource
import secrets
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from payments.catalog.services import import_catalog, parse_document  # noqa: E402
from payments.db import make_engine, make_session_factory  # noqa: E402
from payments.demo import CATALOG  # noqa: E402
from payments.migrate import upgrade  # noqa: E402
from payments.reference import check_digits  # noqa: E402
from payments.uow import UnitOfWork  # noqa: E402
from reconciliation.importing import ImportStatement, import_statement  # noqa: E402
from reconciliation.runs import ReconcileDay, reconcile_day  # noqa: E402

PG_URL = os.environ.get("THUPHI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ACCOUNT = "stp-kbnn"
DAY = date(2026, 11, 2)
HEADER = [
    "booking_date",
    "value_date",
    "amount",
    "description",
    "bank_reference",
    "counterparty_name",
    "counterparty_account",
    "balance",
]
NAMES = ["NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "VO", "DANG", "BUI", "DO", "HO", "NGO", "DUONG"]
RATIO_TARGET = 3.0
MEMORY_TARGET_MB = 2048


def reference_of(i: int) -> str:
    body = f"{i:012d}"
    return f"TPH{body}{check_digits(body)}"


def payer(rng: random.Random) -> str:
    return " ".join(rng.choice(NAMES) for _ in range(3)) + f" {rng.randrange(10**6)}"


def seed_requests(engine: Any, n: int, rng: random.Random) -> list[tuple[str, int, str]]:
    """N pending requests created the day before, by COPY; returns (reference, amount, payer)."""
    created = datetime.combine(DAY - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    out = []
    cols = (
        "id, reference, checkout_token, dossier_code, procedure_code, agency_code, account_id, "
        "channel, submitted_at, quote_date, payer_name, total_amount, paid_amount, status, flags, "
        "vietqr_payload, expires_at, created_at, updated_at, version"
    )
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY payment_requests ({cols}) FROM STDIN") as copy:
            for i in range(n):
                ref, amount, name = reference_of(i), rng.randrange(10_000, 10_000_000), payer(rng)
                out.append((ref, amount, name))
                copy.write_row(
                    (
                        uuid.UUID(int=rng.getrandbits(128)),
                        ref,
                        f"tok{i}",
                        f"H40-{i}",
                        "1.001234",
                        "000.00.12.H40",
                        ACCOUNT,
                        "online",
                        created,
                        created.date(),
                        name,
                        amount,
                        0,
                        "pending",
                        "[]",
                        "",
                        created + timedelta(days=30),
                        created,
                        created,
                        1,
                    )
                )
        conn.execute(text("ANALYZE payment_requests"))
    return out


def statement(requests: list[tuple[str, int, str]], rng: random.Random) -> tuple[bytes, int]:
    """One day's generic CSV for the requests; returns the bytes and the planted automatic
    matches (exact and one-typo references)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    iso = DAY.isoformat()
    planted = 0
    order = list(range(len(requests)))
    rng.shuffle(order)
    for n, i in enumerate(order):
        ref, amount, name = requests[i]
        roll = rng.random()
        counterparty = ""
        if roll < 0.90:
            memo = rng.choice((f"{ref} nop phi", f"ND {ref.lower()}", f"{ref[:7]} {ref[7:]}"))
            planted += 1
        elif roll < 0.94:
            pos = rng.randrange(3, len(ref))
            digit = str((int(ref[pos]) + rng.randrange(1, 10)) % 10)
            memo = f"CK {ref[:pos]}{digit}{ref[pos + 1 :]}"
            planted += 1
        elif roll < 0.97:
            memo, counterparty = "chuyen tien", name  # no memo: a proposal at best
        elif roll < 0.99:
            memo, amount = "CONG TY ABC thanh toan", rng.randrange(10_000, 10_000_000)
        else:
            memo, amount = "Phi quan ly tai khoan", -rng.randrange(1, 50) * 1_100
        writer.writerow([iso, iso, amount, memo, f"FT{n:012d}", counterparty, "", ""])
    return buf.getvalue().encode(), planted


_REF = re.compile(r"T[\s.\-_]*P[\s.\-_]*H((?:[\s.\-_]*\d){14})(?!\d)", re.IGNORECASE)


def floor(data: bytes, requests: list[tuple[str, int, str]]) -> tuple[float, int]:
    """The least any implementation must do: read the CSV, find references, hash-join."""
    start = time.perf_counter()
    index = {(ref, amount) for ref, amount, _ in requests}
    reader = csv.reader(io.StringIO(data.decode()))
    next(reader)
    matched = 0
    digits = re.compile(r"\D")
    for row in reader:
        found = _REF.search(row[3])
        if found and ("TPH" + digits.sub("", found.group(1)), int(row[2])) in index:
            matched += 1
    return time.perf_counter() - start, matched


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the schema for inspection")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    rng = random.Random(6)
    schema = f"bench_recon_{secrets.token_hex(3)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    engine = make_engine(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        uow = UnitOfWork(make_session_factory(engine))
        import_catalog(parse_document(CATALOG.read_bytes()), uow=uow)
        t = time.perf_counter()
        requests = seed_requests(engine, args.lines, rng)
        print(f"seeded {args.lines:,} payment requests by COPY in {time.perf_counter() - t:.1f} s")
        data, planted = statement(requests, rng)
        print(f"statement: {args.lines:,} lines, {len(data) / 1e6:.1f} MB, {planted:,} to match")

        floor_s, floor_matched = floor(data, requests)
        print(f"floor (csv + regex + hash join): {floor_s:.2f} s, {floor_matched:,} joined")
        del requests

        phases: dict[str, float] = {}
        last = [time.perf_counter()]

        def tick(stage: str, _done: int, _total: int) -> None:
            if stage in {"loaded", "matched", "applied", "stored", "import"}:
                now = time.perf_counter()
                phases[stage] = phases.get(stage, 0.0) + now - last[0]
                last[0] = now

        start = time.perf_counter()
        last[0] = start
        imported = import_statement(
            ImportStatement(ACCOUNT, data, "bench.csv", actor="bench"), uow=uow
        )
        tick("import", 0, 0)
        del data
        run = reconcile_day(ReconcileDay(ACCOUNT, DAY, "bench"), uow=uow, progress=tick)
        total = time.perf_counter() - start
        summary = run["summary"]
        ratio = total / floor_s
        memory = peak_mb()
        figures = {
            "lines": args.lines,
            "floor_s": round(floor_s, 2),
            "end_to_end_s": round(total, 2),
            "phases_s": {k: round(v, 2) for k, v in phases.items()},
            "ratio": round(ratio, 2),
            "peak_rss_mb": round(memory),
            "imported": imported.lines_imported,
            "matched": summary["matched"],
            "planted": planted,
            "proposed": summary["proposed"],
            "exceptions": summary["exceptions"],
        }
        print("end to end: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
        print(f"end to end {total:.1f} s = {ratio:.1f} × floor; peak RSS {memory:,.0f} MB")
        matched, proposed = summary["matched"], summary["proposed"]
        print(f"matched {matched:,} of {planted:,} planted; proposed {proposed:,}")
        ok = ratio <= RATIO_TARGET and memory < MEMORY_TARGET_MB and summary["matched"] == planted
        print(
            f"{'PASS' if ok else 'FAIL'}: ratio {ratio:.1f} (target ≤ {RATIO_TARGET}), "
            f"memory {memory:,.0f} MB (target < {MEMORY_TARGET_MB}), matches "
            f"{'complete' if summary['matched'] == planted else 'INCOMPLETE'}"
        )
        if args.json:
            print(json.dumps(figures))
        return 0 if ok else 1
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
