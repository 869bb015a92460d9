"""Receipt data to the tax authority; every call is idempotent by ``X-Submission-Id``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from providers.base import SubmitResult
from providers.taxauthority.schemas import (
    NOTICES_PATH,
    RECEIPTS_PATH,
    SUBMISSION_HEADER,
    SUMMARIES_PATH,
)

Timeout = float | tuple[float, float]
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class TaxAuthorityClient:
    """Submits summaries and receipt XML. Never raises for network errors: the outbox reads
    ``SubmitResult.retryable`` and backs off. Retries inside one call are safe (idempotent)."""

    def __init__(
        self,
        base_url: str,
        timeout: Timeout = (3.05, 10),
        *,
        session: requests.Session | None = None,
        attempts: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep

    def submit_summary(self, summary: Mapping[str, Any], *, submission_id: str) -> SubmitResult:
        """Send a Mẫu 01/TH-BLĐT summary (``schemas.SummaryDocument``)."""
        return self._submit(SUMMARIES_PATH, submission_id, json=dict(summary))

    def submit_notice(self, notice: Mapping[str, Any], *, submission_id: str) -> SubmitResult:
        """Send a Mẫu 04/SS-CTĐT error notice (``schemas.NoticeDocument``)."""
        return self._submit(NOTICES_PATH, submission_id, json=dict(notice))

    def submit_receipt_xml(self, xml: bytes, *, submission_id: str) -> SubmitResult:
        """Send one signed receipt XML document."""
        headers = {"Content-Type": "application/xml; charset=utf-8"}
        return self._submit(RECEIPTS_PATH, submission_id, data=xml, headers=headers)

    def _submit(self, path: str, submission_id: str, **kwargs: Any) -> SubmitResult:
        headers = {SUBMISSION_HEADER: submission_id, **kwargs.pop("headers", {})}
        result = SubmitResult(accepted=False, submission_id=submission_id, retryable=True)
        for attempt in range(1, self.attempts + 1):
            result = self._attempt(path, submission_id, headers, kwargs)
            if not result.retryable or attempt == self.attempts:
                break
            self._sleep(self.backoff * 2 ** (attempt - 1))
        return result

    def _attempt(
        self, path: str, submission_id: str, headers: dict[str, str], kwargs: dict[str, Any]
    ) -> SubmitResult:
        try:
            response = self.session.post(
                self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            return SubmitResult(
                accepted=False,
                submission_id=submission_id,
                error=type(exc).__name__,
                retryable=True,
            )
        with response:
            return _result(response, submission_id)


def _result(response: requests.Response, submission_id: str) -> SubmitResult:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if 200 <= status < 300 and body.get("accepted") is True:
        their_id = body.get("id")
        return SubmitResult(
            accepted=True,
            submission_id=submission_id,
            id=None if their_id is None else str(their_id),
            status_code=status,
        )
    errors = body.get("errors")
    error = "; ".join(map(str, errors)) if isinstance(errors, list) and errors else f"http_{status}"
    return SubmitResult(
        accepted=False,
        submission_id=submission_id,
        status_code=status,
        error=error,
        retryable=status in RETRYABLE_STATUS,
    )
