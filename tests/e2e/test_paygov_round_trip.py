"""National-portal payments over real HTTP: checkout → POST /pay/<token>/paygov → FakePayGov →
RESULT to POST /callbacks/paygov, and the status poll for results that never arrived."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import requests
from channel_kit import (
    AMOUNT,
    PARTNER,
    PAYGOV_SECRET,
    create_request,
    fetch,
    messages,
    outcomes,
    topics,
    transactions,
)
from click.testing import CliRunner
from console_kit import (  # noqa: F401 - console_signing_files is a fixture
    POLICE,
    console_signing_files,
    csrf_of,
    make_user,
    sign_in,
)
from factories import token_of
from flask.cli import ScriptInfo
from sqlalchemy import select

from payments.app import build_container, create_app
from payments.callbacks.services import handle_paygov_result
from payments.catalog.services import import_catalog, parse_document
from payments.cli import cli
from payments.clock import utcnow
from payments.config import Settings
from payments.outbox.models import OutboxDelivery
from payments.outbox.services import run_outbox
from payments.paygov.errors import PaygovNotConfigured
from payments.paygov.jobs import BILL_SUBSCRIBER, fetch_bills, poll_paygov
from payments.paygov.models import PaygovBill
from payments.paygov.services import paygov_client, start_paygov_payment
from payments.transactions.models import PaygovAttempt
from providers.fakes.paygov import DEFAULT_ACCESS_TOKEN, FakePayGov
from providers.paygov.schemas import (
    INIT_HASH_FIELDS,
    RECEIPT_FIELDS,
    RESULT_HASH_FIELDS,
    format_time,
    hash_fields,
    hash_matches,
    sign_message,
)
from receipts.jobs import ISSUE_SUBSCRIBER

Api = Callable[..., requests.Session]


@pytest.fixture
def paygov() -> Iterator[FakePayGov]:
    with FakePayGov(PAYGOV_SECRET, partner_code=PARTNER) as fake:
        yield fake


@pytest.fixture
def settings(
    settings: Settings,
    paygov: FakePayGov,
    console_signing_files: tuple[str, str],  # noqa: F811 - console_kit's fixture
) -> Settings:
    key, cert = console_signing_files  # our own e-receipts are issued beside the platform's
    return replace(
        settings,
        paygov_url=paygov.url,
        paygov_partner_code=PARTNER,
        receipt_key=key,
        receipt_cert=cert,
    )


@pytest.fixture
def s(api: Api, live_server: Any, paygov: FakePayGov) -> requests.Session:
    paygov.callback_url = f"{live_server.url}/callbacks/paygov"
    return api(scopes=["payments:write"])


def start(s: requests.Session, req: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{s.base_url}/pay/{token_of(req)}/paygov",  # type: ignore[attr-defined]
        allow_redirects=False,
        timeout=10,
    )


def started(s: requests.Session, req: dict[str, Any]) -> str:
    """Start a portal payment; return its MaThamChieu."""
    resp = start(s, req)
    assert resp.status_code == 303, resp.text
    return resp.headers["Location"].rsplit("/pay/", 1)[1]


def paid_result_lost(s: requests.Session, paygov: FakePayGov) -> tuple[dict[str, Any], str]:
    """A request paid on the platform whose result never reached us: (request, MaThamChieu)."""
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None
    paygov.complete(ref)
    return req, ref


def post_result(live_server: Any, message: dict[str, Any]) -> requests.Response:
    return requests.post(f"{live_server.url}/callbacks/paygov", json=message, timeout=10)


def poll(container: Any, settings: Settings, after: timedelta = timedelta(hours=1)) -> Any:
    return poll_paygov(container.uow(), settings, utcnow() + after)


def test_the_checkout_button_redirects_to_the_platform_with_a_fresh_reference(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    resp = start(s, req)
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith(f"{paygov.url}/pay/{req['reference']}G")
    ref = resp.headers["Location"].rsplit("/", 1)[1]
    assert paygov.payments[ref].amount == str(AMOUNT)
    with container.uow() as uow:
        [attempt] = uow.session.scalars(select(PaygovAttempt)).all()
        assert (attempt.provider_ref, attempt.amount, attempt.status) == (ref, AMOUNT, "pending")
        assert attempt.payment_url == resp.headers["Location"]


def test_a_second_click_reuses_the_platform_page(s: requests.Session, paygov: FakePayGov) -> None:
    req = create_request(s)
    assert started(s, req) == started(s, req)
    assert len(paygov.payments) == 1


def test_a_paid_result_pays_the_request_and_is_acknowledged_in_the_platform_format(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    resp = paygov.complete(ref)
    assert resp is not None and resp.status_code == 200
    ack = resp.json()
    assert (ack["MaLoi"], ack["MaDoiTac"], ack["MaThamChieu"]) == ("00", PARTNER, ref)
    assert ack["MaXacThuc"]
    assert fetch(s, req["id"])["status"] == "paid"
    [txn] = transactions(container)
    assert (txn.provider, txn.provider_txn_id, txn.amount) == (
        "paygov",
        paygov.payments[ref].txn_id,
        AMOUNT,
    )
    assert "MaXacThuc" not in json.dumps([m.payload for m in messages(container)])
    assert topics(container, req["id"]) == ["payment_request.paid"]


def test_a_failed_result_leaves_the_request_open_and_closes_the_attempt(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    resp = paygov.complete(ref, success=False)
    assert resp is not None and resp.status_code == 200
    assert fetch(s, req["id"])["status"] == "pending"
    assert transactions(container) == []
    assert outcomes(container, "paygov") == [("failed", None)]
    # a new click starts a new attempt with a new MaThamChieu
    assert started(s, req) != ref


def test_an_unknown_result_code_stays_pending(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    resp = paygov.complete(ref, ma_loi="77")
    assert resp is not None and resp.status_code == 200
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container, "paygov") == [("pending", None)]


def test_the_same_result_twice_pays_once(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.complete(ref)
    again = post_result(live_server, paygov.result_message(ref))
    assert again.status_code == 200 and again.json()["MaLoi"] == "00"
    assert len(transactions(container)) == 1
    assert fetch(s, req["id"])["paid_amount"] == AMOUNT
    assert [o for o, _ in outcomes(container, "paygov")] == ["applied", "duplicate"]


def test_a_forged_result_is_refused_logged_and_changes_nothing(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    req, ref = paid_result_lost(s, paygov)
    forged = sign_message(paygov.result_message(ref), RESULT_HASH_FIELDS, "guessed-secret")
    resp = post_result(live_server, forged)
    assert resp.status_code == 401 and resp.json()["MaLoi"] != "00"
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container) == [("rejected", "bad_signature")]


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"SoTien": "1000"}, "amount_mismatch"), ({"MaTienTe": "840"}, "wrong_currency")],
)
def test_a_signed_result_with_another_amount_or_currency_is_rejected(
    s: requests.Session,
    paygov: FakePayGov,
    live_server: Any,
    container: Any,
    change: dict[str, str],
    reason: str,
) -> None:
    req, ref = paid_result_lost(s, paygov)
    message = {**paygov.result_message(ref), **change}
    message["MaXacThuc"] = hash_fields(message, RESULT_HASH_FIELDS, PAYGOV_SECRET)
    resp = post_result(live_server, message)
    assert resp.status_code == 409 and resp.json()["MaLoi"] != "00"
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container, "paygov") == [("rejected", reason)]


def test_a_result_for_a_reference_we_never_started_is_rejected(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    _req, ref = paid_result_lost(s, paygov)
    message = {**paygov.result_message(ref), "MaThamChieu": "TPH000000000000G01"}
    message["MaXacThuc"] = hash_fields(message, RESULT_HASH_FIELDS, PAYGOV_SECRET)
    assert post_result(live_server, message).status_code == 409
    assert outcomes(container, "paygov") == [("rejected", "unknown_reference")]


def test_a_payment_whose_result_never_came_is_found_by_the_poll(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None  # the platform's RESULT is lost
    paygov.complete(ref)
    assert fetch(s, req["id"])["status"] == "pending"
    summary = poll(container, settings)
    assert (summary.polled, summary.applied) == (1, 1)
    assert fetch(s, req["id"])["status"] == "paid"
    assert poll(container, settings).polled == 0  # the attempt is closed


def test_a_result_arriving_after_the_poll_found_the_payment_is_acknowledged_once(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any, settings: Settings
) -> None:
    req, ref = paid_result_lost(s, paygov)
    poll(container, settings)
    late = post_result(live_server, paygov.result_message(ref))
    assert late.status_code == 200 and late.json()["MaLoi"] == "00"
    assert len(transactions(container)) == 1
    assert fetch(s, req["id"])["paid_amount"] == AMOUNT
    assert topics(container, req["id"]) == ["payment_request.paid"]


def test_a_payment_pending_at_the_platform_stays_pending_then_is_polled_paid(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    assert poll(container, settings).still_pending == 1
    assert fetch(s, req["id"])["status"] == "pending"
    paygov.callback_url = None
    paygov.complete(ref)
    assert poll(container, settings).applied == 1
    assert fetch(s, req["id"])["status"] == "paid"


def test_the_poll_leaves_attempts_younger_than_30_minutes_or_older_than_3_days(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    started(s, create_request(s))
    assert poll(container, settings, timedelta(minutes=10)).polled == 0
    assert poll(container, settings, timedelta(days=3, minutes=1)).polled == 0
    assert poll(container, settings, timedelta(hours=2)).polled == 1


def test_a_poll_reply_with_a_bad_hash_changes_nothing(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req, _ref = paid_result_lost(s, paygov)
    paygov.forge_replies = True
    assert poll(container, settings).errors == 1
    assert fetch(s, req["id"])["status"] == "pending"


def test_a_poll_reply_claiming_paid_for_another_amount_is_rejected(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req, ref = paid_result_lost(s, paygov)
    paygov.payments[ref].amount = "1000"
    assert poll(container, settings).errors == 1
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container, "paygov") == [("rejected", "poll_amount_mismatch")]


def test_a_poll_reply_with_an_unknown_status_stays_pending(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.outcomes[ref] = "9"
    assert poll(container, settings).still_pending == 1
    assert fetch(s, req["id"])["status"] == "pending"


def test_a_paid_request_cannot_start_a_portal_payment(
    s: requests.Session, paygov: FakePayGov
) -> None:
    req = create_request(s)
    paygov.complete(started(s, req))
    resp = start(s, req)
    assert resp.status_code == 409
    assert resp.json()["code"] == "request-not-payable"


def test_an_unknown_checkout_token_is_not_found(s: requests.Session) -> None:
    resp = requests.post(f"{s.base_url}/pay/nope/paygov", timeout=10)  # type: ignore[attr-defined]
    assert resp.status_code == 404 and resp.json()["code"] == "not-found"


def test_without_platform_settings_a_portal_payment_is_not_offered(
    s: requests.Session, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    with pytest.raises(PaygovNotConfigured):
        start_paygov_payment(
            token_of(req),
            "127.0.0.1",
            uow=container.uow(),
            settings=replace(settings, paygov_url=""),
        )


def test_a_platform_that_is_down_answers_502_and_leaves_nothing_half_started(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    paygov.down = True
    resp = start(s, req)
    assert resp.status_code == 502 and resp.json()["code"] == "paygov-unavailable"
    paygov.down = False
    assert start(s, req).status_code == 303


# -- the real form (issue 17): what public production clients send and accept --------------------

LLTP_NAME = (
    "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam"
)


def init_sent(paygov: FakePayGov) -> Any:
    [request] = [r for r in paygov.requests if r.path == "/api/init"][-1:]
    return request


def test_the_init_is_the_real_clients_form_field_by_field_with_the_catalogs_receipt_block(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)

    request = init_sent(paygov)
    sent = request.json()
    assert request.headers["Authorization"] == f"Bearer {DEFAULT_ACCESS_TOKEN}"
    assert hash_matches(sent, INIT_HASH_FIELDS, PAYGOV_SECRET)
    assert paygov.refused == []
    assert len(ref) <= 20 and ref.startswith(req["reference"])
    assert {k: sent[k] for k in INIT_HASH_FIELDS if k not in ("ThoiGianGD", "Ip")} == {
        "LoaiBanTin": "INIT",
        "PhienBan": "1.0.6",
        "MaDoiTac": PARTNER,
        "MaThamChieu": ref,
        "SoTien": str(AMOUNT),
        "LoaiHinhThanhToan": "PAY",
        "MaKenhThanhToan": "1",
        "MaThietBi": "1",
        "NgonNgu": "vi-VN",
        "MaTienTe": "VND",
        "MaNganHang": "PAYMENT",
        "ThongTinGiaoDich": f"THANH TOAN HO SO {req['dossier_code']}",
    }
    block = sent["ThongTinBienLai"]
    assert set(block) == {*RECEIPT_FIELDS, "PhiLePhi", "DSKhoanNop"}
    assert {k: block[k] for k in RECEIPT_FIELDS if block[k]} == {
        "MaDichVu": "2",
        "MaDVC": "1.001234.01",
        "TenDVC": LLTP_NAME,
        "MaTTHC": "1.001234",
        "TenTTHC": LLTP_NAME,
        "MaDonVi": "000.00.12.H40",
        "TenDonVi": "Sở Tư pháp tỉnh Hà Tĩnh",
        "MaHoSo": req["dossier_code"],
        "TKThuHuong": "376101234567",
        "MaNHThuHuong": "970415",
        "TenTKThuHuong": "SO TU PHAP HA TINH",
        "MaCoQuanQD": "000.00.12.H40",
        "TenCoQuanQD": "Sở Tư pháp tỉnh Hà Tĩnh",
        "TaiKhoanThuNSNN": "376101234567",
        "NoiDungThanhToan": f"THANH TOAN HO SO {req['dossier_code']}",
        "HoTenNguoiNop": "Nguyễn Văn An",
        "SoCMNDNguoiNop": "040201001234",
    }
    assert block["PhiLePhi"] == [
        {
            "LoaiPhiLePhi": "1",
            "MaPhiLePhi": "LLTP",
            "TenPhiLePhi": "Phí cung cấp thông tin lý lịch tư pháp",
            "SoTien": str(AMOUNT),
        }
    ]
    assert block["DSKhoanNop"] == [{"NoiDung": sent["ThongTinGiaoDich"], "SoTien": str(AMOUNT)}]
    with container.uow() as uow:
        [attempt] = uow.session.scalars(select(PaygovAttempt)).all()
        assert attempt.init_time == sent["ThoiGianGD"]  # stored for every later query


MIXED_CATALOG = {
    "agencies": [],
    "procedures": [
        {
            "code": "1.009999",
            "name": "Đăng ký khai sinh có yếu tố nước ngoài",
            "agency": "000.00.12.H40",
            "account": "stp-kbnn",
            "dvc_code": "1.009999.000.00.00.H40",
            "fees": [
                {"code": "PHI1", "name": "Phí sao lục", "kind": "phi", "amount": 8000},
                {"code": "LP1", "name": "Lệ phí đăng ký", "kind": "le_phi", "amount": 75000},
            ],
        }
    ],
    "reductions": [],
}


def test_a_catalog_dvc_code_and_phi_and_le_phi_lines_reach_the_platform(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    import_catalog(parse_document(json.dumps(MIXED_CATALOG).encode()), uow=container.uow())
    req = create_request(s, procedure_code="1.009999")

    started(s, req)

    block = init_sent(paygov).json()["ThongTinBienLai"]
    assert (block["MaDVC"], block["MaTTHC"]) == ("1.009999.000.00.00.H40", "1.009999")
    assert [(f["LoaiPhiLePhi"], f["MaPhiLePhi"], f["SoTien"]) for f in block["PhiLePhi"]] == [
        ("1", "PHI1", "8000"),
        ("2", "LP1", "75000"),
    ]


def test_a_result_with_another_loai_ban_tin_and_a_numeric_amount_pays_exactly_once(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    paygov.result_type, paygov.numeric_amount = "CONFIRM", True
    req = create_request(s)
    ref = started(s, req)

    first = paygov.complete(ref)
    again = post_result(live_server, paygov.result_message(ref))

    assert paygov.result_message(ref)["SoTien"] == AMOUNT  # a JSON number
    assert first is not None and first.status_code == 200 and again.status_code == 200
    assert first.json()["MaLoi"] == again.json()["MaLoi"] == "00"
    assert fetch(s, req["id"])["paid_amount"] == AMOUNT
    assert len(transactions(container)) == 1
    assert [o for o, _ in outcomes(container, "paygov")] == ["applied", "duplicate"]


def test_the_ack_echoes_the_results_time_and_hash(
    s: requests.Session, paygov: FakePayGov, live_server: Any
) -> None:
    _req, ref = paid_result_lost(s, paygov)
    message = paygov.result_message(ref)

    ack = post_result(live_server, message).json()

    assert ack == {
        "MaLoi": "00",
        "MoTaLoi": "Thành công",
        "MaDoiTac": PARTNER,
        "MaThamChieu": ref,
        "ThoiGianGD": message["ThoiGianGD"],
        "MaXacThuc": message["MaXacThuc"],
    }


def test_a_tampered_numeric_amount_changes_nothing(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    paygov.numeric_amount = True
    req, ref = paid_result_lost(s, paygov)

    resp = post_result(live_server, {**paygov.result_message(ref), "SoTien": AMOUNT * 10})

    assert resp.status_code == 401 and resp.json()["MaLoi"] == "99"
    assert fetch(s, req["id"])["status"] == "pending"
    assert transactions(container) == []
    assert outcomes(container) == [("rejected", "bad_signature")]


def test_a_configured_result_type_refuses_any_other(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    req, ref = paid_result_lost(s, paygov)
    strict = replace(live_server.container.settings, paygov_result_type="CONFIRM")
    answer = handle_paygov_result(
        json.dumps(paygov.result_message(ref)).encode(), uow=container.uow(), settings=strict
    )

    assert answer[0] == 400 and answer[1]["MaLoi"] == "99"
    assert outcomes(container) == [("rejected", "unexpected_message")]
    paygov.result_type = "CONFIRM"
    answer = handle_paygov_result(
        json.dumps(paygov.result_message(ref)).encode(), uow=container.uow(), settings=strict
    )
    assert answer[0] == 200 and fetch(s, req["id"])["status"] == "paid"


def test_a_pending_attempt_is_polled_with_the_inits_thoi_gian_gd_and_settles(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    init_time = init_sent(paygov).json()["ThoiGianGD"]
    paygov.callback_url = None
    paygov.complete(ref)

    summary = poll(container, settings, timedelta(hours=2))

    query = [r for r in paygov.requests if r.path == "/api/query"][-1]
    assert query.headers["Authorization"] == f"Bearer {DEFAULT_ACCESS_TOKEN}"
    assert (query.json()["LoaiBanTin"], query.json()["ThoiGianGD"]) == ("QUERY", init_time)
    assert summary.as_dict()["attempts"] == [{"reference": ref, "outcome": "applied"}]
    assert fetch(s, req["id"])["status"] == "paid"


def test_an_attempt_of_the_previous_release_is_polled_with_its_creation_time(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    with container.uow() as uow:
        attempt = uow.session.scalars(select(PaygovAttempt)).one()
        assert attempt.init_time == format_time(attempt.created_at)
        attempt.init_time = None
        uow.commit()
    paygov.callback_url = None
    paygov.complete(ref)
    assert poll(container, settings).applied == 1


def run_outbox_at(container: Any, when: timedelta = timedelta(seconds=1)) -> None:
    # a moment later: the deliveries fanned out in this tick are due
    run_outbox(container.uow(), container.registry, utcnow() + when)


def deliveries(container: Any, subscriber: str) -> list[OutboxDelivery]:
    with container.uow() as uow:
        rows = list(
            uow.session.scalars(
                select(OutboxDelivery).where(OutboxDelivery.subscriber == subscriber)
            )
        )
        uow.session.expunge_all()
        return rows


def test_the_platforms_receipt_pdf_is_fetched_stored_by_its_hash_and_shown_to_officers(
    s: requests.Session, paygov: FakePayGov, container: Any, live_server: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.complete(ref)

    run_outbox_at(container)

    bill = [r for r in paygov.requests if r.path == "/api/get-bill"][-1]
    assert bill.headers["Authorization"] == f"Bearer {DEFAULT_ACCESS_TOKEN}"
    assert (bill.json()["LoaiBanTin"], bill.json()["ThoiGianGD"]) == (
        "GET_BILL",
        init_sent(paygov).json()["ThoiGianGD"],
    )
    with container.uow() as uow:
        attempt = uow.session.scalars(select(PaygovAttempt)).one()
        stored = uow.session.get(PaygovBill, attempt.bill_sha256)
        assert stored is not None and stored.content.startswith(b"%PDF-")
        assert hashlib.sha256(stored.content).hexdigest() == attempt.bill_sha256
        pdf, digest = stored.content, attempt.bill_sha256
    make_user(container, "ketoan")
    officer = sign_in(live_server.url, "ketoan")
    page = officer.get(f"{live_server.url}/console/payment-requests/{req['id']}", timeout=10)
    link = f"/console/payment-requests/{req['id']}/paygov/bills/{digest}.pdf"
    assert link in page.text and ref in page.text
    download = officer.get(live_server.url + link, timeout=10)
    assert download.status_code == 200 and download.content == pdf
    assert download.headers["Content-Type"] == "application/pdf"
    assert requests.get(live_server.url + link, allow_redirects=False, timeout=10).status_code in (
        302,
        303,
    )


def test_a_failing_get_bill_is_retried_by_the_outbox_and_never_holds_up_our_receipt(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.complete(ref)
    paygov.bill_error = "99"

    run_outbox_at(container)

    [waiting] = deliveries(container, BILL_SUBSCRIBER)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "99" in (waiting.last_error or "")
    [ours] = deliveries(container, ISSUE_SUBSCRIBER)
    assert ours.status == "delivered"
    paygov.bill_error = None
    run_outbox_at(container, timedelta(hours=2))
    [done] = deliveries(container, BILL_SUBSCRIBER)
    assert done.status == "delivered"


def test_officers_poll_a_request_now_from_its_console_page(
    s: requests.Session, paygov: FakePayGov, container: Any, live_server: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None  # the citizen paid; the platform's result was lost
    paygov.complete(ref)
    make_user(container, "ketoan")
    officer = sign_in(live_server.url, "ketoan")
    page = officer.get(f"{live_server.url}/console/payment-requests/{req['id']}", timeout=10)
    assert 'id="paygov-poll"' in page.text

    resp = officer.post(
        f"{live_server.url}/console/payment-requests/{req['id']}/paygov/poll",
        data={"csrf_token": csrf_of(page.text)},
        timeout=10,
    )

    assert resp.status_code == 200 and 'id="paygov-polled"' in resp.text
    assert fetch(s, req["id"])["status"] == "paid"
    forged = officer.post(
        f"{live_server.url}/console/payment-requests/{req['id']}/paygov/poll", timeout=10
    )
    assert forged.status_code in (400, 403)


def test_another_agencys_officer_can_neither_poll_nor_download(
    s: requests.Session, paygov: FakePayGov, container: Any, live_server: Any
) -> None:
    req = create_request(s)
    paygov.complete(started(s, req))
    run_outbox_at(container)
    with container.uow() as uow:
        digest = uow.session.scalars(select(PaygovAttempt.bill_sha256)).one()
    make_user(container, "congan", agency=POLICE.code)
    other = sign_in(live_server.url, "congan")
    base = f"{live_server.url}/console/payment-requests/{req['id']}"
    assert other.get(f"{base}/paygov/bills/{digest}.pdf", timeout=10).status_code == 404


def test_thuphi_paygov_poll_now_for_one_reference_prints_one_json_document(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req, ref = paid_result_lost(s, paygov)
    app = create_app(container=build_container(settings, container.engine))

    result = CliRunner().invoke(
        cli,
        ["paygov", "poll", "--now", "--reference", req["reference"], "--json"],
        obj=ScriptInfo(create_app=lambda: app),
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "polled": 1,
        "applied": 1,
        "still_pending": 0,
        "errors": 0,
        "attempts": [{"reference": ref, "outcome": "applied"}],
    }
    assert fetch(s, req["id"])["status"] == "paid"


def test_the_poll_now_skips_the_30_minutes_but_not_the_pending_state(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    started(s, req)
    assert poll_paygov(container.uow(), settings).polled == 0
    assert poll_paygov(container.uow(), settings, at_once=True).still_pending == 1


def test_the_three_urls_are_used_in_place_of_the_base(
    api: Api, live_server: Any, container: Any, settings: Settings
) -> None:
    paths = ("/gw/paymentplatform/init", "/gw/paymentplatform/confirm", "/gw/paymentplatform/bill")
    with FakePayGov(PAYGOV_SECRET, partner_code=PARTNER, paths=paths) as fake:
        three = replace(
            settings,
            paygov_url="",
            paygov_init_url=fake.url + paths[0],
            paygov_query_url=fake.url + paths[1],
            paygov_bill_url=fake.url + paths[2],
        )
        s = api(scopes=["payments:write"])
        req = create_request(s)
        url = start_paygov_payment(
            token_of(req), "203.0.113.7", uow=container.uow(), settings=three
        )
        ref = url.rsplit("/", 1)[1]
        fake.complete(ref)
        assert poll_paygov(container.uow(), three, at_once=True).applied == 1
        fetch_bills_for(container, three, req["id"])
        assert [r.path for r in fake.requests] == list(paths)


def fetch_bills_for(container: Any, settings: Settings, request_id: str) -> None:
    with container.uow() as uow:
        assert fetch_bills(uow.session, request_id, paygov_client(settings)) == 1
        uow.commit()
