"""A fake POS acquirer backend: posts signed payment, void and settlement callbacks."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import requests

from providers import signing


class FakePosAcquirer:
    """Sends what an acquirer's terminal backend sends. Every ``send_*`` returns the response."""

    def __init__(
        self,
        target_url: str,
        secret: str,
        *,
        terminal_id: str = "T0001",
        merchant_id: str = "M0001",
        batch_no: str = "000001",
    ) -> None:
        self.target_url = target_url
        self.secret = secret
        self.terminal_id = terminal_id
        self.merchant_id = merchant_id
        self.batch_no = batch_no
        self.sent: list[dict[str, Any]] = []
        self._trace = 0

    def payment(self, reference: str, amount: int, **overrides: Any) -> dict[str, Any]:
        """An approved payment payload with a fresh trace number."""
        self._trace += 1
        payload: dict[str, Any] = {
            "terminal_id": self.terminal_id,
            "merchant_id": self.merchant_id,
            "batch_no": self.batch_no,
            "trace_no": f"{self._trace:06d}",
            "approval_code": f"A{self._trace:05d}",
            "rrn": f"6123{self._trace:08d}",
            "masked_pan": "970436******1234",
            "card_scheme": "NAPAS",
            "amount": amount,
            "currency": "VND",
            "transaction_time": datetime.now(UTC).isoformat(),
            "reference": reference,
            "status": "approved",
        }
        return {**payload, **overrides}

    def settlement(self, gross: int, fee: int, count: int, **overrides: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "type": "settlement",
            "terminal_id": self.terminal_id,
            "merchant_id": self.merchant_id,
            "batch_no": self.batch_no,
            "settled_at": datetime.now(UTC).isoformat(),
            "count": count,
            "gross_amount": gross,
            "fee_amount": fee,
            "net_amount": gross - fee,
        }
        return {**payload, **overrides}

    def send(
        self,
        payload: dict[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """POST ``payload`` signed now (or at ``timestamp``, or with a given ``signature``)."""
        body = json.dumps(payload).encode()
        t = int(time.time()) if timestamp is None else timestamp
        header = (
            signature
            if signature is not None
            else signing.sign(body, secret or self.secret, timestamp=t)
        )
        self.sent.append(payload)
        headers = {"Content-Type": "application/json", signing.SIGNATURE_HEADER: header}
        return requests.post(self.target_url, data=body, headers=headers, timeout=5)

    def send_payment(self, reference: str, amount: int, **overrides: Any) -> requests.Response:
        return self.send(self.payment(reference, amount, **overrides))

    def send_void(self, original: dict[str, Any]) -> requests.Response:
        """Void a payment sent earlier (same terminal, batch and trace)."""
        return self.send({**original, "status": "voided"})

    def send_settlement(self, gross: int, fee: int, count: int) -> requests.Response:
        return self.send(self.settlement(gross, fee, count))
