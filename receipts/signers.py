"""Who signs an agency's receipts: its own pair from THUPHI_RECEIPT_SIGNERS, else the default.

NĐ 254/2026/NĐ-CP: the collecting agency signs its receipts with its own certificate. The file
named by ``THUPHI_RECEIPT_SIGNERS`` maps agency codes to ``{"cert": PEM path, "key": PEM path}``
or ``{"pkcs11": URI}`` (with a ``"cert"`` PEM path when the token holds no certificate); an
agency not listed signs with ``THUPHI_RECEIPT_CERT`` / ``THUPHI_RECEIPT_KEY`` when both are set.
An agency with neither gets no receipt: issuing raises ``ReceiptsNotConfigured`` naming the
agency, the outbox keeps retrying, and ``pending_tax`` (the ``thuphi receipts pending-tax``
command and the officers' view of it) lists the reason.

A ``pkcs11`` URI (RFC 7512) names a key in a token or HSM (receipts.tokens): the token signs,
the key never leaves it. A token that cannot be reached, a wrong PIN or a key that does not match
its certificate makes the agency unable to sign, with the reason, never another key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from payments.config import Settings
from receipts.errors import ReceiptsNotConfigured
from receipts.tokens import TokenKey, forget_refused_pins, open_token_pair

PEM_KEYS = ("cert", "key")


@dataclass(frozen=True)
class SigningPair:
    # loaded once: validating an RSA key is slow; a TokenKey signs in its token
    key: rsa.RSAPrivateKey = field(repr=False)
    cert_pem: bytes


_TOKEN_PAIRS: dict[tuple[str, str | None, str, str], SigningPair] = {}
_TOKEN_LOCK = threading.Lock()


def signing_pair(settings: Settings, agency_code: str | None = None) -> SigningPair:
    """The pair that signs ``agency_code``'s receipts (the default pair without an agency)."""
    entry = signer_entries(settings.receipt_signers).get(agency_code or "")
    if entry is not None:
        if "pkcs11" in entry:
            return _token_pair(
                entry["pkcs11"],
                entry.get("cert"),
                settings.receipt_pkcs11_module,
                settings.receipt_pkcs11_pin,
            )
        return _read_pair(entry["key"], entry["cert"])
    if not settings.receipt_cert or not settings.receipt_key:
        who = f"agency {agency_code} has no signing certificate: list it in " if agency_code else ""
        raise ReceiptsNotConfigured(
            f"{who}THUPHI_RECEIPT_SIGNERS or set THUPHI_RECEIPT_CERT and THUPHI_RECEIPT_KEY"
            if agency_code
            else "set THUPHI_RECEIPT_CERT and THUPHI_RECEIPT_KEY (PEM files)"
        )
    return _read_pair(settings.receipt_key, settings.receipt_cert)


def signing_problem(settings: Settings, agency_code: str) -> str | None:
    """Why ``agency_code`` cannot sign receipts now, or None when it can."""
    try:
        signing_pair(settings, agency_code)
    except ReceiptsNotConfigured as exc:
        return exc.detail
    return None


def agencies_unable_to_sign(settings: Settings, agency_codes: Iterable[str]) -> dict[str, str]:
    """Of ``agency_codes``, those that cannot sign receipts now, each with why."""
    problems = {code: signing_problem(settings, code) for code in agency_codes}
    return {code: problem for code, problem in problems.items() if problem is not None}


def signer_entries(path: str) -> dict[str, dict[str, str]]:
    """The THUPHI_RECEIPT_SIGNERS file, read again whenever it changes on disk."""
    if not path:
        return {}
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise ReceiptsNotConfigured(f"THUPHI_RECEIPT_SIGNERS: cannot read {path}: {exc}") from exc
    return _load_entries(path, stamp)


@lru_cache(maxsize=4)
def _load_entries(path: str, _stamp: int) -> dict[str, dict[str, str]]:
    try:
        raw: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReceiptsNotConfigured(f"THUPHI_RECEIPT_SIGNERS: {path} is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ReceiptsNotConfigured("THUPHI_RECEIPT_SIGNERS: the file must map agency codes")
    entries: dict[str, dict[str, str]] = {}
    base = Path(path).parent
    for agency, entry in raw.items():
        if isinstance(entry, dict) and isinstance(entry.get("pkcs11"), str):
            entries[agency] = {"pkcs11": entry["pkcs11"]}
            if isinstance(entry.get("cert"), str):  # else the token's certificate object
                entries[agency]["cert"] = str(base / entry["cert"])
        elif isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in PEM_KEYS):
            # relative paths are relative to the mapping file, as an operator writes them
            entries[agency] = {k: str(base / entry[k]) for k in PEM_KEYS}
        else:
            raise ReceiptsNotConfigured(
                f"THUPHI_RECEIPT_SIGNERS: {agency} needs {{cert, key}} or {{pkcs11}}"
            )
    return entries


def _token_pair(uri: str, cert_path: str | None, module: str, pin: str) -> SigningPair:
    # kept: one logged-in session per key; a failure is not kept, so a fixed token is used
    wanted = (uri, cert_path, module, pin)
    with _TOKEN_LOCK:
        if wanted not in _TOKEN_PAIRS:
            try:
                pair = open_token_pair(
                    uri, cert_path=cert_path, default_module=module, default_pin=pin
                )
            except ReceiptsNotConfigured as exc:
                raise ReceiptsNotConfigured(f"PKCS#11: {exc.detail}") from exc
            _TOKEN_PAIRS[wanted] = SigningPair(pair.key, pair.cert_pem)
        return _TOKEN_PAIRS[wanted]


def release_tokens() -> None:
    """Close every token session this process holds (a PIN or token change, a shutdown) and
    forget the PINs a token refused.

    PKCS#11 logs in per process and token: while one session is logged in, another opens
    without the PIN being checked again, so after a PIN change the old sessions must go.
    """
    with _TOKEN_LOCK:
        pairs = list(_TOKEN_PAIRS.values())
        _TOKEN_PAIRS.clear()
    for pair in pairs:
        if isinstance(pair.key, TokenKey):
            pair.key.close()
    forget_refused_pins()


@lru_cache(maxsize=32)
def _read_pair(key_path: str, cert_path: str) -> SigningPair:
    try:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        cert = Path(cert_path).read_bytes()
    except (OSError, ValueError, TypeError) as exc:
        raise ReceiptsNotConfigured(f"cannot read the receipt signing pair: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ReceiptsNotConfigured("the receipt signing key must be an RSA key")
    return SigningPair(key, cert)
