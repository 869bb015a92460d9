"""Reconciliation errors: stable codes rendered as problem+json by the app factory."""

from __future__ import annotations

from payments.errors import Conflict, DomainError, NotFound


class StatementRejected(DomainError):
    """The file cannot be read; ``line`` names the line or row that failed."""

    status = 422
    code = "statement-rejected"
    title = "Statement rejected"


class StatementTooLarge(DomainError):
    """The file exceeds a resource limit (inflated size, rows, columns, parse time)."""

    status = 413
    code = "statement-too-large"
    title = "Statement too large"


class WrongAccount(DomainError):
    status = 422
    code = "statement-wrong-account"
    title = "Statement belongs to another account"


class AccountNotFound(NotFound):
    code = "account-not-found"
    title = "Account not found"


class StatementNotFound(NotFound):
    code = "statement-not-found"
    title = "Statement not found"


class RunNotFound(NotFound):
    code = "reconciliation-not-found"
    title = "Reconciliation run not found"


class ExceptionNotFound(NotFound):
    code = "reconciliation-exception-not-found"
    title = "Reconciliation exception not found"


class ResolutionRefused(Conflict):
    code = "resolution-refused"
    title = "Resolution refused"
