"""Parse speed of the generic statement CSV on a generated file (issue 6).

    .venv/bin/python bench/bench_parsers.py [--lines 1000000] [--repeat 3]

Generates a realistic generic CSV in memory (a bank reference on 9 lines in 10, quoted
descriptions with commas on some, a running balance), then times ``parse_statement`` on it,
best of ``--repeat`` runs, and prints lines per second.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciliation.parsers import parse_statement

HEADER = (
    "booking_date,value_date,amount,description,bank_reference,"
    "counterparty_name,counterparty_account,balance\n"
)


def generate(lines: int, seed: int = 6) -> bytes:
    rng = random.Random(seed)
    start = date(2026, 1, 1)
    balance = 1_000_000_000
    out = [HEADER]
    for i in range(lines):
        day = (start + timedelta(days=i * 365 // max(lines, 1))).isoformat()
        amount = rng.choice((200_000, 115_000, 50_000, -11_000, rng.randint(-(10**7), 10**7)))
        balance += amount
        reference = f"FT26{i:012d}" if i % 10 else ""
        memo = f"TP26AB{i:08d} nop phi ho so" if i % 7 else f'"TP26AB{i:08d}, nop phi, le phi"'
        out.append(f"{day},{day},{amount},{memo},{reference},NGUYEN VAN A,0123456789,{balance}\n")
    return "".join(out).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = generate(args.lines)
    print(f"generic CSV: {args.lines:,} lines, {len(data) / 1e6:.1f} MB")
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        statement = parse_statement(data, "bench.csv")
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        assert len(statement.lines) == args.lines
        del statement
    print(
        f"best of {args.repeat}: {best_wall:.2f} s wall ({args.lines / best_wall:,.0f} lines/s), "
        f"{best_cpu:.2f} s CPU ({args.lines / best_cpu:,.0f} lines/s)"
    )
    # The same machine's speed at plain Python, to compare runs on different hosts.
    began = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    print(f"calibration: a 10M-iteration Python loop takes {time.perf_counter() - began:.2f} s")


if __name__ == "__main__":
    main()
