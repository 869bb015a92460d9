"""Outgoing signed webhooks to the dossier system."""

from providers.dossier.client import DELIVERY_HEADER, EVENT_HEADER, deliver_webhook

__all__ = ["DELIVERY_HEADER", "EVENT_HEADER", "deliver_webhook"]
