"""Outgoing webhooks to the dossier system, signed Stripe-style like POS callbacks.

Headers: ``X-Signature`` (``providers.signing``), ``X-Thuphi-Event`` (the event type, e.g.
``payment.succeeded``) and ``X-Thuphi-Delivery`` (the outbox row id: the same on every retry, so
the receiver can deduplicate). The body is compact UTF-8 JSON; the signature covers those exact
bytes.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from providers import signing
from providers.base import DeliveryResult

EVENT_HEADER = "X-Thuphi-Event"
DELIVERY_HEADER = "X-Thuphi-Delivery"
USER_AGENT = "thuphi-webhooks/1"
# the receiver's answer is read up to this many bytes, never more (only its status matters)
MAX_RESPONSE_BYTES = 64 * 1024


def forbidden_address(address: str) -> bool:
    """Loopback, private, link-local, multicast, reserved or unspecified: not the dossier
    system on the internet, so possibly our own network (SSRF)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def destination_problem(url: str, *, allow_private: bool = False) -> str:
    """Why a callback URL may not be posted to now ('' when it may): http(s) only, and every
    address its host resolves to (at delivery time) public unless ``allow_private`` (a lab)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "bad_url"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "bad_url"
    if allow_private:
        return ""
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "unresolvable"
    if any(forbidden_address(str(info[4][0])) for info in infos):
        return "forbidden_address"
    return ""


class _PublicOnly:
    """Checks the address actually connected to: a name that resolved to a public address for
    the check above and to a private one a moment later (DNS rebinding) is still refused."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        if forbidden_address(str(sock.getpeername()[0])):
            sock.close()
            raise NewConnectionError(self, "forbidden_address")  # type: ignore[arg-type]
        return sock


class _PublicHTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """A requests adapter that connects to public addresses only."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }


def _public_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the check must see the receiver
    for prefix in ("http://", "https://"):
        session.mount(prefix, PublicOnlyAdapter())
    return session


def encode(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent and signed."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def deliver_webhook(
    url: str,
    event_type: str,
    delivery_id: str,
    payload: Mapping[str, Any],
    secret: str,
    timeout: float | tuple[float, float] = (3.05, 10),
    *,
    session: requests.Session | None = None,
    timestamp: int | None = None,
    allow_private: bool = False,
) -> DeliveryResult:
    """POST one signed webhook; ``ok`` only for a 2xx answer. Never raises for network errors.

    Redirects are not followed: a 3xx is a failed delivery, so a moved endpoint is noticed.
    The URL is resolved now and refused (``forbidden_address``) when it reaches a loopback,
    private, link-local, multicast or reserved address, unless ``allow_private`` (a lab).
    One attempt only; retries with backoff belong to the outbox.
    """
    problem = destination_problem(url, allow_private=allow_private)
    if problem:
        return DeliveryResult(ok=False, status_code=None, error=problem)
    body = encode(payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        signing.SIGNATURE_HEADER: signing.sign(body, secret, timestamp=timestamp),
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: delivery_id,
    }
    poster = session or (requests.Session() if allow_private else _public_session())
    try:
        response = poster.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.Timeout:
        return DeliveryResult(ok=False, status_code=None, error="timeout")
    except requests.ConnectionError:
        return DeliveryResult(ok=False, status_code=None, error="connection_error")
    except requests.RequestException as exc:
        return DeliveryResult(ok=False, status_code=None, error=type(exc).__name__)
    with response:
        # read (and drop) at most MAX_RESPONSE_BYTES: a receiver cannot make us swallow a flood
        next(response.iter_content(MAX_RESPONSE_BYTES), b"")
        if 200 <= response.status_code < 300:
            return DeliveryResult(ok=True, status_code=response.status_code)
        return DeliveryResult(
            ok=False, status_code=response.status_code, error=f"http_{response.status_code}"
        )
