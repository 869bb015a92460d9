"""Faults under load, with real processes: what a crash, a database restart or a partner outage
must never do — lose or double a payment, skip a receipt number, drop or re-address a webhook.

Every test runs gunicorn (``payments/gunicorn_conf.py``) and ``thuphi scheduler`` as
subprocesses against PostgreSQL, the fake tax authority and a fake dossier-system webhook receiver
on 127.0.0.1, and drives the API the way the dossier system and the bank do: create a payment
request (``Idempotency-Key``), then pay it with a bank transfer notification, retrying either with
the same key or the same notification until it is answered (as those clients do). Then it
checks, from the database and the fakes' records:

- payments: one request per key, each paid exactly once by the notification that named it;
- receipts: one per paid request, numbered 1..N in their series with nothing skipped;
- outbox: every event fanned out, every delivery delivered (none pending or parked); the receiver
  got every webhook delivery id and no event under two ids (a crash between the POST and the
  commit may send one id twice: the receiver deduplicates on it); the tax authority accepted every
  receipt once per submission id.

Test speed, not production: the scheduler's outbox ticks every 0.5 s and retries after 0.5, 1,
2, 2 … s (production: 5 s; 10 s doubling to an hour). Everything else is the production path.
The database restart uses a private throw-away cluster on a free port, never the shared one.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import IN_CI, PG_URL, require_postgres
from sqlalchemy import Engine, create_engine, func, select, text

from payments.auth.services import CreateClient, create_client
from payments.catalog.services import import_catalog, parse_document
from payments.db import make_engine
from payments.demo import CATALOG
from payments.migrate import upgrade
from payments.ops.models import SchedulerHeartbeat
from payments.outbox.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from payments.outbox.webhooks import SUBSCRIBER as WEBHOOK_SUBSCRIBER
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaymentTransaction
from payments.uow import UnitOfWork
from providers.fakes.taxauthority import FakeTaxAuthority
from providers.fakes.webhook_receiver import FakeWebhookReceiver
from receipts.devcert import generate_dev_pair
from receipts.jobs import XML_SUBSCRIBER
from receipts.models import Receipt, ReceiptCounter, TaxStatus

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "faults-secret-key-0123456789abcdef-0123456789"
BANK_KEY = "faults-bank-key"
WEBHOOK_SECRET = "faults-webhook-secret"
# the demo catalog: Sở Tư pháp's criminal-record extract, 200,000 đồng into account stp-kbnn
PROCEDURE, AMOUNT, ACCOUNT_NUMBER = "1.001234", 200_000, "376101234567"
RETRY_FOR = 60.0  # seconds a client keeps retrying one call before the test gives up
SETTLE_TIMEOUT = 60.0

# ``thuphi scheduler`` with a faster outbox (see the module docstring); nothing else changed
FAST_SCHEDULER = """
import sys
from dataclasses import replace
from datetime import timedelta
from payments import wiring
from payments.outbox import services as outbox

table = wiring.jobs
outbox.backoff = lambda attempts: timedelta(seconds=min(0.5 * 2 ** max(attempts - 1, 0), 2))
wiring.jobs = lambda: [
    replace(j, trigger_args={"seconds": 0.5}) if j.id == "outbox" else j for j in table()
]
from payments.cli import main

sys.argv = ["thuphi", "scheduler"]
main()
"""


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A subprocess in its own session, logging to a file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, **kw: Any):
        self.name, self.log_path = name, log
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True, **kw,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        text_ = self.log_path.read_text(encoding="utf-8", errors="replace")
        return f"--- {self.name} ({self.log_path}) ---\n" + "\n".join(text_.splitlines()[-lines:])

    def events(self, name: str) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{") and f'"{name}"' in line:
                out.append(json.loads(line))
        return out


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


@dataclass
class Stack:
    """Database, fakes and the service's processes of one test."""

    url: str
    tmp: Path
    tax: FakeTaxAuthority
    receiver: FakeWebhookReceiver
    engine: Engine
    client: dict[str, str]
    base: str = ""
    web: Process | None = None
    schedulers: list[Process] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        key, cert = self.tmp / "receipt-key.pem", self.tmp / "receipt-cert.pem"
        if not key.exists():
            key_pem, cert_pem = generate_dev_pair("thuphi fault tests")
            key.write_bytes(key_pem)
            cert.write_bytes(cert_pem)
        env = {k: v for k, v in os.environ.items() if not k.startswith("THUPHI_")}
        return env | {
            "THUPHI_DATABASE_URL": self.url,
            "THUPHI_SECRET_KEY": SECRET,
            "THUPHI_PUBLIC_URL": self.base or "http://127.0.0.1:9",
            "THUPHI_BANK_API_KEY": BANK_KEY,
            "THUPHI_WEBHOOK_SECRET": WEBHOOK_SECRET,
            # the webhook receiver listens on 127.0.0.1: a lab, as far as SSRF goes
            "THUPHI_WEBHOOK_ALLOW_PRIVATE": "1",
            "THUPHI_TAX_URL": self.tax.url,
            "THUPHI_RECEIPT_KEY": str(key),
            "THUPHI_RECEIPT_CERT": str(cert),
            "THUPHI_LOG_JSON": "1",
            "THUPHI_INSTANCE_PATH": str(self.tmp / "instance"),
        }

    def start_web(self, workers: int = 2) -> None:
        """gunicorn with the production config on a socket bound here (no port race)."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        prom = self.tmp / "prometheus"
        prom.mkdir(exist_ok=True)
        cmd = [
            str(BIN / "gunicorn"), "-c", "python:payments.gunicorn_conf",
            "--bind", f"fd://{sock.fileno()}", "--workers", str(workers), "--threads", "4",
            "--control-socket", str(self.tmp / "gunicorn.ctl"), "--access-logfile", "/dev/null",
            "payments.app:create_app()",
        ]  # fmt: skip
        env = self.env() | {"PROMETHEUS_MULTIPROC_DIR": str(prom)}
        self.web = Process("web", cmd, env, self.tmp / "web.log", pass_fds=[sock.fileno()])
        sock.close()
        wait_for(lambda: len(children(self.web_pid)) == workers and healthy(self.base), 60, "web")

    @property
    def web_pid(self) -> int:
        assert self.web is not None
        return self.web.pid

    def start_scheduler(self) -> Process:
        n = len(self.schedulers) + 1
        cmd = [sys.executable, "-c", FAST_SCHEDULER]
        proc = Process(f"scheduler-{n}", cmd, self.env(), self.tmp / f"scheduler-{n}.log")
        self.schedulers.append(proc)
        wait_for(lambda: self._beating(proc), 60, f"{proc.name}'s first heartbeat")
        return proc

    def _beating(self, proc: Process) -> bool:
        assert proc.proc.poll() is None, f"{proc.name} exited\n{proc.tail()}"
        with self.engine.connect() as c:
            beat = c.scalar(
                select(SchedulerHeartbeat.beat_at).where(
                    SchedulerHeartbeat.scheduler_id == f"{socket.gethostname()}:{proc.pid}"
                )
            )
        return beat is not None

    def token(self) -> str:
        resp = requests.post(f"{self.base}/api/v1/token", json=self.client, timeout=10)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])

    def stop(self) -> None:
        for proc in [*self.schedulers, *([self.web] if self.web else [])]:
            proc.stop()

    def logs(self) -> str:
        return "\n".join(p.tail() for p in [*([self.web] if self.web else []), *self.schedulers])


def healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def prepare(url: str) -> tuple[Engine, dict[str, str]]:
    """Migrate, import the demo catalog, create the dossier system's API client."""
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    from payments.db import make_session_factory

    uow = UnitOfWork(make_session_factory(engine))
    import_catalog(parse_document(CATALOG.read_bytes()), uow=uow)
    creds = create_client(CreateClient("dossier-system", ["payments:write"], None), uow=uow)
    return engine, {"client_id": creds.client_id, "client_secret": creds.client_secret}


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL of a new schema in the shared test PostgreSQL, dropped afterwards."""
    require_postgres()
    schema = f"faults_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def stack_on(url: str, tmp: Path) -> Iterator[Stack]:
    with FakeTaxAuthority() as tax, FakeWebhookReceiver(WEBHOOK_SECRET) as receiver:
        engine, client = prepare(url)
        stack = Stack(url, tmp, tax, receiver, engine, client)
        try:
            yield stack
        except BaseException:
            print(stack.logs())
            raise
        finally:
            stack.stop()
            engine.dispose()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with fresh_schema() as url, stack_on(url, tmp_path) as s:
        yield s


# --- a private PostgreSQL cluster that may be restarted ----------------------------------------


class PrivateCluster:
    """initdb + pg_ctl on a free loopback port, in a temporary folder; run as ``postgres`` when
    we are root (PostgreSQL refuses to run as root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="thuphi-faults-pg-"))
        self.data = self.dir / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        # output to a file, not a pipe: a server started by pg_ctl would hold the pipe open
        with (self.dir / "pg_ctl.log").open("a") as out:
            subprocess.run(
                [*self.as_owner, *args], check=True, timeout=timeout, stdout=out, stderr=out
            )

    def pg_ctl(self, *args: str) -> None:
        log = str(self.dir / "server.log")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", *args)

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=80"
        self.pg_ctl("-t", "30", "-o", opts, "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found and (found[-1].parent / "initdb").exists() else None


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    bindir = postgres_bindir()
    if bindir is None:
        reason = "no /usr/lib/postgresql/*/bin/initdb and pg_ctl to start a private cluster"
        if IN_CI:
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(f"{reason}; install postgresql or set CI=true to require it")
    pg = PrivateCluster(bindir)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


# --- the clients: dossier system and bank, retrying like they do -------------------------------


@dataclass
class Load:
    """Client threads creating requests and paying each with one bank notification."""

    base: str
    token: str
    callback_url: str
    threads: int = 6
    created: dict[str, str] = field(default_factory=dict)  # idempotency key → request id
    paid: dict[str, int] = field(default_factory=dict)  # request id → notification id
    interruptions: list[str] = field(default_factory=list)  # failed attempts that were retried
    errors: list[BaseException] = field(default_factory=list)
    in_flight: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(7_000_001))
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(RETRY_FOR + 10)
        assert not self.errors, self.errors
        assert self.paid, "the load paid nothing"

    def _run(self) -> None:
        http = requests.Session()
        try:
            while not self._stop.is_set():
                self._one_payment(http)
        except BaseException as exc:
            self.errors.append(exc)

    def _one_payment(self, http: requests.Session) -> None:
        key = uuid.uuid4().hex
        body = {
            "dossier_code": f"H40.12-{key[:10]}",
            "procedure_code": PROCEDURE,
            "channel": "online",
            "payer": {"name": "Nguyễn Văn An", "id_number": "040201001234"},
            "callback_url": self.callback_url,
        }
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        url = f"{self.base}/api/v1/payment-requests"
        created = self._until_ok(lambda: http.post(url, json=body, headers=headers, timeout=10))
        request = created.json()
        assert request["total_amount"] == AMOUNT, request
        with self._lock:
            self.created[key] = request["id"]
            note_id = next(self._ids)
        note = {
            "id": note_id, "gateway": "Vietcombank", "transactionDate": "2026-11-23 10:00:00",
            "accountNumber": ACCOUNT_NUMBER, "code": None, "transferType": "in",
            "content": f"CT DEN {request['reference']} NOP PHI LLTP", "transferAmount": AMOUNT,
            "accumulated": 0, "referenceCode": f"FT{note_id}", "description": "",
        }  # fmt: skip
        bank = {"Authorization": f"Apikey {BANK_KEY}"}
        url = f"{self.base}/callbacks/bank/sepay"
        answer = self._until_ok(lambda: http.post(url, json=note, headers=bank, timeout=10))
        assert answer.json() == {"success": True}, answer.text
        with self._lock:
            self.paid[request["id"]] = note_id

    def _until_ok(self, send: Callable[[], requests.Response]) -> requests.Response:
        deadline = time.monotonic() + RETRY_FOR
        while True:
            with self._lock:
                self.in_flight += 1
            try:
                resp = send()
                if resp.status_code < 300:
                    return resp
                assert resp.status_code >= 500, f"HTTP {resp.status_code}: {resp.text[:300]}"
                problem = f"HTTP {resp.status_code}"
            except requests.RequestException as exc:
                problem = type(exc).__name__
            finally:
                with self._lock:
                    self.in_flight -= 1
            with self._lock:
                self.interruptions.append(problem)
            assert time.monotonic() < deadline, f"still failing after {RETRY_FOR} s: {problem}"
            time.sleep(0.2)


# --- what must hold afterwards -------------------------------------------------------------------


def progress(engine: Engine) -> dict[str, int]:
    """Counts that tell how far the scheduler got."""
    counts = {
        "paid": select(func.count()).where(PaymentRequest.status == "paid"),
        "receipts": select(func.count()).select_from(Receipt),
        "unfanned": select(func.count()).where(OutboxEvent.fanned_out.is_(False)),
        "undelivered": select(func.count()).where(
            OutboxDelivery.status != DeliveryStatus.DELIVERED
        ),
        "tax_accepted": select(func.count()).where(
            Receipt.tax_authority_status == TaxStatus.ACCEPTED
        ),
    }
    with engine.connect() as c:
        return {name: int(c.scalar(stmt) or 0) for name, stmt in counts.items()}


def wait_settled(engine: Engine, load: Load, timeout: float = SETTLE_TIMEOUT) -> dict[str, int]:
    """Until every paid request has its receipt accepted and the outbox is empty."""
    n = len(load.paid)
    deadline = time.monotonic() + timeout
    while True:
        now = progress(engine)
        done = now["receipts"] == now["tax_accepted"] == n and now["undelivered"] == 0
        if done and now["unfanned"] == 0:
            return now
        if time.monotonic() > deadline:
            pytest.fail(f"not settled after {timeout:.0f} s: {now} for {n} payments")
        time.sleep(0.3)


def assert_nothing_lost_or_doubled(stack: Stack, load: Load) -> dict[str, int]:
    """The invariants of the module docstring; returns a few figures for the report."""
    with stack.engine.connect() as c:
        requests_ = c.execute(
            select(PaymentRequest.id, PaymentRequest.status, PaymentRequest.paid_amount)
        ).all()
        txns = c.execute(
            select(PaymentTransaction.payment_request_id, PaymentTransaction.provider_txn_id)
        ).all()
        receipts = c.execute(
            select(Receipt.payment_request_id, Receipt.agency_code, Receipt.series, Receipt.number)
        ).all()
        counters = c.execute(select(ReceiptCounter.series, ReceiptCounter.last_number)).all()
        deliveries = c.execute(
            select(OutboxDelivery.id, OutboxDelivery.subscriber, OutboxDelivery.status)
        ).all()
        not_accepted = c.scalar(
            select(func.count()).where(Receipt.tax_authority_status != TaxStatus.ACCEPTED)
        )

    # payments: exactly the requests the clients created, each paid once by its notification
    assert sorted(str(r.id) for r in requests_) == sorted(load.created.values())
    assert set(load.paid) == set(load.created.values())
    assert {(r.status, r.paid_amount) for r in requests_} == {("paid", AMOUNT)}
    assert Counter(str(t.payment_request_id) for t in txns) == Counter(set(load.paid))
    assert {(str(t.payment_request_id), t.provider_txn_id) for t in txns} == {
        (rid, str(note)) for rid, note in load.paid.items()
    }

    # receipts: one per paid request, numbers 1..N in each series, counters at N
    assert Counter(str(r.payment_request_id) for r in receipts) == Counter(set(load.paid))
    series: dict[str, list[int]] = {}
    for r in receipts:
        series.setdefault(r.series, []).append(r.number)
    for name, numbers in series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"series {name} has gaps"
    assert dict(counters) == {name: len(numbers) for name, numbers in series.items()}

    # outbox: all delivered; the receiver saw every webhook id, each event under one id only
    assert [d for d in deliveries if d.status != DeliveryStatus.DELIVERED] == []
    webhook_ids = {str(d.id) for d in deliveries if d.subscriber == WEBHOOK_SUBSCRIBER}
    received = [w.delivery_id for w in stack.receiver.deliveries]
    assert set(received) == webhook_ids
    paid_hooks = {
        w.delivery_id: w.payload["data"]["payment_request_id"]
        for w in stack.receiver.deliveries
        if w.event_type == "payment_request.paid"
    }
    assert sorted(paid_hooks.values()) == sorted(load.paid), "one paid webhook per request"
    assert stack.receiver.rejected == []

    # tax authority: every receipt's XML accepted, once per submission id
    xml_ids = {f"thuphi-delivery-{d.id}" for d in deliveries if d.subscriber == XML_SUBSCRIBER}
    assert xml_ids <= set(stack.tax.accepted)
    assert len(xml_ids) == len(receipts) and not_accepted == 0
    return {
        "payments": len(load.paid),
        "client_retries": len(load.interruptions),
        "webhook_redeliveries": len(received) - len(set(received)),
        "tax_retries": sum(
            1 for r in stack.tax.requests if r.headers.get("X-Submission-Id") in xml_ids
        )
        - len(xml_ids),
    }


def report(name: str, figures: dict[str, Any]) -> None:
    print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# --- the faults -----------------------------------------------------------------------------------


def test_killing_a_web_worker_mid_request_loses_and_doubles_nothing(stack: Stack) -> None:
    stack.start_web(workers=2)
    stack.start_scheduler()
    load = Load(stack.base, stack.token(), stack.receiver.url).start()
    wait_for(lambda: len(load.paid) >= 10, 30, "the first payments")

    # kill -9 a worker while requests are in flight, until a client saw one cut off
    kills = 0
    while not load.interruptions and kills < 5:
        wait_for(lambda: load.in_flight >= 2, 10, "requests in flight")
        os.kill(children(stack.web_pid)[kills % 2], signal.SIGKILL)
        kills += 1
        time.sleep(1.0)
    assert load.interruptions, "no request was in flight in a killed worker"
    wait_for(lambda: len(children(stack.web_pid)) == 2, 30, "gunicorn to replace the worker")
    at_kill = len(load.paid)
    wait_for(lambda: len(load.paid) >= at_kill + 10, 30, "payments after the kill")
    load.stop()

    wait_settled(stack.engine, load)
    report("web worker kill -9", {"kills": kills, **assert_nothing_lost_or_doubled(stack, load)})


def test_killing_the_scheduler_mid_outbox_lets_a_fresh_one_finish_exactly_once(
    stack: Stack,
) -> None:
    stack.start_web(workers=2)
    load = Load(stack.base, stack.token(), stack.receiver.url, threads=4).start()
    wait_for(lambda: len(load.paid) >= 40, 60, "40 payments")
    load.stop()

    # the receiver answers slowly, so the scheduler is inside a delivery most of the time
    stack.receiver.delay = 0.15
    first = stack.start_scheduler()
    wait_for(lambda: progress(stack.engine)["receipts"] >= 10, 60, "receipts being issued")
    first.kill9()
    at_kill = progress(stack.engine)
    assert at_kill["receipts"] < len(load.paid) or at_kill["undelivered"] > 0, at_kill
    assert stack.receiver.deliveries, "no webhook was sent before the kill"

    stack.receiver.delay = 0.0
    second = stack.start_scheduler()
    wait_settled(stack.engine, load)
    figures = assert_nothing_lost_or_doubled(stack, load)
    report("scheduler kill -9", {**figures, "receipts_at_kill": at_kill["receipts"]})
    assert not second.events("job_failed"), second.tail()


def test_a_database_restart_under_load_loses_and_doubles_nothing(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    with stack_on(cluster.url, tmp_path) as stack:
        stack.start_web(workers=2)
        stack.start_scheduler()
        load = Load(stack.base, stack.token(), stack.receiver.url).start()
        wait_for(lambda: len(load.paid) >= 10, 30, "the first payments")
        cluster.pg_ctl("-t", "30", "-m", "immediate", "restart")
        at_restart = len(load.paid)
        wait_for(lambda: len(load.paid) >= at_restart + 10, 45, "payments after the restart")
        load.stop()
        assert load.interruptions, "the restart interrupted no request"

        stack.engine.dispose()  # its pooled connections died with the server
        wait_settled(stack.engine, load)
        figures = assert_nothing_lost_or_doubled(stack, load)
        report("PostgreSQL restart", figures)
        [scheduler] = stack.schedulers
        assert scheduler.proc.poll() is None, "the scheduler did not survive the restart"


def test_tax_authority_and_webhook_receiver_outage_delays_but_loses_nothing(
    stack: Stack,
) -> None:
    stack.tax.down = stack.receiver.down = True
    stack.start_web(workers=2)
    stack.start_scheduler()
    load = Load(stack.base, stack.token(), stack.receiver.url, threads=4).start()
    wait_for(lambda: len(load.paid) >= 15, 30, "15 payments")
    load.stop()

    # issuing never waits for the tax authority: every receipt exists while it is down
    wait_for(
        lambda: progress(stack.engine)["receipts"] == len(load.paid), 30, "receipts during outage"
    )

    def retried() -> int:
        with stack.engine.connect() as c:
            return int(
                c.scalar(
                    select(func.count()).where(
                        OutboxDelivery.attempts >= 2, OutboxDelivery.last_error.is_not(None)
                    )
                )
                or 0
            )

    # a partner that is down costs one attempt per pass: retries come once each had its first
    wait_for(lambda: retried() > 0, 60, "a delivery retried during the outage")
    assert progress(stack.engine)["tax_accepted"] == 0
    assert stack.receiver.deliveries == []

    stack.tax.down = stack.receiver.down = False
    wait_settled(stack.engine, load)
    figures = assert_nothing_lost_or_doubled(stack, load)
    report("partners down", {**figures, "retried_during_outage": retried})
    with stack.engine.connect() as c:
        parked = c.scalar(select(func.count()).where(OutboxDelivery.status == "parked"))
    assert parked == 0
