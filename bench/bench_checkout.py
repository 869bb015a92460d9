"""Latency of the citizen checkout under load (issue 3): page, QR image and status JSON.

    .venv/bin/python bench/bench_checkout.py [--duration 10] [--connections 32] [--workers 4]
        [--requests 200] [--postgres] [--p95-target-ms 100]

One run, on 127.0.0.1 only:

1. prepares the demo server's database the way ``thuphi demo`` does (a fresh SQLite file in a
   temporary folder, migrated, demo catalog, demo client) — or, with ``--postgres``, a fresh
   schema in THUPHI_BENCH_PG_URL (default: the test database) dropped afterwards;
2. starts gunicorn on a free port with the demo settings (``THUPHI_DEMO=true``);
3. creates ``--requests`` payment requests over the API (a mix of procedures and payer
   categories: reduced, exempt-line and plain ones), marks every tenth one paid and every tenth
   partially paid through the transfer-notification service, and views each QR once (the first
   view renders and caches it, as a citizen's first visit would);
4. drives ``GET /pay/<token>``, ``GET /pay/<token>/qr.png``, ``GET /pay/<token>/status``, the
   ``/healthz`` baseline (same stack, no work) and a mix of the three (1 page : 1 QR : 3 polls)
   with wrk for ``--duration`` seconds each, spreading the requests over every token, and prints
   req/s, p50, p95, p99, failures and the workers' CPU per request for each;
5. stops gunicorn and removes the database, on success, failure or Ctrl+C alike.

Exit status 0 when nothing failed and the page's p95 is under ``--p95-target-ms``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_support import fresh_schema, stop, wait_ready  # noqa: E402

from payments.clock import utcnow  # noqa: E402
from payments.config import Settings  # noqa: E402
from payments.db import make_engine, make_session_factory  # noqa: E402
from payments.demo.cli import prepare  # noqa: E402
from payments.money import Money  # noqa: E402
from payments.observability import configure_logging  # noqa: E402
from payments.transactions.services import record_event  # noqa: E402
from payments.uow import UnitOfWork  # noqa: E402
from providers.base import EventKind, ProviderEvent, TxnStatus  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
# (procedure, payer category): plain, reduced (student), two lines one exempt, a 50 % reduction
MIX = [("1.001234", None), ("1.001234", "student"), ("2.001610", None), ("1.009794", None)]

LUA = r"""
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", PATHS[(counter % #PATHS) + 1], {["Host"] = HOST})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, '
    .. '"p99_us": %d, "max_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    cpu_ms: float  # server CPU per request: steadier than latency on a shared machine

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def main() -> int:
    args = parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True, check=False).returncode:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    # SIGTERM unwinds like Ctrl+C, so the finally blocks stop gunicorn and drop the database
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="thuphi-bench-checkout-") as tmp:
        database = fresh_schema("bench_checkout") if args.postgres else sqlite_file(Path(tmp))
        with database as url:
            creds = prepare(Settings.from_env({}, database_url=url, secret_key=SECRET, demo=True))
            with gunicorn(url, args, Path(tmp)) as (base, pid):
                print(f"gunicorn sync workers={args.workers} at {base} on {describe(url)}")
                tokens = create_requests(base, creds, url, args.requests)
                targets = {
                    "GET /pay/<token>": [f"/pay/{t}" for t in tokens],
                    # closed requests have no QR (404): only open ones are asked for theirs
                    "GET /pay/<token>/qr.png": [f"/pay/{t}/qr.png" for t, o in tokens.items() if o],
                    "GET /pay/<token>/status": [f"/pay/{t}/status" for t in tokens],
                    # the same stack doing nothing: what the checkout adds is the difference
                    "baseline GET /healthz": ["/healthz"],
                }
                mixed = [p for t, o in tokens.items() for p in _visit(t, o)]
                run_wrk(base, pid, mixed, 2, args, Path(tmp), "warm")
                results = [
                    run_wrk(base, pid, paths, args.duration, args, Path(tmp), label)
                    for label, paths in [*targets.items(), ("mix 1 page : 1 QR : 3 polls", mixed)]
                ]
    return report(results, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per target")
    parser.add_argument("--connections", type=int, default=32, help="wrk open connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--requests", type=int, default=200, help="payment requests to create")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--p95-target-ms", type=float, default=100.0)
    return parser.parse_args()


def describe(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite (the demo database)"


def _visit(token: str, has_qr: bool) -> list[str]:
    """A citizen's visit: the page, its QR, then the page's polls of the status."""
    qr = [f"/pay/{token}/qr.png"] if has_qr else []
    return [f"/pay/{token}", *qr, *[f"/pay/{token}/status"] * 3]


@contextlib.contextmanager
def sqlite_file(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'instance' / 'thuphi.sqlite3'}"


@contextlib.contextmanager
def gunicorn(url: str, args: argparse.Namespace, tmp: Path) -> Iterator[tuple[str, int]]:
    """gunicorn serving the app on a socket bound here, so the port cannot race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {
        **os.environ,
        "THUPHI_DATABASE_URL": url,
        "THUPHI_SECRET_KEY": SECRET,
        "THUPHI_PUBLIC_URL": base,
        "THUPHI_DEMO": "true",
        "THUPHI_LOG_JSON": "true",
    }
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        *("--bind", f"fd://{sock.fileno()}", "--workers", str(args.workers), "-k", "sync"),
        *("--graceful-timeout", "5", "--log-level", "warning", "--chdir", str(ROOT)),
        "payments.app:create_app()",
    ]
    log_path = tmp / "gunicorn.log"
    with log_path.open("w") as log:
        # its own session: Ctrl+C reaches this script, which then stops gunicorn in order
        proc = subprocess.Popen(
            cmd, env=env, pass_fds=[sock.fileno()], stdout=log, stderr=log, start_new_session=True
        )
        try:
            wait_ready(base, proc, log_path)
            yield base, proc.pid
        finally:
            stop(proc)
            sock.close()
    errors = [ln for ln in log_path.open() if '"level": "error"' in ln]
    if errors:
        print(f"the app logged {len(errors)} error(s), the last:\n{''.join(errors[-3:])}")


def _call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, method=method, headers=headers or {})  # noqa: S310
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        return json.loads(resp.read() or b"null") if method == "POST" else resp.read()


def create_requests(base: str, creds: dict[str, str], url: str, count: int) -> dict[str, bool]:
    """Create requests over the API, pay some, view each QR once.

    Returns each checkout token and whether its request has a QR (open, something to pay)."""
    token = _call("POST", f"{base}/api/v1/token", creds)["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    created = []
    for i in range(count):
        procedure, category = MIX[i % len(MIX)]
        body = {
            "dossier_code": f"H40.12-BENCH-{i:05d}",
            "procedure_code": procedure,
            "channel": "online",
            "payer": {"name": "Nguyễn Thị Thu Hằng", "category": category},
        }
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        created.append(_call("POST", f"{base}/api/v1/payment-requests", body, headers))
    _pay_some(url, created)
    tokens = {}
    for request in created:
        has_qr = request["status"] in {"pending", "partially_paid"} and bool(
            request["vietqr"]["payload"]
        )
        if has_qr:
            _call("GET", request["vietqr"]["png_url"])
        tokens[str(request["checkout_url"]).rsplit("/", 1)[1]] = has_qr
    print(f"created {count} payment requests (every tenth paid, every tenth partially paid)")
    return tokens


def _pay_some(url: str, created: list[dict[str, Any]]) -> None:
    configure_logging(level=logging.WARNING)  # one info line per payment would bury the report
    engine = make_engine(url)
    uow = UnitOfWork(make_session_factory(engine))
    for i, request in enumerate(created):
        share = {3: 1.0, 7: 0.5}.get(i % 10)
        if share is None or not request["total_amount"]:
            continue
        event = ProviderEvent(
            provider="bank",
            provider_txn_id=f"BENCH{i:06d}",
            reference=request["reference"],
            amount=Money(int(request["total_amount"] * share)),
            currency="VND",
            status=TxnStatus.PAID,
            occurred_at=utcnow(),
            kind=EventKind.TRANSFER_IN,
        )
        record_event(event, uow=uow)
        request["status"] = "paid" if share == 1.0 else "partially_paid"
    engine.dispose()


def workers_cpu(arbiter: int) -> float:
    """CPU seconds used so far by the arbiter's workers (utime + stime from /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == arbiter:  # ppid
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(
    base: str,
    arbiter: int,
    paths: list[str],
    seconds: int,
    args: argparse.Namespace,
    tmp: Path,
    label: str,
) -> Result:
    lua = tmp / "bench.lua"
    listed = ", ".join(f'"{p}"' for p in paths)
    host = base.removeprefix("http://")
    lua.write_text(f'PATHS = {{{listed}}}\nHOST = "{host}"\n{LUA}', "utf-8")
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "-s", str(lua)]
    # wrk counts an answer slower than its 2 s default as an error; keep slow answers measured
    cmd += ["--timeout", "15s"]
    cpu = workers_cpu(arbiter)
    out = subprocess.run([*cmd, base + "/"], capture_output=True, text=True, check=True).stdout
    cpu = workers_cpu(arbiter) - cpu
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH_RESULT "))
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    return Result(
        label=label,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        cpu_ms=cpu * 1000 / max(data["requests"], 1),
    )


def report(results: list[Result], args: argparse.Namespace) -> int:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s per target; ", end="")
    print(f"{os.cpu_count()} CPUs, load average {load}")
    header = (
        f"{'target':<30}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'non-2xx':>9}{'errors':>8}{'cpu ms/req':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.label:<30}{r.rate:>9.1f}{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}{r.p99_ms:>9.1f}"
            f"{r.max_ms:>9.1f}{r.non_2xx:>9}{r.socket_errors:>8}{r.cpu_ms:>12.1f}"
        )
    print("-" * len(header))
    page = results[0]
    failures = sum(r.non_2xx + r.socket_errors for r in results)
    ok = failures == 0 and page.p95_ms < args.p95_target_ms
    verdict = "PASS" if ok else "FAIL"
    target = f"target < {args.p95_target_ms:.0f} ms"
    print(f"{verdict}: page p95 {page.p95_ms:.1f} ms ({target}), {failures} failed requests")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
