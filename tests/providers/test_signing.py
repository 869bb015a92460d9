import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers import signing
from providers.base import CallbackRejected, RejectReason

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
T = int(NOW.timestamp())
BODY = b'{"amount":200000}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"s3cret", f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert signing.sign(BODY, "s3cret", timestamp=T) == f"t={T},v1={expected}"


def test_a_signed_body_verifies_and_returns_its_timestamp() -> None:
    header = signing.sign(BODY, "s3cret", timestamp=T)

    assert signing.verify(BODY, header, "s3cret", now=NOW) == T


def test_a_tampered_body_is_rejected_as_bad_signature() -> None:
    header = signing.sign(BODY, "s3cret", timestamp=T)

    with pytest.raises(CallbackRejected) as caught:
        signing.verify(BODY.replace(b"2", b"9"), header, "s3cret", now=NOW)
    assert caught.value.reason is RejectReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-301, False), (-299, True), (299, True), (301, False)]
)
def test_the_timestamp_must_lie_within_300_seconds_either_way(skew: int, accepted: bool) -> None:
    header = signing.sign(BODY, "s3cret", timestamp=T + skew)

    if accepted:
        assert signing.verify(BODY, header, "s3cret", now=NOW) == T + skew
    else:
        with pytest.raises(CallbackRejected) as caught:
            signing.verify(BODY, header, "s3cret", now=NOW)
        assert caught.value.reason is RejectReason.STALE_TIMESTAMP


def test_during_rotation_both_secrets_verify_and_the_first_signs() -> None:
    rotating = "new-secret,old-secret"
    signed_by_old_sender = signing.sign(BODY, "old-secret", timestamp=T)
    signed_by_us = signing.sign(BODY, rotating, timestamp=T)

    assert signing.verify(BODY, signed_by_old_sender, rotating, now=NOW) == T
    assert signing.verify(BODY, signed_by_us, "new-secret", now=NOW) == T
    with pytest.raises(CallbackRejected):
        signing.verify(BODY, signed_by_us, "old-secret", now=NOW)


def test_any_of_several_v1_entries_may_match() -> None:
    good = signing.compute("s3cret", T, BODY)
    header = f"t={T},v1={'0' * 64},v0=ignored,v1={good}"

    assert signing.verify(BODY, header, "s3cret", now=NOW) == T


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, RejectReason.MISSING_SIGNATURE),
        ("", RejectReason.MISSING_SIGNATURE),
        ("garbage", RejectReason.BAD_SIGNATURE),
        (f"v1={'0' * 64}", RejectReason.BAD_SIGNATURE),
        (f"t={T}", RejectReason.BAD_SIGNATURE),
        (f"t=12x,v1={'0' * 64}", RejectReason.BAD_SIGNATURE),
        (f"t={T},t={T},v1={'0' * 64}", RejectReason.BAD_SIGNATURE),
        (f"t={T},v1=ü", RejectReason.BAD_SIGNATURE),
    ],
)
def test_missing_or_malformed_headers_are_rejected(
    header: str | None, reason: RejectReason
) -> None:
    with pytest.raises(CallbackRejected) as caught:
        signing.verify(BODY, header, "s3cret", now=NOW)
    assert caught.value.reason is reason


def test_an_empty_secret_configuration_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="no secret"):
        signing.sign(BODY, " , ", timestamp=T)


@given(body=st.binary(max_size=512), secret=st.text(alphabet="abcdefXYZ0123-_", min_size=1))
def test_every_body_round_trips(body: bytes, secret: str) -> None:
    header = signing.sign(body, secret, timestamp=T)

    assert signing.verify(body, header, secret, now=NOW) == T
