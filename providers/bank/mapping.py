"""Bank notification tables."""

from __future__ import annotations

from providers.base import EventKind

TRANSFER_KIND: dict[str, EventKind] = {
    "in": EventKind.TRANSFER_IN,
    "out": EventKind.TRANSFER_OUT,
}
