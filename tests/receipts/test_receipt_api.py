"""Receipts over HTTP: read, XML, PDF, corrections, the public verification page, agencies."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from pypdf import PdfReader
from receipts_testkit import STP, Kit, kit_fixture, receipt_settings, signing_files_fixture  # noqa: F401 - fixtures
from signxml.exceptions import InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier
from sqlalchemy import select

from payments.config import Settings
from payments.outbox.models import OutboxEvent
from payments.payment_requests.services import AdditionalLine, Payer, create_additional_request
from receipts.services import AMOUNT_CORRECTED_TOPIC


@pytest.fixture
def settings(settings: Settings, signing_files: tuple[Path, Path]) -> Settings:
    """The shared settings, with a receipt signing pair (the live server uses them too)."""
    return receipt_settings(settings, signing_files)


@pytest.fixture
def paid(kit: Kit) -> dict[str, Any]:
    request = kit.create("1.001234", payer=Payer("Nguyễn Thị Hồng Nhung", "040201001234"))
    kit.pay(request)
    kit.drain()
    return request


def receipts_api(api: Callable[..., requests.Session], **kw: Any) -> requests.Session:
    return api(scopes=["receipts:write"], **kw)


def first_receipt(s: requests.Session, request_id: str) -> dict[str, Any]:
    resp = s.get(f"{s.base_url}/api/v1/receipts", params={"payment_request_id": request_id})  # type: ignore[attr-defined]
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items[0]


def test_a_receipt_reads_back_with_every_documented_field(api: Any, paid: dict[str, Any]) -> None:
    s = receipts_api(api)
    listed = first_receipt(s, paid["id"])
    resp = s.get(f"{s.base_url}/api/v1/receipts/{listed['id']}")
    assert resp.status_code == 200
    body = resp.json()
    for name in [
        "id",
        "payment_request_id",
        "agency_code",
        "template",
        "series",
        "number",
        "kind",
        "issued_at",
        "lines",
        "total_amount",
        "amount_in_words",
        "status",
        "replaces",
        "tax_authority_status",
    ]:
        assert name in body, name
    assert (body["template"], body["series"], body["number"], body["kind"]) == (
        "EBL01",
        "26TAB",
        1,
        "phi",
    )
    assert body["amount_in_words"] == "Hai trăm nghìn đồng"
    assert body["replaces"] is None and body["status"] == "issued"
    assert body["lines"][0]["legal_basis"].startswith("Thông tư 16/2025/TT-BTC")


def test_the_stored_xml_verifies_with_signxml_and_tampering_fails(
    api: Any, paid: dict[str, Any], signing_files: tuple[Path, Path]
) -> None:
    s = receipts_api(api)
    rid = first_receipt(s, paid["id"])["id"]
    resp = s.get(f"{s.base_url}/api/v1/receipts/{rid}.xml")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/xml")
    cert = signing_files[1].read_bytes()
    two = SignatureConfiguration(expect_references=2)  # the data and the signing time
    results = XMLVerifier().verify(resp.content, x509_cert=cert.decode(), expect_config=two)
    assert isinstance(results, list)
    signed = results[0].signed_xml
    assert signed.tag == "DLBLai"
    assert signed.findtext("TTChung/KHBLai") == "26TAB"
    for path, forged in [
        ("DLBLai/NDBLai/TToan/TgTTTBSo", "100000"),
        ("DLBLai/NDBLai/NNop/Ten", "Người Khác"),
        ("DLBLai/TTChung/SBLai", "2"),
    ]:
        root = etree.fromstring(resp.content)
        root.find(path).text = forged  # type: ignore[union-attr]
        with pytest.raises(InvalidSignature):
            XMLVerifier().verify(etree.tostring(root), x509_cert=cert.decode(), expect_config=two)


def test_the_pdf_shows_diacritics_and_the_amount_in_words(api: Any, paid: dict[str, Any]) -> None:
    s = receipts_api(api)
    rid = first_receipt(s, paid["id"])["id"]
    resp = s.get(f"{s.base_url}/api/v1/receipts/{rid}.pdf")
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.content)).pages)
    assert "BIÊN LAI THU PHÍ" in text
    assert "Sở Tư pháp tỉnh Hà Tĩnh" in text
    assert "Nguyễn Thị Hồng Nhung" in text
    assert "Hai trăm nghìn đồng" in text
    assert "26TAB" in text and "00000001" in text


def test_the_public_page_confirms_authenticity_and_masks_the_id_number(
    api: Any, paid: dict[str, Any], live_server: Any
) -> None:
    s = receipts_api(api)
    receipt = s.get(f"{s.base_url}/api/v1/receipts/{first_receipt(s, paid['id'])['id']}").json()
    token = receipt["verification_url"].rsplit("/", 1)[1]
    page = requests.get(f"{live_server.url}/r/{token}", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'id="authentic"' in page.text
    assert "Biên lai hợp lệ" in page.text
    assert "********1234" in page.text
    assert "040201001234" not in page.text
    assert requests.get(f"{live_server.url}/r/not-a-token", timeout=10).status_code == 404


def test_a_replacement_takes_a_new_number_and_marks_the_original(
    api: Any, paid: dict[str, Any], live_server: Any
) -> None:
    s = receipts_api(api)
    original = first_receipt(s, paid["id"])
    resp = s.post(
        f"{s.base_url}/api/v1/receipts/{original['id']}/replace",
        json={"payer_name": "Nguyễn Thị Hồng Nhung (sửa)", "reason": "Sai tên người nộp"},
    )
    assert resp.status_code == 201, resp.text
    replacement = resp.json()
    assert (replacement["series"], replacement["number"]) == ("26TAB", 2)
    assert replacement["replaces"] == original["id"]
    assert replacement["payer"]["name"] == "Nguyễn Thị Hồng Nhung (sửa)"
    assert replacement["total_amount"] == original["total_amount"]
    again = s.get(f"{s.base_url}/api/v1/receipts/{original['id']}").json()
    assert again["status"] == "replaced" and again["replaced_by"] == replacement["id"]
    xml = s.get(f"{s.base_url}/api/v1/receipts/{replacement['id']}.xml").content
    assert b"<KHBLLQuan>26TAB</KHBLLQuan><SBLLQuan>1</SBLLQuan>" in xml
    twice = s.post(
        f"{s.base_url}/api/v1/receipts/{original['id']}/replace",
        json={"payer_name": "X", "reason": "lần hai"},
    )
    assert twice.status_code == 409 and twice.json()["code"] == "receipt-already-replaced"
    token = again["verification_url"].rsplit("/", 1)[1]
    page = requests.get(f"{live_server.url}/r/{token}", timeout=10).text
    assert 'id="replaced"' in page and "00000002" in page


def test_an_error_notice_keeps_the_number(api: Any, paid: dict[str, Any]) -> None:
    s = receipts_api(api)
    original = first_receipt(s, paid["id"])
    resp = s.post(
        f"{s.base_url}/api/v1/receipts/{original['id']}/error-notices",
        json={"payer_address": "Phường Bắc Hà, Hà Tĩnh", "reason": "Sai địa chỉ"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["form"] == "04/SS-CTĐT"
    body = s.get(f"{s.base_url}/api/v1/receipts/{original['id']}").json()
    assert body["status"] == "issued" and body["number"] == 1
    assert [n["payer_address"] for n in body["error_notices"]] == ["Phường Bắc Hà, Hà Tĩnh"]
    empty = s.post(
        f"{s.base_url}/api/v1/receipts/{original['id']}/error-notices", json={"reason": "???"}
    )
    assert empty.status_code == 422


def test_scopes_and_agencies_limit_what_a_client_sees(api: Any, paid: dict[str, Any]) -> None:
    owner = receipts_api(api)
    rid = first_receipt(owner, paid["id"])["id"]
    other = api(scopes=["receipts:write"], agencies=["000.00.30.H40"])
    assert other.get(f"{other.base_url}/api/v1/receipts/{rid}").status_code == 404
    assert other.get(f"{other.base_url}/api/v1/receipts/{rid}.xml").status_code == 404
    listed = other.get(
        f"{other.base_url}/api/v1/receipts", params={"payment_request_id": paid["id"]}
    )
    assert listed.json()["items"] == []
    reader = api(scopes=["receipts:read"], agencies=[STP])
    assert reader.get(f"{reader.base_url}/api/v1/receipts/{rid}").status_code == 200
    assert (
        reader.post(
            f"{reader.base_url}/api/v1/receipts/{rid}/replace",
            json={"payer_name": "X", "reason": "abc"},
        ).status_code
        == 403
    )
    payments_only = api(scopes=["payments:write"])
    assert payments_only.get(f"{payments_only.base_url}/api/v1/receipts/{rid}").status_code == 403


def test_the_request_json_over_http_lists_receipts(api: Any, paid: dict[str, Any]) -> None:
    s = api(scopes=["payments:read"])
    body = s.get(f"{s.base_url}/api/v1/payment-requests/{paid['id']}").json()
    assert [(r["series"], r["number"], r["kind"]) for r in body["receipts"]] == [
        ("26TAB", 1, "phi")
    ]


def test_the_openapi_document_lists_the_receipt_operations(live_server: Any) -> None:
    spec = requests.get(f"{live_server.url}/api/openapi.json", timeout=10).json()
    assert "/api/v1/receipts/{receipt_id}/replace" in spec["paths"]
    assert "/api/v1/receipts/{receipt_id}.pdf" in spec["paths"]


def amount_corrections(kit: Kit) -> list[dict[str, Any]]:
    with kit.container.uow() as uow:
        events = uow.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == AMOUNT_CORRECTED_TOPIC)
            .order_by(OutboxEvent.id)
        )
        return [dict(e.payload) for e in events]


@pytest.mark.parametrize(
    ("lines", "kind", "amount", "total"),
    [
        pytest.param(
            [{"fee_code": "LLTP", "amount": 100_000}], "refund_due", 100_000, 100_000,
            id="a martyr's relative charged 200,000 instead of 100,000: 100,000 refund due",
        ),
        pytest.param(
            [{"fee_code": "LLTP", "quantity": 3, "amount": 205_000}],
            "additional_payment_due", 5_000, 205_000,
            id="three extracts charged as one: 5,000 more due",
        ),
    ],
)  # fmt: skip
def test_an_amount_replacement_makes_the_money_consequence_explicit(
    api: Any,
    paid: dict[str, Any],
    kit: Kit,
    lines: list[dict[str, Any]],
    kind: str,
    amount: int,
    total: int,
) -> None:
    s = receipts_api(api)
    original = first_receipt(s, paid["id"])
    assert original["total_amount"] == 200_000
    resp = s.post(
        f"{s.base_url}/api/v1/receipts/{original['id']}/replace",
        json={"lines": lines, "reason": "Sai số tiền"},
    )
    assert resp.status_code == 201, resp.text
    replacement = resp.json()
    assert (replacement["number"], replacement["total_amount"]) == (2, total)
    assert replacement["lines"][0]["quantity"] == lines[0].get("quantity", 1)
    consequence = replacement["money_consequence"]
    assert {k: consequence[k] for k in ("kind", "amount", "original_total", "corrected_total")} == {
        "kind": kind,
        "amount": amount,
        "original_total": 200_000,
        "corrected_total": total,
    }
    (event,) = amount_corrections(kit)
    assert (event["payment_request_id"], event["kind"], event["amount"]) == (
        paid["id"],
        kind,
        amount,
    )
    assert event["money_consequence"] == consequence
    again = s.get(f"{s.base_url}/api/v1/receipts/{original['id']}").json()
    assert again["status"] == "replaced" and again["replaced_by"] == replacement["id"]
    # replaying the same call is refused: the money consequence happens once
    replay = s.post(
        f"{s.base_url}/api/v1/receipts/{original['id']}/replace",
        json={"lines": lines, "reason": "Sai số tiền"},
    )
    assert replay.status_code == 409, replay.text
    payments = api(scopes=["payments:read", "payments:write"])
    requests_of = payments.get(
        f"{s.base_url}/api/v1/payment-requests", params={"dossier_code": paid["dossier_code"]}
    ).json()["items"]
    before = payments.get(f"{s.base_url}/api/v1/payment-requests/{paid['id']}").json()
    if kind == "refund_due":
        assert consequence["payment_request_id"] == paid["id"]
        assert [r["id"] for r in requests_of] == [paid["id"]]
        assert "refund_due" in before["flags"] and before["status"] == "paid"
        return
    # one new pending request for the difference, same dossier, payer and account
    (extra,) = [r for r in requests_of if r["id"] != paid["id"]]
    assert consequence["payment_request_id"] == extra["id"] != paid["id"]
    assert "refund_due" not in before["flags"]
    added = payments.get(f"{s.base_url}/api/v1/payment-requests/{extra['id']}").json()
    assert (added["status"], added["total_amount"], added["procedure_code"]) == (
        "pending",
        amount,
        paid["procedure_code"],
    )
    assert added["reference"] != paid["reference"] and added["vietqr"]["payload"]
    assert requests.get(added["checkout_url"], timeout=10).status_code == 200
    assert added["payer"]["name"] == paid["payer"]["name"]
    assert added["beneficiary"]["account_number"] == paid["beneficiary"]["account_number"]
    assert [(x["fee_code"], x["amount"]) for x in added["lines"]] == [("LLTP", amount)]
    # the same replacement gives back the same request
    with kit.container.uow() as uow:
        same = create_additional_request(
            uow.session,
            paid["id"],
            (AdditionalLine("LLTP", 1, amount),),
            key=f"receipt-replacement:{replacement['id']}",
            settings=kit.settings,
        )
        assert str(same.id) == extra["id"]
    # it is paid and receipted like any request: the next number of the series
    kit.pay(added)
    kit.drain()
    third = first_receipt(s, extra["id"])
    assert (third["number"], third["total_amount"]) == (3, amount)


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        pytest.param([{"fee_code": "NOPE", "amount": 1}], "unknown-fee", id="an unknown fee"),
        pytest.param([{"fee_code": "LLTP", "amount": -1}], "validation-failed", id="negative"),
    ],
)
def test_a_replacement_with_a_bad_line_is_refused_and_keeps_the_original(
    api: Any, paid: dict[str, Any], lines: list[dict[str, Any]], code: str
) -> None:
    s = receipts_api(api)
    original = first_receipt(s, paid["id"])
    resp = s.post(
        f"{s.base_url}/api/v1/receipts/{original['id']}/replace",
        json={"lines": lines, "reason": "Sai số tiền"},
    )
    assert resp.status_code == 422 and resp.json()["code"] == code, resp.text
    assert s.get(f"{s.base_url}/api/v1/receipts/{original['id']}").json()["status"] == "issued"
