"""Errors of national-portal payments, with stable codes."""

from __future__ import annotations

from payments.errors import DomainError


class PaygovNotConfigured(DomainError):
    status = 404
    code = "paygov-not-configured"
    title = "The national payment platform is not available here"


class RequestNotPayable(DomainError):
    status = 409
    code = "request-not-payable"
    title = "This payment request cannot be paid now"


class PaygovUnavailable(DomainError):
    status = 502
    code = "paygov-unavailable"
    title = "The national payment platform did not answer"
