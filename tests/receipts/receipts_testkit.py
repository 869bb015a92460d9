"""Fixtures and factories the receipt tests share: a signing pair, paying requests, the outbox."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import make_payment_request
from sqlalchemy import select

from payments.app import build_container
from payments.auth.services import Principal
from payments.catalog.services import import_catalog, parse_document
from payments.clock import utcnow
from payments.config import Settings
from payments.http import Container
from payments.money import Money
from payments.outbox.services import run_outbox
from payments.payment_requests.services import Payer
from payments.transactions.services import ApplyResult, record_event
from providers.base import EventKind, ProviderEvent, TxnStatus
from providers.taxauthority import TaxAuthorityClient
from receipts.devcert import generate_dev_pair
from receipts.jobs import subscribers
from receipts.models import Receipt

EVERYONE = Principal(
    "receipt-tests",
    frozenset({"payments:read", "payments:write", "receipts:read", "receipts:write"}),
    None,
)
STP = "000.00.12.H40"  # Sở Tư pháp: 1.001234 (phí LLTP)
CA = "000.00.30.H40"  # Công an: 1.012345 (lệ phí GPLX)
STC = "000.00.08.H40"  # Sở Tài chính: 2.001610 (lệ phí DKDN + phí CBTT)
SNNMT = "000.00.15.H40"  # Sở Nông nghiệp và Môi trường: 1.004227 (phí + lệ phí)
AGENCY_NAMES = {
    STP: ("Sở Tư pháp tỉnh Hà Tĩnh", "3000123456", "26TAB", "27TAB"),
    CA: ("Công an tỉnh Hà Tĩnh", "3000234567", "26TCA", "27TCA"),
    STC: ("Sở Tài chính tỉnh Hà Tĩnh", "3000345678", "26TTC", "27TTC"),
    SNNMT: ("Sở Nông nghiệp và Môi trường tỉnh Hà Tĩnh", "3000456789", "26TNM", "27TNM"),
}
# 23:59:30 on 31 December 2026 in Hà Nội; a clock is flipped from here into 2027
XMLSEC1 = shutil.which("xmlsec1")
NEW_YEARS_EVE = datetime(2026, 12, 31, 16, 59, 30, tzinfo=UTC)


@pytest.fixture(scope="session", name="signing_files")
def signing_files_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A development pair valid from 2026-01-01 for ten years, as PEM files."""
    folder = tmp_path_factory.mktemp("receipt-pair")
    key, cert = generate_dev_pair(
        "Sở Tư pháp tỉnh Hà Tĩnh", not_before=datetime(2026, 1, 1, tzinfo=UTC)
    )
    (folder / "key.pem").write_bytes(key)
    (folder / "cert.pem").write_bytes(cert)
    return folder / "key.pem", folder / "cert.pem"


def receipt_settings(settings: Settings, files: tuple[Path, Path], **more: Any) -> Settings:
    key, cert = files
    return replace(settings, receipt_key=str(key), receipt_cert=str(cert), **more)


class SteppingClock:
    """An injectable ``now``: fixed instants that advance by a millisecond per reading, and
    jump to the next year on ``flip()`` (thread-safe, monotonic)."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.moment += timedelta(milliseconds=1)
            return self.moment

    def flip(self, to: datetime) -> None:
        with self._lock:
            self.moment = max(self.moment, to)


@dataclass
class Kit:
    """A container with receipts configured, and factories for paid requests."""

    container: Container

    @property
    def settings(self) -> Settings:
        return self.container.settings

    def use_clock(self, clock: Any, tax_url: str | None = None) -> None:
        settings = replace(self.settings, tax_url=tax_url) if tax_url else self.settings
        for subscriber in subscribers(settings, now=clock):
            self.container.registry.add(subscriber)

    def create(
        self,
        procedure: str = "1.001234",
        channel: str = "counter",
        payer: Payer | None = None,
        principal: Principal = EVERYONE,
    ) -> dict[str, Any]:
        return make_payment_request(
            self.container,
            settings=self.settings,
            principal=principal,
            dossier_code=f"H40-{uuid.uuid4().hex[:10]}",
            procedure_code=procedure,
            channel=channel,
            payer=payer
            or Payer("Nguyễn Thị Hồng Nhung", "040201001234", address="Phường Trần Phú, Hà Tĩnh"),
        )

    def pay(
        self, view: dict[str, Any], amount: int | None = None, provider: str = "bank"
    ) -> ApplyResult:
        event = ProviderEvent(
            provider=provider,
            provider_txn_id=uuid.uuid4().hex,
            reference=view["reference"],
            amount=Money(view["total_amount"] if amount is None else amount),
            currency="VND",
            status=TxnStatus.PAID,
            occurred_at=utcnow(),
            kind=EventKind.TRANSFER_IN if provider == "bank" else EventKind.PAYMENT,
            account_number=view["beneficiary"]["account_number"] if provider == "bank" else None,
        )
        return record_event(event, uow=self.container.uow())

    def drain(self, now: datetime | None = None) -> int:
        """Run the outbox until nothing due is left; returns how many deliveries were tried."""
        total = 0
        while True:
            tried = run_outbox(self.container.uow(), self.container.registry, now)
            total += tried
            if tried == 0:
                return total


def paid_receipt(kit: Kit, procedure: str) -> Receipt:
    """The one receipt of a new request for ``procedure``, paid in full and issued."""
    request = kit.create(procedure)
    kit.pay(request)
    kit.drain()
    with kit.container.uow() as uow:
        found = uow.session.scalars(
            select(Receipt).where(Receipt.dossier_code == request["dossier_code"])
        ).all()
        assert len(found) == 1, found
        uow.session.expunge(found[0])
        return found[0]


def xmlsec1_verify(xml: bytes, cert: bytes, folder: Path) -> int:
    """xmlsec1's exit status verifying ``xml`` against ``cert`` (0: the signature holds)."""
    (folder / "r.xml").write_bytes(xml)
    (folder / "c.pem").write_bytes(cert)
    return subprocess.run(
        [str(XMLSEC1), "--verify", "--id-attr:Id", "DLBLai", "--id-attr:Id", "Object",
         "--pubkey-cert-pem", str(folder / "c.pem"), str(folder / "r.xml")],
        capture_output=True, timeout=60, check=False,
    ).returncode  # fmt: skip


def add_series(container: Container, *series: tuple[str, str]) -> None:
    """Import more receipt series: ``add_series(c, (STP, "27TAB"))``."""
    agencies = [
        {
            "code": code,
            "name": AGENCY_NAMES[code][0],
            "tax_code": AGENCY_NAMES[code][1],
            "receipt_series": [{"template": "EBL01", "series": s}],
        }
        for code, s in series
    ]
    import_catalog(parse_document(json.dumps({"agencies": agencies})), uow=container.uow())


@pytest.fixture(name="kit")
def kit_fixture(
    container: Container,
    catalog: dict[str, Any],
    settings: Settings,
    signing_files: tuple[Path, Path],
) -> Kit:
    return Kit(build_container(receipt_settings(settings, signing_files), container.engine))


def wire_tax(kit: Kit, url: str, clock: Any) -> None:
    """The receipts subscribers on ``clock``, talking to the tax authority at ``url``."""

    def client() -> TaxAuthorityClient:
        return TaxAuthorityClient(url, timeout=(1, 2), attempts=1)

    for subscriber in subscribers(kit.settings, now=clock, tax_client=client):
        kit.container.registry.add(subscriber)
