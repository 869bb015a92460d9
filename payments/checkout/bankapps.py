"""Bank-app deep links: open the citizen's bank app with the transfer already filled in.

VietQR's link service ``https://dl.vietqr.io/pay?app=<app>`` opens the chosen bank's app on
Android and iOS; ``ba=<account>@<bank>`` names the beneficiary, ``am`` the amount, ``tn`` the
memo (documented at vietqr.io "Deeplink app ngân hàng"; the app directory is served by
``api.vietqr.io/v2/android-app-deeplinks``). There is no universal chooser yet, so the page lists
the apps of the NAPAS directory's banks that send VietQR transfers; the QR stays the fallback.
The bank codes are the NAPAS/VietQR short codes of ``payments/vietqr/banks.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from urllib.parse import urlencode

DEEPLINK = "https://dl.vietqr.io/pay"
# the apps most citizens hold come first (state-owned banks and the largest retail apps)
FIRST = ("vcb", "icb", "bidv", "vba", "mb", "tcb", "acb", "vpb", "tpb", "stb")


@dataclass(frozen=True)
class BankApp:
    code: str  # VietQR short code, lowercase: the ``app`` and the ``@bank`` of ``ba``
    name: str
    url: str


@lru_cache(maxsize=1)
def directory() -> dict[str, tuple[str, str]]:
    """BIN → (VietQR short code, short name) of the banks whose apps send VietQR transfers."""
    raw = json.loads(resources.files("payments.vietqr").joinpath("banks.json").read_text("utf-8"))
    out: dict[str, tuple[str, str]] = {}
    for entry in raw["banks"]:
        if entry.get("deprecated") or entry.get("vietqr_status") != 1:
            continue
        code = str(entry.get("subiz_code") or entry["code"]).lower()
        out[entry["bin"]] = (code, entry["short_name"])
    return out


def _order(code: str) -> tuple[int, str]:
    return (FIRST.index(code) if code in FIRST else len(FIRST), code)


def _query(app: str, beneficiary: str, amount: int, memo: str) -> dict[str, str | int]:
    return {"app": app, "ba": beneficiary, "am": amount, "tn": memo}


def bank_apps(bank_bin: str, account: str, amount: int, memo: str) -> tuple[BankApp, ...]:
    """Deep links into every sending bank app for this transfer; none when the beneficiary's
    bank is not in the directory (the QR and the typed details remain)."""
    found = directory().get(bank_bin)
    if found is None or amount <= 0:
        return ()
    beneficiary = f"{account}@{found[0]}"
    apps = sorted(directory().values(), key=lambda item: _order(item[0]))
    return tuple(
        BankApp(
            code,
            name,
            f"{DEEPLINK}?{urlencode(_query(code, beneficiary, amount, memo), safe='@')}",
        )
        for code, name in apps
    )
