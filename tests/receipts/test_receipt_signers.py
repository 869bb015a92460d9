"""Each agency signs its receipts with its own certificate (THUPHI_RECEIPT_SIGNERS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from receipts_testkit import (  # noqa: F401 - fixtures
    CA,
    STP,
    XMLSEC1,
    Kit,
    kit_fixture,
    paid_receipt,
    receipt_settings,
    signing_files_fixture,
    xmlsec1_verify,
)
from sqlalchemy import select

from payments.app import build_container
from payments.config import Settings
from payments.http import Container
from receipts.devcert import generate_dev_pair
from receipts.errors import ReceiptsNotConfigured
from receipts.jobs import pending_tax
from receipts.models import Receipt
from receipts.signers import signing_pair, signing_problem
from receipts.xmlsig import ReceiptSignatureError, verify


def write_pair(folder: Path, name: str) -> tuple[bytes, bytes]:
    key, cert = generate_dev_pair(name, not_before=datetime(2026, 1, 1, tzinfo=UTC))
    (folder / f"{name}-key.pem").write_bytes(key)
    (folder / f"{name}-cert.pem").write_bytes(cert)
    return key, cert


def signers_file(folder: Path, mapping: dict[str, Any]) -> str:
    path = folder / "signers.json"
    path.write_text(json.dumps(mapping), encoding="utf-8")
    return str(path)


def test_two_agencies_receipts_verify_with_two_different_certificates(
    container: Container, catalog: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    _, justice = write_pair(tmp_path, "stp")
    _, police = write_pair(tmp_path, "ca")
    mapping = {
        STP: {"cert": "stp-cert.pem", "key": "stp-key.pem"},  # relative to the file
        CA: {"cert": str(tmp_path / "ca-cert.pem"), "key": str(tmp_path / "ca-key.pem")},
    }
    configured = _with(settings, receipt_signers=signers_file(tmp_path, mapping))
    kit = Kit(build_container(configured, container.engine))
    lltp, gplx = paid_receipt(kit, "1.001234"), paid_receipt(kit, "1.012345")
    assert (lltp.agency_code, gplx.agency_code) == (STP, CA)
    assert "CN=stp" in verify(bytes(lltp.signed_xml), justice).signer_subject
    assert "CN=ca" in verify(bytes(gplx.signed_xml), police).signer_subject
    with pytest.raises(ReceiptSignatureError):
        verify(bytes(lltp.signed_xml), police)
    with pytest.raises(ReceiptSignatureError):
        verify(bytes(gplx.signed_xml), justice)
    if XMLSEC1:  # the independent verifier agrees
        for receipt, right, wrong in ((lltp, justice, police), (gplx, police, justice)):
            assert xmlsec1_verify(bytes(receipt.signed_xml), right, tmp_path) == 0
            assert xmlsec1_verify(bytes(receipt.signed_xml), wrong, tmp_path) != 0


def test_an_agency_not_listed_signs_with_the_default_pair(
    settings: Settings, signing_files: tuple[Path, Path], tmp_path: Path
) -> None:
    write_pair(tmp_path, "stp")
    mapping = {STP: {"cert": "stp-cert.pem", "key": "stp-key.pem"}}
    configured = receipt_settings(
        settings, signing_files, receipt_signers=signers_file(tmp_path, mapping)
    )
    assert signing_pair(configured, CA).cert_pem == signing_files[1].read_bytes()
    assert signing_pair(configured, STP).cert_pem == (tmp_path / "stp-cert.pem").read_bytes()


def test_an_agency_with_neither_its_own_nor_a_default_pair_gets_no_receipt_and_says_why(
    container: Container, catalog: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    write_pair(tmp_path, "stp")
    mapping = {
        STP: {"cert": "stp-cert.pem", "key": "stp-key.pem"},
        "000.00.08.H40": {"pkcs11": "pkcs11:token=STC;object=receipts"},
    }
    configured = _with(settings, receipt_signers=signers_file(tmp_path, mapping))
    kit = Kit(build_container(configured, container.engine))
    request = kit.create("1.012345")  # Công an: not listed, no default pair
    kit.pay(request)
    kit.drain()
    with kit.container.uow() as uow:
        assert uow.session.scalars(select(Receipt)).all() == []
    problem = signing_problem(configured, CA)
    assert problem is not None and CA in problem and "THUPHI_RECEIPT_SIGNERS" in problem
    pkcs11 = signing_problem(configured, "000.00.08.H40")
    assert pkcs11 is not None and "PKCS#11" in pkcs11
    report = pending_tax(uow=kit.container.uow(), settings=configured)
    (unissued,) = report["unissued_payments"]
    assert unissued["payment_request_id"] == request["id"]
    assert CA in (unissued["delivery"]["last_error"] or "")
    assert report["agencies_unable_to_sign"][CA] == problem
    with pytest.raises(ReceiptsNotConfigured):
        signing_pair(configured, CA)


def test_a_signers_file_that_is_not_a_mapping_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "signers.json"
    path.write_text('["not", "a", "mapping"]', encoding="utf-8")
    with pytest.raises(ReceiptsNotConfigured):
        signing_pair(_with(settings, receipt_signers=str(path)), STP)


def _with(settings: Settings, **changes: Any) -> Settings:
    from dataclasses import replace

    return replace(settings, receipt_cert="", receipt_key="", **changes)
