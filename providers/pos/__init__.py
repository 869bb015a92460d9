"""POS card payments at the counter (provider ``pos``)."""

from providers.pos.callbacks import parse_callback

__all__ = ["parse_callback"]
