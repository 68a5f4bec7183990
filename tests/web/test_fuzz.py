"""Every operation of the OpenAPI document, fuzzed: no input makes the service answer 5xx.

schemathesis draws valid and invalid requests from `/api/openapi.json` and calls the
app in-process, signed in with an API token. Billing routes are left out: without a
provider they answer a documented 503.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from .conftest import PASSWORD

pytestmark = pytest.mark.slow  # hundreds of requests: the full run only


@pytest.fixture
def bearer(client: Any, signup: Any) -> dict[str, str]:
    signup(client, "fuzz@example.org")
    assert client.post("/api/auth/login", json={"email": "fuzz@example.org",
                                                "password": PASSWORD}).status_code == 200
    token = client.post("/api/tokens", json={"name": "fuzz"}).json["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(app: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api").exclude(path_regex="/(subscriptions|webhooks)")


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case: Any, bearer: dict[str, str]) -> None:
    response = case.call_and_validate(headers=bearer, checks=[not_a_server_error])
    # The token is good: only a login with drawn credentials may be refused as such.
    assert response.status_code != 401 or case.operation.path == "/api/auth/login"
