"""Schemathesis against /api/openapi.json: no 5xx, every response conforms to the document.

Runs in-process (WSGI) with a bounded number of examples per operation, with a token holding
every scope, on both databases. (schemathesis' own pytest plugin does not run under pytest 9 yet,
so each operation's strategy is driven with hypothesis directly.) Every operation, the catalog
import included now that the document is valid OpenAPI 3; then schemathesis' state machine
follows the document's links. Both tests together take about a minute per database.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test
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
# the stateful run: scenarios of this many steps following the document's links
SCENARIOS = 60
STEPS = 10
# a valid creation now and then, so that the links (get, cancel, list) have a request to follow
VALID_REQUEST = {
    "procedure_code": "1.001234",
    "channel": "online",
    "payer": {"name": "Nguyễn Văn An", "id_number": "040201001234"},
}


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
        try:
            _fuzz(operation, token)
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
            first = str(exc).strip().splitlines()
            failures.append(f"{operation.method.upper()} {operation.path}: {' / '.join(first[:6])}")
    assert not failures, "\n".join(failures)


def test_api_scenarios_following_the_links_never_answer_5xx_or_break_the_document(
    container: Any, catalog: Any
) -> None:
    """Schemathesis' state machine over the whole API: create a request, then get, cancel and
    list it through the document's links, mixed with every other operation."""
    app = create_app(container=container)
    token = _token(container)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    base = schema.as_state_machine()
    created: list[int] = []

    class Workflow(base):  # type: ignore[misc,valid-type]
        def before_call(self, case: Any) -> None:
            creating = case.method.upper() == "POST" and case.path == "/api/v1/payment-requests"
            if creating and len(created) % 2 == 0:
                case.body = {**VALID_REQUEST, "dossier_code": uuid.uuid4().hex[:20]}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {
                "headers": {
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": uuid.uuid4().hex,
                }
            }

        def after_call(self, response: Any, case: Any) -> None:
            if case.path == "/api/v1/payment-requests" and response.status_code == 201:
                created.append(response.status_code)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert created, "no scenario created a payment request: the links were never followed"


def _token(container: Any) -> str:
    creds = create_client(CreateClient("fuzzer", ALL_SCOPES), uow=container.uow())
    return issue_token(
        creds.client_id, creds.client_secret, uow=container.uow(), settings=container.settings
    ).access_token


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
