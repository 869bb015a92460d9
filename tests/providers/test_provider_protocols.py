"""The adapters satisfy the protocols in ``providers.base`` (checked by mypy, exercised here)."""

from werkzeug.datastructures import EnvironHeaders, Headers

from providers.bank import parse_notification
from providers.base import (
    HeaderSource,
    PaymentPlatform,
    PosCallbackParser,
    ResultParser,
    TaxAuthority,
    TransferNotificationParser,
    WebhookSender,
    header_value,
)
from providers.dossier import deliver_webhook
from providers.paygov import PayGovClient, parse_result
from providers.pos import parse_callback
from providers.taxauthority import TaxAuthorityClient


def test_the_adapters_fit_their_protocols() -> None:
    platform: PaymentPlatform = PayGovClient("http://127.0.0.1:9", "THUPHI", "s")
    tax: TaxAuthority = TaxAuthorityClient("http://127.0.0.1:9")
    parsers: tuple[ResultParser, PosCallbackParser, TransferNotificationParser, WebhookSender] = (
        parse_result,
        parse_callback,
        parse_notification,
        deliver_webhook,
    )

    assert all(callable(parser) for parser in parsers)
    assert callable(platform.init_payment)
    assert callable(tax.submit_summary)


def test_headers_are_found_case_insensitively_in_werkzeug_headers_and_dicts() -> None:
    sources: list[HeaderSource] = [
        Headers({"X-Signature": "t=1,v1=ab"}),
        EnvironHeaders({"HTTP_X_SIGNATURE": "t=1,v1=ab"}),
        {"x-signature": "t=1,v1=ab"},
    ]

    assert [header_value(source, "X-Signature") for source in sources] == ["t=1,v1=ab"] * 3
    assert header_value({"Other": "1"}, "X-Signature") is None
