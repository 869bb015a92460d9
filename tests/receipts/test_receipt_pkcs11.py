"""An agency whose key is in a PKCS#11 token (SoftHSM2) signs its receipts there.

Outside CI a missing softhsm2 (or xmlsec1, the independent verifier) skips these tests with the
reason; with CI=true it fails them, so CI cannot pass without having run them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from receipts_testkit import CA, STP, XMLSEC1, Kit, paid_receipt, xmlsec1_verify
from sqlalchemy import select

from payments.app import build_container
from payments.config import Settings
from payments.http import Container
from receipts.devcert import generate_dev_pair
from receipts.errors import ReceiptsNotConfigured
from receipts.models import ReceiptSummary
from receipts.signers import release_tokens, signing_pair, signing_problem
from receipts.summaries import create_daily_summaries, sign_summary
from receipts.tokens import parse_uri
from receipts.xmlsig import ReceiptSignatureError, verify

MODULE = os.environ.get("THUPHI_TEST_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
SOFTHSM2_UTIL = shutil.which("softhsm2-util")
IN_CI = os.environ.get("CI", "").lower() == "true"
PIN, SO_PIN = "246810", "13579111"
TOKEN = "STP-HSM"


def _require(ok: bool, what: str) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail(f"PKCS#11 tests must run in CI: {what} (apt-get install -y softhsm2 xmlsec1)")
    pytest.skip(f"{what} (apt-get install -y softhsm2 xmlsec1); set CI=true to require it")


@dataclass(frozen=True)
class Hsm:
    folder: Path
    cert_pem: bytes  # of the key imported as object "receipts", id 01


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hsm]:
    """A SoftHSM2 token in a temporary folder holding STP's key (not extractable) and cert."""
    _require(SOFTHSM2_UTIL is not None, "softhsm2-util is missing")
    _require(Path(MODULE).exists(), f"the SoftHSM2 module {MODULE} is missing")
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the module when it is initialised
    _softhsm("--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN)
    key_pem, cert_pem = generate_dev_pair("stp-hsm", not_before=datetime(2026, 1, 1, tzinfo=UTC))
    (folder / "key.pem").write_bytes(key_pem)
    _softhsm("--import", str(folder / "key.pem"), "--token", TOKEN, "--label", "receipts",
             "--id", "01", "--pin", PIN)  # fmt: skip
    (folder / "key.pem").unlink()  # from now on the key exists only in the token
    pkcs11.unload(MODULE)  # a module loaded before this conf would not see the token
    with pkcs11.lib(MODULE).get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as s:
        # subject, issuer, serial and value as the token wants them, from the library's helper
        attrs = pkcs11.util.x509.decode_x509_certificate(_der(cert_pem))
        attrs.update({Attribute.TOKEN: True, Attribute.LABEL: "receipts", Attribute.ID: b"\x01"})
        s.create_object(attrs)
        key = s.get_key(object_class=ObjectClass.PRIVATE_KEY, label="receipts")
        assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
    yield Hsm(folder, cert_pem)
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


@pytest.fixture(autouse=True)
def fresh_sessions() -> Iterator[None]:
    """Each test logs in anew: PKCS#11 skips the PIN check while this process is logged in."""
    release_tokens()
    yield
    release_tokens()


def test_one_agency_signs_in_its_token_another_with_pem_and_both_verify_independently(
    container: Container, catalog: dict[str, Any], settings: Settings, hsm: Hsm, tmp_path: Path
) -> None:
    _require(XMLSEC1 is not None, "xmlsec1 is missing")
    ca_key, ca_cert = generate_dev_pair("ca", not_before=datetime(2026, 1, 1, tzinfo=UTC))
    (tmp_path / "stp.pem").write_bytes(hsm.cert_pem)
    (tmp_path / "ca-key.pem").write_bytes(ca_key)
    (tmp_path / "ca-cert.pem").write_bytes(ca_cert)
    mapping = {
        STP: {"pkcs11": f"pkcs11:token={TOKEN};object=receipts;type=private"},
        CA: {"cert": "ca-cert.pem", "key": "ca-key.pem"},
    }
    configured = _configured(settings, tmp_path, mapping, receipt_pkcs11_pin=PIN)
    kit = Kit(build_container(configured, container.engine))
    lltp, gplx = paid_receipt(kit, "1.001234"), paid_receipt(kit, "1.012345")
    assert (lltp.agency_code, gplx.agency_code) == (STP, CA)
    assert "CN=stp-hsm" in verify(bytes(lltp.signed_xml), hsm.cert_pem).signer_subject
    assert "CN=ca" in verify(bytes(gplx.signed_xml), ca_cert).signer_subject
    with pytest.raises(ReceiptSignatureError):
        verify(bytes(lltp.signed_xml), ca_cert)
    for receipt, right, wrong in ((lltp, hsm.cert_pem, ca_cert), (gplx, ca_cert, hsm.cert_pem)):
        assert xmlsec1_verify(bytes(receipt.signed_xml), right, tmp_path) == 0
        assert xmlsec1_verify(bytes(receipt.signed_xml), wrong, tmp_path) != 0
    # the agency's 01/TH-BLĐT is signed in its token too
    create_daily_summaries(lltp.issued_on, uow=kit.container.uow())
    with kit.container.uow() as uow:
        summary = uow.session.scalars(
            select(ReceiptSummary).where(ReceiptSummary.agency_code == STP)
        ).one()
        summary_xml = sign_summary(summary, configured, datetime.now(UTC))
    (tmp_path / "s.xml").write_bytes(summary_xml)
    checked = subprocess.run(
        [str(XMLSEC1), "--verify", "--id-attr:Id", "DLTKhai", "--id-attr:Id", "Object",
         "--pubkey-cert-pem", str(tmp_path / "stp.pem"), str(tmp_path / "s.xml")],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    # the certificate came from the token and the key stays there
    pair = signing_pair(configured, STP)
    assert pair.cert_pem == hsm.cert_pem
    with pytest.raises(TypeError):
        pair.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def test_the_pin_can_come_from_a_pin_source_file_and_the_key_by_its_id(
    settings: Settings, hsm: Hsm, tmp_path: Path
) -> None:
    (tmp_path / "pin").write_text(PIN + "\n", encoding="utf-8")
    uri = f"pkcs11:token={TOKEN};id=%01?module-path={MODULE}&pin-source=file:{tmp_path / 'pin'}"
    configured = _configured(
        settings, tmp_path, {STP: {"pkcs11": uri}}, receipt_pkcs11_module="/nonexistent.so"
    )
    assert signing_problem(configured, STP) is None
    assert signing_pair(configured, STP).cert_pem == hsm.cert_pem


def test_a_wrong_pin_makes_the_agency_unable_to_sign_and_the_reason_shows_no_pin(
    settings: Settings, hsm: Hsm, tmp_path: Path
) -> None:
    wrong = "999999"
    mapping = {STP: {"pkcs11": f"pkcs11:token={TOKEN};object=receipts"}}
    configured = _configured(settings, tmp_path, mapping, receipt_pkcs11_pin=wrong)
    problem = signing_problem(configured, STP)
    assert problem is not None and "PinIncorrect" in problem and wrong not in problem
    # the same wrong PIN is not offered to the token again (it would lock after a few)
    again = signing_problem(configured, STP) or ""
    assert "not tried again" in again and wrong not in again
    right = _configured(settings, tmp_path, mapping, receipt_pkcs11_pin=PIN)
    assert signing_problem(right, STP) is None
    unknown = _configured(
        settings,
        tmp_path,
        {STP: {"pkcs11": f"pkcs11:token={TOKEN};object=nothing-here"}},
        receipt_pkcs11_pin=PIN,
    )
    assert "nothing-here" in (signing_problem(unknown, STP) or "")


def test_a_key_that_does_not_match_the_named_certificate_is_refused(
    settings: Settings, hsm: Hsm, tmp_path: Path
) -> None:
    _, other = generate_dev_pair("other", not_before=datetime(2026, 1, 1, tzinfo=UTC))
    (tmp_path / "other.pem").write_bytes(other)
    mapping = {STP: {"pkcs11": f"pkcs11:token={TOKEN};object=receipts", "cert": "other.pem"}}
    configured = _configured(settings, tmp_path, mapping, receipt_pkcs11_pin=PIN)
    assert "does not match" in (signing_problem(configured, STP) or "")


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("pkcs11:token=T;object=k?pin-value=1234", "must not carry the PIN"),
        ("pkcs11:token=T;object=k;type=cert", "type=private"),
        ("pkcs11:token=T", "object= or id="),
        ("pkcs11:token=T;object=k?pin-source=|cat /etc/pin", "file:"),
        ("pkcs11:token=T;object=k;library-foo=x", "library-foo"),
        ("file:/etc/key.pem", "not a PKCS#11 URI"),
    ],
)
def test_uris_this_service_cannot_use_safely_are_refused_by_name(uri: str, reason: str) -> None:
    with pytest.raises(ReceiptsNotConfigured) as caught:
        parse_uri(uri)
    assert reason in caught.value.detail
    assert "1234" not in caught.value.detail


def test_a_uri_names_token_key_module_and_pin_file() -> None:
    uri = parse_uri("pkcs11:token=S%E1%BB%9F%20TP;id=%01%a2;slot-id=3?module-path=/m.so")
    assert (uri.token, uri.key_id, uri.slot_id, uri.module_path) == (
        "Sở TP",
        b"\x01\xa2",
        3,
        "/m.so",
    )


def _configured(settings: Settings, folder: Path, mapping: dict[str, Any], **more: Any) -> Settings:
    path = folder / "signers.json"
    path.write_text(json.dumps(mapping), encoding="utf-8")
    more.setdefault("receipt_pkcs11_module", MODULE)
    return replace(settings, receipt_cert="", receipt_key="", receipt_signers=str(path), **more)


def _softhsm(*args: str) -> None:
    subprocess.run([str(SOFTHSM2_UTIL), *args], check=True, capture_output=True, timeout=60)


def _der(cert_pem: bytes) -> bytes:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
