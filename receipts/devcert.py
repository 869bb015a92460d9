"""A self-signed signing pair for development and tests (never for production receipts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def generate_dev_pair(
    common_name: str,
    days: int = 3650,
    organization: str | None = None,
    not_before: datetime | None = None,
) -> tuple[bytes, bytes]:
    """``(key_pem, cert_pem)``: RSA 2048 (PKCS#8, unencrypted) and a self-signed certificate
    whose CN and O name the agency (O defaults to the CN), valid ``days`` from ``not_before``
    (default: five minutes ago)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization or common_name),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # backdated a little so a verifier whose clock lags the issuer's still accepts it
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    cert = _self_signed(key, name, start, start + timedelta(days=days))
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _self_signed(
    key: rsa.RSAPrivateKey, name: x509.Name, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(), critical=True)
        .sign(key, hashes.SHA256())
    )


def _signing_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,  # non-repudiation: the agency cannot disown a receipt
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
