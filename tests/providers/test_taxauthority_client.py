from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.fakes.server import CallbackEndpoint
from providers.fakes.taxauthority import FakeTaxAuthority
from providers.taxauthority import TaxAuthorityClient, summary_problems


def make_summary(**overrides: Any) -> dict[str, Any]:
    receipts = [
        {
            "number": 41,
            "kind": "phi",
            "issued_at": "2026-11-23T02:15:00Z",
            "payer_name": "Nguyễn Văn A",
            "amount": 200_000,
            "status": "issued",
            "replaces": None,
        },
        {
            "number": 42,
            "kind": "le_phi",
            "issued_at": "2026-11-23T02:15:00Z",
            "payer_name": "Nguyễn Văn A",
            "amount": 100_000,
            "status": "issued",
            "replaces": None,
        },
        {
            "number": 43,
            "kind": "phi",
            "issued_at": "2026-11-23T03:00:00Z",
            "payer_name": "Trần Thị B",
            "amount": 200_000,
            "status": "issued",
            "replaces": None,
        },
    ]
    summary: dict[str, Any] = {
        "agency_tax_code": "3000123456",
        "agency_code": "000.00.12.H40",
        "date": "2026-11-23",
        "template": "EBL01",
        "series": "26TAB",
        "from_number": 41,
        "to_number": 43,
        "count": 3,
        "totals": {"phi": 400_000, "le_phi": 100_000, "total": 500_000},
        "receipts": receipts,
    }
    return {**summary, **overrides}


@pytest.fixture
def tax() -> Iterator[FakeTaxAuthority]:
    with FakeTaxAuthority() as server:
        yield server


@pytest.fixture
def client(tax: FakeTaxAuthority) -> Iterator[TaxAuthorityClient]:
    client = TaxAuthorityClient(tax.url, timeout=(1, 2), sleep=lambda seconds: None)
    yield client
    client.session.close()


def test_a_sound_summary_is_accepted_with_the_authority_id(
    tax: FakeTaxAuthority, client: TaxAuthorityClient
) -> None:
    result = client.submit_summary(make_summary(), submission_id="outbox-1")

    assert (result.accepted, result.id, result.status_code) == (True, "CQT-000001", 200)
    assert tax.accepted["outbox-1"].path == "/api/v1/summaries"


def test_submitting_again_with_the_same_id_is_harmless(
    tax: FakeTaxAuthority, client: TaxAuthorityClient
) -> None:
    first = client.submit_summary(make_summary(), submission_id="outbox-1")
    second = client.submit_summary(make_summary(), submission_id="outbox-1")

    assert first.id == second.id
    assert len(tax.accepted) == 1


def test_a_brief_outage_is_ridden_out_by_retrying_the_same_submission(
    tax: FakeTaxAuthority, client: TaxAuthorityClient
) -> None:
    tax.fail_next = 2

    result = client.submit_summary(make_summary(), submission_id="outbox-2")

    assert result.accepted
    assert [r.headers["X-Submission-Id"] for r in tax.requests] == ["outbox-2"] * 3


def test_a_long_outage_gives_a_retryable_failure_for_the_outbox(
    tax: FakeTaxAuthority, client: TaxAuthorityClient
) -> None:
    tax.down = True

    result = client.submit_summary(make_summary(), submission_id="outbox-3")

    assert (result.accepted, result.retryable, result.status_code) == (False, True, 503)
    tax.down = False
    assert client.submit_summary(make_summary(), submission_id="outbox-3").accepted


def test_an_unreachable_authority_gives_a_retryable_failure_without_raising(
    tax: FakeTaxAuthority,
) -> None:
    url = tax.url
    tax.stop()
    client = TaxAuthorityClient(url, timeout=(0.5, 0.5), sleep=lambda seconds: None, attempts=2)

    result = client.submit_summary(make_summary(), submission_id="outbox-4")

    client.session.close()
    assert (result.accepted, result.retryable, result.status_code) == (False, True, None)
    assert result.error == "ConnectionError"


def test_an_inconsistent_summary_is_refused_for_good(
    tax: FakeTaxAuthority, client: TaxAuthorityClient
) -> None:
    result = client.submit_summary(make_summary(count=2), submission_id="outbox-5")

    assert (result.accepted, result.retryable, result.status_code) == (False, False, 422)
    assert "count does not match receipts" in (result.error or "")
    assert len(tax.requests) == 1


def test_receipt_xml_is_accepted_and_idempotent(
    tax: FakeTaxAuthority, client: TaxAuthorityClient
) -> None:
    xml = b'<?xml version="1.0" encoding="UTF-8"?><BienLai><SoBL>41</SoBL></BienLai>'

    first = client.submit_receipt_xml(xml, submission_id="outbox-6")
    second = client.submit_receipt_xml(xml, submission_id="outbox-6")

    assert first.accepted
    assert (second.accepted, second.id) == (True, first.id)
    assert tax.accepted["outbox-6"].body == xml
    assert tax.requests[0].headers["Content-Type"].startswith("application/xml")


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"to_number": 44}, "receipt numbers are not continuous from_number..to_number"),
        (
            {"totals": {"phi": 400_000, "le_phi": 0, "total": 400_000}},
            "totals.le_phi does not match receipts",
        ),
        (
            {"totals": {"phi": 400_000, "le_phi": 100_000, "total": 1}},
            "totals.total is not phi + le_phi",
        ),
        ({"series": ""}, "series is required"),
        ({"receipts": [{"number": "x"}]}, "every receipt needs an integer number"),
        ({"receipts": None}, "receipts and totals are required"),
    ],
)
def test_summary_consistency_rules(overrides: dict[str, Any], problem: str | None) -> None:
    problems = summary_problems(make_summary(**overrides))

    if problem is None:
        assert problems == []
    else:
        assert problem in problems


def test_a_request_without_a_submission_id_is_refused_by_the_fake(tax: FakeTaxAuthority) -> None:
    response = requests.post(f"{tax.url}/api/v1/summaries", json=make_summary(), timeout=5)

    assert response.status_code == 400
    assert tax.accepted == {}


def test_a_non_json_error_answer_is_reported_by_status(tax: FakeTaxAuthority) -> None:
    with CallbackEndpoint(lambda raw, headers: (418, "teapot")) as odd:
        client = TaxAuthorityClient(odd.url, timeout=(1, 2))
        result = client.submit_receipt_xml(b"<x/>", submission_id="outbox-9")
        client.session.close()

    assert (result.accepted, result.retryable, result.error) == (False, False, "http_418")
