"""Payment requests over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from factories import payment_request_body
from sqlalchemy import text


def create(session: Any, body: dict[str, Any], key: str = "key-1") -> Any:
    return session.post(
        f"{session.base_url}/api/v1/payment-requests",
        json=body,
        headers={"Idempotency-Key": key},
        timeout=10,
    )


def test_created_request_carries_fees_beneficiary_reference_and_links(api: Any) -> None:
    s = api()
    resp = create(s, payment_request_body(payer={"name": "Trần Thị Bình", "category": "student"}))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "pending"
    assert body["reference"].startswith("TPH") and len(body["reference"]) <= 19
    assert body["lines"] == [
        {
            "fee_code": "LLTP",
            "name": "Phí cung cấp thông tin lý lịch tư pháp",
            "kind": "phi",
            "quantity": 1,
            "unit_normal_amount": 200000,
            "unit_amount": 100000,
            "normal_amount": 200000,
            "amount": 100000,
            "legal_basis": "Thông tư 16/2025/TT-BTC, Điều 4"
            " (từ Phiếu thứ 3 trở đi thu thêm 5.000 đồng/Phiếu)",
            "reduction": {
                "policy_id": "lltp-uu-dai",
                "legal_basis": "Thông tư 16/2025/TT-BTC, Điều 4 (học sinh, sinh viên,"
                " người có công, thân nhân liệt sĩ: 100.000 đồng/lần)",
            },
        }
    ]
    assert body["total_amount"] == 100000 and body["paid_amount"] == 0
    assert body["beneficiary"]["account_number"] == "376101234567"
    assert body["checkout_url"].startswith(s.base_url + "/pay/")
    assert body["id"] not in body["checkout_url"]


def test_same_key_and_body_returns_the_stored_request(api: Any) -> None:
    s = api()
    body = payment_request_body()
    first = create(s, body, key="retry-me")
    again = create(s, body, key="retry-me")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reference"] == first.json()["reference"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = s.get(
        f"{s.base_url}/api/v1/payment-requests",
        params={"dossier_code": body["dossier_code"]},
        timeout=10,
    ).json()
    assert len(listed["items"]) == 1


def test_same_key_with_another_body_is_a_conflict(api: Any) -> None:
    s = api()
    body = payment_request_body()
    assert create(s, body, key="k").status_code == 201
    resp = create(s, {**body, "channel": "counter"}, key="k")
    assert resp.status_code == 409
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.json()["code"] == "idempotency-key-reused"


def test_a_create_after_a_catalog_change_is_priced_with_the_new_catalog(
    api: Any, live_server: Any
) -> None:
    # the first create caches the catalog; on PostgreSQL the next ones insert in one statement
    # priced with that cache, and one that finds the catalog moved on starts over
    s = api()
    assert create(s, payment_request_body(), key="before").json()["total_amount"] == 200_000
    with live_server.container.engine.begin() as conn:
        conn.execute(text("UPDATE fee_items SET amount = 180000 WHERE code = 'LLTP'"))
    body = payment_request_body()
    resp = create(s, body, key="after")
    assert resp.status_code == 201, resp.text
    assert resp.json()["total_amount"] == 180_000
    assert [line["amount"] for line in resp.json()["lines"]] == [180_000]
    with live_server.container.engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT r.total_amount, i.key FROM payment_requests r "
                "JOIN idempotency_records i ON i.payment_request_id = r.id "
                "WHERE r.dossier_code = :dossier"
            ),
            {"dossier": body["dossier_code"]},
        ).all()
    assert [tuple(row) for row in stored] == [(180_000, "after")]


def test_a_used_key_is_a_conflict_before_the_new_body_is_judged(api: Any) -> None:
    s = api()
    body = payment_request_body()
    assert create(s, body, key="k").status_code == 201
    # an unknown procedure under a used key: the key speaks first, as it always did
    resp = create(s, {**body, "procedure_code": "9.999999"}, key="k")
    assert resp.status_code == 409, resp.text
    assert resp.json()["code"] == "idempotency-key-reused"


def test_keys_belong_to_their_client(api: Any) -> None:
    one, two = api(), api()
    body = payment_request_body()
    a, b = create(one, body, key="shared"), create(two, body, key="shared")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_create_without_idempotency_key_is_refused(api: Any) -> None:
    s = api()
    resp = s.post(f"{s.base_url}/api/v1/payment-requests", json=payment_request_body(), timeout=10)
    assert resp.status_code == 400
    assert resp.json()["code"] == "idempotency-key-required"


def test_invalid_fields_are_each_named_in_a_422(api: Any) -> None:
    s = api()
    body = payment_request_body(
        channel="fax",
        payer={"email": "not-an-email"},
        items=[{"fee_code": "LLTP", "quantity": 0}],
        surprise=1,
    )
    resp = create(s, body)
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["code"] == "validation-failed"
    assert set(problem["errors"]) >= {
        "channel",
        "payer.name",
        "payer.email",
        "items.0.quantity",
        "surprise",
    }


def test_unknown_procedure_is_a_422_with_its_own_code(api: Any) -> None:
    s = api()
    resp = create(s, payment_request_body(procedure_code="9.999999"))
    assert resp.status_code == 422
    assert resp.json()["code"] == "unknown-procedure"


def test_items_choose_fees_and_quantities(api: Any) -> None:
    s = api()
    body = payment_request_body(
        procedure_code="2.000815", channel="counter", items=[{"fee_code": "CTBS", "quantity": 7}]
    )
    line = create(s, body).json()["lines"][0]
    # TT 226/2016 Điều 4: 2,000 a page for pages 1-2, 1,000 from page 3
    assert (line["quantity"], line["unit_amount"], line["amount"]) == (7, 2000, 9000)
    bad = create(s, {**body, "items": [{"fee_code": "LLTP", "quantity": 1}]}, key="other")
    assert bad.status_code == 422
    assert "items.0.fee_code" in bad.json()["errors"]


def test_missing_or_bad_token_is_401_problem_json(api: Any, live_server: Any) -> None:
    url = f"{live_server.url}/api/v1/payment-requests"
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic eDp5"}):
        resp = live_server.session().post(
            url,
            json=payment_request_body(),
            headers={"Idempotency-Key": "x", **headers},
            timeout=10,
        )
        assert resp.status_code == 401, headers
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert resp.json()["code"] == "unauthorized"


def test_token_signed_with_another_key_or_expired_is_401(api: Any, live_server: Any) -> None:
    from datetime import timedelta

    from jose import jwt

    from payments.clock import utcnow

    now = utcnow()
    claims = {
        "iss": "thuphi",
        "aud": "thuphi-api",
        "sub": "cl_x",
        "scope": "payments:write",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    forged = jwt.encode(claims, "some-other-key", algorithm="HS256")
    expired = jwt.encode(
        {**claims, "exp": int((now - timedelta(seconds=5)).timestamp())},
        live_server.container.settings.signing_keys[0],
        algorithm="HS256",
    )
    wrong_aud = jwt.encode(
        {**claims, "aud": "elsewhere"},
        live_server.container.settings.signing_keys[0],
        algorithm="HS256",
    )
    for token in (forged, expired, wrong_aud):
        resp = live_server.session(token).get(
            f"{live_server.url}/api/v1/payment-requests", params={"dossier_code": "x"}, timeout=10
        )
        assert resp.status_code == 401


def test_wrong_client_secret_gets_no_token(live_server: Any, make_client: Any) -> None:
    creds = make_client()
    resp = live_server.session().post(
        f"{live_server.url}/api/v1/token", json={**creds, "client_secret": "guess"}, timeout=10
    )
    assert resp.status_code == 401
    assert "access_token" not in resp.json()


def test_missing_scope_is_403(api: Any) -> None:
    s = api(scopes=["receipts:read"])
    resp = create(s, payment_request_body())
    assert resp.status_code == 403
    assert resp.json()["code"] == "forbidden"


def test_read_scope_reads_but_cannot_write(api: Any) -> None:
    writer, reader = api(["payments:write"]), api(["payments:read"])
    created = create(writer, payment_request_body()).json()
    got = reader.get(f"{reader.base_url}/api/v1/payment-requests/{created['id']}", timeout=10)
    assert got.status_code == 200 and got.json()["id"] == created["id"]
    assert (
        reader.post(
            f"{reader.base_url}/api/v1/payment-requests/{created['id']}/cancel", timeout=10
        ).status_code
        == 403
    )


def test_client_of_one_agency_cannot_touch_another_agencys_procedure(api: Any) -> None:
    justice = api(["payments:write"], agencies=["000.00.12.H40"])
    police = payment_request_body(procedure_code="2.002163")  # Công an: passport
    resp = create(justice, police)
    assert resp.status_code == 403
    own = create(justice, payment_request_body(), key="own")
    assert own.status_code == 201
    other = api(["payments:write"], agencies=["000.00.30.H40"])
    assert (
        other.get(
            f"{other.base_url}/api/v1/payment-requests/{own.json()['id']}", timeout=10
        ).status_code
        == 404
    )


def test_cancel_moves_pending_to_cancelled_once(api: Any) -> None:
    s = api()
    created = create(s, payment_request_body()).json()
    url = f"{s.base_url}/api/v1/payment-requests/{created['id']}/cancel"
    first, again = s.post(url, timeout=10), s.post(url, timeout=10)
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "cancelled"


def test_unknown_or_malformed_id_is_404(api: Any) -> None:
    s = api()
    for rid in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        assert s.get(f"{s.base_url}/api/v1/payment-requests/{rid}", timeout=10).status_code == 404


def test_fully_exempt_request_is_paid_at_once(api: Any) -> None:
    s = api()
    body = payment_request_body(payer={"name": "Lê Văn Cụ", "category": "elderly"})
    created = create(s, body).json()
    assert created["total_amount"] == 0
    assert created["status"] == "paid"


def test_openapi_document_describes_the_api(live_server: Any) -> None:
    doc = live_server.session().get(f"{live_server.url}/api/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    create_op = doc["paths"]["/api/v1/payment-requests"]["post"]
    assert "201" in create_op["responses"]
    assert any(
        p["name"] == "Idempotency-Key" for p in create_op["parameters"] if p["in"] == "header"
    )
    docs = live_server.session().get(f"{live_server.url}/api/docs", timeout=10)
    assert docs.status_code == 200 and "/api/v1/payment-requests" in docs.text
