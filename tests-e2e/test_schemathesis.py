"""Every operation of every service's OpenAPI, as the gateway publishes it at `/docs/<service>/openapi.json`,
fed with generated requests sent to the gateway: the schema's examples, the boundary and negated values of
each parameter and body (schemathesis's coverage phase), then random valid and invalid inputs. Every answer
proves that:

- nothing fails on Relay's side: no service answers 5xx, and the gateway never answers 502, 503 or 504;
- every error is Relay's envelope, `{"error": {"code": <str>, "message": <str>, "details": {...}}}`,
  including the gateway's own 404 for what it does not route (`/internal/...`, a service's `/readyz`);
- the body is JSON wherever the schema documents JSON for that status;
- the status is documented for the operation, or a client error any route may give (400, 401, 403, 404,
  405, 409, 413, 414, 415, 422);
- credentials are honoured: a valid athlete token or admin session is never answered 401, except where
  the 401 is about another credential (a refresh token, an admin's password, a webhook's signature).

The requests go out as a freshly signed-in athlete (Bearer JWT); to `/api/admin` as a super_admin
(session cookie and CSRF header); to the bridge upload with an athlete's API key; and one request in
four of each operation without any credential. Each caller has an address of its own and is replaced
before a rate limit of the minute (per athlete, per admin session, per address) runs out, so the run
needs no lifted limits (a 429, undocumented, would fail it).

No operation that ends its caller is left out: those three get a throwaway caller for each request,
`DELETE /api/auth/me` (deletes the athlete), `POST /api/auth/logout` (revokes the session) and
`POST /api/admin/auth/logout` (ends the admin session). Only each service's `/healthz` is: at the
gateway, that path is the whole stack's readiness, not the service's."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import BaseSchema

from relay_devstack import SERVICES, Stack

from .generated_callers import Caller, Callers

CLIENT_ERRORS = frozenset({400, 401, 403, 404, 405, 409, 413, 414, 415, 422})
"""What any route may answer whatever its documentation says: the kit's validation error (400; FastAPI
documents its own 422), a missing or refused credential, a route or resource not found, a method not
allowed, a conflict, a body too large or of the wrong type, a URI too long for the gateway."""

OTHER_CREDENTIALS = ("/api/auth/refresh", "/api/admin/auth/login", "/api/webhook/", "/api/webhooks/")
"""Where a 401 judges another credential than the caller's: a refresh token, an admin's password, the
signature of a provider's webhook (or the API key of the bridge upload)."""

openapi = schemathesis.pytest.from_fixture("service_api").exclude(path="/healthz")

CONFIG = SchemathesisConfig.from_dict(
    # Of the methods an operation does not declare, one the services refuse and one nginx refuses itself.
    {"phases": {"coverage": {"unexpected-methods": ["DELETE", "TRACE"]}}}
)


@pytest.fixture(scope="module", params=SERVICES)
def service_api(request: pytest.FixtureRequest, stack: Stack) -> BaseSchema:
    """The service's OpenAPI as the gateway publishes it, its requests sent to the gateway."""
    return schemathesis.openapi.from_url(
        f"{stack.config.gateway_url}/docs/{request.param}/openapi.json", config=CONFIG
    )


@pytest.fixture(autouse=True)
def operation_names(request: pytest.FixtureRequest) -> None:
    """schemathesis (4.32) names each operation's subtest by rewriting the item's `_nodeid`, which pytest
    9.2 no longer has (it keeps `_id`): give it one to read and rewrite."""
    request.node._nodeid = request.node.nodeid


@pytest.fixture(scope="module")
def callers(stack: Stack) -> Iterator[Callers]:
    with Callers(stack) as callers:
        yield callers


def errors_are_in_the_envelope(ctx: CheckContext, response: Response, case: Case) -> None:
    if response.status_code < 400:
        return
    media_type = response.headers.get("content-type", [""])[0]
    assert media_type.startswith("application/json"), f"{response.status_code} sent as {media_type!r}"
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"{response.status_code} is not JSON: {response.content[:200]!r}") from error
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and set(body) == {"error"}, f"not the error envelope: {body!r}"
    assert set(error) == {"code", "message", "details"}, f"not the error envelope: {body!r}"
    assert isinstance(error["code"], str) and error["code"], f"no error code: {body!r}"
    assert isinstance(error["message"], str) and error["message"], f"no error message: {body!r}"
    assert isinstance(error["details"], dict), f"details is not an object: {body!r}"


def json_where_the_schema_says_json(ctx: CheckContext, response: Response, case: Case) -> None:
    documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    if "application/json" not in documented.get("content", {}) or 300 <= response.status_code < 400:
        return  # a redirect carries its Location, not a body
    media_type = response.headers.get("content-type", [""])[0]
    assert media_type.startswith("application/json"), f"{response.status_code} sent as {media_type!r}"
    try:
        json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"{response.status_code} is not JSON: {response.content[:200]!r}") from error


def status_is_documented_or_a_client_error(ctx: CheckContext, response: Response, case: Case) -> None:
    documented = {int(status) for status in case.operation.definition.raw["responses"] if status.isdigit()}
    assert response.status_code in documented | CLIENT_ERRORS, (
        f"{response.status_code} is neither documented ({sorted(documented)}) nor a client error"
    )


def credentials_are_honoured(caller: Caller) -> schemathesis.CheckFunction:
    def credentials_are_honoured(ctx: CheckContext, response: Response, case: Case) -> None:
        if not caller.credentials or case.operation.path.startswith(OTHER_CREDENTIALS):
            return
        assert response.status_code != 401, f"the caller's {' and '.join(caller.credentials)} refused"

    return credentials_are_honoured


@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@openapi.parametrize()
def test_generated_requests_through_the_gateway_get_no_server_error_and_every_error_in_the_envelope(
    case: Case, callers: Callers, stack: Stack
) -> None:
    caller = callers.for_case(case)
    response = case.call(
        base_url=stack.config.gateway_url,
        session=caller.session,
        headers=caller.headers_for(case),
        cookies=caller.cookies or None,
        allow_redirects=False,
        timeout=30,
    )
    callers.answered(caller, response)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            errors_are_in_the_envelope,
            json_where_the_schema_says_json,
            status_is_documented_or_a_client_error,
            credentials_are_honoured(caller),
        ],
    )
