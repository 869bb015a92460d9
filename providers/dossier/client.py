"""Outgoing webhooks to the dossier system, signed Stripe-style like POS callbacks.

Headers: ``X-Signature`` (``providers.signing``), ``X-Thuphi-Event`` (the event type, e.g.
``payment.succeeded``) and ``X-Thuphi-Delivery`` (the outbox row id: the same on every retry, so
the receiver can deduplicate). The body is compact UTF-8 JSON; the signature covers those exact
bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from providers import signing
from providers.base import DeliveryResult

EVENT_HEADER = "X-Thuphi-Event"
DELIVERY_HEADER = "X-Thuphi-Delivery"
USER_AGENT = "thuphi-webhooks/1"


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
) -> DeliveryResult:
    """POST one signed webhook; ``ok`` only for a 2xx answer. Never raises for network errors.

    Redirects are not followed: a 3xx is a failed delivery, so a moved endpoint is noticed.
    One attempt only; retries with backoff belong to the outbox.
    """
    body = encode(payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        signing.SIGNATURE_HEADER: signing.sign(body, secret, timestamp=timestamp),
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: delivery_id,
    }
    poster = session or requests
    try:
        response = poster.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        return DeliveryResult(ok=False, status_code=None, error="timeout")
    except requests.ConnectionError:
        return DeliveryResult(ok=False, status_code=None, error="connection_error")
    except requests.RequestException as exc:
        return DeliveryResult(ok=False, status_code=None, error=type(exc).__name__)
    with response:
        if 200 <= response.status_code < 300:
            return DeliveryResult(ok=True, status_code=response.status_code)
        return DeliveryResult(
            ok=False, status_code=response.status_code, error=f"http_{response.status_code}"
        )
