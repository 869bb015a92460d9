"""A fake bank (SePay-compatible) that posts transfer notifications with ``Apikey`` auth."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class FakeBank:
    def __init__(
        self,
        target_url: str,
        api_key: str,
        *,
        account_number: str = "0903488125",
        gateway: str = "Vietcombank",
    ) -> None:
        self.target_url = target_url
        self.api_key = api_key
        self.account_number = account_number
        self.gateway = gateway
        self.balance = 10_000_000
        self._next_id = 92_700

    def notification(self, amount: int, content: str, **overrides: Any) -> dict[str, Any]:
        """An incoming transfer as SePay would report it (Vietnam local time, no offset)."""
        self._next_id += 1
        transfer_type = overrides.get("transferType", "in")
        self.balance += amount if transfer_type == "in" else -amount
        payload: dict[str, Any] = {
            "id": self._next_id,
            "gateway": self.gateway,
            "transactionDate": datetime.now(UTC).astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            "accountNumber": self.account_number,
            "code": None,
            "content": content,
            "transferType": transfer_type,
            "transferAmount": amount,
            "accumulated": self.balance,
            "referenceCode": f"FT{self._next_id:010d}",
            "description": f"BankAPINotify {content}",
        }
        return {**payload, **overrides}

    def send(
        self, payload: dict[str, Any] | bytes, *, api_key: str | None = None
    ) -> requests.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Apikey {api_key or self.api_key}",
        }
        return requests.post(self.target_url, data=body, headers=headers, timeout=5)

    def notify(self, amount: int, content: str, **overrides: Any) -> requests.Response:
        return self.send(self.notification(amount, content, **overrides))
