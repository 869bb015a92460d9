"""Dossier-system webhooks: payment-request status changes POSTed to the request's callback_url.

Signed with ``X-Signature`` (``THUPHI_WEBHOOK_SECRET``); ``X-Thuphi-Delivery`` is the outbox
delivery id, the same on every retry, so the receiver deduplicates. A failed POST raises, and the
outbox retries it with exponential backoff and parks it after ``THUPHI_OUTBOX_MAX_ATTEMPTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from payments.config import Settings
from payments.outbox.models import OutboxDelivery, OutboxEvent
from payments.outbox.services import Subscriber
from providers.base import WebhookSender
from providers.dossier import deliver_webhook

SUBSCRIBER = "dossier_webhook"
TOPICS = (
    "payment_request.paid",
    "payment_request.partially_paid",
    "payment_request.overpaid",
    "payment_request.expired",
    "payment_request.cancelled",
    "payment_request.reversed",
)


class WebhookFailed(RuntimeError):
    """The receiver did not answer 2xx; the outbox will try again later."""


def webhook_body(event: OutboxEvent, delivery: OutboxDelivery) -> dict[str, Any]:
    """What the dossier system receives: the event type, when, and the request's state."""
    data = {k: v for k, v in event.payload.items() if k != "callback_url"}
    return {
        "id": str(delivery.id),
        "type": event.topic,
        "created_at": event.created_at.isoformat(),
        "data": data,
    }


def _has_callback(event: OutboxEvent) -> bool:
    return bool(event.payload.get("callback_url"))


def webhook_subscriber(settings: Settings, send: WebhookSender | None = None) -> Subscriber:
    """The outbox subscriber delivering request status changes to their ``callback_url``
    (private and loopback receivers only with ``THUPHI_WEBHOOK_ALLOW_PRIVATE``)."""
    if send is None:
        send = partial(deliver_webhook, allow_private=settings.webhook_allow_private)

    def handle(_session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        if not settings.webhook_secret:
            raise WebhookFailed("THUPHI_WEBHOOK_SECRET is not set; the webhook cannot be signed")
        url = str(event.payload["callback_url"])
        result = send(
            url,
            event.topic,
            str(delivery.id),
            webhook_body(event, delivery),
            settings.webhook_secret,
        )
        if not result.ok:
            raise WebhookFailed(result.error or f"HTTP {result.status_code}")

    handler: Callable[[Session, OutboxEvent, OutboxDelivery], None] = handle
    return Subscriber(SUBSCRIBER, TOPICS, handler, wants=_has_callback)
