"""Schemathesis against /api/openapi.json: no 5xx, every response conforms to the document.

Runs in-process (WSGI) with a bounded number of examples per operation, with a token holding
every scope, on both databases. (schemathesis' own pytest plugin does not run under pytest 9 yet,
so each operation's strategy is driven with hypothesis directly.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from payments.app import create_app
from payments.auth.services import CreateClient, create_client, issue_token

ALL_SCOPES = ["payments:write", "receipts:write", "reconciliation:write", "catalog:write"]
EXAMPLES = 25
# "schema-valid request rejected" is not checked: our 422s also carry business rules the document
# cannot express (an unknown procedure code, a fee not of that procedure)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# schemathesis cannot generate the nested catalog document (a bundled $ref); tests cover it
SKIPPED = {("POST", "/api/v1/catalog")}


def test_api_never_answers_5xx_and_conforms_to_its_document(container: Any, catalog: Any) -> None:
    app = create_app(container=container)
    creds = create_client(CreateClient("fuzzer", ALL_SCOPES), uow=container.uow())
    token = issue_token(
        creds.client_id, creds.client_secret, uow=container.uow(), settings=container.settings
    ).access_token
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    failures: list[str] = []
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        try:
            _fuzz(operation, token)
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
            first = str(exc).strip().splitlines()
            failures.append(f"{operation.method.upper()} {operation.path}: {' / '.join(first[:6])}")
    assert not failures, "\n".join(failures)


def _fuzz(operation: Any, token: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: Any) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if case.method.upper() == "POST" and case.path == "/api/v1/payment-requests":
            headers["Idempotency-Key"] = (case.headers or {}).get("Idempotency-Key") or "fuzz"
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
