"""The citizen checkout page over real HTTP, on SQLite and PostgreSQL: what it shows per state."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from conftest import LiveServer, payment_request_body
from sqlalchemy import update

from payments.clock import utcnow
from payments.http import Container
from payments.money import Money
from payments.payment_requests import services as request_services
from payments.payment_requests.models import PaymentRequest
from payments.transactions.services import record_event
from providers.base import EventKind, ProviderEvent, TxnStatus

PAGE_BUDGET = 100 * 1024


def create_request(session: Any, **overrides: Any) -> dict[str, Any]:
    """POST a payment request for the demo catalog (criminal-record extract unless overridden)."""
    resp = session.post(
        f"{session.base_url}/api/v1/payment-requests",
        json=payment_request_body(**overrides),
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def pay(container: Container, request: dict[str, Any], amount: int) -> str:
    """A verified bank transfer for the request, recorded the way a callback records it."""
    event = ProviderEvent(
        provider="bank",
        provider_txn_id=f"FT{uuid.uuid4().hex[:12].upper()}",
        reference=request["reference"],
        amount=Money(amount),
        currency="VND",
        status=TxnStatus.PAID,
        occurred_at=utcnow(),
        kind=EventKind.TRANSFER_IN,
        account_number=request["beneficiary"]["account_number"],
        details={"content": f"{request['reference']} chuyen tien"},
    )
    result = record_event(event, uow=container.uow())
    assert result.outcome == "applied", result
    return str(result.status)


class _Text(HTMLParser):
    """What a reader of the page gets: text outside head, script and style."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skip += tag in {"script", "style", "head"}

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in {"script", "style", "head"}

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()


def open_page(request: dict[str, Any]) -> tuple[requests.Response, str]:
    resp = requests.get(request["checkout_url"], timeout=10)
    assert resp.status_code == 200, resp.text
    return resp, visible_text(resp.text)


def test_pending_page_shows_who_collects_what_for_which_dossier_and_how_to_transfer(
    api: Any,
) -> None:
    req = create_request(api(), dossier_code="H40.12-2026-000123")
    resp, text = open_page(req)
    assert '<html lang="vi"' in resp.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in resp.text
    assert "Chờ thanh toán" in text
    assert "Sở Tư pháp tỉnh Hà Tĩnh" in text
    assert "Cấp Phiếu lý lịch tư pháp" in text and "1.001234" in text
    assert "H40.12-2026-000123" in text
    assert "Phí cung cấp thông tin lý lịch tư pháp" in text
    assert "Căn cứ: Thông tư 16/2025/TT-BTC" in text
    assert "Tổng cộng 200.000 đ" in text
    assert "VietinBank" in text and "Ngân hàng TMCP Công thương Việt Nam" in text
    assert "376101234567" in text and "SO TU PHAP HA TINH" in text
    assert f"Nội dung chuyển khoản {req['reference']}" in text
    assert re.search(r"Hạn thanh toán: \d\d:\d\d ngày \d\d/\d\d/\d{4} \(giờ Việt Nam\)", text)
    assert f'src="/pay/{req["checkout_url"].rsplit("/", 1)[1]}/qr.png' in resp.text
    # no national-portal or demo buttons unless configured
    assert "/paygov" not in resp.text and "/simulate/" not in resp.text


def test_expiry_is_shown_in_vietnam_time(api: Any) -> None:
    req = create_request(api())
    _, text = open_page(req)
    from datetime import datetime

    from payments.clock import VN_TZ

    expires = datetime.fromisoformat(req["expires_at"]).astimezone(VN_TZ)
    assert f"Hạn thanh toán: {expires:%H:%M ngày %d/%m/%Y} (giờ Việt Nam)" in text


def test_reduced_line_shows_normal_amount_reduced_amount_and_reduction_legal_basis(
    api: Any,
) -> None:
    req = create_request(api(), payer={"name": "Trần Thị Bình", "category": "student"})
    resp, text = open_page(req)
    assert "Mức thu thông thường 200.000 đ" in text
    assert "Phải nộp 100.000 đ" in text
    assert "Được giảm còn 100.000 đ theo: Thông tư 16/2025/TT-BTC, Điều 4" in text
    assert "Tổng cộng 100.000 đ" in text
    assert "<s " in resp.text  # the normal amount is struck through, not just smaller


def test_several_lines_each_show_their_amount_and_an_exempt_line_says_so(api: Any) -> None:
    req = create_request(api(), procedure_code="2.001610")
    _, text = open_page(req)
    assert "Lệ phí đăng ký doanh nghiệp" in text and "Phí công bố thông tin doanh nghiệp" in text
    assert "Được miễn theo: Thông tư 47/2019/TT-BTC, Điều 5" in text
    assert "Mức thu thông thường 50.000 đ" in text and "Phải nộp 0 đ" in text
    assert "Tổng cộng 100.000 đ" in text


def test_partially_paid_page_shows_paid_and_remaining(api: Any, container: Container) -> None:
    req = create_request(api())
    assert pay(container, req, 50_000) == "partially_paid"
    _, text = open_page(req)
    assert "Đã thanh toán một phần" in text
    assert "Đã nhận 50.000 đ. Còn phải nộp 150.000 đ" in text
    assert "Đã nộp 50.000 đ" in text and "Còn phải nộp 150.000 đ" in text
    assert "Số tiền 150.000 đ" in text  # the transfer details ask for what is left


def test_paid_page_shows_the_paid_state_and_no_way_to_pay_again(
    api: Any, container: Container
) -> None:
    req = create_request(api())
    assert pay(container, req, 200_000) == "paid"
    resp, text = open_page(req)
    assert text.count("Đã thanh toán") >= 1 and "Chờ thanh toán" not in text
    assert "Cơ quan đã nhận đủ 200.000 đ" in text
    assert "qr.png" not in resp.text and "Số tài khoản" not in text
    assert requests.get(req["vietqr"]["png_url"], timeout=10).status_code == 404


def test_paid_page_links_receipts_only_through_their_public_urls(
    api: Any, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def receipts(session: Any, rows: list[Any], views: list[dict[str, Any]]) -> None:
        # what the receipts package adds; an entry without a public URL gets no link
        for view in views:
            view["receipts"] = [
                {
                    "id": "r-1",
                    "kind": "phi",
                    "series": "26TAB",
                    "number": 17,
                    "verification_url": "https://thuphi.example.vn/receipts/verify/abc",
                },
                {"id": "r-2", "kind": "le_phi", "pdf_url": "/api/v1/receipts/r-2.pdf"},
                {
                    "id": "r-0",
                    "kind": "phi",
                    "status": "replaced",
                    "verification_url": "https://thuphi.example.vn/receipts/verify/old",
                },
            ]

    monkeypatch.setattr(request_services, "VIEW_EXTENSIONS", [receipts])
    req = create_request(api())
    pay(container, req, 200_000)
    resp, text = open_page(req)
    assert "Biên lai điện tử" in text
    assert '<a href="https://thuphi.example.vn/receipts/verify/abc"' in resp.text
    assert "Biên lai phí ký hiệu 26TAB số 17" in text
    assert "/api/v1/receipts" not in resp.text and "verify/old" not in resp.text


def test_overpaid_page_says_the_excess_will_be_refunded(api: Any, container: Container) -> None:
    req = create_request(api())
    assert pay(container, req, 250_000) == "overpaid"
    _, text = open_page(req)
    assert "Đã thanh toán (nộp thừa)" in text
    assert "nhiều hơn số phải nộp 50.000 đ" in text and "hoàn trả" in text


def test_expired_request_shows_expired_and_no_qr(api: Any, container: Container) -> None:
    req = create_request(api())
    request_services.expire_overdue(uow=container.uow(), now=utcnow() + timedelta(days=30))
    resp, text = open_page(req)
    assert "Đã hết hạn" in text and "Vui lòng không chuyển khoản" in text
    assert "qr.png" not in resp.text and "Số tài khoản" not in text


def test_a_pending_request_past_its_expiry_shows_expired_before_the_job_runs(
    api: Any, container: Container
) -> None:
    req = create_request(api())
    with container.uow() as work:
        work.session.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id == uuid.UUID(req["id"]))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        work.commit()
    resp, text = open_page(req)
    assert "Đã hết hạn" in text and "qr.png" not in resp.text
    assert requests.get(req["vietqr"]["png_url"], timeout=10).status_code == 404
    status = requests.get(req["checkout_url"] + "/status", timeout=10).json()
    assert status["status"] == "expired" and status["open"] is False


def test_cancelled_request_shows_cancelled(api: Any, container: Container, settings: Any) -> None:
    req = create_request(api())
    request_services.cancel_payment_request(
        req["id"], uow=container.uow(), settings=settings, principal=None
    )
    resp, text = open_page(req)
    assert "Đã hủy" in text and "Vui lòng không chuyển khoản" in text
    assert "qr.png" not in resp.text


def test_unknown_token_gets_a_friendly_page_in_vietnamese(live_server: Any) -> None:
    resp = requests.get(f"{live_server.url}/pay/{'x' * 32}", timeout=10)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("text/html")
    assert '<html lang="vi"' in resp.text
    assert "Không tìm thấy khoản thanh toán" in visible_text(resp.text)


def test_the_link_carries_an_unguessable_token_not_the_request_id(api: Any) -> None:
    req = create_request(api())
    token = req["checkout_url"].rsplit("/", 1)[1]
    assert req["id"] not in req["checkout_url"] and req["reference"] not in req["checkout_url"]
    assert len(token) >= 32
    base = req["checkout_url"].rsplit("/pay/", 1)[0]
    for guess in (req["id"], req["reference"], req["id"].replace("-", "")):
        assert requests.get(f"{base}/pay/{guess}", timeout=10).status_code == 404


def test_status_json_is_what_the_page_polls(api: Any, container: Container) -> None:
    req = create_request(api())
    url = req["checkout_url"] + "/status"
    before = requests.get(url, timeout=10)
    assert before.headers["Cache-Control"] == "no-store"
    assert before.json() == {
        "status": "pending",
        "label": "Chờ thanh toán",
        "open": True,
        "total_amount": 200000,
        "paid_amount": 0,
        "remaining_amount": 200000,
        "expires_at": before.json()["expires_at"],
    }
    pay(container, req, 200_000)
    after = requests.get(url, timeout=10).json()
    assert (after["status"], after["label"], after["open"]) == ("paid", "Đã thanh toán", False)
    unknown = requests.get(url.replace(req["checkout_url"].rsplit("/", 1)[1], "y" * 32), timeout=10)
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"].startswith("application/problem+json")


def test_page_is_private_uncached_and_cannot_be_framed(api: Any) -> None:
    resp, _ = open_page(create_request(api()))
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "noindex" in resp.text


def test_page_weight_is_under_100_kb_and_every_url_is_our_own(api: Any) -> None:
    req = create_request(api(), payer={"name": "Trần Thị Bình", "category": "student"})
    resp, _ = open_page(req)
    base = req["checkout_url"].rsplit("/pay/", 1)[0]
    assets = re.findall(r'(?:href|src)="(/pay/static/[^"]+)"', resp.text)
    assert len(assets) == 3  # an icon, one stylesheet, one script
    weight = len(resp.content)
    for path in assets:
        asset = requests.get(base + path, timeout=10)
        assert asset.status_code == 200
        assert "max-age=31536000" in asset.headers["Cache-Control"]
        weight += len(asset.content)
        # an SVG's namespace is a name, not something fetched
        own = asset.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"url\(|@import|https?://", own), path
    assert weight < PAGE_BUDGET, weight
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', resp.text):
        assert url.startswith("/") and not url.startswith("//"), url


def test_national_portal_button_appears_only_when_the_platform_is_configured(
    api: Any, serve: Callable[..., LiveServer]
) -> None:
    req = create_request(api())
    token = req["checkout_url"].rsplit("/", 1)[1]
    base = serve(paygov_url="https://paygov.test/api").url
    page = requests.get(f"{base}/pay/{token}", timeout=10).text
    assert f'<form method="post" action="/pay/{token}/paygov">' in page
    assert "Thanh toán qua Cổng Dịch vụ công quốc gia" in visible_text(page)
    assert "/simulate/" not in page


def test_demo_mode_offers_the_three_simulations(api: Any, serve: Callable[..., LiveServer]) -> None:
    req = create_request(api())
    token = req["checkout_url"].rsplit("/", 1)[1]
    page = requests.get(f"{serve(demo=True).url}/pay/{token}", timeout=10).text
    for kind in ("transfer", "card", "portal"):
        assert f'action="/pay/{token}/simulate/{kind}"' in page
    assert "/paygov" not in page


def test_closed_requests_offer_no_payment_buttons(
    api: Any, container: Container, serve: Callable[..., LiveServer]
) -> None:
    req = create_request(api())
    pay(container, req, 200_000)
    token = req["checkout_url"].rsplit("/", 1)[1]
    base = serve(demo=True, paygov_url="https://paygov.test/api").url
    page = requests.get(f"{base}/pay/{token}", timeout=10).text
    assert "/paygov" not in page and "/simulate/" not in page


def test_every_control_is_labelled(api: Any) -> None:
    resp, _ = open_page(create_request(api()))
    buttons = re.findall(r"<button\b[^>]*>(.*?)</button>", resp.text, re.S)
    assert len(buttons) == 4
    for inner in buttons:
        assert visible_text(inner).startswith("Sao chép ") and len(visible_text(inner)) > 12
    images = re.findall(r"<img\b[^>]*>", resp.text)
    assert images and all(re.search(r'alt="[^"]{20,}"', img) for img in images)
    assert all('width="' in img and 'height="' in img for img in images)  # no layout shift
