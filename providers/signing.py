"""Stripe-style request signatures, used by POS callbacks and outgoing dossier webhooks.

Header: ``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
Several ``v1=`` entries may appear (a sender in the middle of a rotation signs with both). The
configured secret may hold two comma-separated values: both verify, the first signs.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime

from providers.base import CallbackRejected, RejectReason, split_secrets

SIGNATURE_HEADER = "X-Signature"
DEFAULT_TOLERANCE = 300  # seconds, in both directions (clock skew as much as replay)


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``"<t>.<body>"``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: str, *, timestamp: int | None = None) -> str:
    """The ``X-Signature`` header value for ``body``, signed with the first configured secret."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={compute(split_secrets(secrets)[0], t, body)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """``"t=1,v1=ab,v1=cd"`` → ``(1, ["ab", "cd"])``; unknown schemes (``v0=``) are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise CallbackRejected(RejectReason.BAD_SIGNATURE, "signature header item without '='")
        if key == "t":
            if not value.isascii() or not value.isdigit() or timestamp is not None:
                raise CallbackRejected(RejectReason.BAD_SIGNATURE, "bad timestamp in signature")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise CallbackRejected(RejectReason.BAD_SIGNATURE, "signature header lacks t or v1")
    return timestamp, signatures


def verify(
    body: bytes,
    header: str | None,
    secrets: str,
    *,
    now: datetime | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check ``header`` against ``body``; return the signed timestamp or raise ``CallbackRejected``.

    The timestamp must lie within ``tolerance`` seconds of ``now`` either way, and at least one
    ``v1`` must match one configured secret (compared in constant time).
    """
    if not header:
        raise CallbackRejected(RejectReason.MISSING_SIGNATURE)
    timestamp, signatures = parse_header(header)
    current = time.time() if now is None else now.timestamp()
    if abs(current - timestamp) > tolerance:
        raise CallbackRejected(RejectReason.STALE_TIMESTAMP, f"outside {tolerance}s window")
    expected = [compute(secret, timestamp, body) for secret in split_secrets(secrets)]
    # every pair is compared, so timing reveals nothing about which secret or entry matched
    matched = False
    for candidate in signatures:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode("ascii", "replace"), wanted.encode())
    if not matched:
        raise CallbackRejected(RejectReason.BAD_SIGNATURE)
    return timestamp
