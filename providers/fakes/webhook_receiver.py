"""A fake dossier system that receives our signed webhooks and records them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from providers import signing
from providers.base import CallbackRejected
from providers.dossier.client import DELIVERY_HEADER, EVENT_HEADER
from providers.fakes.server import FakeServer, json_response


@dataclass(frozen=True)
class ReceivedWebhook:
    event_type: str
    delivery_id: str
    payload: Any
    timestamp: int


class FakeWebhookReceiver(FakeServer):
    """Verifies ``X-Signature`` (401 with the reason when it fails), then records the delivery."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.deliveries: list[ReceivedWebhook] = []
        self.rejected: list[str] = []

    def handle(self, request: Request, body: bytes) -> Response:
        try:
            timestamp = signing.verify(
                body, request.headers.get(signing.SIGNATURE_HEADER), self.secret
            )
        except CallbackRejected as exc:
            self.rejected.append(str(exc.reason))
            return json_response({"reason": str(exc.reason)}, 401)
        delivery = ReceivedWebhook(
            event_type=request.headers.get(EVENT_HEADER, ""),
            delivery_id=request.headers.get(DELIVERY_HEADER, ""),
            payload=json.loads(body),
            timestamp=timestamp,
        )
        with self._lock:
            self.deliveries.append(delivery)
        return json_response({"received": True})
