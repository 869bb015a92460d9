"""An agency's receipt key kept in a PKCS#11 token or HSM: it signs there and never leaves it.

THUPHI_RECEIPT_SIGNERS may name an agency's key by an RFC 7512 URI, e.g.
``pkcs11:token=STP;object=receipts?module-path=/usr/lib/softhsm/libsofthsm2.so``:

- path attributes select the key: ``token`` (label), ``serial``, ``slot-id``, ``object`` (the
  key's CKA_LABEL), ``id`` (its CKA_ID, percent-encoded bytes); ``type`` may only be ``private``;
- ``module-path`` (query) is the vendor's PKCS#11 library, else THUPHI_RECEIPT_PKCS11_MODULE;
- the user PIN comes from ``pin-source=file:/path`` (a file only the service reads) or from
  THUPHI_RECEIPT_PKCS11_PIN. A ``pin-value`` in the URI is refused: the mapping file is
  configuration, and a PIN in it would be a secret in a file that is copied and logged.

The certificate is the token's certificate object with the key's label/id, unless the entry
names a PEM file (``"cert"``). ``TokenKey`` is a ``cryptography`` RSA private key whose
``sign`` is the token's C_Sign (CKM_SHA256_RSA_PKCS), so signxml builds the XML signature as
with a PEM key while the token computes the SignatureValue over the canonical SignedInfo.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, unquote_to_bytes

import pkcs11
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11.exceptions import (
    PinExpired,
    PinIncorrect,
    PinInvalid,
    PinLenRange,
    PinLocked,
    PKCS11Error,
    UserAlreadyLoggedIn,
)

from receipts.errors import ReceiptsNotConfigured

PATH_ATTRIBUTES = frozenset({"token", "serial", "slot-id", "object", "id", "type"})
QUERY_ATTRIBUTES = frozenset({"module-path", "pin-source"})
# the token hashes and pads: signxml asks for PKCS#1 v1.5 with one of these
MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}
PROBE = b"thuphi: does this key match its certificate?"
PIN_ERRORS = (PinIncorrect, PinInvalid, PinLenRange, PinLocked, PinExpired)
# (URI, module, PIN) the token refused: never tried again by this process, for a token locks
# its user PIN after a few wrong tries and the dashboard and the outbox would keep trying
_refused: set[tuple[str, str, str]] = set()
_refused_lock = threading.Lock()


class PinRefused(ReceiptsNotConfigured):
    """The token refused the PIN (wrong, locked, expired): not retried with the same PIN."""


@dataclass(frozen=True)
class TokenUri:
    """The parts of an RFC 7512 URI this service uses (never a PIN)."""

    text: str
    token: str | None = None
    serial: str | None = None
    slot_id: int | None = None
    label: str | None = None
    key_id: bytes | None = None
    module_path: str | None = None
    pin_file: str | None = None


def parse_uri(text: str) -> TokenUri:
    """Read ``pkcs11:<path>?<query>``; unknown or unsafe attributes are refused by name."""
    scheme, _, rest = text.partition(":")
    if scheme.lower() != "pkcs11":
        raise ReceiptsNotConfigured(f"not a PKCS#11 URI (RFC 7512): {_shown(text)}")
    path, _, query = rest.partition("?")
    found = _pairs(path, ";", PATH_ATTRIBUTES) | _pairs(query, "&", QUERY_ATTRIBUTES)
    if found.get("type", "private") != "private":
        raise ReceiptsNotConfigured("a receipt signing key URI must have type=private")
    pin_source = found.get("pin-source")
    if pin_source is not None and not pin_source.startswith("file:"):
        raise ReceiptsNotConfigured("pin-source must be a file: URI (file:/path/to/pin)")
    if "object" not in found and "id" not in found:
        raise ReceiptsNotConfigured(f"{text}: name the key with object= or id=")
    slot = found.get("slot-id")
    if slot is not None and not slot.isdigit():
        raise ReceiptsNotConfigured(f"{text}: slot-id must be a number")
    return TokenUri(
        text=text,
        token=found.get("token"),
        serial=found.get("serial"),
        slot_id=None if slot is None else int(slot),
        label=found.get("object"),
        key_id=None if "id" not in found else unquote_to_bytes(_raw(path, "id")),
        module_path=found.get("module-path"),
        pin_file=None if pin_source is None else pin_source.removeprefix("file:"),
    )


def _pairs(part: str, separator: str, allowed: frozenset[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in filter(None, part.split(separator)):
        name, equals, value = item.partition("=")
        if name == "pin-value":
            raise ReceiptsNotConfigured(
                "a PKCS#11 URI in THUPHI_RECEIPT_SIGNERS must not carry the PIN (pin-value): "
                "use pin-source=file:… or THUPHI_RECEIPT_PKCS11_PIN"
            )
        if not equals or name not in allowed:
            raise ReceiptsNotConfigured(f"PKCS#11 URI attribute not supported here: {name!r}")
        values[name] = unquote(value)
    return values


def _raw(path: str, name: str) -> str:
    """The still percent-encoded value of ``name`` (an id is bytes, not UTF-8 text)."""
    return next(v for n, _, v in (p.partition("=") for p in path.split(";")) if n == name)


def _shown(text: str) -> str:
    """The URI for an error message, its query (where a PIN might hide) cut off."""
    return text.partition("?")[0]


class TokenKey(rsa.RSAPrivateKey):
    """An RSA private key that exists only in a token: ``sign`` runs C_Sign there.

    One logged-in session per key, used under a lock (a PKCS#11 session is not for two threads
    at once) and opened again once if the token dropped it.
    """

    def __init__(self, uri: TokenUri, module_path: str, pin: str, cert: x509.Certificate):
        public = cert.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise ReceiptsNotConfigured(f"{_shown(uri.text)}: the certificate is not RSA")
        self._uri, self._module, self._pin = uri, module_path, pin
        self._public = public
        self._lock = threading.Lock()
        self._session: Any = None
        self._key: Any = None

    def sign(
        self,
        data: bytes,
        padding: rsa_padding.AsymmetricPadding,
        algorithm: hashes.HashAlgorithm | Any,
    ) -> bytes:
        mechanism = MECHANISMS.get(getattr(algorithm, "name", ""))
        if not isinstance(padding, rsa_padding.PKCS1v15) or mechanism is None:
            raise ReceiptsNotConfigured("the token signs RSA PKCS#1 v1.5 with SHA-2 only")
        with self._lock:
            try:
                return self._signed(data, mechanism)
            except PKCS11Error:
                self._drop()  # a closed or reset session: log in again once
                try:
                    return self._signed(data, mechanism)
                except PKCS11Error as exc:
                    self._drop()
                    raise self._failure("cannot sign", exc) from exc

    def check(self) -> None:
        """Sign a probe in the token and verify it with the certificate's key."""
        signature = self.sign(PROBE, rsa_padding.PKCS1v15(), hashes.SHA256())
        try:
            self._public.verify(signature, PROBE, rsa_padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise ReceiptsNotConfigured(
                f"{_shown(self._uri.text)}: the key in the token does not match the certificate"
            ) from exc

    def _signed(self, data: bytes, mechanism: Mechanism) -> bytes:
        if self._key is None:
            self._session = _open(_token(self._uri, self._module), self._pin, self._uri)
            self._key = self._session.get_key(
                object_class=ObjectClass.PRIVATE_KEY, label=self._uri.label, id=self._uri.key_id
            )
        return bytes(self._key.sign(data, mechanism=mechanism))

    def close(self) -> None:
        """Close the session (logging out once it was the token's last one)."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        session, self._session, self._key = self._session, None, None
        if session is not None:
            with contextlib.suppress(PKCS11Error):  # already gone on the token's side
                session.close()

    def _failure(self, what: str, exc: Exception) -> ReceiptsNotConfigured:
        # the exception's class names the PKCS#11 return value; its text never holds the PIN
        return ReceiptsNotConfigured(f"{_shown(self._uri.text)}: {what}: {type(exc).__name__}")

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def decrypt(self, ciphertext: bytes, padding: rsa_padding.AsymmetricPadding) -> bytes:
        raise TypeError("a receipt signing key only signs")

    def private_numbers(self) -> NoReturn:
        raise TypeError("the private key stays in the token")

    def private_bytes(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("the private key stays in the token")

    def __copy__(self) -> TokenKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenKey:
        return self


@dataclass(frozen=True)
class TokenPair:
    key: TokenKey = field(repr=False)
    cert_pem: bytes


def open_token_pair(
    text: str, *, cert_path: str | None, default_module: str, default_pin: str
) -> TokenPair:
    """The agency's key in its token and its certificate, checked to belong together."""
    uri = parse_uri(text)
    module = uri.module_path or default_module
    if not module:
        raise ReceiptsNotConfigured(
            f"{_shown(text)}: no PKCS#11 module: add module-path to the URI or set "
            "THUPHI_RECEIPT_PKCS11_MODULE"
        )
    pin = _pin(uri, default_pin)
    tried = (text, module, pin)
    with _refused_lock:
        if tried in _refused:
            raise PinRefused(
                f"{_shown(text)}: the token refused this PIN before; not tried again (a token "
                "locks after a few wrong PINs) until the PIN changes or the service restarts"
            )
    try:
        cert_pem = _read_cert(cert_path) if cert_path else _token_cert(uri, module, pin)
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = TokenKey(uri, module, pin, cert)
        try:
            key.check()
        except ReceiptsNotConfigured:
            key.close()  # a session left open would keep the token logged in without a PIN
            raise
    except PinRefused:
        with _refused_lock:
            _refused.add(tried)
        raise
    return TokenPair(key, cert_pem)


def _pin(uri: TokenUri, default_pin: str) -> str:
    if uri.pin_file is None:
        if not default_pin:
            raise ReceiptsNotConfigured(
                f"{_shown(uri.text)}: no PIN: add pin-source=file:… to the URI or set "
                "THUPHI_RECEIPT_PKCS11_PIN"
            )
        return default_pin
    try:
        return Path(uri.pin_file).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ReceiptsNotConfigured(f"cannot read the PIN file {uri.pin_file}: {exc}") from exc


def _token(uri: TokenUri, module: str) -> Any:
    try:
        library = pkcs11.lib(module)
        if uri.slot_id is not None:
            slots = [s for s in library.get_slots(token_present=True) if s.slot_id == uri.slot_id]
            if not slots:
                raise ReceiptsNotConfigured(f"{_shown(uri.text)}: no token in slot {uri.slot_id}")
            return slots[0].get_token()
        serial = None if uri.serial is None else uri.serial.encode()
        return library.get_token(token_label=uri.token, token_serial=serial)
    except (PKCS11Error, RuntimeError, OSError) as exc:
        raise ReceiptsNotConfigured(f"{_shown(uri.text)}: no such token: {exc}") from exc


def _open(token: Any, pin: str, uri: TokenUri) -> Any:
    """A session logged in as the user: PKCS#11 logs in per application and token, so when
    another session (another agency's key on the same token) already did, just open one."""
    try:
        return token.open(user_pin=pin)
    except UserAlreadyLoggedIn:
        return token.open()
    except PIN_ERRORS as exc:
        raise PinRefused(
            f"{_shown(uri.text)}: the token refused the PIN ({type(exc).__name__})"
        ) from exc


def forget_refused_pins() -> None:
    """Let PINs the token refused be tried again (after the token's PIN was reset)."""
    with _refused_lock:
        _refused.clear()


def _token_cert(uri: TokenUri, module: str, pin: str) -> bytes:
    """The certificate object stored beside the key (same label and/or id)."""
    wanted: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.CERTIFICATE}
    if uri.label is not None:
        wanted[Attribute.LABEL] = uri.label
    if uri.key_id is not None:
        wanted[Attribute.ID] = uri.key_id
    try:
        with _open(_token(uri, module), pin, uri) as session:
            found = [bytes(o[Attribute.VALUE]) for o in session.get_objects(wanted)]
    except PKCS11Error as exc:
        raise ReceiptsNotConfigured(
            f"{_shown(uri.text)}: cannot read the token: {type(exc).__name__}"
        ) from exc
    if len(found) != 1:
        raise ReceiptsNotConfigured(
            f"{_shown(uri.text)}: {len(found)} certificates beside the key; name one with "
            '"cert" (a PEM file) in THUPHI_RECEIPT_SIGNERS'
        )
    return x509.load_der_x509_certificate(found[0]).public_bytes(serialization.Encoding.PEM)


def _read_cert(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ReceiptsNotConfigured(f"cannot read the certificate {path}: {exc}") from exc
