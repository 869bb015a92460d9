"""What every benchmark shares: the PostgreSQL it runs against and a schema of its own there."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, text

from payments.payment_requests.models import PaymentRequest
from payments.reference import new_reference

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("THUPHI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_schema(prefix: str, **params: str) -> Iterator[str]:
    """A URL whose connections work in a new schema ``<prefix>_<pid>_<hex>``, dropped on the way
    out; ``params`` are added to the URL's query (e.g. ``application_name``)."""
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    query = "&".join(
        [f"options=-csearch_path%3D{schema}", *(f"{k}={v}" for k, v in params.items())]
    )
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}{query}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Until gunicorn at ``base`` answers /healthz (the kernel accepts on its socket before a
    worker is up); its log in the error when it exits first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            detail = f":\n{log.read_text()}" if log and log.exists() else ""
            raise RuntimeError(f"gunicorn exited with {proc.returncode}{detail}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base}/healthz", timeout=30) as resp,  # noqa: S310
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn started in its own process group: TERM, then KILL the group."""
    if proc.poll() is not None:
        return
    proc.terminate()  # the arbiter stops its workers gracefully
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def seed_requests(engine: Engine, count: int, amount: int, dossier_prefix: str) -> list[str]:
    """``count`` open requests of ``amount`` đồng to the demo catalog's Sở Tư pháp account,
    inserted in bulk (what the API would create, minus the fee lines); their references."""
    now = datetime.now(UTC)
    refs = [new_reference() for _ in range(count)]
    rows = [
        {
            "id": uuid.uuid4(),
            "reference": ref,
            "checkout_token": secrets.token_urlsafe(24),
            "dossier_code": f"{dossier_prefix}-{i}",
            "procedure_code": "1.001234",
            "agency_code": "000.00.12.H40",
            "account_id": "stp-kbnn",
            "channel": "online",
            "submitted_at": now,
            "quote_date": date.today(),  # noqa: DTZ011 - any date will do
            "payer_name": "Nguyễn Văn An",
            "total_amount": amount,
            "paid_amount": 0,
            "status": "pending",
            "flags": [],
            "vietqr_payload": "",
            "expires_at": now + timedelta(days=3),
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for i, ref in enumerate(refs)
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            conn.execute(insert(PaymentRequest), rows[start : start + 5_000])
    return refs


def vacuum_analyze(engine: Engine) -> None:
    """What autovacuum has long done to a year-old database: statistics for the planner, and
    the visibility map that lets counts read an index alone. A fresh COPY has neither."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for (table,) in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ):
            conn.execute(text(f'VACUUM ANALYZE "{table}"'))


def add_server_args(parser: argparse.ArgumentParser, *, connections: int | None) -> None:
    """The options of a bench that drives gunicorn with wrk."""
    parser.add_argument(
        "--connections",
        type=int,
        default=connections,
        help="wrk open connections"
        + (" (default: workers x threads)" if connections is None else ""),
    )
    # of sync 2/3/4 and gthread 2x4/3x4, gthread 2x4 did best on 2 CPUs: a process per CPU,
    # threads to overlap commits and round trips
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="gthread threads per worker (0: sync workers)"
    )
    # wrk shares the CPUs with the server: one thread drives thousands of requests per second
    # and leaves the most for gunicorn and PostgreSQL
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--show-wrk", action="store_true", help="print wrk's own report too")
    # A kept-alive connection stays with the gunicorn worker that accepted it: wrk's 8 split
    # between 2 workers 4-4, 6-2 or 8-0 at random (counted with ss), leaving a worker idle and a
    # slice's throughput to chance. A caller that opens a connection per request (a bank's or
    # the portal's notification, a proxy without upstream keepalive) reaches whichever worker
    # accepts first, so that is what wrk does unless told otherwise (it costs each request a
    # TCP connect and close: about 0.2 ms of worker CPU here).
    parser.add_argument(
        "--keepalive",
        action="store_true",
        help="reuse wrk's connections (each stays with one worker), not one per request",
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="gunicorn's worker recycling (production: 10000; 0: off, the default here: a"
        " worker restarting mid-run takes its CPU out of the count and its start-up into the run)",
    )


def describe(args: argparse.Namespace) -> str:
    workers = (
        f"gthread workers={args.workers} threads={args.threads}"
        if args.threads
        else f"sync workers={args.workers}"
    )
    connection = "keep-alive" if args.keepalive else "a connection per request"
    return f"{workers}; wrk -t{args.wrk_threads} -c{args.connections}, {connection}"


def lua_string(value: str) -> str:
    """``value`` as a Lua literal: a long bracket keeps UTF-8 and quotes verbatim."""
    assert "]==]" not in value
    return f"[==[{value}]==]"


def connection_header(args: argparse.Namespace) -> str:
    """The ``Connection`` header wrk's requests carry."""
    return "keep-alive" if args.keepalive else "close"


@dataclass(frozen=True)
class Gunicorn:
    base: str
    pid: int
    log: Path

    def workers_cpu(self) -> float:
        """CPU seconds the arbiter's workers have used so far (utime + stime from /proc)."""
        return sum(cpu_seconds(lambda _pid, ppid: ppid == self.pid).values())


def cpu_seconds(select: Callable[[int, int], bool]) -> dict[int, float]:
    """CPU seconds used so far by each process whose (pid, ppid) ``select`` accepts."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            if select(pid, int(fields[1])):
                found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def reference_loop_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop (best of three): how fast this machine's
    cores run right now. The same code's figures move with it (these guests drift by up to 2x
    within an hour), so benches print it beside their figures."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i * i % 7
        best = min(best, time.process_time() - started)
    return best * 1000


@dataclass(frozen=True)
class CpuSnapshot:
    """The machine's CPU jiffies (busy, all) and PostgreSQL's processes' CPU seconds, now."""

    busy: int
    total: int
    postgres: float

    @classmethod
    def take(cls) -> CpuSnapshot:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        names = {}
        for comm in Path("/proc").glob("[0-9]*/comm"):
            with contextlib.suppress(OSError):
                names[int(comm.parent.name)] = comm.read_text().strip()
        pg = cpu_seconds(lambda pid, _ppid: names.get(pid, "").startswith("postgres"))
        return cls(sum(fields) - idle, sum(fields), sum(pg.values()))

    def since(self, start: CpuSnapshot) -> tuple[float, float]:
        """(share of the machine's CPU busy, PostgreSQL's CPU seconds) between two snapshots."""
        busy = (self.busy - start.busy) / max(self.total - start.total, 1)
        return busy, self.postgres - start.postgres


@contextlib.contextmanager
def gunicorn(
    app: str,
    env: Mapping[str, str],
    tmp: Path,
    args: argparse.Namespace,
    *,
    production: bool = True,
    extra: Sequence[str] = (),
) -> Iterator[Gunicorn]:
    """gunicorn serving ``app`` with ``args``' workers, threads and recycling, on a socket bound
    here (so the port cannot race), THUPHI_PUBLIC_URL set to it; ``production`` reads
    ``payments/gunicorn_conf.py`` first. Stopped in order on the way out (its own session:
    Ctrl+C reaches the bench, which then stops gunicorn)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    kind = ["-k", "gthread", "--threads", str(args.threads)] if args.threads else ["-k", "sync"]
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        *(("-c", "python:payments.gunicorn_conf") if production else ()),
        *("--bind", f"fd://{sock.fileno()}", "--workers", str(args.workers), *kind),
        *("--max-requests", str(args.max_requests), "--graceful-timeout", "5"),
        *("--chdir", str(ROOT), *extra, app),
    ]
    log_path = tmp / "gunicorn.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **env, "THUPHI_PUBLIC_URL": base},
            pass_fds=[sock.fileno()],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            wait_ready(base, proc, log_path)
            yield Gunicorn(base, proc.pid, log_path)
        finally:
            stop(proc)
            sock.close()
    errors = [ln for ln in log_path.open() if '"level": "error"' in ln]
    if errors:
        print(f"the app logged {len(errors)} error(s), the last:", file=sys.stderr)
        print("".join(errors[-3:]), file=sys.stderr)
