import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from paygov_kit import BILL

from payments.money import Money
from providers.base import CallbackRejected, HeaderSource, ProviderEvent, RejectReason, TxnStatus
from providers.fakes.paygov import DEFAULT_ACCESS_TOKEN, FakePayGov
from providers.fakes.server import CallbackEndpoint
from providers.paygov import PayGovClient, build_ack, parse_result
from providers.paygov.callbacks import request_fields
from providers.paygov.mapping import receipt_info
from providers.paygov.schemas import RESULT_HASH_FIELDS, sign_message

SECRET = "paygov-test-secret"


def result(secret: str = SECRET, **overrides: Any) -> dict[str, Any]:
    message = {
        "LoaiBanTin": "RESULT",
        "MaLoi": "00",
        "MaDoiTac": "THUPHI",
        "MaThamChieu": "TP26ABCDEFGH7",
        "SoTien": "115000",
        "MaTienTe": "704",
        "MaGiaoDich": "PG0000000042",
        "MaNganHang": "970436",
        "ThoiGianGD": "20261123091502",
        "ThongTinGiaoDich": "Nop phi LLTP",
        **overrides,
    }
    return sign_message(message, RESULT_HASH_FIELDS, secret)


def body(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode()


def test_the_result_hash_puts_thoi_gian_gd_before_thong_tin_giao_dich() -> None:
    joined = (
        "RESULT|00|THUPHI|TP26ABCDEFGH7|115000|704|PG0000000042|970436|20261123091502|Nop phi LLTP"
    )

    assert result()["MaXacThuc"] == hashlib.sha256(f"{joined}|{SECRET}".encode()).hexdigest()


def test_a_verified_paid_result_becomes_a_paid_event() -> None:
    event = parse_result(body(result()), SECRET)

    assert event.status is TxnStatus.PAID
    assert (event.provider, event.provider_txn_id) == ("paygov", "PG0000000042")
    assert (event.reference, event.amount, event.currency) == (
        "TP26ABCDEFGH7",
        Money(115_000),
        "VND",
    )
    assert event.occurred_at == datetime(2026, 11, 23, 2, 15, 2, tzinfo=UTC)
    assert event.details["MaGiaoDich"] == "PG0000000042"
    assert event.details["MaNganHang"] == "970436"


def test_the_stored_raw_payload_has_no_hash() -> None:
    event = parse_result(body(result()), SECRET)

    assert "MaXacThuc" not in event.raw
    assert event.raw["SoTien"] == "115000"


@pytest.mark.parametrize(
    ("ma_loi", "status"),
    [
        ("00", TxnStatus.PAID),
        ("01", TxnStatus.FAILED),
        ("02", TxnStatus.FAILED),
        ("42", TxnStatus.PENDING),
    ],
)
def test_ma_loi_maps_to_a_status_and_an_unknown_code_is_pending(
    ma_loi: str, status: TxnStatus
) -> None:
    assert parse_result(body(result(MaLoi=ma_loi)), SECRET).status is status


def test_a_failed_result_without_a_platform_transaction_id_still_gets_a_stable_id() -> None:
    event = parse_result(body(result(MaLoi="02", MaGiaoDich="")), SECRET)

    assert event.provider_txn_id == "TP26ABCDEFGH7:02:20261123091502"


def test_a_forged_hash_is_rejected() -> None:
    forged = result(secret="attacker-guess")

    with pytest.raises(CallbackRejected) as caught:
        parse_result(body(forged), SECRET)
    assert caught.value.reason is RejectReason.BAD_SIGNATURE


def test_an_amount_changed_after_signing_is_rejected() -> None:
    tampered = {**result(), "SoTien": "1150000"}

    with pytest.raises(CallbackRejected) as caught:
        parse_result(body(tampered), SECRET)
    assert caught.value.reason is RejectReason.BAD_SIGNATURE


def test_a_result_signed_with_the_old_secret_verifies_during_rotation() -> None:
    assert parse_result(body(result(secret="old")), "new,old").status is TxnStatus.PAID


@pytest.mark.parametrize("kind", ["QUERY", "INIT", "GET_BILL"])
def test_a_signed_request_type_cannot_be_replayed_as_a_result(kind: str) -> None:
    with pytest.raises(CallbackRejected) as caught:
        parse_result(body(result(LoaiBanTin=kind)), SECRET)
    assert caught.value.reason is RejectReason.UNEXPECTED_MESSAGE


@pytest.mark.parametrize("kind", ["RESULT", "CONFIRM", "PAYMENT_RESULT"])
def test_any_other_loai_ban_tin_is_a_result_unless_one_is_configured(kind: str) -> None:
    assert parse_result(body(result(LoaiBanTin=kind)), SECRET).status is TxnStatus.PAID
    assert parse_result(body(result(LoaiBanTin=kind)), SECRET, result_type=kind).amount


def test_a_configured_result_type_refuses_every_other_one() -> None:
    with pytest.raises(CallbackRejected) as caught:
        parse_result(body(result(LoaiBanTin="RESULT")), SECRET, result_type="CONFIRM")
    assert caught.value.reason is RejectReason.UNEXPECTED_MESSAGE


def test_a_numeric_so_tien_is_hashed_as_its_digits_and_accepted() -> None:
    event = parse_result(body(result(SoTien=115000)), SECRET)

    assert event.amount == Money(115_000)


def test_a_failed_result_may_leave_out_ma_giao_dich_and_ma_tien_te() -> None:
    message = {k: v for k, v in result(MaLoi="01").items() if k not in ("MaGiaoDich", "MaTienTe")}
    event = parse_result(body(sign_message(message, RESULT_HASH_FIELDS, SECRET)), SECRET)

    assert (event.status, event.currency) == (TxnStatus.FAILED, "VND")
    assert event.provider_txn_id == "TP26ABCDEFGH7:01:20261123091502"


def test_the_signature_is_checked_before_the_fields_are_parsed() -> None:
    with pytest.raises(CallbackRejected) as caught:
        parse_result(body({**result(), "ThoiGianGD": "garbage"}), SECRET)
    assert caught.value.reason is RejectReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        body({k: v for k, v in result().items() if k != "MaThamChieu"}),
        body({k: v for k, v in result().items() if k != "MaXacThuc"}),
        body({**result(), "SoTien": [115000]}),
    ],
    ids=["text", "bytes", "list", "missing-reference", "missing-hash", "list-amount"],
)
def test_malformed_results_are_rejected(raw: bytes) -> None:
    with pytest.raises(CallbackRejected) as caught:
        parse_result(raw, SECRET)
    assert caught.value.reason is RejectReason.MALFORMED


@pytest.mark.parametrize(
    "amount", ["115000.5", "-115000", "1e5", "0", " 115000", "１１５", 0, -5, True, 115000.0]
)
def test_a_correctly_signed_amount_that_is_not_a_positive_integer_string_is_rejected(
    amount: object,
) -> None:
    with pytest.raises(CallbackRejected) as caught:
        parse_result(body(result(SoTien=amount)), SECRET)
    assert caught.value.reason is RejectReason.MALFORMED


@pytest.mark.parametrize("when", ["2026-11-23", "20261323091502", "2026112309150x"])
def test_a_malformed_transaction_time_is_rejected(when: str) -> None:
    with pytest.raises(CallbackRejected):
        parse_result(body(result(ThoiGianGD=when)), SECRET)


def test_the_ack_echoes_the_results_thoi_gian_gd_and_ma_xac_thuc_as_public_clients_do() -> None:
    message = result()

    ack = build_ack(request_fields(body(message)), True, partner_code="THUPHI")

    assert ack == {
        "MaLoi": "00",
        "MoTaLoi": "Thành công",
        "MaDoiTac": "THUPHI",
        "MaThamChieu": "TP26ABCDEFGH7",
        "ThoiGianGD": "20261123091502",
        "MaXacThuc": message["MaXacThuc"],
    }


def test_a_negative_ack_can_be_built_from_the_raw_fields_of_a_rejected_request() -> None:
    fields = request_fields(body(result(secret="forged")))

    ack = build_ack(fields, False)

    assert ack["MaLoi"] == "99"
    assert ack["MaThamChieu"] == "TP26ABCDEFGH7"
    assert request_fields(b"not json") == {}


@pytest.fixture
def events() -> list[ProviderEvent]:
    return []


@pytest.fixture
def callback_endpoint(events: list[ProviderEvent]) -> Iterator[CallbackEndpoint]:
    def handle(raw: bytes, headers: HeaderSource) -> tuple[int, object]:
        try:
            event = parse_result(raw, SECRET)
        except CallbackRejected:
            return 200, build_ack(request_fields(raw), False)
        events.append(event)
        return 200, build_ack(request_fields(raw), True)

    with CallbackEndpoint(handle) as endpoint:
        yield endpoint


@pytest.mark.parametrize(
    ("button", "status"), [("success", TxnStatus.PAID), ("failure", TxnStatus.FAILED)]
)
def test_paying_on_the_fake_platform_page_posts_a_signed_result_to_our_callback(
    callback_endpoint: CallbackEndpoint, button: str, status: TxnStatus, events: list[ProviderEvent]
) -> None:
    with FakePayGov(
        SECRET, callback_url=callback_endpoint.url, return_url="https://thuphi.test/done"
    ) as fake:
        client = PayGovClient(
            fake.url, "THUPHI", SECRET, timeout=(1, 5), access_token=DEFAULT_ACCESS_TOKEN
        )
        receipt = receipt_info(BILL)
        url = client.init_payment(
            "TP26ABCDEFGH7", Money(115_000), "Nop phi", "203.0.113.7", receipt=receipt
        ).url
        client.session.close()
        page = requests.get(url, timeout=5)
        answer = requests.post(url, data={"outcome": button}, allow_redirects=False, timeout=5)

    assert "Thanh toán thành công" in page.text
    assert "Thất bại" in page.text
    assert answer.status_code == 303
    assert answer.headers["Location"] == "https://thuphi.test/done"
    [event] = events
    assert (event.reference, event.amount, event.status) == (
        "TP26ABCDEFGH7",
        Money(115_000),
        status,
    )
    [ack] = fake.payments["TP26ABCDEFGH7"].acks
    assert ack["MaLoi"] == "00"
