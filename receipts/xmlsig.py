"""The e-receipt as signed XML: business data plus the agency's XMLDSig signature.

Element names follow the Vietnamese e-invoice XML of Thông tư 78/2021/TT-BTC and Quyết định
1450/QĐ-TCT (``HDon``/``DLHDon``/``TTChung``/``NDHDon``/``DSCKS``), with "HĐ" (hoá đơn, invoice)
read as "BL" (biên lai, receipt)::

    BLai                        biên lai: the root
      DLBLai Id="DLBLai"        dữ liệu biên lai: the business data, the part that is signed
        TTChung                 thông tin chung: general information
          PBan                  phiên bản: version of this XML layout
          THDon                 tên: the printed title ("Biên lai thu phí")
          KHMSBLai              ký hiệu mẫu số: template symbol, EBL01
          KHBLai                ký hiệu: series, e.g. 26TAB
          SBLai                 số: number (integer, printed 8 digits)
          NLap                  ngày lập: issue date, Vietnamese calendar, YYYY-MM-DD
          TGLap                 thời gian lập: issue instant, ISO 8601 UTC
          LPhi                  loại: Phí | Lệ phí (receipts.vocabulary)
          DVTTe                 đơn vị tiền tệ: VND
          DCTCuu                địa chỉ tra cứu: verification URL
          TTBLLQuan             thông tin biên lai liên quan: only on a replacement (thay thế)
            TCBLai              tính chất: 1 = replaces the receipt below
            KHMSBLLQuan, KHBLLQuan, SBLLQuan, NLBLLQuan   template, series, number, date of it
        NDBLai                  nội dung biên lai: content
          NThu                  người thu: the agency — Ten, MST (tax code), MDVi (agency code)
          NNop                  người nộp: the payer — Ten, CCCDan (id number)?, DChi (address)?
          TTHSo                 hồ sơ: MHSo (dossier), MTTHC (procedure code), TTTHC (its name)
          TTTToan               thanh toán: HTTToan (method in words, receipts.vocabulary),
                                MTChieu (payment reference)
          DSPhi                 danh sách phí: one Phi per fee
            Phi                 STT, MPhi (code), TPhi (name), SLuong, STGoc (normal amount),
                                STGiam (reduction), ThTien (payable), CCGiam (reduction basis)?,
                                CCPLy (legal basis of the fee)
          TToan                 totals: TgTGoc, TgTGiam, TgTTTBSo (figures), TgTTTBChu (words)
      DSCKS                     danh sách chữ ký số: signatures
        NThu                    the agency's ds:Signature Id="NThuSig" (RSA-SHA256, certificate
                                embedded) with two references: ``#DLBLai`` and ``#prop``, a
                                ds:Object holding a SignatureProperty with xades:SigningTime,
                                as Vietnamese e-invoices carry their signing time (QĐ 1450/QĐ-TCT)

The signature sits beside the data it signs, not around it (XMLDSig "detached" within the same
document), so no enveloped transform is needed and any XMLDSig verifier checks it, e.g.
``xmlsec1 --verify --id-attr:Id DLBLai --id-attr:Id Object --pubkey-cert-pem cert.pem r.xml``.

Optional elements (``?``) are left out when empty, as in TT78.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from payments.money import Money
from receipts.document import (
    ReceiptContentError,
    ReceiptDocument,
    ReceiptKind,
    ReceiptLine,
    ReplacedReceipt,
)
from receipts.vocabulary import channel_from_word, channel_word, kind_from_word, kind_word

LAYOUT_VERSION = "1.0.0"
DATA_ID = "DLBLai"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
SIGNATURE_ID = "NThuSig"
TITLES = {ReceiptKind.PHI: "Biên lai thu phí", ReceiptKind.LE_PHI: "Biên lai thu lệ phí"}

# only what this service signs with is accepted back: no SHA-1, one reference, fixed place
_EXPECTED = SignatureConfiguration(
    location="./DSCKS/NThu/",
    expect_references=2,  # the receipt data and the signing time
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


class ReceiptSignatureError(Exception):
    """The XML is not a receipt signed by the expected certificate, or it was altered."""

    code = "receipt-signature-invalid"


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """A receipt read back from XML whose signature checked out; only signed data is used."""

    document: ReceiptDocument
    signer_subject: str
    signed_at: datetime  # xades:SigningTime, covered by the signature


def build_xml(doc: ReceiptDocument) -> etree._Element:
    """The unsigned receipt XML (``BLai``) with an empty ``DSCKS/NThu`` for the signature."""
    root = etree.Element("BLai")
    data = etree.SubElement(root, DATA_ID, Id=DATA_ID)
    data.append(_general(doc))
    content = etree.SubElement(data, "NDBLai")
    for part in (_agency(doc), _payer(doc), _dossier(doc), _payment(doc), _lines(doc)):
        content.append(part)
    content.append(_totals(doc))
    etree.SubElement(etree.SubElement(root, "DSCKS"), "NThu")
    return root


def sign(
    doc: ReceiptDocument,
    key_pem: bytes | rsa.RSAPrivateKey,
    cert_pem: bytes,
    *,
    signed_at: datetime | None = None,
) -> bytes:
    """The receipt as signed XML bytes (UTF-8), signature enveloped in ``DSCKS/NThu``.

    ``key_pem`` may be an already loaded key: loading (and validating) an RSA key from PEM costs
    a third of a second, so a service issuing many receipts loads it once.

    ``signed_at`` (default: the issue instant) goes into the signature as xades:SigningTime.
    Raises ``ReceiptSignatureError`` when the certificate is not valid at ``doc.issued_at``.
    """
    _check_valid_at(x509.load_pem_x509_certificate(cert_pem), doc.issued_at)
    root = build_xml(doc)
    sign_into(root, DATA_ID, _child(_child(root, "DSCKS"), "NThu"), key_pem, cert_pem,
              signed_at or doc.issued_at)  # fmt: skip
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def sign_into(
    root: etree._Element,
    data_id: str,
    slot: etree._Element,
    key: bytes | rsa.RSAPrivateKey,
    cert_pem: bytes,
    signed_at: datetime,
) -> None:
    """Sign the element ``Id=data_id`` of ``root`` and put the signature (with its signed
    xades:SigningTime) into ``slot``: the receipt and the 01/TH-BLĐT summary sign alike."""
    signing_time = etree.Element(f"{{{XADES_NS}}}SigningTime", nsmap={"xades": XADES_NS})
    signing_time.text = signed_at.astimezone(UTC).isoformat(timespec="seconds")
    signing_time.set("Target", f"#{SIGNATURE_ID}")
    signing_time.set("Id", "SigningTime")
    signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
    )
    signature = signer.sign(
        root,
        key=key,
        cert=cert_pem.decode(),
        reference_uri=[f"#{data_id}"],
        signature_properties=[signing_time],
    )
    signature.set("Id", SIGNATURE_ID)
    slot.append(signature)


def verify(xml_bytes: bytes, cert_pem: bytes, *, at: datetime | None = None) -> VerifiedReceipt:
    """Check the agency's signature against ``cert_pem`` and read the receipt it covers.

    The certificate must have been valid at ``at``, by default the receipt's own (signed) issue
    time, so a receipt stays verifiable after the agency's certificate expires. Raises
    ``ReceiptSignatureError`` for any alteration, another signer, or malformed input.
    """
    visible = _visible_data(xml_bytes)
    config = replace(_EXPECTED, verification_time=at or _claimed_issue_time(visible))
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        result = XMLVerifier().verify(xml_bytes, x509_cert=cert, expect_config=config)
    except (SignXMLException, ValueError) as exc:
        raise ReceiptSignatureError(f"receipt signature is not valid: {exc}") from exc
    results = result if isinstance(result, list) else [result]
    data = [r.signed_xml for r in results if getattr(r.signed_xml, "tag", None) == DATA_ID]
    if len(data) != 1:
        raise ReceiptSignatureError(f"the signature does not cover the {DATA_ID} element")
    signed = _read_checked(data[0])
    # the visible data must be the signed data, so a reader of the file sees what was signed
    if _read_checked(visible) != signed:
        raise ReceiptSignatureError("the receipt data a reader sees is not the signed data")
    return VerifiedReceipt(
        document=signed,
        signer_subject=cert.subject.rfc4514_string(),
        signed_at=_signing_time([r.signed_xml for r in results]),
    )


def _signing_time(signed: list[Any]) -> datetime:
    """The xades:SigningTime among the signed references (never from unsigned text)."""
    for element in signed:
        if not isinstance(element, etree._Element):
            continue
        found = element.find(f".//{{{XADES_NS}}}SigningTime")
        if found is not None and found.text:
            try:
                return datetime.fromisoformat(found.text)
            except ValueError as exc:
                raise ReceiptSignatureError(f"unreadable signing time: {exc}") from exc
    raise ReceiptSignatureError("the signature carries no signed SigningTime")


def read_document(data: etree._Element) -> ReceiptDocument:
    """A ``ReceiptDocument`` from a ``DLBLai`` element (no signature check: see ``verify``)."""
    general, content = _child(data, "TTChung"), _child(data, "NDBLai")
    agency, payer = _child(content, "NThu"), _child(content, "NNop")
    dossier, payment = _child(content, "TTHSo"), _child(content, "TTTToan")
    totals = _child(content, "TToan")
    return ReceiptDocument(
        agency_code=_text(agency, "MDVi"),
        agency_name=_text(agency, "Ten"),
        agency_tax_code=_text(agency, "MST"),
        template=_text(general, "KHMSBLai"),
        series=_text(general, "KHBLai"),
        number=int(_text(general, "SBLai")),
        issued_at=datetime.fromisoformat(_text(general, "TGLap")),
        kind=kind_from_word(_text(general, "LPhi")),
        payer_name=_text(payer, "Ten"),
        payer_id_number=_optional(payer, "CCCDan"),
        payer_address=_optional(payer, "DChi"),
        dossier_code=_text(dossier, "MHSo"),
        procedure_code=_text(dossier, "MTTHC"),
        procedure_name=_text(dossier, "TTTHC"),
        payment_channel=channel_from_word(_text(payment, "HTTToan")),
        payment_reference=_text(payment, "MTChieu"),
        lines=tuple(_read_line(fee) for fee in _child(content, "DSPhi").iterfind("Phi")),
        total_amount=Money(int(_text(totals, "TgTTTBSo"))),
        amount_in_words=_text(totals, "TgTTTBChu"),
        replaces=_read_replaces(general.find("TTBLLQuan")),
        verification_url=_text(general, "DCTCuu"),
    )


# --- building -------------------------------------------------------------------------------


def _element(tag: str, *fields: tuple[str, object]) -> etree._Element:
    """``<tag>`` with one child per field; empty values are left out (optional elements)."""
    parent = etree.Element(tag)
    for name, value in fields:
        if value is not None and value != "":
            etree.SubElement(parent, name).text = str(value)
    return parent


def _general(doc: ReceiptDocument) -> etree._Element:
    general = _element(
        "TTChung",
        ("PBan", LAYOUT_VERSION),
        ("THDon", TITLES[doc.kind]),
        ("KHMSBLai", doc.template),
        ("KHBLai", doc.series),
        ("SBLai", doc.number),
        ("NLap", doc.issued_on.isoformat()),
        ("TGLap", doc.issued_at.isoformat()),
        ("LPhi", kind_word(doc.kind)),
        ("DVTTe", "VND"),
        ("DCTCuu", doc.verification_url),
    )
    if doc.replaces is not None:
        general.append(_replaces(doc.replaces))
    return general


def _replaces(original: ReplacedReceipt) -> etree._Element:
    return _element(
        "TTBLLQuan",
        ("TCBLai", 1),
        ("KHMSBLLQuan", original.template),
        ("KHBLLQuan", original.series),
        ("SBLLQuan", original.number),
        ("NLBLLQuan", original.issued_on.isoformat()),
    )


def _agency(doc: ReceiptDocument) -> etree._Element:
    return _element(
        "NThu", ("Ten", doc.agency_name), ("MST", doc.agency_tax_code), ("MDVi", doc.agency_code)
    )


def _payer(doc: ReceiptDocument) -> etree._Element:
    return _element(
        "NNop",
        ("Ten", doc.payer_name),
        ("CCCDan", doc.payer_id_number),
        ("DChi", doc.payer_address),
    )


def _dossier(doc: ReceiptDocument) -> etree._Element:
    return _element(
        "TTHSo",
        ("MHSo", doc.dossier_code),
        ("MTTHC", doc.procedure_code),
        ("TTTHC", doc.procedure_name),
    )


def _payment(doc: ReceiptDocument) -> etree._Element:
    return _element(
        "TTTToan",
        ("HTTToan", channel_word(doc.payment_channel)),
        ("MTChieu", doc.payment_reference),
    )


def _lines(doc: ReceiptDocument) -> etree._Element:
    fees = etree.Element("DSPhi")
    for index, line in enumerate(doc.lines, start=1):
        fees.append(
            _element(
                "Phi",
                ("STT", index),
                ("MPhi", line.fee_code),
                ("TPhi", line.name),
                ("SLuong", line.quantity),
                ("STGoc", line.normal_amount.amount),
                ("STGiam", line.reduction.amount),
                ("ThTien", line.amount.amount),
                ("CCGiam", line.reduction_legal_basis),
                ("CCPLy", line.legal_basis),
            )
        )
    return fees


def _totals(doc: ReceiptDocument) -> etree._Element:
    return _element(
        "TToan",
        ("TgTGoc", doc.total_normal_amount.amount),
        ("TgTGiam", doc.total_reduction.amount),
        ("TgTTTBSo", doc.total_amount.amount),
        ("TgTTTBChu", doc.amount_in_words),
    )


# --- reading --------------------------------------------------------------------------------


def _read_checked(data: object) -> ReceiptDocument:
    if not isinstance(data, etree._Element) or data.tag != DATA_ID:
        raise ReceiptSignatureError(f"the signature does not cover the {DATA_ID} element")
    try:
        return read_document(data)
    except (ReceiptContentError, ValueError, TypeError) as exc:
        raise ReceiptSignatureError(f"the signed receipt data is malformed: {exc}") from exc


def _visible_data(xml_bytes: bytes) -> etree._Element:
    """The one ``DLBLai`` a reader of the file sees (not yet trusted)."""
    # no entity expansion, no network: this runs before signxml's own DTD refusal
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(xml_bytes, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ReceiptSignatureError(f"not an XML receipt: {exc}") from exc
    found = root.findall(DATA_ID) if root.tag == "BLai" else []
    if len(found) != 1:
        raise ReceiptSignatureError(f"a receipt has exactly one <{DATA_ID}> under <BLai>")
    return found[0]


def _claimed_issue_time(data: etree._Element) -> datetime:
    try:
        claimed = datetime.fromisoformat(_text(_child(data, "TTChung"), "TGLap"))
    except ValueError as exc:
        raise ReceiptSignatureError(f"no readable issue time: {exc}") from exc
    if claimed.tzinfo is None:
        raise ReceiptSignatureError("the issue time has no time zone")
    return claimed


def _check_valid_at(cert: x509.Certificate, moment: datetime) -> None:
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise ReceiptSignatureError(
            f"the signing certificate is not valid at {moment.isoformat()} "
            f"({cert.not_valid_before_utc.isoformat()} .. {cert.not_valid_after_utc.isoformat()})"
        )


def _read_line(fee: etree._Element) -> ReceiptLine:
    return ReceiptLine(
        fee_code=_text(fee, "MPhi"),
        name=_text(fee, "TPhi"),
        quantity=int(_text(fee, "SLuong")),
        normal_amount=Money(int(_text(fee, "STGoc"))),
        amount=Money(int(_text(fee, "ThTien"))),
        reduction_legal_basis=_optional(fee, "CCGiam"),
        legal_basis=_text(fee, "CCPLy"),
    )


def _read_replaces(related: etree._Element | None) -> ReplacedReceipt | None:
    if related is None:
        return None
    return ReplacedReceipt(
        template=_text(related, "KHMSBLLQuan"),
        series=_text(related, "KHBLLQuan"),
        number=int(_text(related, "SBLLQuan")),
        issued_on=date.fromisoformat(_text(related, "NLBLLQuan")),
    )


def _child(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.find(tag)
    if found is None:
        raise ValueError(f"missing <{tag}> in <{parent.tag}>")
    return found


def _text(parent: etree._Element, tag: str) -> str:
    return _child(parent, tag).text or ""


def _optional(parent: etree._Element, tag: str) -> str | None:
    found = parent.find(tag)
    return None if found is None else found.text
