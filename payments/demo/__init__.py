"""``thuphi demo``: a ready service on SQLite with the demo catalog, a client and an officer.

The command and its runner are in :mod:`payments.demo.cli`; the fake national platform in
:mod:`payments.demo.fakes`; the "simulate a payment" endpoints in :mod:`payments.demo.views`.
"""

from __future__ import annotations

from pathlib import Path

CATALOG = Path(__file__).parent / "catalog.json"
OFFICER = ("ketoan.stp", "demo-officer-2026", "000.00.12.H40")
ADMIN = ("admin", "demo-admin-2026")


# provider secrets the demo's fakes and this service share, unless the environment sets them
DEMO_PROVIDERS = {
    "paygov_partner_code": "THUPHI",
    "paygov_secret": "demo-paygov-secret",
    "paygov_access_token": "demo-paygov-token",
    "pos_secret": "demo-pos-secret",
    "bank_api_key": "demo-bank-key",
    "webhook_secret": "demo-webhook-secret",
}
