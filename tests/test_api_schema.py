"""schemathesis against /openapi.json of the running app: generated requests to every documented operation
(with an operator's token) never get a 5xx. Few examples per operation, so it stays fast.

Operations are walked by hand with Hypothesis (`as_strategy`): schemathesis' own pytest plugin does not
load with this project's pytest version."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.accounts import make_token

EXAMPLES_PER_OPERATION = 8
# Where strangers' input reaches the services (the review of issue 18 found its 500s there): more examples.
MORE_EXAMPLES = {
    "POST /api/v1/tickets": 30,
    "GET /open311/v2/requests.{fmt}": 30,
    "GET /open311/v2/servicerequestupdates.{fmt}": 30,
    "PATCH /api/v1/tickets/{number}": 20,
}


def test_no_server_errors_on_any_documented_operation(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    headers = {"Authorization": f"Bearer {make_token('schema', 'operator')}"}
    statuses: dict[str, set[int]] = {}
    assert set(MORE_EXAMPLES) <= {r.ok().label for r in schema.get_all_operations()}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MORE_EXAMPLES.get(operation.label, EXAMPLES_PER_OPERATION),
            deadline=None,
            derandomize=True,  # the same examples every run: a failure here is reproducible
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            response = case.call_and_validate(base_url=server, headers=headers, checks=[not_a_server_error])
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        no_server_error()
    # The token worked and generated data got through validation to the services, not only 4xx.
    assert 200 in statuses["GET /api/v1/tickets"], statuses
    assert 201 in statuses["POST /api/v1/tickets"], statuses
    assert 200 in statuses["GET /open311/v2/services.{fmt}"], statuses
    assert 200 in statuses["GET /open311/v2/requests.{fmt}"], statuses
