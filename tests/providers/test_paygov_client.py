import hashlib
import re
import socket
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from payments.money import Money
from providers.base import (
    EventKind,
    InitResult,
    ProviderBadResponse,
    ProviderUnavailable,
    TxnStatus,
)
from providers.fakes.paygov import FakePayGov
from providers.fakes.server import CallbackEndpoint
from providers.paygov import PayGovClient, PayGovError
from providers.paygov.schemas import (
    INIT_HASH_FIELDS,
    RESULT_HASH_FIELDS,
    hash_fields,
    hash_matches,
    sign_message,
)

SECRET = "paygov-test-secret"
REFERENCE = "TP26ABCDEFGH7"


class MakeClient(Protocol):
    def __call__(self, **overrides: Any) -> PayGovClient: ...


@pytest.fixture
def fake() -> Iterator[FakePayGov]:
    with FakePayGov(SECRET, partner_code="THUPHI") as server:
        yield server


@pytest.fixture
def make_client(fake: FakePayGov) -> Iterator[MakeClient]:
    clients: list[PayGovClient] = []

    def make(**overrides: Any) -> PayGovClient:
        options: dict[str, Any] = {"timeout": (1, 2), "sleep": lambda seconds: None, **overrides}
        client = PayGovClient(
            options.pop("base_url", fake.url), "THUPHI", options.pop("secret", SECRET), **options
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.session.close()


def init(client: PayGovClient, reference: str = REFERENCE, amount: int = 115_000) -> InitResult:
    return client.init_payment(reference, Money(amount), "Nop phi LLTP", "203.0.113.7")


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


def test_init_sends_a_signed_version_1_0_6_message_with_whole_dong(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    init(make_client(), amount=115_000)

    sent = fake.requests[0].json()
    assert fake.requests[0].path == "/api/init"
    assert sent["LoaiBanTin"] == "INIT"
    assert sent["PhienBan"] == "1.0.6"
    assert sent["SoTien"] == "115000"
    assert sent["MaTienTe"] == "704"
    assert re.fullmatch(r"20\d{12}", sent["ThoiGianGD"])
    assert hash_matches(sent, INIT_HASH_FIELDS, SECRET)


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

    event = client.query_status(REFERENCE)

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

    event = client.query_status(REFERENCE)

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
        client.query_status(REFERENCE)


def test_query_is_retried_after_a_503_because_it_is_safe(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.fail_next = 1

    assert client.query_status(REFERENCE).status is TxnStatus.PENDING
    assert [r.path for r in fake.requests] == ["/api/init", "/api/query", "/api/query"]


def test_query_works_with_the_wrapped_answer_format(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    init(client)
    fake.complete(REFERENCE)
    fake.wrapped = True

    assert client.query_status(REFERENCE).status is TxnStatus.PAID


def test_query_of_an_unknown_reference_raises_the_platform_code(make_client: MakeClient) -> None:
    with pytest.raises(PayGovError) as caught:
        make_client().query_status("TP26UNKNOWN00")
    assert caught.value.provider_code == "14"


def test_query_gives_up_when_the_platform_stays_down(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    fake.down = True

    with pytest.raises(ProviderUnavailable):
        make_client(attempts=2).query_status(REFERENCE)
    assert len(fake.requests) == 2


def test_get_bill_returns_the_receipt_information(
    fake: FakePayGov, make_client: MakeClient
) -> None:
    client = make_client()
    client.init_payment(
        REFERENCE, Money(115_000), "Nop phi", "203.0.113.7", receipt_info={"HoTen": "Nguyễn Văn A"}
    )

    bill = client.get_bill(REFERENCE)

    assert bill == {"HoTen": "Nguyễn Văn A", "SoTien": "115000"}


def test_the_client_repr_hides_the_secret(make_client: MakeClient) -> None:
    assert SECRET not in repr(make_client())


def signed_reply(**overrides: Any) -> dict[str, Any]:
    reply = {
        "LoaiBanTin": "QUERY",
        "MaLoi": "00",
        "MaDoiTac": "THUPHI",
        "MaThamChieu": REFERENCE,
        "SoTien": "115000",
        "MaTienTe": "704",
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
            client.query_status(REFERENCE)
        client.session.close()


def test_a_bill_answer_without_receipt_information_is_a_bad_response() -> None:
    with CallbackEndpoint(lambda raw, headers: (200, {"MaLoi": "00"})) as platform:
        client = PayGovClient(platform.url, "THUPHI", SECRET, timeout=(1, 2))
        with pytest.raises(ProviderBadResponse, match="ThongTinBienLai"):
            client.get_bill(REFERENCE)
        client.session.close()


def test_a_payment_of_nothing_is_never_sent(fake: FakePayGov, make_client: MakeClient) -> None:
    with pytest.raises(ValueError, match="positive"):
        init(make_client(), amount=0)
    assert fake.requests == []
