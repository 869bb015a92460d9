"""The national platform's settings are checked at start-up, with messages naming the variable."""

from __future__ import annotations

import pytest

from payments.config import ConfigError, Settings
from payments.paygov.services import paygov_client

BASE = {
    "THUPHI_PAYGOV_URL": "https://dichvucong.gov.vn/paymentplatform",
    "THUPHI_PAYGOV_PARTNER_CODE": "000.00.00.H40",
    "THUPHI_PAYGOV_SECRET": "shared-secret",
}


def test_one_base_url_gives_the_three_default_urls_and_the_bearer_token_is_optional() -> None:
    client = paygov_client(Settings.from_env(BASE))

    base = BASE["THUPHI_PAYGOV_URL"]
    assert (client.init_url, client.query_url, client.bill_url) == (
        f"{base}/api/init",
        f"{base}/api/query",
        f"{base}/api/get-bill",
    )


def test_three_urls_and_a_token_are_read_from_the_environment() -> None:
    env = {
        **{k: v for k, v in BASE.items() if k != "THUPHI_PAYGOV_URL"},
        "THUPHI_PAYGOV_INIT_URL": "https://lgsp.example.vn/pp/init",
        "THUPHI_PAYGOV_QUERY_URL": "https://lgsp.example.vn/pp/confirm",
        "THUPHI_PAYGOV_BILL_URL": "https://lgsp.example.vn/pp/receipt",
        "THUPHI_PAYGOV_ACCESS_TOKEN": "new-token,old-token",
        "THUPHI_PAYGOV_RESULT_TYPE": "CONFIRM",
    }
    settings = Settings.from_env(env)

    client = paygov_client(settings)
    assert client.init_url == "https://lgsp.example.vn/pp/init"
    assert client.bill_url == "https://lgsp.example.vn/pp/receipt"
    assert settings.paygov_result_type == "CONFIRM"
    assert "new-token" not in repr(settings) and "new-token" not in repr(client)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"THUPHI_PAYGOV_URL": "dichvucong.gov.vn"}, "THUPHI_PAYGOV_URL must be an http(s) URL"),
        ({"THUPHI_PAYGOV_BILL_URL": "ftp://x"}, "THUPHI_PAYGOV_BILL_URL must be an http(s) URL"),
        ({"THUPHI_PAYGOV_SECRET": ""}, "THUPHI_PAYGOV_PARTNER_CODE and THUPHI_PAYGOV_SECRET"),
        ({"THUPHI_PAYGOV_RESULT_TYPE": "QUERY"}, "other than INIT, QUERY or GET_BILL"),
        ({"THUPHI_PAYGOV_RESULT_TYPE": "init"}, "other than INIT, QUERY or GET_BILL"),
        ({"THUPHI_PAYGOV_RESULT_TYPE": "a b"}, "THUPHI_PAYGOV_RESULT_TYPE must be a word"),
        (
            {"THUPHI_PAYGOV_URL": "", "THUPHI_PAYGOV_INIT_URL": "https://x/init"},
            "THUPHI_PAYGOV_QUERY_URL, THUPHI_PAYGOV_BILL_URL must be set",
        ),
    ],
)
def test_inconsistent_platform_settings_stop_the_start_with_a_clear_message(
    change: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env({**BASE, **change})


def test_no_platform_settings_at_all_is_fine() -> None:
    assert Settings.from_env({}).paygov_url == ""
