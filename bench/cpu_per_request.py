"""CPU milliseconds and SQL statements per request of the two hot paths, measured in-process.

    .venv/bin/python bench/cpu_per_request.py [--requests 600] [--profile cprofile|pyinstrument]
        [--only bare|create|callback] [--show-sql]

Wall-clock throughput on a shared machine says more about the neighbours than about the code;
CPU time per request does not. One run, on 127.0.0.1 only:

1. creates a fresh PostgreSQL schema (THUPHI_BENCH_PG_URL, default the test database), migrates
   it, imports the demo catalog, creates a ``payments:write`` client and token, creates
   ``bench_bare`` and inserts open requests for the bank notifications to pay;
2. builds the app (``bench_app.create_bench_app``) with the settings gunicorn would use and drives
   it with Flask's test client from this one thread, warming each path up first:
   ``POST /bench/bare`` (the baseline of issue 2), ``POST /api/v1/payment-requests`` (every call a
   new dossier and Idempotency-Key) and ``POST /callbacks/bank/sepay`` (every fifth call re-sends
   the previous notification, a bank retry);
3. prints per request: statements sent to PostgreSQL (psycopg's ``Cursor.execute``), this process'
   CPU (``time.process_time``) and the CPU of its PostgreSQL backend (``/proc``, the backend found
   by ``application_name``), and the wall time; ``GET /healthz`` is the harness' own floor.

``--profile`` wraps the measured loop of each path in cProfile (CPU time; top 45 by own time,
``CPU_BENCH_SORT=cumulative`` to change), or pyinstrument (``pip install pyinstrument`` first; not
a project dependency), or only counts Python function calls per request (``calls``): a figure
that, unlike CPU time, other load on the machine cannot move.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
from bench_support import PG_URL, fresh_schema, seed_requests  # noqa: E402
from sqlalchemy import Engine, create_engine, event, text  # noqa: E402

from payments.auth.services import CreateClient, create_client, issue_token  # noqa: E402
from payments.catalog.services import import_catalog, parse_document  # noqa: E402
from payments.config import Settings  # noqa: E402
from payments.db import make_session_factory  # noqa: E402
from payments.demo import CATALOG  # noqa: E402
from payments.migrate import upgrade  # noqa: E402
from payments.uow import UnitOfWork  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
API_KEY = "bench-bank-key"
APPLICATION_NAME = "thuphi-cpu"
ACCOUNT = "3761.0.1234567"
AMOUNT = 200_000
DUP_EVERY = 5
SORT = os.environ.get("CPU_BENCH_SORT", "tottime")

# the same body as bench_payment_requests.py sends
CREATE_BODY = {
    "dossier_code": "",
    "procedure_code": "1.001234",
    "channel": "online",
    "payer": {
        "name": "Nguyễn Thị Thu Hằng",
        "id_number": "040201001234",
        "phone": "0912345678",
        "email": "hang.nguyen@example.vn",
        "address": "Số 12 phố Hàng Bạc, phường Hàng Bạc, quận Hoàn Kiếm, Hà Nội",
    },
    "callback_url": "https://dichvucong.example.vn/callbacks/thanh-toan",
}


@dataclass
class Figures:
    label: str
    requests: int
    statements: int
    checkouts: int
    app_cpu: float
    db_cpu: float
    wall: float
    statuses: Counter[int]

    def row(self) -> str:
        n = max(self.requests, 1)
        return (
            f"{self.label:<34}{self.requests:>6}{self.statements / n:>7.2f}"
            f"{self.checkouts / n:>7.2f}"
            f"{self.app_cpu * 1000 / n:>10.2f}{self.db_cpu * 1000 / n:>9.2f}"
            f"{self.wall * 1000 / n:>9.2f}  {dict(self.statuses)}"
        )


HEADER = (
    f"{'path':<34}{'n':>6}{'stmts':>7}{'conns':>7}{'app ms':>10}{'db ms':>9}{'wall ms':>9}"
    + "  statuses\n"
    + "-" * 90
)


class StatementCounter:
    """Statements as psycopg sends them (SQLAlchemy's and those the hot paths send through the
    driver itself, ``payments.db.driver_first``), and pool checkouts (a checkout polls the
    socket; before 4 December 2026 it was a ``pool_pre_ping`` round trip)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.checkouts = 0
        self.seen: Counter[str] = Counter()
        event.listen(engine, "checkout", self._checkout)
        execute = psycopg.Cursor.execute
        counter = self

        def counted(cursor: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            counter.count += 1
            counter.seen[" ".join(str(query).split())[:160]] += 1
            return execute(cursor, query, params, **kw)

        psycopg.Cursor.execute = counted  # type: ignore[method-assign]  # the bench's own process

    def _checkout(self, *_: Any) -> None:
        self.checkouts += 1


def backend_cpu(engine: Engine) -> float:
    """CPU seconds used so far by the app's PostgreSQL backends (utime + stime); ``engine`` is
    another one, so that asking does not count."""
    with engine.connect() as conn:
        pids = set(
            conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": APPLICATION_NAME},
            )
        )
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def create_calls(token: str, n: int) -> Iterator[tuple[str, dict[str, str], bytes]]:
    nonce = secrets.token_hex(3)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for i in range(n):
        body = dict(CREATE_BODY, dossier_code=f"H40.12-{nonce}-{i}")
        raw = json.dumps(body, ensure_ascii=False).encode()
        yield "/api/v1/payment-requests", {**headers, "Idempotency-Key": f"k-{nonce}-{i}"}, raw


def bare_calls(token: str, n: int) -> Iterator[tuple[str, dict[str, str], bytes]]:
    for _, headers, raw in create_calls(token, n):
        yield "/bench/bare", headers, raw


def callback_calls(refs: Iterator[str], n: int) -> Iterator[tuple[str, dict[str, str], bytes]]:
    headers = {"Authorization": f"Apikey {API_KEY}", "Content-Type": "application/json"}
    last = b""
    for i in range(n):
        if last and i % DUP_EVERY == 0:
            yield "/callbacks/bank/sepay", headers, last
            continue
        ref, txn = next(refs), secrets.randbelow(10**12)
        last = json.dumps(
            {
                "id": txn,
                "gateway": "Vietcombank",
                "transactionDate": "2026-11-23 09:15:00",
                "accountNumber": ACCOUNT,
                "code": None,
                "content": f"CT DEN {ref} NOP PHI LLTP",
                "transferType": "in",
                "transferAmount": AMOUNT,
                "accumulated": 0,
                "referenceCode": f"FT{txn}",
                "description": "",
            }
        ).encode()
        yield "/callbacks/bank/sepay", headers, last


def measure(
    label: str,
    client: Any,
    calls: Iterator[tuple[str, dict[str, str], bytes]],
    engine: Engine,
    counter: StatementCounter,
    profile: str | None,
) -> Figures:
    batch = list(calls)  # bodies built before the clock starts
    statuses: Counter[int] = Counter()
    db0 = backend_cpu(engine)  # asked through psycopg too: before the counts are read
    stmts, checkouts = counter.count, counter.checkouts
    counter.seen.clear()
    profiler, stop = _profiler(profile)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for path, headers, raw in batch:
        method = client.get if path == "/healthz" else client.post
        statuses[method(path, headers=headers, data=raw).status_code] += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stop()
    stmts, checkouts = counter.count - stmts, counter.checkouts - checkouts
    db = backend_cpu(engine) - db0
    if profiler is not None:
        print(f"--- profile of {label}")
        profiler()
    if CALLS:
        print(f"{label}: {CALLS.pop() / len(batch):.0f} Python calls per request")
    return Figures(
        label,
        len(batch),
        stmts,
        checkouts,
        cpu,
        db,
        wall,
        statuses,
    )


CALLS: list[int] = []  # Python function calls of the last profiled loop


def _profiler(kind: str | None) -> tuple[Callable[[], None] | None, Callable[[], None]]:
    if kind in {"cprofile", "calls"}:
        prof = cProfile.Profile(time.process_time)  # CPU, not waiting on the database

        def stop() -> None:
            prof.disable()
            CALLS[:] = [pstats.Stats(prof).total_calls]  # type: ignore[attr-defined]
            if os.environ.get("CPU_BENCH_DUMP"):
                prof.dump_stats(os.environ["CPU_BENCH_DUMP"])

        prof.enable()
        if kind == "calls":
            return None, stop
        return lambda: pstats.Stats(prof).sort_stats(SORT).print_stats(45), stop
    if kind == "pyinstrument":
        from pyinstrument import Profiler  # type: ignore[import-not-found]

        pi = Profiler(interval=0.0005)
        pi.start()
        return lambda: print(pi.output_text(unicode=True, show_all=False)), pi.stop
    return None, lambda: None


def main() -> int:
    args = parse_args()
    from bench_app import BARE_DDL, create_bench_app

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with fresh_schema("bench_cpu", application_name=APPLICATION_NAME) as url:
        settings = Settings.from_env(
            {},
            database_url=url,
            secret_key=SECRET,
            public_url="http://127.0.0.1:8000",
            bank_api_key=API_KEY,
            log_json=True,
            jwt_ttl=timedelta(hours=1),
        )
        os.environ.update(
            THUPHI_DATABASE_URL=url,
            THUPHI_SECRET_KEY=SECRET,
            THUPHI_PUBLIC_URL=settings.public_url,
            THUPHI_BANK_API_KEY=API_KEY,
            THUPHI_LOG_JSON="true",
        )
        # the app logs a line per callback, as under gunicorn: to a file, not to this terminal
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
        app = create_bench_app()
        engine = app.extensions["thuphi"].engine
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text(BARE_DDL))
        uow = UnitOfWork(make_session_factory(engine))
        import_catalog(parse_document(CATALOG.read_bytes()), uow=uow)
        creds = create_client(CreateClient("cpu-bench", ["payments:write"]), uow=uow)
        token = issue_token(
            creds.client_id, creds.client_secret, uow=uow, settings=settings
        ).access_token
        n, warm = args.requests, max(args.requests // 10, 20)
        refs = iter(seed_requests(engine, 2 * (n + warm), AMOUNT, "CPU"))
        counter = StatementCounter(engine)
        probe = create_engine(PG_URL)
        client = app.test_client()
        paths: dict[str, Callable[[int], Iterator[tuple[str, dict[str, str], bytes]]]] = {
            "floor": lambda k: iter([("/healthz", {}, b"")] * k),
            "bare": lambda k: bare_calls(token, k),
            "create": lambda k: create_calls(token, k),
            "callback": lambda k: callback_calls(refs, k),
        }
        labels = {
            "floor": "GET /healthz (harness floor)",
            "bare": "POST /bench/bare",
            "create": "POST /api/v1/payment-requests",
            "callback": "POST /callbacks/bank/sepay",
        }
        rows = []
        if True:
            for key, calls in paths.items():
                if args.only and key not in {args.only, "floor"}:
                    continue
                measure(key, client, calls(warm), probe, counter, None)
                rows.append(measure(labels[key], client, calls(n), probe, counter, args.profile))
                if args.show_sql:
                    print(f"--- statements of {labels[key]} ({n} requests)", file=sys.stdout)
                    for sql, count in counter.seen.most_common():
                        print(f"{count:>6}  {sql}")
        engine.dispose()
        probe.dispose()
    print(HEADER)
    for row in rows:
        print(row.row())
    failed = [r.label for r in rows if any(not 200 <= s < 300 for s in r.statuses)]
    if failed:
        print(f"FAILED requests on {', '.join(failed)}: the figures do not count")
        return 1
    print(
        "(per request: statements, pool checkouts, app CPU ms, PostgreSQL backend CPU ms, wall ms)"
    )
    return 0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=600, help="measured requests per path")
    # calls: only count Python function calls per request (deterministic, unlike CPU time)
    p.add_argument("--profile", choices=["cprofile", "pyinstrument", "calls"])
    p.add_argument("--only", choices=["bare", "create", "callback"])
    p.add_argument("--show-sql", action="store_true", help="statements seen, most frequent first")
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(main())
