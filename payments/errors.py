"""Domain errors with stable codes, rendered once as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://thuphi.example/problems/"


class DomainError(Exception):
    """An error a client can act on. ``code`` is stable; ``detail`` is for people."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "validation-failed"
    title = "Validation failed"

    def __init__(self, errors: dict[str, Any], detail: str = "") -> None:
        super().__init__(detail or "The request has invalid fields", errors=errors)
        self.errors = errors


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class TooManyAttempts(DomainError):
    status = 429
    code = "too-many-attempts"
    title = "Too many attempts"

    def __init__(self, detail: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        # seconds; the app answers it as the Retry-After header
        self.retry_after = retry_after


class UnknownProcedure(DomainError):
    status = 422
    code = "unknown-procedure"
    title = "Unknown procedure"


class IdempotencyKeyMissing(DomainError):
    status = 400
    code = "idempotency-key-required"
    title = "Idempotency-Key header required"


class IdempotencyKeyReused(DomainError):
    status = 409
    code = "idempotency-key-reused"
    title = "Idempotency key reused with another body"


class IllegalTransition(DomainError):
    status = 409
    code = "illegal-transition"
    title = "Illegal state transition"


class RefundExceedsPaid(DomainError):
    status = 422
    code = "refund-exceeds-paid"
    title = "A refund may not exceed what the request has been paid"


class CatalogInvalid(DomainError):
    status = 422
    code = "catalog-invalid"
    title = "Catalog document is invalid"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0] if errors else {}
        detail = (
            f"{len(errors)} error(s); first: {first.get('entry', '')} {first.get('field', '')}: "
        )
        detail += first.get("message", "")
        super().__init__(detail, errors=errors)
        self.errors = errors


class UnknownPayerCategory(DomainError):
    """A payer category the catalog does not know (a typo would otherwise cost the full fee)."""

    status = 422
    code = "unknown-payer-category"
    title = "Unknown payer category"


class UnknownFee(DomainError):
    status = 422
    code = "unknown-fee"
    title = "Unknown fee"
