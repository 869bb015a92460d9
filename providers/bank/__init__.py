"""Bank transfer notifications, SePay-compatible (provider ``bank``)."""

from providers.bank.callbacks import parse_notification
from providers.bank.schemas import ACK

__all__ = ["ACK", "parse_notification"]
