"""Throughput and latency of payment-request creation against a bare insert (issue 2).

    .venv/bin/python bench/bench_payment_requests.py [--duration 12] [--rounds 3]
        [--connections 16] [--workers 2] [--threads 4] [--show-wrk] [--keepalive]
        [--max-requests 10000]

One run, on 127.0.0.1 only:

1. creates a fresh PostgreSQL schema (THUPHI_BENCH_PG_URL, default the test database), migrates
   it, imports the demo catalog, creates a payments:write client and takes a token from the
   service functions, and creates ``bench_bare`` beside the real tables;
2. starts gunicorn (payments/gunicorn_conf.py, with ``--workers`` and ``--threads``, 0 = sync) on a
   free port with ``bench/bench_app.py`` (the real app + ``POST /bench/bare``);
3. warms both endpoints up, then drives each with wrk for ``--duration`` seconds in ``--rounds``
   alternating slices: the bare endpoint and ``POST /api/v1/payment-requests``, every request
   with its own dossier code and Idempotency-Key (a Lua counter, slice and thread id), counting
   response statuses in Lua and merging the slices' latency distributions exactly;
4. prints requests/s, p50, p99, non-2xx and socket errors per endpoint, the CPU per request of the
   gunicorn workers and of their PostgreSQL backends, the real/bare ratio and
   PASS/FAIL against the target (real ≥ half the bare throughput, p99 < 100 ms), then checks the
   database: every 201 has its row, no dossier is stored twice, and rows beyond the 201s are at
   most the requests still unanswered when wrk stopped;
5. stops gunicorn and drops the schema, on success, failure or Ctrl+C alike.

Exit status 0 only when the targets are met and the database agrees with wrk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_app import BARE_DDL  # noqa: E402
from bench_support import (  # noqa: E402
    Gunicorn,
    add_server_args,
    connection_header,
    cpu_seconds,
    describe,
    fresh_schema,
    gunicorn,
    lua_string,
)
from sqlalchemy import Engine, text  # noqa: E402

from payments.auth.services import CreateClient, create_client, issue_token  # noqa: E402
from payments.catalog.services import import_catalog, parse_document  # noqa: E402
from payments.config import Settings  # noqa: E402
from payments.db import make_engine, make_session_factory  # noqa: E402
from payments.demo import CATALOG  # noqa: E402
from payments.migrate import upgrade  # noqa: E402
from payments.uow import UnitOfWork  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
REAL = "/api/v1/payment-requests"
BARE = "/bench/bare"
APPLICATION_NAME = "thuphi-bench"
RATIO_TARGET = 0.5
P99_TARGET_MS = 100.0
WARMUP_SECONDS = 2

# what a dossier system sends: the demo criminal-record extract, paid online, with diacritics
BODY = {
    "dossier_code": "@@N@@",
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

# One script for both endpoints, so they send the same bytes. ``request()`` numbers requests per
# thread; ``response()`` counts statuses and keeps the dossier code of every 201 that carries one;
# ``done()`` (wrk's main Lua state) merges the threads' tables and prints one line of JSON.
LUA = r"""
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  statuses = {}
  codes = {}
end

function request()
  sent = sent + 1
  local n = string.format("%s-%s-%d-%d", NONCE, SLICE, tid, sent)
  local body = PREFIX .. n .. SUFFIX
  return wrk.format("POST", PATH, {
    ["Host"] = HOST,
    ["Authorization"] = "Bearer " .. TOKEN,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-" .. n,
    ["Connection"] = CONNECTION,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    local code = string.match(body, '"dossier_code":%s*"([^"]+)"')
    if code then codes[#codes + 1] = code end
  end
end

function done(summary, latency, requests)
  local sent, merged, out = 0, {}, io.open(CODES_FILE, "w")
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
    for status, n in pairs(thread:get("statuses")) do
      merged[tostring(status)] = (merged[tostring(status)] or 0) + n
    end
    for _, code in ipairs(thread:get("codes")) do out:write(code, "\n") end
  end
  out:close()
  -- the whole latency distribution, so that slices of one endpoint merge exactly
  local hist = io.open(HIST_FILE, "w")
  for i = 1, #latency do
    local value, count = latency(i)
    hist:write(string.format("%d %d\n", value, count))
  end
  hist:close()
  local parts = {}
  for status, n in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', status, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "sent": %d, "errors": {"connect": %d, '
    .. '"read": %d, "write": %d, "status": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, sent, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", ")))
end
"""


@dataclass
class Result:
    """wrk's figures for one endpoint: one slice, or the sum of its slices."""

    path: str
    nonce: str
    requests: int = 0
    seconds: float = 0.0
    sent: int = 0
    web_cpu: float = 0.0  # seconds, the gunicorn workers'
    db_cpu: float = 0.0  # seconds, their PostgreSQL backends'
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    latency_us: Counter[int] = field(default_factory=Counter, repr=False)
    codes: list[str] = field(default_factory=list, repr=False)

    def add(self, other: Result) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.sent += other.sent
        self.web_cpu += other.web_cpu
        self.db_cpu += other.db_cpu
        self.errors.update(other.errors)
        self.statuses.update(other.statuses)
        self.latency_us.update(other.latency_us)
        self.codes += other.codes

    def percentile_ms(self, p: float) -> float:
        """As wrk computes it: the smallest latency whose cumulative count reaches the rank."""
        rank = round(p / 100 * sum(self.latency_us.values()) + 0.5)
        seen = 0
        for value in sorted(self.latency_us):
            seen += self.latency_us[value]
            if seen >= rank:
                return value / 1000
        return 0.0

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99)

    @property
    def web_cpu_ms(self) -> float:
        return self.web_cpu * 1000 / max(self.requests, 1)

    @property
    def db_cpu_ms(self) -> float:
        return self.db_cpu * 1000 / max(self.requests, 1)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def socket_errors(self) -> int:
        return sum(n for kind, n in self.errors.items() if kind != "status")

    @property
    def created(self) -> int:
        return self.statuses.get(201, 0)


def main() -> int:
    args = parse_args()
    if not _has_wrk():
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    # SIGTERM unwinds like Ctrl+C, so the finally blocks below stop gunicorn and drop the schema
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with fresh_schema("bench") as url, tempfile.TemporaryDirectory(prefix="thuphi-bench-") as tmp:
        engine = make_engine(url)
        try:
            token = prepare_database(engine, url)
            with serve(url, args, Path(tmp), engine) as server:
                print(f"gunicorn at {server.base}: {describe(args)}")
                print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
                bare, real = measure(server, token, args, Path(tmp))
            targets_met = report(bare, real, args)
            consistent = verify_database(engine, bare, real)
        finally:
            engine.dispose()
    return 0 if targets_met and consistent else 1


def measure(
    server: Server, token: str, args: argparse.Namespace, tmp: Path
) -> tuple[Result, Result]:
    """Warm up, then alternate the endpoints in ``--rounds`` slices (bare-real, real-bare, …):
    load from elsewhere on the machine drifts, and alternating spreads it over both."""
    for path in (BARE, REAL):
        run_wrk(
            server,
            Result(path, "W" + secrets.token_hex(3)),
            token,
            WARMUP_SECONDS,
            args,
            tmp,
            "warm",
        )
    bare, real = Result(BARE, "B" + secrets.token_hex(3)), Result(REAL, "R" + secrets.token_hex(3))
    seconds = max(1, round(args.duration / args.rounds))
    for n in range(args.rounds):
        for result in (bare, real) if n % 2 == 0 else (real, bare):
            run_wrk(server, result, token, seconds, args, tmp, f"s{n}")
    time.sleep(0.5)  # requests wrk abandoned at a deadline finish server-side
    return bare, real


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=12, help="seconds per endpoint")
    parser.add_argument(
        "--rounds", type=int, default=3, help="slices per endpoint, the endpoints alternating"
    )
    # a p99 means something only at a stated load: by default one open request per server
    # thread (the server busy, nothing queued in front of it); 16 on 2 x 4 threads measures
    # the queue as well (p99 about twice p50 at saturation)
    add_server_args(parser, connections=None)
    args = parser.parse_args()
    if args.connections is None:
        args.connections = args.workers * max(args.threads, 1)
    return args


def _has_wrk() -> bool:
    return subprocess.run(["which", "wrk"], capture_output=True, check=False).returncode == 0


def prepare_database(engine: Engine, url: str) -> str:
    """Migrate, load the demo catalog, create the bare table; return a payments:write token."""
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(BARE_DDL))
    settings = Settings.from_env(
        {}, database_url=url, secret_key=SECRET, jwt_ttl=timedelta(hours=1)
    )
    uow = UnitOfWork(make_session_factory(engine))
    import_catalog(parse_document(CATALOG.read_bytes()), uow=uow)
    creds = create_client(CreateClient("bench-dossier-system", ["payments:write"]), uow=uow)
    return issue_token(
        creds.client_id, creds.client_secret, uow=uow, settings=settings
    ).access_token


@dataclass
class Server:
    gunicorn: Gunicorn
    engine: Engine

    @property
    def base(self) -> str:
        return self.gunicorn.base

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the gunicorn workers and by their PostgreSQL backends."""
        with self.engine.connect() as conn:
            backends = set(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APPLICATION_NAME},
                )
            )
        db = sum(cpu_seconds(lambda pid, _ppid: pid in backends).values())
        return self.gunicorn.workers_cpu(), db


@contextlib.contextmanager
def serve(url: str, args: argparse.Namespace, tmp: Path, engine: Engine) -> Iterator[Server]:
    """gunicorn with the production settings (payments/gunicorn_conf.py: access log, metrics)
    serving ``create_bench_app()``: the real app and the bare endpoint."""
    (tmp / "prometheus").mkdir()
    env = {
        # named, so that their backends' CPU can be told from other clients'
        "THUPHI_DATABASE_URL": f"{url}&application_name={APPLICATION_NAME}",
        "THUPHI_SECRET_KEY": SECRET,
        "THUPHI_LOG_JSON": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
    }
    pythonpath = ("--pythonpath", f"{ROOT},{ROOT / 'bench'}")
    with gunicorn("bench_app:create_bench_app()", env, tmp, args, extra=pythonpath) as served:
        yield Server(served, engine)


def run_wrk(
    server: Server,
    total: Result,
    token: str,
    seconds: int,
    args: argparse.Namespace,
    tmp: Path,
    label: str,
) -> None:
    """One wrk run against ``total.path``, added to ``total``."""
    prefix, suffix = json.dumps(BODY, ensure_ascii=False).split("@@N@@")
    stem = tmp / f"{total.nonce}-{label}"
    constants = {
        "NONCE": total.nonce,
        "SLICE": label,
        "PATH": total.path,
        "HOST": server.base.removeprefix("http://"),
        "TOKEN": token,
        "PREFIX": prefix + "H40.12-",
        "SUFFIX": suffix,
        "CODES_FILE": f"{stem}.codes",
        "HIST_FILE": f"{stem}.hist",
        "CONNECTION": connection_header(args),
    }
    script = stem.with_suffix(".lua")
    script.write_text(
        "".join(f"{k} = {lua_string(v)}\n" for k, v in constants.items()) + LUA, "utf-8"
    )
    # a generous timeout: an answer wrk gave up on is still work the server did, and a latency
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s"]
    cmd += ["--timeout", "10s"]
    cmd += ["--latency", "-s", str(script)]
    web_before, db_before = server.cpu()
    out = subprocess.run(
        [*cmd, server.base + total.path], capture_output=True, text=True, check=True
    ).stdout
    web_after, db_after = server.cpu()
    if args.show_wrk and label != "warm":
        print(f"--- wrk {total.path} ({label})\n{out}")
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH_RESULT "))
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    hist = (ln.split() for ln in Path(f"{stem}.hist").read_text().splitlines())
    total.add(
        Result(
            path=total.path,
            nonce=total.nonce,
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            sent=data["sent"],
            web_cpu=web_after - web_before,
            db_cpu=db_after - db_before,
            errors=Counter(data["errors"]),
            statuses=Counter({int(k): v for k, v in data["statuses"].items()}),
            latency_us=Counter({int(v): int(c) for v, c in hist}),
            codes=Path(f"{stem}.codes").read_text("utf-8").split(),
        )
    )


def report(bare: Result, real: Result, args: argparse.Namespace) -> bool:
    ratio = real.rate / bare.rate
    print()
    header = (
        f"{'endpoint':<32}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}"
        f"{'web cpu ms':>11}{'db cpu ms':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in (bare, real):
        print(
            f"{'POST ' + r.path:<32}{r.rate:>9.1f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}"
            f"{r.non_2xx:>9}{r.socket_errors:>8}{r.web_cpu_ms:>11.1f}{r.db_cpu_ms:>10.1f}"
        )
    print("-" * len(header))
    checks = [
        (f"ratio real/bare {ratio:.2f} ≥ {RATIO_TARGET:.2f}", ratio >= RATIO_TARGET),
        (f"real p99 {real.p99_ms:.1f} ms < {P99_TARGET_MS:.0f} ms", real.p99_ms < P99_TARGET_MS),
        (
            f"non-2xx 0 (bare {_statuses(bare)}; real {_statuses(real)})",
            bare.non_2xx == 0 and real.non_2xx == 0,
        ),
        (
            f"socket errors 0 (bare {_errors(bare)}; real {_errors(real)})",
            bare.socket_errors == 0 and real.socket_errors == 0,
        ),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    # CPU per request moves far less than req/s when other work shares the machine
    bare_cpu, real_cpu = bare.web_cpu_ms + bare.db_cpu_ms, real.web_cpu_ms + real.db_cpu_ms
    if real_cpu:
        print(f"info  CPU per request (web + db) bare/real {bare_cpu / real_cpu:.2f}")
    print(f"info  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"({describe(args)}; {args.duration} s per endpoint in {args.rounds} alternating slices)")
    return all(ok for _, ok in checks)


def _errors(r: Result) -> str:
    return " ".join(f"{kind}={n}" for kind, n in sorted(r.errors.items()) if n) or "none"


def _statuses(r: Result) -> str:
    return " ".join(f"{status}={n}" for status, n in sorted(r.statuses.items()))


def verify_database(engine: Engine, bare: Result, real: Result) -> bool:
    """Every 201 has its row, nothing is doubled, extra rows only for unanswered requests."""
    like = {"pattern": f"H40.12-{real.nonce}-%"}
    with engine.connect() as conn:
        stored = list(
            conn.scalars(
                text("SELECT dossier_code FROM payment_requests WHERE dossier_code LIKE :pattern"),
                like,
            )
        )
        keys = conn.scalar(
            text(
                "SELECT count(*) FROM idempotency_records i JOIN payment_requests p"
                " ON p.id = i.payment_request_id WHERE p.dossier_code LIKE :pattern"
            ),
            like,
        )
        bare_rows = conn.scalar(
            text("SELECT count(*) FROM bench_bare WHERE body->>'dossier_code' LIKE :pattern"),
            {"pattern": f"H40.12-{bare.nonce}-%"},
        )
    answered = set(real.codes)
    lost = answered - set(stored)
    doubled = len(stored) - len(set(stored))
    unanswered = real.sent - sum(real.statuses.values())
    extra = len(set(stored) - answered)
    bare_extra = (bare_rows or 0) - bare.created
    bare_unanswered = bare.sent - sum(bare.statuses.values())
    print()
    print(
        f"database: {len(stored)} payment requests for {real.created} answers 201 "
        f"({len(answered)} distinct dossier codes in them); {keys} idempotency records"
    )
    print(
        f"          {extra} committed while wrk stopped waiting "
        f"(≤ {unanswered} requests left unanswered at its deadline)"
    )
    print(f"          bare: {bare_rows} rows for {bare.created} answers 201 (+{bare_extra})")
    checks = [
        (f"no 201 without its row (lost {len(lost)})", not lost),
        (f"no dossier stored twice (doubled {doubled})", doubled == 0),
        ("one idempotency record per request", keys == len(stored)),
        ("every 201 carried a distinct dossier code", len(answered) == real.created),
        ("rows beyond the 201s ≤ unanswered requests", 0 <= extra <= unanswered),
        ("bare rows beyond the 201s ≤ unanswered requests", 0 <= bare_extra <= bare_unanswered),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return all(ok for _, ok in checks)


if __name__ == "__main__":
    sys.exit(main())
