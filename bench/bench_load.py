"""A realistic traffic mix against gunicorn + PostgreSQL: throughput and p50/p99 per route.

    .venv/bin/python bench/bench_load.py [--duration 30] [--users 12] [--workers 3] [--threads 4]

One run, on 127.0.0.1 only:

1. creates a fresh schema in THUPHI_BENCH_PG_URL (default: the test database), migrates it,
   imports the demo catalog and creates a ``payments:write`` API client;
2. starts gunicorn with the production settings (``payments/gunicorn_conf.py``) on a socket it
   bound itself, ``--workers`` × ``--threads``, access log off;
3. creates ``--seed`` payment requests over the API, then runs ``--users`` client threads for
   ``--duration`` seconds, each picking its next call from the mix a payment's life produces:
   the dossier system creates a request (``Idempotency-Key``) and polls it; the citizen opens
   the checkout page, loads its QR image and polls the page's status JSON; the bank posts one
   transfer notification per request (``Authorization: Apikey``, SePay fields, as
   ``providers.fakes.bank.FakeBank`` sends them), which pays it;
4. prints, per route and overall: requests, req/s, p50, p99, max, failures, and the gunicorn
   workers' CPU milliseconds per request; then checks the database: every 201 has its row and
   every answered notification paid exactly one request once;
5. stops gunicorn and drops the schema, on success, failure or Ctrl+C alike.

The load generator is Python threads on the same machine as gunicorn and PostgreSQL: it competes
with them for CPU, so the figures are a floor, and noisy when other work shares the machine (the
load average is printed first). Compare runs made minutes apart on the same machine only.
Exit status 0 when no request failed and the database agrees.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from bench_support import fresh_schema  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from payments.auth.services import CreateClient, create_client  # noqa: E402
from payments.catalog.services import import_catalog, parse_document  # noqa: E402
from payments.db import make_engine, make_session_factory  # noqa: E402
from payments.demo import CATALOG  # noqa: E402
from payments.migrate import upgrade  # noqa: E402
from payments.payment_requests.models import PaymentRequest  # noqa: E402
from payments.transactions.models import PaymentTransaction  # noqa: E402
from payments.uow import UnitOfWork  # noqa: E402
from providers.fakes.bank import FakeBank  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
BANK_KEY = "bench-bank-key"
ACCOUNT_NUMBER = "376101234567"  # the demo catalog's Sở Tư pháp account (procedure 1.001234)
AMOUNT = 200_000
# relative weights: per request created, a citizen views the page about twice, its QR once, the
# page polls the status JSON several times, the dossier system polls once, the bank pays once
MIX = {
    "POST /api/v1/payment-requests": 2,
    "GET /api/v1/payment-requests/<id>": 2,
    "GET /pay/<token>": 4,
    "GET /pay/<token>/qr.png": 2,
    "GET /pay/<token>/status": 8,
    "POST /callbacks/bank/sepay": 2,
}


@dataclass
class Route:
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)


@dataclass
class Shared:
    """What the client threads share: open requests to view and pay, and the results."""

    base: str
    token: str
    routes: dict[str, Route] = field(default_factory=lambda: {name: Route() for name in MIX})
    open_requests: list[dict[str, Any]] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    paid: dict[str, int] = field(default_factory=dict)  # request id → notification id
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_note: int = 50_000_000


def main() -> int:
    args = parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (figures are noisy)")
    with (
        fresh_schema("bench_load") as url,
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
    ):
        creds = prepare(url)
        with gunicorn(url, args, Path(tmp)) as (base, pid):
            token = requests.post(f"{base}/api/v1/token", json=creds, timeout=30).json()
            shared = Shared(base, token["access_token"])
            seed(shared, args.seed)
            for route in shared.routes.values():  # the seeding is warm-up, not measurement
                route.latencies.clear()
            cpu_before, started = workers_cpu(pid), time.monotonic()
            run_users(shared, args.users, args.duration)
            elapsed, cpu = time.monotonic() - started, workers_cpu(pid) - cpu_before
        print_report(shared, elapsed, cpu, args)
        problems = check_database(url, shared)
    failures = sum(sum(r.failures.values()) for r in shared.routes.values())
    for problem in problems:
        print(f"FAIL {problem}")
    ok = failures == 0 and not problems
    print("PASS" if ok else f"FAIL ({failures} failed requests)")
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=30.0, help="seconds of measured load")
    p.add_argument("--users", type=int, default=12, help="client threads")
    p.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    p.add_argument("--seed", type=int, default=60, help="payment requests created first")
    return p.parse_args()


# --- set-up ---------------------------------------------------------------------------------------


def prepare(url: str) -> dict[str, str]:
    engine = make_engine(url)
    upgrade(engine)
    uow = UnitOfWork(make_session_factory(engine))
    import_catalog(parse_document(CATALOG.read_bytes()), uow=uow)
    creds = create_client(CreateClient("bench", ["payments:write"], None), uow=uow)
    engine.dispose()
    return {"client_id": creds.client_id, "client_secret": creds.client_secret}


@contextlib.contextmanager
def gunicorn(url: str, args: argparse.Namespace, tmp: Path) -> Iterator[tuple[str, int]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THUPHI_")}
    env |= {
        "THUPHI_DATABASE_URL": url,
        "THUPHI_SECRET_KEY": SECRET,
        "THUPHI_PUBLIC_URL": base,
        "THUPHI_BANK_API_KEY": BANK_KEY,
        "THUPHI_LOG_JSON": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp),
    }
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"), "-c", "python:payments.gunicorn_conf",
        "--bind", f"fd://{sock.fileno()}", "--workers", str(args.workers),
        "--threads", str(args.threads), "--access-logfile", "/dev/null",
        "--control-socket", str(tmp / "gunicorn.ctl"), "payments.app:create_app()",
    ]  # fmt: skip
    with (tmp / "gunicorn.log").open("w") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, pass_fds=[sock.fileno()], stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        sock.close()
        try:
            wait_ready(base, proc)
            print(f"gunicorn pid {proc.pid}: {args.workers} workers × {args.threads} threads")
            yield base, proc.pid
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready within 60 s")


def workers_cpu(master: int) -> float:
    """CPU seconds used so far by gunicorn's worker processes (utime + stime in /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# --- the users ------------------------------------------------------------------------------------


def seed(shared: Shared, count: int) -> None:
    http = requests.Session()
    for _ in range(count):
        create(shared, http)


def run_users(shared: Shared, users: int, duration: float) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=user, args=(shared, stop, random.Random(n)), daemon=True)
        for n in range(users)
    ]
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads:
        t.join(60)


def user(shared: Shared, stop: threading.Event, rnd: random.Random) -> None:
    http = requests.Session()
    names, weights = list(MIX), list(MIX.values())
    while not stop.is_set():
        name = rnd.choices(names, weights)[0]
        with shared.lock:
            target = rnd.choice(shared.open_requests) if shared.open_requests else None
        if name.startswith("POST /api") or target is None:
            create(shared, http)
        elif name.startswith("POST /callbacks"):
            pay(shared, http, rnd)
        elif name.startswith("GET /api"):
            timed(shared, name, http, "GET", f"/api/v1/payment-requests/{target['id']}", auth=True)
        else:
            suffix = name.removeprefix("GET /pay/<token>")
            # a request paid since it was picked has no QR any more: 404 by design, not a failure
            paid = functools.partial(dict.__contains__, shared.paid, target["id"])
            timed(shared, name, http, "GET", f"/pay/{target['token']}{suffix}", gone=paid)


def create(shared: Shared, http: requests.Session) -> None:
    key = uuid.uuid4().hex
    body = {
        "dossier_code": f"H40.12-{key[:12]}",
        "procedure_code": "1.001234",
        "channel": "online",
        "payer": {"name": "Nguyễn Văn An", "id_number": "040201001234", "phone": "0912345678"},
    }
    resp = timed(
        shared, "POST /api/v1/payment-requests", http, "POST", "/api/v1/payment-requests",
        auth=True, json=body, headers={"Idempotency-Key": key}, expect=201,
    )  # fmt: skip
    if resp is not None:
        created = resp.json()
        token = created["checkout_url"].rsplit("/pay/", 1)[1]
        with shared.lock:
            shared.created.add(created["id"])
            shared.open_requests.append(
                {"id": created["id"], "token": token, "reference": created["reference"]}
            )


def pay(shared: Shared, http: requests.Session, rnd: random.Random) -> None:
    with shared.lock:
        if not shared.open_requests:
            return
        # paid requests leave the pool of open ones, but citizens still look at recent ones
        target = shared.open_requests.pop(rnd.randrange(len(shared.open_requests)))
        shared.next_note += 1
        note_id = shared.next_note
    bank = FakeBank("", BANK_KEY, account_number=ACCOUNT_NUMBER)
    note = bank.notification(
        AMOUNT, f"CT DEN {target['reference']} NOP PHI", id=note_id, referenceCode=f"FT{note_id}"
    )
    headers = {"Authorization": f"Apikey {BANK_KEY}"}
    path = "/callbacks/bank/sepay"
    if timed(shared, "POST /callbacks/bank/sepay", http, "POST", path, json=note, headers=headers):
        with shared.lock:
            shared.paid[target["id"]] = note_id


def timed(
    shared: Shared,
    name: str,
    http: requests.Session,
    method: str,
    path: str,
    *,
    auth: bool = False,
    expect: int = 200,
    gone: Callable[[], bool] = lambda: False,
    **kwargs: Any,
) -> requests.Response | None:
    headers = dict(kwargs.pop("headers", {}))
    if auth:
        headers["Authorization"] = f"Bearer {shared.token}"
    started = time.perf_counter()
    try:
        resp = http.request(method, shared.base + path, headers=headers, timeout=30, **kwargs)
        outcome = None if resp.status_code == expect else f"HTTP {resp.status_code}"
        if resp.status_code == 404 and gone():
            return None  # right, but not the route's work: left out of the figures
    except requests.RequestException as exc:
        resp, outcome = None, type(exc).__name__
    elapsed = time.perf_counter() - started
    route = shared.routes[name]
    with shared.lock:
        if outcome is None:
            route.latencies.append(elapsed)
        else:
            route.failures[outcome] = route.failures.get(outcome, 0) + 1
    return resp if outcome is None else None


# --- results -------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def print_report(shared: Shared, elapsed: float, cpu: float, args: argparse.Namespace) -> None:
    total = sum(len(r.latencies) for r in shared.routes.values())
    print(
        f"\n{args.users} users, {elapsed:.1f} s, gunicorn {args.workers}×{args.threads}; "
        f"{total} requests, {total / elapsed:.1f} req/s, "
        f"workers' CPU {1000 * cpu / max(total, 1):.1f} ms per request"
    )
    heads = ("count", "req/s", "p50 ms", "p99 ms", "max ms")
    print(f"{'route':<36} {heads[0]:>6} " + " ".join(f"{h:>7}" for h in heads[1:]) + "  fail")
    everything: list[float] = []
    for name, route in shared.routes.items():
        lat = sorted(route.latencies)
        everything += lat
        print(
            f"{name:<36} {len(lat):>6} {len(lat) / elapsed:>7.1f} "
            f"{1000 * percentile(lat, 0.5):>7.1f} {1000 * percentile(lat, 0.99):>7.1f} "
            f"{1000 * (lat[-1] if lat else float('nan')):>7.1f}  {route.failures or ''}"
        )
    everything.sort()
    print(
        f"{'all':<36} {len(everything):>6} {len(everything) / elapsed:>7.1f} "
        f"{1000 * percentile(everything, 0.5):>7.1f} {1000 * percentile(everything, 0.99):>7.1f} "
        f"{1000 * (everything[-1] if everything else float('nan')):>7.1f}"
    )


def check_database(url: str, shared: Shared) -> list[str]:
    """Every 201 has its row; every answered notification paid its request exactly once."""
    engine = make_engine(url)
    problems = []
    with engine.connect() as c:
        ids = {str(i) for i in c.scalars(select(PaymentRequest.id))}
        txns = c.execute(
            select(PaymentTransaction.payment_request_id, PaymentTransaction.provider_txn_id)
        ).all()
        paid = c.scalar(select(func.count()).where(PaymentRequest.status == "paid"))
    engine.dispose()
    if not shared.created <= ids:
        problems.append(f"{len(shared.created - ids)} created requests have no row")
    by_request = {str(t.payment_request_id): t.provider_txn_id for t in txns}
    if len(by_request) != len(txns):
        problems.append("a request holds two transactions")
    expected = {rid: str(note) for rid, note in shared.paid.items()}
    if any(by_request.get(rid) != note for rid, note in expected.items()):
        problems.append("an answered notification is missing or applied to another request")
    print(f"database: {len(ids)} requests, {paid} paid, {len(txns)} transactions")
    return problems


if __name__ == "__main__":
    sys.exit(main())
