"""POS status table; an unknown status is pending, never paid."""

from __future__ import annotations

from providers.base import EventKind, TxnStatus

STATUS: dict[str, tuple[TxnStatus, EventKind]] = {
    "approved": (TxnStatus.PAID, EventKind.PAYMENT),
    "voided": (TxnStatus.VOIDED, EventKind.VOID),
}
CURRENCIES: dict[str, str] = {"VND": "VND", "704": "VND"}


def status(value: str) -> tuple[TxnStatus, EventKind]:
    return STATUS.get(value.lower(), (TxnStatus.PENDING, EventKind.PAYMENT))


def currency(code: str) -> str:
    return CURRENCIES.get(code.upper(), code)
