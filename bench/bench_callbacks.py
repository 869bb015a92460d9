"""Bank transfer notifications per second on PostgreSQL, then proof nothing was lost or doubled.

    .venv/bin/python bench/bench_callbacks.py [--duration 15] [--connections 32]
        [--workers 2] [--threads 4] [--dup-every 5] [--wrk-threads 1] [--show-wrk]

One run, on 127.0.0.1 only:

1. creates a fresh PostgreSQL schema (THUPHI_BENCH_PG_URL, default the test database), migrates
   it, imports the demo catalog and inserts ``--requests`` open payment requests of 200,000 đồng;
2. starts gunicorn with the production settings (``payments/gunicorn_conf.py``);
3. drives ``POST /callbacks/bank/sepay`` with wrk: each notification pays a distinct open request
   (its reference in the memo, as a bank app writes it), and every ``--dup-every``-th request
   re-sends the previous notification byte for byte (a bank retrying);
4. prints callbacks/s, p50, p99, statuses and PASS/FAIL against 500/s, then checks the database:
   every notification sent has exactly one transaction (at most the ones wrk left unanswered at
   its deadline may be missing), no request holds two payments, every request's paid amount is
   the sum of its transactions, and each duplicate was logged as one, never applied.

Exit status 0 only when the target is met and the database agrees.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_support import (  # noqa: E402
    CpuSnapshot,
    Gunicorn,
    add_server_args,
    connection_header,
    describe,
    fresh_schema,
    gunicorn,
    lua_string,
    reference_loop_ms,
    seed_requests,
    vacuum_analyze,
)
from sqlalchemy import Connection, Engine, text  # noqa: E402

from payments.catalog.services import import_catalog, parse_document  # noqa: E402
from payments.db import make_engine, make_session_factory  # noqa: E402
from payments.demo import CATALOG  # noqa: E402
from payments.migrate import upgrade  # noqa: E402
from payments.uow import UnitOfWork  # noqa: E402

API_KEY = "bench-bank-key"
PATH = "/callbacks/bank/sepay"
AMOUNT = 200_000
TARGET = 500.0
# the demo catalog's criminal-record extract, paid into Sở Tư pháp's account
ACCOUNT = "376101234567"
TEMPLATE = (
    '{"id": %d, "gateway": "Vietcombank", "transactionDate": "2026-11-23 10:00:00", '
    '"accountNumber": "' + ACCOUNT + '", "code": null, "content": "CT DEN %s NOP PHI LLTP", '
    '"transferType": "in", "transferAmount": ' + str(AMOUNT) + ', "accumulated": 0, '
    '"referenceCode": "FT%d", "description": ""}'
)

# Each wrk thread takes every NTHREADS-th reference, so no two notifications pay one request.
# ``request()`` re-sends the previous request verbatim every DUP_EVERY-th call (a bank retry);
# ``done()`` writes the ids sent and prints one JSON line.
LUA = r"""
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  refs = {}
  for line in io.lines(REFS_FILE) do refs[#refs + 1] = line end
  sent, unique, dups = 0, 0, 0
  statuses, ids = {}, {}
  last = nil
end

function request()
  sent = sent + 1
  if last ~= nil and sent % DUP_EVERY == 0 then
    dups = dups + 1
    return last
  end
  unique = unique + 1
  local ref = refs[(unique - 1) * NTHREADS + tid]
  if ref == nil then ref = "NOREFERENCE" end
  local id = tid * 100000000 + unique
  ids[#ids + 1] = id
  local body = string.format(TEMPLATE, id, ref, id)
  last = wrk.format("POST", PATH, {
    ["Host"] = HOST,
    ["Authorization"] = "Apikey " .. API_KEY,
    ["Content-Type"] = "application/json",
    ["Connection"] = CONNECTION,
  }, body)
  return last
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent, dups, merged, out = 0, 0, {}, io.open(IDS_FILE, "w")
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
    dups = dups + thread:get("dups")
    for status, n in pairs(thread:get("statuses")) do
      merged[tostring(status)] = (merged[tostring(status)] or 0) + n
    end
    for _, id in ipairs(thread:get("ids")) do out:write(id, "\n") end
  end
  out:close()
  local parts = {}
  for status, n in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', status, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"sent": %d, "dups": %d, "errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    sent, dups, e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
"""


@contextlib.contextmanager
def serve(url: str, args: argparse.Namespace, tmp: Path) -> Iterator[Gunicorn]:
    """The real app under gunicorn's production settings, access log off."""
    env = {
        "THUPHI_DATABASE_URL": url,
        "THUPHI_SECRET_KEY": "bench-secret-key-0123456789abcdef-0123456789",
        "THUPHI_BANK_API_KEY": API_KEY,
        "THUPHI_LOG_JSON": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp),
    }
    quiet = ("--access-logfile", "/dev/null")
    with gunicorn("payments.app:create_app()", env, tmp, args, extra=quiet) as served:
        yield served


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, default=15)
    add_server_args(p, connections=32)
    p.add_argument("--dup-every", type=int, default=5)
    p.add_argument("--requests", type=int, default=60_000, help="open requests to pay")
    return p.parse_args()


def run_wrk(
    server: Gunicorn, refs_file: Path, tmp: Path, seconds: int, args: argparse.Namespace
) -> dict[str, Any]:
    ids_file = tmp / f"ids-{secrets.token_hex(3)}.txt"
    constants = {
        "PATH": PATH,
        "HOST": server.base.removeprefix("http://"),
        "API_KEY": API_KEY,
        "TEMPLATE": TEMPLATE,
        "REFS_FILE": str(refs_file),
        "IDS_FILE": str(ids_file),
        "CONNECTION": connection_header(args),
    }
    head = "".join(f"{k} = {lua_string(v)}\n" for k, v in constants.items())
    head += f"NTHREADS = {args.wrk_threads}\nDUP_EVERY = {args.dup_every}\n"
    script = tmp / "callbacks.lua"
    script.write_text(head + LUA, "utf-8")
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s"]
    cmd += ["--timeout", "10s"]
    cmd += ["--latency", "-s", str(script)]
    cpu, machine = server.workers_cpu(), CpuSnapshot.take()
    out = subprocess.run([*cmd, server.base + PATH], capture_output=True, text=True, check=True)
    cpu, (busy, pg_cpu) = server.workers_cpu() - cpu, CpuSnapshot.take().since(machine)
    if args.show_wrk:
        print(out.stdout)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_RESULT "))
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
    data["ids"] = [int(x) for x in ids_file.read_text().split()]
    data["cpu_ms_per_req"] = cpu * 1000 / max(data["requests"], 1)
    data["pg_ms_per_req"] = pg_cpu * 1000 / max(data["requests"], 1)
    data["machine_busy"] = busy
    return data


def verify(engine: Engine, ids: list[int], dups_sent: int, slack: int) -> bool:
    """Every notification once, no request paid twice, amounts consistent."""
    with engine.connect() as conn:

        def q(sql: str, c: Connection = conn) -> int:
            return int(c.execute(text(sql)).scalar_one())

        txns = {
            int(r)
            for r in conn.execute(
                text("SELECT provider_txn_id FROM payment_transactions WHERE provider = 'bank'")
            ).scalars()
        }
        doubled = q(
            "SELECT count(*) FROM (SELECT payment_request_id FROM payment_transactions "
            "GROUP BY payment_request_id HAVING count(*) > 1) d"
        )
        inconsistent = q(
            "SELECT count(*) FROM payment_requests r WHERE r.paid_amount <> COALESCE(("
            "SELECT sum(t.amount) FROM payment_transactions t WHERE t.payment_request_id = r.id "
            "AND t.state = 'applied'), 0)"
        )
        paid = q("SELECT count(*) FROM payment_requests WHERE status = 'paid'")
        not_applied = q("SELECT count(*) FROM payment_transactions WHERE state <> 'applied'")
        dup_logged = q("SELECT count(*) FROM provider_messages WHERE outcome = 'duplicate'")
        events = q("SELECT count(*) FROM outbox_events WHERE topic = 'payment_request.paid'")
    missing = set(ids) - txns
    unknown = txns - set(ids)
    checks = {
        f"every notification recorded (missing {len(missing)} ≤ {slack} in flight at the end)": (
            len(missing) <= slack
        ),
        f"no transaction we did not send ({len(unknown)})": not unknown,
        f"no request paid twice ({doubled})": doubled == 0,
        f"paid amount = sum of its payments everywhere ({inconsistent} off)": inconsistent == 0,
        f"paid requests = transactions ({paid} = {len(txns)})": paid == len(txns),
        f"every transaction applied ({not_applied} not)": not_applied == 0,
        f"one paid event per paid request ({events})": events == paid,
        f"duplicates logged, not applied ({dup_logged} of {dups_sent} sent)": (
            dups_sent - slack <= dup_logged <= dups_sent
        ),
    }
    for label, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {label}")
    return all(checks.values())


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with fresh_schema("bench_cb") as url, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        engine = make_engine(url)
        try:
            upgrade(engine)
            import_catalog(
                parse_document(CATALOG.read_bytes()), uow=UnitOfWork(make_session_factory(engine))
            )
            started = time.monotonic()
            refs = seed_requests(engine, args.requests, AMOUNT, "BENCH")
            vacuum_analyze(engine)  # what autovacuum would have done (it is off on CI machines)
            print(f"seeded {len(refs)} open requests in {time.monotonic() - started:.1f} s")
            refs_file = tmp / "refs.txt"
            refs_file.write_text("\n".join(refs) + "\n")
            speed = reference_loop_ms()
            with serve(url, args, tmp) as server:
                data = run_wrk(server, refs_file, tmp, args.duration, args)
            data["reference_loop_ms"] = (speed, reference_loop_ms())
            time.sleep(0.5)
            return report(engine, data, args)
        finally:
            engine.dispose()


def report(engine: Engine, data: dict[str, Any], args: argparse.Namespace) -> int:
    requests_done = data["requests"]
    rate = requests_done / (data["duration_us"] / 1e6)
    statuses, ids = data["statuses"], data["ids"]
    before, after = data["reference_loop_ms"]
    print(
        f"\nPOST {PATH}: {rate:.0f} callbacks/s over {args.duration} s ({describe(args)})\n"
        f"  p50 {data['p50_us'] / 1000:.1f} ms, p99 {data['p99_us'] / 1000:.1f} ms, "
        f"CPU per callback: workers {data['cpu_ms_per_req']:.2f} ms, "
        f"PostgreSQL {data['pg_ms_per_req']:.2f} ms; machine {data['machine_busy']:.0%} busy\n"
        f"  reference loop before/after: {before:.0f}/{after:.0f} ms of CPU (machine speed)\n"
        f"  {requests_done} answered: statuses {statuses}, socket errors {data['errors']}; "
        f"{len(ids)} distinct notifications, {data['dups']} re-sent duplicates"
    )
    fast = rate >= TARGET
    clean = set(statuses) == {"200"} and data["errors"] == 0
    print(f"  {'PASS' if fast else 'FAIL'} ≥ {TARGET:.0f} callbacks/s")
    print(f"  {'PASS' if clean else 'FAIL'} every answer 200, no socket errors")
    print("database:")
    sound = verify(engine, ids, data["dups"], slack=args.connections)
    print("PASS" if fast and clean and sound else "FAIL")
    return 0 if fast and clean and sound else 1


if __name__ == "__main__":
    sys.exit(main())
