"""PayGov: the national public service portal's payment platform (provider ``paygov``)."""

from providers.paygov.callbacks import build_ack, parse_result
from providers.paygov.client import PayGovClient, PayGovError

__all__ = ["PayGovClient", "PayGovError", "build_ack", "parse_result"]
