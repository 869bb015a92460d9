import hashlib
import socket
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from paygov_kit import BILL

from payments.money import Money
from providers.base import (
    EventKind,
    InitResult,
    ProviderBadResponse,
    ProviderUnavailable,
    TxnStatus,
)
from providers.fakes.paygov import DEFAULT_ACCESS_TOKEN, FakePayGov, init_problems
from providers.fakes.server import CallbackEndpoint
from providers.paygov import PayGovClient, PayGovError
from providers.paygov.mapping import BillInfo, receipt_info
from providers.paygov.schemas import (
    INIT_HASH_FIELDS,
    QUERY_HASH_FIELDS,
    RECEIPT_FIELDS,
    RESULT_HASH_FIELDS,
    hash_fields,
    hash_matches,
    sign_message,
)

SECRET = "paygov-test-secret"
REFERENCE = "TPH12345678901234G01"  # 20 characters, the platform's limit
INIT_TIME = "20261205091502"


class MakeClient(Protocol):
    def __call__(self, **overrides: Any) -> PayGovClient: ...


@pytest.fixture
def fake() -> Iterator[FakePayGov]:
    with FakePayGov(SECRET, partner_code="THUPHI") as server:
        yield server


def accepted_or_problems(fake: FakePayGov) -> list[str]:
    return fake.refused[-1] if fake.refused else []


@pytest.fixture
def make_client(fake: FakePayGov) -> Iterator[MakeClient]:
    clients: list[PayGovClient] = []

    def make(**overrides: Any) -> PayGovClient:
        options: dict[str, Any] = {
            "timeout": (1, 2),
            "sleep": lambda seconds: None,
            "access_token": DEFAULT_ACCESS_TOKEN,
            **overrides,
        }
        client = PayGovClient(
            options.pop("base_url", fake.url), "THUPHI", options.pop("secret", SECRET), **options
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.session.close()


def init(client: PayGovClient, reference: str = REFERENCE, amount: int = 115_000) -> InitResult:
    return client.init_payment(
        reference,
        Money(amount),
        BILL.description,
        "203.0.113.7",
        receipt=receipt_info(BILL),
        init_time=INIT_TIME,
    )


def test_init_hash_follows_the_documented_field_order() -> None:
    message = {name: f"v{i}" for i, name in enumerate(INIT_HASH_FIELDS)}
    joined = "v0|v1|v2|v3|v4|v5|v6|v7|v8|v9|v10|v11|v12|v13|s"

    assert (
        hash_fields(message, INIT_HASH_FIELDS, "s") == hashlib.sha256(joined.encode()).hexdigest()
    )


@pytest.mark.parametrize("wrapped", [False, True], ids=["plain", "wrapped"])
def test_init_returns_the_platform_payment_url_in_either_answer_format(
    fake: FakePayGov, make_client: MakeClient, wrapped: bool
) -> None:
    fake.wrapped = wrapped

    result = init(make_client())

    assert result.url == f"{fake.url}/pay/{REFERENCE}"
    assert result.raw["MaLoi"] == "00"


def test_init_sends_the_real_clients_constants_signed_with_a_bearer_token(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    init(make_client(), amount=115_000)

    request = fake.requests[0]
    sent = request.json()
    assert request.path == "/api/init"
    assert request.headers["Authorization"] == f"Bearer {DEFAULT_ACCESS_TOKEN}"
    assert {k: sent[k] for k in INIT_HASH_FIELDS} == {
        "LoaiBanTin": "INIT",
        "PhienBan": "1.0.6",
        "MaDoiTac": "THUPHI",
        "MaThamChieu": REFERENCE,
        "SoTien": "115000",
        "LoaiHinhThanhToan": "PAY",
        "MaKenhThanhToan": "1",
        "MaThietBi": "1",
        "NgonNgu": "vi-VN",
        "MaTienTe": "VND",
        "MaNganHang": "PAYMENT",
        "ThongTinGiaoDich": BILL.description,
        "ThoiGianGD": INIT_TIME,
        "Ip": "203.0.113.7",
    }
    assert hash_matches(sent, INIT_HASH_FIELDS, SECRET)
    assert accepted_or_problems(fake) == []


def test_init_carries_every_receipt_key_with_the_beneficiary_and_fee_kinds(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    init(make_client())

    block = fake.requests[0].json()["ThongTinBienLai"]
    assert list(block)[: len(RECEIPT_FIELDS)] == list(RECEIPT_FIELDS)
    assert all(isinstance(block[k], str) for k in RECEIPT_FIELDS)
    assert (block["MaDichVu"], block["MaDVC"], block["MaTTHC"]) == ("2", "1.001234.01", "1.001234")
    assert (block["TKThuHuong"], block["MaNHThuHuong"], block["TenTKThuHuong"]) == (
        "3761.0.1234567",
        "970415",
        "SO TU PHAP HA TINH",
    )
    assert (block["MaDonVi"], block["MaHoSo"]) == ("000.00.12.H40", BILL.dossier_code)
    assert block["TaiKhoanThuNSNN"] == "3761.0.1234567"  # a treasury account
    assert (block["HoTenNguoiNop"], block["SoCMNDNguoiNop"]) == ("Nguyễn Văn A", "042090000123")
    assert (block["DiaChiNguoiNop"], block["HuyenNguoiNop"], block["SoQD"]) == ("", "", "")
    assert block["PhiLePhi"] == [
        {
            "LoaiPhiLePhi": "1",
            "MaPhiLePhi": "LLTP",
            "TenPhiLePhi": "Phí cung cấp thông tin lý lịch tư pháp",
            "SoTien": "100000",
        },
        {"LoaiPhiLePhi": "2", "MaPhiLePhi": "LP", "TenPhiLePhi": "Lệ phí", "SoTien": "15000"},
    ]
    assert block["DSKhoanNop"] == [{"NoiDung": BILL.description, "SoTien": "115000"}]


def test_a_catalog_dvc_code_is_sent_as_ma_dvc() -> None:
    block = receipt_info(BillInfo(**{**BILL.__dict__, "dvc_code": "1.001234.000.00.12.H40"}))

    assert block["MaDVC"] == "1.001234.000.00.12.H40"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"NgonNgu": "vi"}, "NgonNgu must be 'vi-VN'"),
        ({"MaTienTe": "704"}, "MaTienTe must be 'VND'"),
        ({"LoaiHinhThanhToan": "1"}, "LoaiHinhThanhToan must be 'PAY'"),
        ({"MaNganHang": ""}, "MaNganHang must be 'PAYMENT'"),
        ({"MaThamChieu": "X" * 21}, "MaThamChieu must have 1 to 20 characters"),
        ({"Ip": None}, "missing Ip"),
        ({"ThongTinBienLai.KhoBac": None}, "ThongTinBienLai.KhoBac missing"),
        ({"ThongTinBienLai.TKThuHuong": ""}, "no beneficiary account"),
        ({"ThongTinBienLai.MaDichVu": "1"}, "MaDichVu must be '2'"),
        ({"ThongTinBienLai.PhiLePhi": []}, "PhiLePhi must be a non-empty list"),
    ],
)
def test_the_fake_platform_refuses_an_init_missing_a_field_or_with_a_wrong_constant(
    fake: FakePayGov, make_client: MakeClient, change: dict[str, Any], problem: str
) -> None:
    init(make_client())
    message = dict(fake.requests[0].json())
    message["ThongTinBienLai"] = dict(message["ThongTinBienLai"])
    for key, value in change.items():
        target = message["ThongTinBienLai"] if key.startswith("ThongTinBienLai.") else message
        name = key.removeprefix("ThongTinBienLai.")
        if value is None:
            del target[name]
        else:
            target[name] = value

    assert any(problem in p for p in init_problems(message, "THUPHI")), init_problems(
        message, "THUPHI"
    )


def test_a_refused_init_is_a_platform_error_with_the_problems(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    with pytest.raises(PayGovError) as caught:
        client.init_payment(REFERENCE, Money(115_000), "x", "203.0.113.7", init_time=INIT_TIME)
    assert caught.value.provider_code == "96"
    assert any("no beneficiary account" in p for p in fake.refused[0])


@pytest.mark.parametrize("token", ["", "not-the-token"], ids=["missing", "wrong"])
def test_a_call_without_the_right_bearer_token_is_refused(
    fake: FakePayGov, make_client: MakeClient, token: str
) -> None:
    with pytest.raises(ProviderBadResponse, match="401"):
        init(make_client(access_token=token))
    assert fake.payments == {}
    assert ("Authorization" in fake.requests[0].headers) is bool(token)


def test_the_first_of_two_rotating_access_tokens_is_sent(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    assert init(make_client(access_token=f"{DEFAULT_ACCESS_TOKEN},old-token")).url


def test_three_configured_urls_replace_the_base(make_client: MakeClient) -> None:
    paths = ("/dvcqg/init", "/dvcqg/check-confirm", "/dvcqg/receipt")
    with FakePayGov(SECRET, partner_code="THUPHI", paths=paths) as fake:
        urls = {
            k: fake.url + p
            for k, p in zip(("init_url", "query_url", "bill_url"), paths, strict=True)
        }
        client = make_client(base_url="", **urls)
        init(client)
        fake.complete(REFERENCE)
        assert client.query_status(REFERENCE, init_time=INIT_TIME).status is TxnStatus.PAID
        assert client.get_bill(REFERENCE, init_time=INIT_TIME).startswith(b"%PDF-")
        assert [r.path for r in fake.requests] == list(paths)
        assert all(r.headers["Authorization"].startswith("Bearer ") for r in fake.requests)


def test_init_refused_by_the_platform_raises_its_error_code(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    fake.init_error = "07"

    with pytest.raises(PayGovError) as caught:
        init(make_client())
    assert caught.value.provider_code == "07"


def test_init_signed_with_the_wrong_secret_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(PayGovError) as caught:
        init(make_client(secret="not-the-secret"))
    assert caught.value.provider_code == "97"


def test_init_signs_with_the_first_of_two_rotating_secrets(make_client: MakeClient) -> None:
    assert init(make_client(secret=f"{SECRET},old-secret")).url


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_init_is_retried_when_the_connection_was_refused_before_sending(
    make_client: MakeClient,
) -> None:
    pauses: list[float] = []
    client = make_client(base_url=closed_port_url(), sleep=pauses.append, attempts=3)

    with pytest.raises(ProviderUnavailable) as caught:
        init(client)
    assert caught.value.request_sent is False
    assert len(pauses) == 2


def test_init_is_not_retried_after_a_read_timeout(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    fake.delay = 0.6

    with pytest.raises(ProviderUnavailable) as caught:
        init(make_client(timeout=(1, 0.2)))
    assert caught.value.request_sent is True
    assert len(fake.requests) == 1


def test_init_is_not_retried_after_a_503(fake: FakePayGov, make_client: MakeClient) -> None:
    fake.down = True

    with pytest.raises(ProviderUnavailable) as caught:
        init(make_client())
    assert caught.value.request_sent is True
    assert len(fake.requests) == 1


def test_an_init_answer_without_a_payment_url_is_a_bad_response(
    fake: FakePayGov, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "_init", lambda message: {"MaLoi": "00", "MoTaLoi": "ok"})

    with pytest.raises(ProviderBadResponse):
        init(make_client())


def settle(fake: FakePayGov, outcome: str) -> None:
    if outcome == "paid":
        fake.complete(REFERENCE, success=True)
    elif outcome == "failed":
        fake.complete(REFERENCE, success=False)
    elif outcome == "unknown":
        fake.outcomes[REFERENCE] = "7"


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("paid", TxnStatus.PAID),
        ("pending", TxnStatus.PENDING),
        ("failed", TxnStatus.FAILED),
        ("unknown", TxnStatus.PENDING),
    ],
)
def test_query_maps_trang_thai_gd_and_unknown_is_pending(
    fake: FakePayGov, make_client: MakeClient, outcome: str, status: TxnStatus
) -> None:
    client = make_client()
    init(client)
    settle(fake, outcome)

    event = client.query_status(REFERENCE, init_time=INIT_TIME)

    assert event.status is status
    assert (event.provider, event.reference, event.kind) == ("paygov", REFERENCE, EventKind.PAYMENT)
    assert (event.amount, event.currency) == (Money(115_000), "VND")
    assert "MaXacThuc" not in event.raw


def test_a_paid_query_carries_the_platform_transaction_id(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.complete(REFERENCE)

    event = client.query_status(REFERENCE, init_time=INIT_TIME)

    assert event.provider_txn_id == fake.payments[REFERENCE].txn_id
    assert event.details["MaGiaoDich"] == event.provider_txn_id


def test_a_query_reply_with_a_forged_hash_is_not_trusted(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.complete(REFERENCE)
    fake.forge_replies = True

    with pytest.raises(ProviderBadResponse, match="MaXacThuc"):
        client.query_status(REFERENCE, init_time=INIT_TIME)


def test_query_is_retried_after_a_503_because_it_is_safe(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.fail_next = 1

    assert client.query_status(REFERENCE, init_time=INIT_TIME).status is TxnStatus.PENDING
    assert [r.path for r in fake.requests] == ["/api/init", "/api/query", "/api/query"]


def test_query_works_with_the_wrapped_answer_format(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.complete(REFERENCE)
    fake.wrapped = True

    assert client.query_status(REFERENCE, init_time=INIT_TIME).status is TxnStatus.PAID


def test_query_of_an_unknown_reference_raises_the_platform_code(make_client: MakeClient) -> None:
    with pytest.raises(PayGovError) as caught:
        make_client().query_status("TP26UNKNOWN00", init_time=INIT_TIME)
    assert caught.value.provider_code == "14"


def test_query_gives_up_when_the_platform_stays_down(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    fake.down = True

    with pytest.raises(ProviderUnavailable):
        make_client(attempts=2).query_status(REFERENCE, init_time=INIT_TIME)
    assert len(fake.requests) == 2


def test_a_query_with_another_thoi_gian_gd_than_the_init_finds_nothing(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.complete(REFERENCE)

    with pytest.raises(PayGovError) as caught:
        client.query_status(REFERENCE, init_time="20261205101010")
    assert caught.value.provider_code == "14"
    sent = fake.requests[-1].json()
    assert sent == sign_message(
        {
            "LoaiBanTin": "QUERY",
            "PhienBan": "1.0.6",
            "MaDoiTac": "THUPHI",
            "MaThamChieu": REFERENCE,
            "ThoiGianGD": "20261205101010",
        },
        QUERY_HASH_FIELDS,
        SECRET,
    )


def test_get_bill_returns_the_platform_receipt_pdf(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.complete(REFERENCE)

    pdf = client.get_bill(REFERENCE, init_time=INIT_TIME)

    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert REFERENCE.encode() in pdf
    sent = fake.requests[-1].json()
    assert (sent["LoaiBanTin"], sent["ThoiGianGD"]) == ("GET_BILL", INIT_TIME)
    assert hash_matches(sent, QUERY_HASH_FIELDS, SECRET)


def test_get_bill_of_an_unpaid_payment_raises_the_platform_code(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)

    with pytest.raises(PayGovError) as caught:
        client.get_bill(REFERENCE, init_time=INIT_TIME)
    assert caught.value.provider_code == "15"


def test_the_client_repr_hides_the_secret(make_client: MakeClient) -> None:
    assert SECRET not in repr(make_client())


def signed_reply(**overrides: Any) -> dict[str, Any]:
    reply = {
        "LoaiBanTin": "QUERY",
        "MaLoi": "00",
        "MaDoiTac": "THUPHI",
        "MaThamChieu": REFERENCE,
        "SoTien": "115000",
        "MaTienTe": "VND",
        "MaGiaoDich": "PG1",
        "MaNganHang": "970436",
        "ThoiGianGD": "20261123091502",
        "ThongTinGiaoDich": "Nop phi",
        "TrangThaiGD": "1",
        **overrides,
    }
    return sign_message(reply, RESULT_HASH_FIELDS, SECRET)


@pytest.mark.parametrize(
    ("status", "document", "match"),
    [
        (400, {"MaLoi": "00"}, "HTTP 400"),
        (200, ["not", "an", "object"], "not a PayGov message"),
        (200, {"error_code": "1", "message": "not json"}, "not a PayGov message"),
        (200, signed_reply(MaThamChieu="TP26SOMEONEELSE"), "another reference"),
        (200, signed_reply(SoTien="115000.00"), "unusable"),
    ],
    ids=["http-400", "list", "wrapped-garbage", "other-reference", "bad-amount"],
)
def test_unusable_status_replies_are_bad_responses(
    status: int, document: object, match: str
) -> None:
    with CallbackEndpoint(lambda raw, headers: (status, document)) as platform:
        client = PayGovClient(platform.url, "THUPHI", SECRET, timeout=(1, 2))
        with pytest.raises(ProviderBadResponse, match=match):
            client.query_status(REFERENCE, init_time=INIT_TIME)
        client.session.close()


def test_a_bill_answer_that_is_not_a_pdf_is_a_bad_response() -> None:
    with CallbackEndpoint(lambda raw, headers: (200, {"MaLoi": "00"})) as platform:
        client = PayGovClient(platform.url, "THUPHI", SECRET, timeout=(1, 2))
        with pytest.raises(ProviderBadResponse, match="not a PDF"):
            client.get_bill(REFERENCE, init_time=INIT_TIME)
        client.session.close()


def test_a_payment_of_nothing_is_never_sent(fake: FakePayGov, make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="positive"):
        init(make_client(), amount=0)
    assert fake.requests == []
