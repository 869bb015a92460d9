"""Bank transfer notifications, SePay-compatible webhook (DESIGN §2).

``POST /callbacks/bank/<source>`` with ``Authorization: Apikey <key>`` and::

    {"id": 92704, "gateway": "Vietcombank", "transactionDate": "2024-05-25 21:11:02",
     "accountNumber": "0903488125", "code": null, "content": "TP26ABCDEFGH7 nop phi",
     "transferType": "in", "transferAmount": 2277000, "accumulated": 19077000,
     "referenceCode": "MBVCB.3278907687", "description": ""}

``transactionDate`` is Vietnam local time without an offset. We answer ``{"success": true}``
(HTTP 200) to an accepted notification. ``provider_txn_id`` is ``str(id)``; the source
(``sepay``) travels in ``details["source"]``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
AUTH_SCHEME = "apikey"
REQUIRED_STRINGS = ("gateway", "transactionDate", "accountNumber", "transferType")
OPTIONAL_STRINGS = ("code", "content", "referenceCode", "description")
ACK: dict[str, bool] = {"success": True}
