"""What every benchmark shares: the PostgreSQL it runs against and a schema of its own there."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, text

from payments.payment_requests.models import PaymentRequest
from payments.reference import new_reference

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
