"""Receipt content rules, the signed XML, and tamper detection."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from factories import make_receipt_document, make_receipt_line
from lxml import etree
from signxml.verifier import SignatureConfiguration, XMLVerifier

from payments.money import Money
from receipts.devcert import generate_dev_pair
from receipts.document import (
    ReceiptContentError,
    ReceiptKind,
    ReplacedReceipt,
    format_number,
    series_is_valid,
)
from receipts.xmlsig import XADES_NS, ReceiptSignatureError, build_xml, sign, verify

AGENCY = "Sở Tư pháp tỉnh Hà Tĩnh"


def make_pair(common_name: str = AGENCY, **overrides: Any) -> tuple[bytes, bytes]:
    """A dev pair valid from 1 January 2026, so fixed 2026 receipt dates fall inside it."""
    fields: dict[str, Any] = {"not_before": datetime(2026, 1, 1, tzinfo=UTC)}
    return generate_dev_pair(common_name, **(fields | overrides))


@pytest.fixture(scope="module")
def agency_pair() -> tuple[bytes, bytes]:
    return make_pair()


@pytest.fixture(scope="module")
def signed(agency_pair: tuple[bytes, bytes]) -> bytes:
    return sign(make_receipt_document(), *agency_pair)


# --- content rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("series", "year", "valid"),
    [
        ("26TAB", None, True),
        ("26TAB", 2026, True),
        ("26TYY", 2026, True),
        ("26TAB", 2027, False),
        ("26CAB", None, False),  # the third character is always T
        ("26TAF", None, False),  # F is not a series letter
        ("26TAJ", None, False),
        ("26TAW", None, False),
        ("26Tab", None, False),
        ("2TAB", None, False),
        ("26TABC", None, False),
        ("26TAB\n", None, False),
    ],
)
def test_series_is_two_year_digits_t_and_two_allowed_letters(
    series: str, year: int | None, valid: bool
) -> None:
    assert series_is_valid(series, year) is valid


def test_numbers_print_as_eight_digits_up_to_99_999_999() -> None:
    assert format_number(1) == "00000001"
    assert format_number(99_999_999) == "99999999"
    for bad in (0, -1, 100_000_000):
        with pytest.raises(ReceiptContentError):
            format_number(bad)


def test_amount_in_words_is_written_from_the_total_when_left_empty() -> None:
    assert make_receipt_document().amount_in_words == "Một trăm mười lăm nghìn đồng"


def test_amount_in_words_that_disagrees_with_the_total_is_refused() -> None:
    assert make_receipt_document(
        amount_in_words="Một trăm mười lăm nghìn đồng"
    ).total_amount == Money(115_000)
    with pytest.raises(ReceiptContentError, match="amount in words"):
        make_receipt_document(amount_in_words="Mười lăm nghìn đồng")


def test_the_receipt_date_is_the_vietnamese_calendar_day() -> None:
    late = make_receipt_document(issued_at=datetime(2026, 11, 23, 18, 30, tzinfo=UTC))
    assert late.issued_on == date(2026, 11, 24)


@pytest.mark.parametrize(
    "overrides",
    [
        {"total_amount": Money(115_001)},
        {"lines": ()},
        {"series": "25TAB"},  # a 2025 series for a 2026 receipt
        {"series": "26TAF"},
        {"number": 0},
        {"number": 100_000_000},
        {"issued_at": datetime(2026, 11, 23, 2, 30)},  # noqa: DTZ001 - naive on purpose
        {"template": "01GTKT"},
        {"kind": "vat"},
    ],
)
def test_receipts_that_break_the_rules_cannot_be_built(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - ReceiptContentError or the enum's own
        make_receipt_document(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"reduction_legal_basis": None},
        {"amount": Money(200_001)},
        {"amount": Money(-1)},
        {"quantity": 0},
    ],
)
def test_lines_that_break_the_rules_cannot_be_built(overrides: dict[str, Any]) -> None:
    with pytest.raises(ReceiptContentError):
        make_receipt_line(**overrides)


# --- XML ------------------------------------------------------------------------------------


def test_the_xml_carries_the_business_data_under_tt78_style_names() -> None:
    root = build_xml(make_receipt_document())
    assert root.tag == "BLai"
    assert root.findtext("DLBLai/TTChung/KHMSBLai") == "EBL01"
    assert root.findtext("DLBLai/TTChung/KHBLai") == "26TAB"
    assert root.findtext("DLBLai/TTChung/SBLai") == "1"
    assert root.findtext("DLBLai/TTChung/NLap") == "2026-11-23"
    assert root.findtext("DLBLai/NDBLai/NThu/MST") == "3000123456"
    assert root.findtext("DLBLai/NDBLai/NNop/Ten") == "Nguyễn Thị Hồng Nhung"
    assert root.findtext("DLBLai/NDBLai/DSPhi/Phi/STGiam") == "85000"
    assert root.findtext("DLBLai/NDBLai/TToan/TgTTTBSo") == "115000"
    assert root.findtext("DLBLai/NDBLai/TToan/TgTTTBChu") == "Một trăm mười lăm nghìn đồng"
    assert root.find("DSCKS/NThu") is not None
    assert root.find("DLBLai/TTChung/TTBLLQuan") is None


def test_optional_payer_fields_are_left_out_when_empty() -> None:
    root = build_xml(make_receipt_document(payer_id_number=None, payer_address=None))
    assert root.find("DLBLai/NDBLai/NNop/CCCDan") is None
    assert root.find("DLBLai/NDBLai/NNop/DChi") is None


def test_signed_receipt_passes_an_independent_signxml_verification(
    signed: bytes, agency_pair: tuple[bytes, bytes]
) -> None:
    config = SignatureConfiguration(expect_references=2)
    results = XMLVerifier().verify(signed, x509_cert=agency_pair[1].decode(), expect_config=config)
    assert isinstance(results, list)
    data, props = (r.signed_xml for r in results)
    assert data is not None and data.tag == "DLBLai"
    assert data.findtext("NDBLai/TToan/TgTTTBSo") == "115000"
    assert props is not None
    assert props.findtext(f".//{{{XADES_NS}}}SigningTime") == "2026-11-23T02:30:00+00:00"
    signature = etree.fromstring(signed).find("DSCKS/NThu/{*}Signature")
    assert signature is not None
    assert signature.find(".//{*}X509Certificate") is not None


def xmlsec1_verify(xml: bytes, cert_pem: bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Debian's xmlsec1 (libxmlsec1, C, independent of signxml) checking the signature."""
    (tmp_path / "receipt.xml").write_bytes(xml)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    return subprocess.run(
        [XMLSEC1, "--verify", "--id-attr:Id", "DLBLai", "--id-attr:Id", "Object",
         "--pubkey-cert-pem", str(tmp_path / "cert.pem"), str(tmp_path / "receipt.xml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


XMLSEC1 = shutil.which("xmlsec1") or ""
needs_xmlsec1 = pytest.mark.skipif(
    not XMLSEC1 and os.environ.get("CI") != "true",
    reason="xmlsec1 (Debian package xmlsec1) is not installed; CI installs it",
)


@needs_xmlsec1
def test_xmlsec1_verifies_the_signature_and_refuses_a_tampered_or_foreign_one(
    signed: bytes, agency_pair: tuple[bytes, bytes], tmp_path: Path
) -> None:
    done = xmlsec1_verify(signed, agency_pair[1], tmp_path)
    assert done.returncode == 0 and "OK" in done.stdout + done.stderr, done.stderr
    tampered = signed.replace(b"<TgTTTBSo>115000<", b"<TgTTTBSo>15000<")
    assert xmlsec1_verify(tampered, agency_pair[1], tmp_path).returncode != 0
    later = signed.replace(b"2026-11-23T02:30:00+00:00</xades", b"2026-11-24T02:30:00+00:00</xades")
    assert later != signed
    assert xmlsec1_verify(later, agency_pair[1], tmp_path).returncode != 0
    assert xmlsec1_verify(signed, make_pair("Another")[1], tmp_path).returncode != 0


def test_the_signing_time_is_signed_and_read_back(agency_pair: tuple[bytes, bytes]) -> None:
    moment = datetime(2026, 11, 23, 2, 30, 5, tzinfo=UTC)
    verified = verify(sign(make_receipt_document(), *agency_pair, signed_at=moment), agency_pair[1])
    assert verified.signed_at == moment


def test_verify_reads_back_exactly_the_signed_receipt(
    signed: bytes, agency_pair: tuple[bytes, bytes]
) -> None:
    verified = verify(signed, agency_pair[1])
    assert verified.document == make_receipt_document()
    assert f"CN={AGENCY}" in verified.signer_subject


def test_a_replacement_receipt_round_trips_with_its_original(
    agency_pair: tuple[bytes, bytes],
) -> None:
    original = ReplacedReceipt(series="26TAB", number=7, issued_on=date(2026, 11, 20))
    doc = make_receipt_document(
        number=8, replaces=original, payer_id_number=None, payer_address=None
    )
    assert verify(sign(doc, *agency_pair), agency_pair[1]).document == doc


def test_lines_without_reduction_and_a_le_phi_receipt_round_trip(
    agency_pair: tuple[bytes, bytes],
) -> None:
    lines = (
        make_receipt_line(fee_code="CT", name="Lệ phí chứng thực", amount=Money(200_000),
                  reduction_legal_basis=None),
        make_receipt_line(fee_code="CT2", quantity=3, normal_amount=Money(30_000), amount=Money(0),
                  reduction_legal_basis="Nghị quyết 12/2025/NQ-HĐND"),
    )  # fmt: skip
    doc = make_receipt_document(kind=ReceiptKind.LE_PHI, lines=lines)
    assert verify(sign(doc, *agency_pair), agency_pair[1]).document == doc


def _set_text(path: str, value: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        element = root.find(path)
        assert element is not None
        element.text = value

    return change


def _remove(path: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        element = root.find(path)
        assert element is not None
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)

    return change


TAMPERING = {
    "amount": _set_text("DLBLai/NDBLai/TToan/TgTTTBSo", "15000"),
    "amount_in_words": _set_text("DLBLai/NDBLai/TToan/TgTTTBChu", "Mười lăm nghìn đồng"),
    "payer_name": _set_text("DLBLai/NDBLai/NNop/Ten", "Nguyễn Văn A"),
    "number": _set_text("DLBLai/TTChung/SBLai", "2"),
    "issue_time": _set_text("DLBLai/TTChung/TGLap", "2026-11-24T02:30:00+00:00"),
    "series": _set_text("DLBLai/TTChung/KHBLai", "26TAC"),
    "line_amount": _set_text("DLBLai/NDBLai/DSPhi/Phi/ThTien", "15000"),
    "line_name": _set_text("DLBLai/NDBLai/DSPhi/Phi/TPhi", "Phí khác"),
    "remove_line": _remove("DLBLai/NDBLai/DSPhi/Phi"),
    "remove_signature": _remove("DSCKS/NThu/{http://www.w3.org/2000/09/xmldsig#}Signature"),
    "signature_value": _set_text(".//{*}SignatureValue", "AAAA"),
    "signing_time": _set_text(f".//{{{XADES_NS}}}SigningTime", "2026-11-24T02:30:00+00:00"),
    "remove_signing_time": _remove(".//{http://www.w3.org/2000/09/xmldsig#}Object"),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_any_change_to_a_signed_receipt_fails_verification(
    signed: bytes, agency_pair: tuple[bytes, bytes], tamper: Callable[[etree._Element], None]
) -> None:
    root = etree.fromstring(signed)
    tamper(root)
    with pytest.raises(ReceiptSignatureError):
        verify(etree.tostring(root), agency_pair[1])


def test_a_receipt_signed_by_another_certificate_is_rejected(
    agency_pair: tuple[bytes, bytes],
) -> None:
    impostor = make_pair()  # same name, different key
    forged = sign(make_receipt_document(), *impostor)
    with pytest.raises(ReceiptSignatureError):
        verify(forged, agency_pair[1])


def test_swapping_the_embedded_certificate_does_not_help(
    signed: bytes, agency_pair: tuple[bytes, bytes]
) -> None:
    impostor_key, impostor_cert = make_pair("Impostor")
    forged = sign(make_receipt_document(payer_name="Nguyễn Văn A"), impostor_key, impostor_cert)
    root = etree.fromstring(forged)
    embedded = root.find(".//{*}X509Certificate")
    genuine = etree.fromstring(signed).find(".//{*}X509Certificate")
    assert embedded is not None
    assert genuine is not None
    embedded.text = genuine.text
    with pytest.raises(ReceiptSignatureError):
        verify(etree.tostring(root), agency_pair[1])


def test_a_second_unsigned_data_block_is_rejected(
    signed: bytes, agency_pair: tuple[bytes, bytes]
) -> None:
    root = etree.fromstring(signed)
    forged = build_xml(make_receipt_document(payer_name="Nguyễn Văn A")).find("DLBLai")
    assert forged is not None
    del forged.attrib["Id"]
    root.insert(0, forged)  # a naive reader would see this one first
    with pytest.raises(ReceiptSignatureError):
        verify(etree.tostring(root), agency_pair[1])


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"<BLai/>",
        b"not xml",
        b'<!DOCTYPE BLai [<!ENTITY x "y">]><BLai>&x;</BLai>',
    ],
)
def test_malformed_input_is_a_signature_error(
    garbage: bytes, agency_pair: tuple[bytes, bytes]
) -> None:
    with pytest.raises(ReceiptSignatureError):
        verify(garbage, agency_pair[1])


def test_a_bad_certificate_is_a_signature_error(signed: bytes) -> None:
    with pytest.raises(ReceiptSignatureError):
        verify(signed, b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_dev_certificate_names_the_agency_and_is_a_signing_certificate() -> None:
    key_pem, cert_pem = generate_dev_pair(AGENCY, days=30, organization="UBND tỉnh Hà Tĩnh")
    now = datetime.now(UTC)
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert cert.public_key() == key.public_key()
    assert cert.subject == cert.issuer  # self-signed
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == AGENCY
    organization = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert organization == "UBND tỉnh Hà Tĩnh"
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert now - timedelta(minutes=6) < cert.not_valid_before_utc <= now
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=30)


def test_a_receipt_stays_verifiable_after_the_certificate_expires() -> None:
    # valid 2025-06-01 .. 2026-07-06: expired by the tests' fixed "today" of late 2026 and after
    pair = make_pair(not_before=datetime(2025, 6, 1, tzinfo=UTC), days=400)
    doc = make_receipt_document(issued_at=datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
    signed = sign(doc, *pair)
    assert verify(signed, pair[1]).document == doc
    with pytest.raises(ReceiptSignatureError, match="expired"):
        verify(signed, pair[1], at=datetime(2026, 7, 7, tzinfo=UTC))


def test_signing_refuses_a_certificate_not_valid_at_the_issue_time() -> None:
    pair = make_pair(not_before=datetime(2025, 6, 1, tzinfo=UTC), days=400)
    with pytest.raises(ReceiptSignatureError, match="not valid at 2026-11-23"):
        sign(make_receipt_document(), *pair)


def test_the_issue_time_must_be_readable_before_the_signature_is_checked(
    signed: bytes, agency_pair: tuple[bytes, bytes]
) -> None:
    root = etree.fromstring(signed)
    _set_text("DLBLai/TTChung/TGLap", "2026-11-23T02:30:00")(root)  # no zone
    with pytest.raises(ReceiptSignatureError, match="time zone"):
        verify(etree.tostring(root), agency_pair[1])


def test_signed_data_moved_aside_for_a_forged_copy_is_rejected(
    signed: bytes, agency_pair: tuple[bytes, bytes]
) -> None:
    root = etree.fromstring(signed)
    genuine = root.find("DLBLai")
    forged = build_xml(make_receipt_document(payer_name="Nguyễn Văn A")).find("DLBLai")
    assert genuine is not None
    assert forged is not None
    del forged.attrib["Id"]  # the signature still finds the genuine data by its Id
    etree.SubElement(root, "TTKhac").append(genuine)
    root.insert(0, forged)
    with pytest.raises(ReceiptSignatureError, match="not the signed data"):
        verify(etree.tostring(root), agency_pair[1])


@pytest.mark.parametrize("issue_time", ["", "yesterday"])
def test_an_unreadable_issue_time_is_a_signature_error(
    signed: bytes, agency_pair: tuple[bytes, bytes], issue_time: str
) -> None:
    root = etree.fromstring(signed)
    _set_text("DLBLai/TTChung/TGLap", issue_time)(root)
    with pytest.raises(ReceiptSignatureError, match="issue time"):
        verify(etree.tostring(root), agency_pair[1])
