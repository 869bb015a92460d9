"""Officer console pages at a year of one province's volume on PostgreSQL (issue 7).

    .venv/bin/python bench/bench_console.py [--requests 300000] [--samples 30] [--keep]

One run:

1. creates a fresh PostgreSQL schema (THUPHI_BENCH_PG_URL, default the test database), migrates
   it and imports the demo catalog (5 agencies of Hà Tĩnh, one account each);
2. seeds by COPY a year (365 days ending today) of the province: N payment requests spread over
   the agencies (weights 30/35/10/15/10 %) with their fee lines (online reductions included),
   85 % paid (VietQR transfer 50 %, national portal 35 %, POS 15 %) with one applied transaction
   and one receipt each, 5 % expired, the rest pending; one bank statement per account and day
   holding the transfers and a few unknown credits; a reconciliation run per account and day
   (the last 3 days not run yet) with its matches, the unknown credits as exceptions (90 %
   resolved with a note) and a hash-chained audit entry per run and resolution;
3. serves the real app (``create_app``) on 127.0.0.1 in a threaded werkzeug server, signs in an
   officer of the largest agency and an admin through the login form;
4. requests every console page ``--samples`` times after one warm-up (pages with ids use real
   ones: the newest request, a receipt, a statement, yesterday's run) and prints p50, p95 and
   max per page, PASS/FAIL against p95 ≤ 300 ms; exports (downloads, not pages) are listed apart;
5. drops the schema (unless ``--keep``). The exit status is 0 when every page passes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import secrets
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from bench_support import vacuum_analyze  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from payments.app import build_container, create_app  # noqa: E402
from payments.auth.services import CreateUser, create_user  # noqa: E402
from payments.catalog.services import import_catalog, parse_document  # noqa: E402
from payments.clock import VN_TZ, today  # noqa: E402
from payments.config import Settings  # noqa: E402
from payments.db import make_engine  # noqa: E402
from payments.demo import CATALOG  # noqa: E402
from payments.migrate import upgrade  # noqa: E402
from payments.reference import check_digits  # noqa: E402
from reconciliation import audit  # noqa: E402

PG_URL = os.environ.get("THUPHI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_MS = 300.0
DAYS = 365
NOT_RUN_DAYS = 3
WEIGHTS = {  # share of the province's dossiers with a fee
    "000.00.12.H40": 0.30,
    "000.00.30.H40": 0.35,
    "000.00.08.H40": 0.10,
    "000.00.15.H40": 0.15,
    "000.00.21.H40": 0.10,
}
BIG_AGENCY = "000.00.30.H40"
NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thu", "Ngọc", "Quang"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hà", "Hoa", "Hùng", "Lan", "Mai", "Nam", "Sơn", "Tâm"]
PASSWORD = "bench-password-1"


def payer(rng: random.Random) -> str:
    return f"{rng.choice(NAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def reference_of(i: int) -> str:
    body = f"{i:012d}"
    return f"TPH{body}{check_digits(body)}"


class Copier:
    """Rows for one table, written with COPY when closed (one COPY at a time per connection)."""

    def __init__(self, conn: Any, table: str, columns: str) -> None:
        self.conn, self.table, self.columns = conn, table, columns
        self.rows: list[tuple[Any, ...]] = []

    def row(self, *values: Any) -> None:
        self.rows.append(values)

    def close(self) -> None:
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
            for values in self.rows:
                copy.write_row(values)
        self.rows = []


def procedures_of(catalog: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    reductions = {
        code: r
        for r in catalog["reductions"]
        if not r.get("payer_categories")
        for code in r["fees"]
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for p in catalog["procedures"]:
        fees = []
        for f in p["fees"]:
            red = reductions.get(f["code"])
            amount = f["amount"]
            if red and red["kind"] == "rate_percent":
                amount = (f["amount"] * red["value"] + 50) // 100
            elif red and red["kind"] == "exempt":
                amount = 0
            elif red:
                amount = red["value"]
            fees.append({**f, "reduced": amount, "reduction": red})
        out.setdefault(p["agency"], []).append({**p, "fees": fees})
    return out


def seed(engine: Any, n: int, rng: random.Random, end: date) -> dict[str, Any]:
    """A year of the province, by COPY; returns ids the page list needs."""
    catalog = json.loads(CATALOG.read_bytes())
    procs = procedures_of(catalog)
    accounts = {a["code"]: a["accounts"][0]["id"] for a in catalog["agencies"]}
    series = {a["code"]: a["receipt_series"] for a in catalog["agencies"]}
    start = end - timedelta(days=DAYS - 1)
    agencies = list(WEIGHTS)
    cum = [sum(list(WEIGHTS.values())[: i + 1]) for i in range(len(agencies))]
    now = datetime.now(UTC)
    # per account and day: the transfers the statement will carry
    transfers: dict[tuple[str, date], list[tuple[uuid.UUID, int, str, str, str, int]]] = {}
    receipt_no: dict[tuple[str, int], int] = {}
    picks: dict[str, Any] = {}
    with engine.begin() as conn:
        reqs = Copier(
            conn,
            "payment_requests",
            "id, reference, checkout_token, dossier_code, procedure_code, agency_code, account_id,"
            " channel, submitted_at, quote_date, payer_name, total_amount, paid_amount, status,"
            " flags, vietqr_payload, expires_at, created_at, updated_at, version",
        )
        lines = Copier(
            conn,
            "payment_lines",
            "payment_request_id, position, fee_code, name, kind, quantity, unit_normal_amount,"
            " unit_amount, normal_amount, amount, legal_basis, reduction_policy_id,"
            " reduction_legal_basis",
        )
        txns = Copier(
            conn,
            "payment_transactions",
            "provider, provider_txn_id, payment_request_id, account_id, kind, state, amount,"
            " currency, occurred_at, recorded_at, reference, flags, details",
        )
        rcpts = Copier(
            conn,
            "receipts",
            "id, payment_request_id, origin_key, agency_code, template, series, number, kind,"
            " issued_at, issued_on, payer_name, dossier_code, procedure_code, procedure_name,"
            " lines, total_amount, amount_in_words, payment_channel, payment_reference, status,"
            " verification_token, signed_xml, tax_authority_status, created_at",
        )
        for i in range(n):
            x = rng.random()
            agency = next(a for a, c in zip(agencies, cum, strict=True) if x <= c + 1e-9)
            proc = rng.choice(procs[agency])
            account = accounts[agency]
            day = start + timedelta(days=int(DAYS * (i / n)))
            created = datetime.combine(day, datetime.min.time(), VN_TZ).astimezone(UTC)
            created += timedelta(seconds=rng.randrange(7 * 3600, 17 * 3600))
            online = rng.random() < 0.7
            channel = "online" if online else "counter"
            fee_lines = [
                (f, f["reduced"] if online and f["reduction"] else f["amount"])
                for f in proc["fees"]
            ]
            total = sum(a for _, a in fee_lines)
            rid = uuid.UUID(int=rng.getrandbits(128))
            ref = reference_of(i)
            name = payer(rng)
            roll = rng.random()
            age = (end - day).days
            paid = roll < 0.85 and total > 0
            status = "paid" if paid else ("expired" if roll < 0.90 and age > 3 else "pending")
            dossier = f"{agency[-9:-4]}-{day:%y%m%d}-{i:06d}"
            reqs.row(
                rid, ref, secrets.token_hex(8), dossier, proc["code"], agency, account, channel,
                created, day, name, total, total if paid else 0, status, "[]", "",
                created + timedelta(days=3), created, created, 1,
            )  # fmt: skip
            for pos, (f, amount) in enumerate(fee_lines, 1):
                red = f["reduction"] if amount != f["amount"] else None
                lines.row(
                    rid, pos, f["code"], f["name"], f["kind"], 1, f["amount"], amount,
                    f["amount"], amount, f["legal_basis"], red["id"] if red else None,
                    red["legal_basis"] if red else None,
                )  # fmt: skip
            if not paid:
                continue
            provider = rng.choices(("bank", "paygov", "pos"), (50, 35, 15))[0]
            at = created + timedelta(minutes=rng.randrange(1, 240))
            txn_id = f"{provider[:2].upper()}{i:09d}"
            txns.row(
                provider, txn_id, rid, account, "payment", "applied", total, "VND", at, at, ref,
                "[]", "{}",
            )  # fmt: skip
            if provider == "bank":
                booked = at.astimezone(VN_TZ).date()
                transfers.setdefault((account, booked), []).append(
                    (rid, total, ref, txn_id, name, i)
                )
            kinds = {f["kind"] for f, a in fee_lines if a}
            for kind in sorted(kinds):
                year = at.astimezone(VN_TZ).year
                key = (agency, year)
                receipt_no[key] = receipt_no.get(key, 0) + 1
                amount = sum(a for f, a in fee_lines if f["kind"] == kind)
                tax = "pending" if (end - at.astimezone(VN_TZ).date()).days < 2 else "accepted"
                receipt_id = uuid.UUID(int=rng.getrandbits(128))
                picks.setdefault("receipt", {}).setdefault(agency, str(receipt_id))
                rcpts.row(
                    receipt_id, rid, f"{rid}:{kind}", agency, "EBL01",
                    f"{year % 100:02d}{series[agency][0]['series'][2:]}", receipt_no[key], kind, at,
                    at.astimezone(VN_TZ).date(), name, dossier, proc["code"], proc["name"],
                    "[]", amount, "(bằng chữ)", provider, ref, "issued", secrets.token_hex(16),
                    b"<Receipt/>", tax, at,
                )  # fmt: skip
            if agency == BIG_AGENCY:
                picks["request"] = str(rid)
                picks["dossier"] = dossier
                picks["payer"] = name
                picks["amount"] = total
        for c in (reqs, lines, txns, rcpts):
            c.close()
    picks.update(seed_reconciliation(engine, transfers, accounts, rng, start, end, now))
    vacuum_analyze(engine)
    return picks


def seed_reconciliation(
    engine: Any,
    transfers: dict[tuple[str, date], list[tuple[uuid.UUID, int, str, str, str, int]]],
    accounts: dict[str, str],
    rng: random.Random,
    start: date,
    end: date,
    now: datetime,
) -> dict[str, Any]:
    """Statements, lines, runs, matches, exceptions, resolutions and the audit chain."""
    picks: dict[str, Any] = {}
    line_id = statement_id = exc_id = 0
    audit_rows: list[tuple[datetime, str, str, str, dict[str, Any]]] = []
    with engine.begin() as conn:
        stmts = Copier(
            conn,
            "recon_statements",
            "id, account_id, format, sha256, filename, imported_at, imported_by, currency,"
            " lines_net, lines_total, period_start, period_end, warnings",
        )
        slines = Copier(
            conn,
            "recon_statement_lines",
            "id, account_id, statement_id, fingerprint, line_no, booking_date, value_date,"
            " amount, description, bank_reference, counterparty_name, reference",
        )
        runs = Copier(
            conn,
            "recon_runs",
            "id, account_id, business_date, status, summary, runs, created_at, updated_at,"
            " updated_by",
        )
        matches = Copier(
            conn,
            "recon_matches",
            "run_id, rule, status, statement_line_id, payment_request_ids, amount",
        )
        excs = Copier(
            conn,
            "recon_exceptions",
            "id, run_id, account_id, business_date, key, reason, amount, statement_line_id,"
            " detail, status, created_at, resolved_at",
        )
        resolutions = Copier(conn, "recon_resolutions", "exception_id, action, note, actor, at")
        for account in accounts.values():
            for offset in range(DAYS):
                day = start + timedelta(days=offset)
                credits = transfers.get((account, day), [])
                strays = [rng.randrange(10_000, 900_000) for _ in range(rng.random() < 0.3)]
                if not credits and not strays:
                    continue
                statement_id += 1
                imported = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
                imported += timedelta(hours=1)
                total = sum(c[1] for c in credits) + sum(strays)
                count = len(credits) + len(strays)
                stmts.row(
                    statement_id, account, "csv", secrets.token_hex(32), f"sao-ke-{day}.csv",
                    imported, "user:ketoan", "VND", total, count, day, day, "[]",
                )  # fmt: skip
                first_line = line_id + 1
                for no, (_rid, amount, ref, _txn, name, i) in enumerate(credits, 1):
                    line_id += 1
                    slines.row(
                        line_id, account, statement_id, secrets.token_hex(16), no, day, day,
                        amount, f"{ref} nop phi ho so", f"FT{i:012d}", name.upper(), ref,
                    )  # fmt: skip
                for amount in strays:
                    line_id += 1
                    slines.row(
                        line_id, account, statement_id, secrets.token_hex(16), line_id, day, day,
                        amount, "CONG TY ABC chuyen tien", f"FX{line_id:012d}", "CONG TY ABC",
                        None,
                    )  # fmt: skip
                if (end - day).days < NOT_RUN_DAYS:
                    continue  # not reconciled yet: the dashboard's unreconciled days
                run_id = uuid.uuid4()
                open_items = 0
                for k, (rid, amount, *_rest) in enumerate(credits):
                    matches.row(
                        run_id, "reference", "matched", first_line + k, json.dumps([str(rid)]),
                        amount,
                    )  # fmt: skip
                stray_ids = range(first_line + len(credits), line_id + 1)
                resolved_at = imported + timedelta(hours=3)
                for sid, amount in zip(stray_ids, strays, strict=True):
                    exc_id += 1
                    still_open = rng.random() < 0.1
                    open_items += still_open
                    excs.row(
                        exc_id, run_id, account, day, f"line:{sid}", "unknown_credit", amount, sid,
                        "", "open" if still_open else "resolved", imported,
                        None if still_open else resolved_at,
                    )  # fmt: skip
                    if not still_open:
                        note = "Chuyển nhầm, ngân hàng đã hoàn"
                        resolutions.row(exc_id, "dismiss", note, "user:ketoan", resolved_at)
                        audit_rows.append(
                            (
                                resolved_at, "user:ketoan", "exception_resolved",
                                f"exception:{exc_id}", {"action": "dismiss", "note": note},
                            )
                        )  # fmt: skip
                summary = {
                    "statement_credits": count,
                    "credits_amount": total,
                    "statement_debits": 0,
                    "debits_amount": 0,
                    "matched": len(credits),
                    "matched_amount": total - sum(strays),
                    "proposed": 0,
                    "exceptions": {"unknown_credit": len(strays)},
                    "open_items": open_items,
                    "balance_check": {"status": "none"},
                }
                status = "open_items" if open_items else "reconciled"
                runs.row(
                    run_id, account, day, status, json.dumps(summary), 1, imported, imported,
                    "user:ketoan",
                )  # fmt: skip
                audit_rows.append(
                    (imported, "user:ketoan", "reconciliation_run", f"run:{run_id}", summary)
                )
                if account == accounts[BIG_AGENCY]:
                    picks["statement"] = statement_id
                    picks["run_day"] = day
        for c in (stmts, slines, runs, matches, excs, resolutions):
            c.close()
        audit_rows.sort(key=lambda r: r[0])
        log = Copier(conn, "recon_audit_log", "at, actor, action, entity, data, prev_hash, hash")
        prev = audit.GENESIS
        for at, actor, action, entity, data in audit_rows:
            data = json.loads(audit.canonical(data))
            digest = audit.entry_hash(prev, at, actor, action, entity, data)
            log.row(at, actor, action, entity, json.dumps(data), prev, digest)
            prev = digest
        log.close()
        for table, col in (
            ("recon_statements", "id"),
            ("recon_statement_lines", "id"),
            ("recon_exceptions", "id"),
        ):
            # ids were given explicitly: later inserts continue after them
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), "
            sql += f"(SELECT coalesce(max({col}), 0) + 1 FROM {table}), false)"  # noqa: S608
            conn.execute(text(sql))
    picks["counts"] = {
        "statements": statement_id,
        "statement_lines": line_id,
        "exceptions": exc_id,
        "audit_entries": len(audit_rows),
    }
    return picks


def sign_in(base: str, username: str) -> requests.Session:
    s = requests.Session()
    html = s.get(f"{base}/console/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    resp = s.post(
        f"{base}/console/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=30,
    )
    assert resp.status_code == 200, resp.status_code
    return s


def pages(p: dict[str, Any], end: date) -> list[tuple[str, str, bool]]:
    """(who, path, is a page) for everything measured."""
    big = "ca-kbnn"
    month = f"from={end.replace(day=1)}&to={end}"
    year = f"from={end - timedelta(days=DAYS - 1)}&to={end}"
    officer = [
        "/console/",
        "/console/payment-requests",
        f"/console/payment-requests?q={p['dossier']}",
        f"/console/payment-requests?q={p['payer'].split()[-1]}",
        f"/console/payment-requests?amount={p['amount']}&from={end - timedelta(days=30)}",
        "/console/payment-requests?status=pending",
        f"/console/payment-requests/{p['request']}",
        "/console/accounts",
        f"/console/accounts/{big}",
        f"/console/accounts/{big}/statements/{p['statement']}",
        "/console/reconciliation",
        f"/console/accounts/{big}/calendar",
        f"/console/accounts/{big}/days/{p['run_day']}",
        "/console/receipts",
        f"/console/receipts?q={p['dossier']}",
        "/console/receipts?tax=pending",
        f"/console/receipts/{p['receipt'][BIG_AGENCY]}",
        f"/console/reports?{month}",
        f"/console/reports?{year}",
    ]
    out = [("officer", path, True) for path in officer]
    out += [("admin", "/console/", True), ("admin", "/console/reports", True)]
    out += [("admin", "/console/admin/catalog", True)]
    out += [
        ("officer", f"/console/reports/export.csv?{month}", False),
        ("officer", f"/console/reports/export.xlsx?{month}", False),
    ]
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def measure(
    sessions: dict[str, requests.Session], base: str, todo: list[tuple[str, str, bool]], n: int
) -> list[dict[str, Any]]:
    results = []
    for who, path, is_page in todo:
        s = sessions[who]
        first = s.get(f"{base}{path}", timeout=120)
        assert first.status_code == 200, (path, first.status_code, first.text[:300])
        times = []
        for _ in range(n):
            t = time.perf_counter()
            resp = s.get(f"{base}{path}", timeout=120)
            times.append((time.perf_counter() - t) * 1000)
            assert resp.status_code == 200, (path, resp.status_code)
        results.append(
            {
                "who": who,
                "path": path,
                "page": is_page,
                "p50": statistics.median(times),
                "p95": percentile(times, 0.95),
                "max": max(times),
                "bytes": len(first.content),
            }
        )
    return results


def serve(settings: Settings, engine: Any) -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    app = create_app(container=build_container(settings, engine))
    server.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the schema for inspection")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    rng = random.Random(7)
    schema = f"bench_console_{secrets.token_hex(3)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    ok = False
    try:
        upgrade(engine)
        settings = Settings.from_env(
            {}, database_url=url, secret_key=secrets.token_hex(32), public_url="http://127.0.0.1"
        )
        container = build_container(settings, engine)
        import_catalog(parse_document(CATALOG.read_bytes()), uow=container.uow())
        create_user(CreateUser("ketoan", "officer", PASSWORD, BIG_AGENCY), uow=container.uow())
        create_user(CreateUser("quantri", "admin", PASSWORD, None), uow=container.uow())
        end = today()
        t = time.perf_counter()
        picks = seed(engine, args.requests, rng, end)
        with engine.connect() as conn:
            counts = {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                for table in (
                    "payment_requests", "payment_lines", "payment_transactions", "receipts",
                    "recon_statements", "recon_statement_lines", "recon_runs", "recon_matches",
                    "recon_exceptions", "recon_audit_log",
                )
            }  # fmt: skip
        print(f"seeded a year ({end - timedelta(days=DAYS - 1)} … {end}) in "
              f"{time.perf_counter() - t:.0f} s:")  # fmt: skip
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        print(f"  officer of {BIG_AGENCY} (≈35 % of the province); admin sees all 5 agencies")
        loadavg = os.getloadavg()[0]
        print(f"load average {loadavg:.2f} on {os.cpu_count()} CPUs; {args.samples} samples/page")
        gen = serve(settings, engine)
        base = next(gen)
        try:
            sessions = {"officer": sign_in(base, "ketoan"), "admin": sign_in(base, "quantri")}
            results = measure(sessions, base, pages(picks, end), args.samples)
        finally:
            gen.close()
        print(f"\n{'who':8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KB':>6}  page")
        for r in results:
            flag = "" if not r["page"] else ("  OK" if r["p95"] <= TARGET_MS else "  SLOW")
            print(
                f"{r['who']:8} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f} "
                f"{r['bytes'] / 1024:6.0f}  {r['path']}{'' if r['page'] else '  (download)'}{flag}"
            )
        slow = [r for r in results if r["page"] and r["p95"] > TARGET_MS]
        ok = not slow
        print(f"\n{'PASS' if ok else 'FAIL'}: every page p95 ≤ {TARGET_MS:.0f} ms"
              + ("" if ok else f" ({len(slow)} slower)"))  # fmt: skip
        if args.json:
            print(json.dumps({"counts": counts, "results": results}, default=str))
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        else:
            print(f"kept schema {schema}")
        admin.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
