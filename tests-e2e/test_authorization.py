"""Who may do what, on every operation of every service, through the gateway.

`MATRIX` classifies each operation the six services publish in their OpenAPI documents (read through
the gateway): public, verified with its provider's own proof, authenticated by a credential of its
own (a refresh token, a password, an API key), internal, a probe of the process, the athlete's own,
or the back office's from a role up. A service publishing an operation the matrix does not classify
fails the first test, and so does an entry for an operation that no longer exists. Then it is proven
that:

- without credentials every operation answers 401 in the error envelope, but the public ones; the
  internal ones are not routed by the gateway and refuse anyone but Relay's services on their port;
- malformed, truncated, unsigned, forged, expired and signed-out tokens, and tokens of the other
  audience, are refused as no token is, on the athletes' side and the operators' alike;
- an athlete's token opens no back-office route, and an operator's session no athlete's route;
- each back-office role reaches exactly the routes README gives it (403 in the envelope otherwise),
  state-changing calls need the session's CSRF token, and a signed-out session is refused everywhere;
- another athlete, on every route that names one of the owner's resources (a program, its weeks and
  sessions, activities and their merge, provider links and their syncs, an export, an API key), is
  answered 404 in the envelope, whether reading, changing or deleting, as for a made-up id and telling
  nothing more; Strava events of their own account naming the owner's ride (created, updated,
  deleted) take nothing from the owner; the owner's rows in every database are the same afterwards;
- every list, statistic and summary shows each athlete their own data only.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest

from relay_devstack import SERVICES, Stack
from relay_devstack.stack import DEV_INTERNAL_CALLERS, DEV_INTERNAL_TOKEN

from .actors import (
    ROLES,
    Athlete,
    Devices,
    Operator,
    World,
    build_world,
    log_in,
    signed_in_athlete,
    tokens_nobody_was_given,
)
from .conftest import Databases
from .test_identity import eventually
from .test_ingestion import webhook

Access = Literal["public", "provider", "credential", "internal", "probe", "athlete", "admin"]


@dataclass(frozen=True)
class Rule:
    """Who may call an operation, and the call that shows it: its body, query and headers, where
    `{name}` stands for the value of a path parameter."""

    access: Access
    status: int | None = None
    """What a caller who may call gets: anyone for `public`, anyone without the provider's proof for
    `provider` (a refusal), the roles allowed for `admin`."""
    role: str | None = None
    """`admin`: the lowest role allowed."""
    stranger: int | None = None
    """`athlete`: what another athlete gets calling it with the owner's resources (404), or 200 for a
    read of one's own data that must show nothing of anyone else's. None: it acts on the caller's own
    account only and names nothing of anyone's."""
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def public(status: int, **call: Any) -> Rule:
    return Rule("public", status, **call)


def provider(refused: int, **call: Any) -> Rule:
    return Rule("provider", refused, **call)


def credential(**call: Any) -> Rule:
    return Rule("credential", **call)


def internal(**call: Any) -> Rule:
    return Rule("internal", **call)


def athlete(stranger: int | None = None, **call: Any) -> Rule:
    return Rule("athlete", stranger=stranger, **call)


def admin(role: str, status: int, **call: Any) -> Rule:
    return Rule("admin", status, role=role, **call)


PROBE = Rule("probe")
APP = "relay://relay.app/auth"


def a_new_operator() -> dict[str, str]:
    return {
        "email": f"ro-{uuid.uuid4().hex[:8]}@relay.example",
        "name": "Read only",
        "role": "read_only",
        "password": "correct horse battery staple",
    }


def a_strava_event() -> dict[str, Any]:
    """An event of an account Relay does not know: acknowledged, with nothing to read."""
    return {
        "object_type": "activity",
        "object_id": int(time.time() * 1000),
        "aspect_type": "create",
        "owner_id": 1,
        "subscription_id": 1,
        "event_time": int(time.time()),
        "updates": {},
    }


STRAVA_CHECK = {"hub.mode": "subscribe", "hub.challenge": "c", "hub.verify_token": "not-ours"}
HANDOUT = {"provider": "strava", "user_id": "{user_id}", "purpose": "fetch_activity"}
REJECTION = {"connection_id": "{connection_id}", "provider": "garmin", "reason": "token_invalid"}

MATRIX: dict[str, Rule] = {
    # every service
    "GET /healthz": PROBE,
    "GET /readyz": PROBE,
    # identity
    "GET /.well-known/jwks.json": public(200),
    "GET /api/auth/strava": public(302, params={"redirect_uri": APP}),
    "GET /api/auth/strava/callback": public(400, params={"code": "c", "state": "not-a-state"}),
    "POST /api/auth/refresh": credential(),
    "POST /api/auth/logout": athlete(),
    "GET /api/auth/me": athlete(stranger=200),
    "DELETE /api/auth/me": athlete(),
    "PATCH /api/auth/me/profile": athlete(json={"ftp": 250}),
    "POST /api/onboarding/profile": athlete(
        json={"birth_year": 1990, "gender": "F", "weight_kg": 60, "experience_level": "beginner"}
    ),
    "GET /api/auth/api-keys": athlete(stranger=200),
    "POST /api/auth/api-keys": athlete(json={"name": "Bridge"}),
    "DELETE /api/auth/api-keys/{api_key_id}": athlete(stranger=404),
    "POST /api/admin/auth/login": credential(json={"email": "nobody@relay.example", "password": "wrong"}),
    "POST /api/admin/auth/logout": admin("read_only", 200),
    "GET /api/admin/auth/me": admin("read_only", 200),
    "GET /api/admin/users": admin("read_only", 200),
    "POST /api/admin/users/{user_id}/sessions/revoke": admin("support", 200),
    "GET /api/admin/admins": admin("super_admin", 200),
    "POST /api/admin/admins": admin("super_admin", 201, json=a_new_operator),
    # connections
    "GET /api/providers/available-providers": public(200),
    "GET /api/providers/connections": athlete(stranger=200),
    "GET /api/providers/connections/provider/{provider}": athlete(stranger=404),
    "GET /api/providers/connections/{connection_id}": athlete(stranger=404),
    "DELETE /api/providers/connections/{connection_id}": athlete(stranger=404),
    "PATCH /api/providers/connections/{connection_id}/toggle": athlete(
        stranger=404, json={"is_active": False}
    ),
    "POST /api/providers/connections/{connection_id}/sync": athlete(stranger=404),
    "GET /api/providers/connections/{connection_id}/sync-history": athlete(stranger=404),
    "GET /api/providers/connections/{connection_id}/sync-status": athlete(stranger=404),
    "GET /api/providers/summary": athlete(stranger=200),
    "POST /api/providers/{provider}/connect": athlete(json={"redirect_uri": APP}),
    "GET /api/providers/{provider}/callback": public(400, params={"code": "c", "state": "not-a-state"}),
    "POST /api/providers/{provider}/login": athlete(json={"email": "a@relay.example", "password": "pw"}),
    "POST /internal/access-tokens": internal(json=HANDOUT),
    "POST /internal/token-rejections": internal(json=REJECTION),
    # ingestion
    "GET /api/webhook/strava": provider(403, params=STRAVA_CHECK),
    "POST /api/webhook/strava": public(200, json=a_strava_event),
    "GET /api/webhooks/strava": provider(403, params=STRAVA_CHECK),
    "POST /api/webhooks/strava": public(200, json=a_strava_event),
    "POST /api/webhooks/garmin": provider(401, json={"activities": []}),
    "POST /api/webhooks/coros": provider(401, json={"sportDataList": []}),
    "POST /api/webhooks/polar": provider(401, json={"event": "EXERCISE"}),
    "GET /api/webhooks/oura": provider(401, params={"verification_token": "not-ours", "challenge": "c"}),
    "POST /api/webhooks/oura": provider(401, json={"event_type": "create"}),
    "POST /api/webhooks/whoop": provider(401, json={"type": "workout.updated"}),
    "GET /api/webhooks/fitbit": provider(404, params={"verify": "not-ours"}),
    "POST /api/webhooks/fitbit": provider(404, json=[]),  # Fitbit's own rule: 404 to a wrong signature
    "POST /api/webhooks/wahoo": provider(401, json={"event_type": "workout_summary"}),
    "POST /api/webhooks/ingest": credential(json={"data": {"workouts": []}}),
    "POST /api/strava/sync": athlete(json={}),
    "GET /api/strava/activities": athlete(stranger=200),
    "GET /api/strava/stats": athlete(stranger=200, params={"period": "all"}),
    "GET /api/onboarding/strava-analysis": athlete(stranger=200),
    "GET /api/activities": athlete(stranger=200),
    "GET /api/activities/stats": athlete(stranger=200, params={"period": "all"}),
    "GET /api/activities/{activity_id}": athlete(stranger=404),
    "GET /api/activities/{activity_id}/lineage": athlete(stranger=404),
    "POST /api/activities/merges/{merge_id}/undo": athlete(stranger=404),
    # planning
    "GET /api/onboarding/status": athlete(stranger=200),
    "POST /api/onboarding/goal": athlete(
        json={"event_name": "Ironman", "event_date": "2031-06-01", "distance_type": "ironman"}
    ),
    "POST /api/onboarding/availability": athlete(json={"weekly_hours": 10, "preferred_long_day": 6}),
    "POST /api/onboarding/constraints": athlete(json={"pool_access": False}),
    "POST /api/onboarding/complete": athlete(json={}),
    "GET /api/program/current": athlete(stranger=200),
    "GET /api/program/{program_id}": athlete(stranger=404),
    "GET /api/program/{program_id}/overview": athlete(stranger=404),
    "GET /api/program/{program_id}/week/{number}": athlete(stranger=404),
    "POST /api/program/{program_id}/recalculate": athlete(stranger=404),
    "GET /api/sessions/today": athlete(stranger=200),
    "GET /api/sessions/week": athlete(stranger=404, params={"week_id": "{week_id}"}),
    "GET /api/sessions/{session_id}": athlete(stranger=404),
    "PATCH /api/sessions/{session_id}/complete": athlete(stranger=404, json={"perceived_effort": 5}),
    "PATCH /api/sessions/{session_id}/skip": athlete(stranger=404, json={"reason": "illness"}),
    "POST /api/sessions/{session_id}/feedback": athlete(
        stranger=404, json={"perceived_effort": 5, "feeling": "hard"}
    ),
    "GET /api/training-load": athlete(stranger=200),
    "GET /api/admin/templates": admin("read_only", 200),
    "POST /api/admin/templates": admin("super_admin", 400, json={}),
    "PATCH /api/admin/templates/{template_id}": admin("super_admin", 404, json={"is_active": False}),
    # export
    "GET /api/sessions/{session_id}/workout.fit": athlete(stranger=404),
    "GET /api/sessions/{session_id}/workout.json": athlete(stranger=404),
    "POST /api/sessions/{session_id}/export": athlete(
        stranger=404, json={"provider": "garmin"}, headers={"Idempotency-Key": "authorization-matrix"}
    ),
    "GET /api/exports": athlete(stranger=200, params={"session_id": "{session_id}"}),
    "GET /api/exports/settings": athlete(stranger=200),
    "PUT /api/exports/settings": athlete(json={"auto_export": []}),
    "GET /api/exports/{export_id}": athlete(stranger=404),
    # audit
    "GET /api/admin/audit-logs": admin("read_only", 200),
    "GET /api/audit-trail": athlete(stranger=200),
    "GET /api/admin/jobs": admin("read_only", 200),
    "POST /api/admin/jobs/{job_id}/run": admin("super_admin", 404),
    "GET /api/admin/jobs/{job_id}/executions": admin("read_only", 404),
    "GET /api/admin/dead-letters": admin("read_only", 200),
    "GET /api/admin/dead-letters/{dead_letter_id}": admin("support", 404),
    "POST /api/admin/dead-letters/{dead_letter_id}/replay": admin("super_admin", 404),
}

UNPUBLISHED: dict[str, tuple[tuple[str, ...], Rule]] = {
    "POST /internal/strava-grants/{strava_grant_id}/claim": (("identity",), internal()),
    "GET /metrics": (SERVICES, PROBE),
}
"""Routes the documents leave out on purpose, held to the same rules."""

RESOURCE = re.compile(r"\{(\w+_id|number)\}")
"""Path parameters that name someone's resource (a provider's key or a week's number alone do not)."""
READ_ONLY_SAMPLES = ("GET /api/admin/users", "GET /api/admin/templates", "GET /api/admin/audit-logs")
ATHLETE_SAMPLES = (
    "GET /api/auth/me",
    "GET /api/providers/connections",
    "GET /api/activities",
    "GET /api/program/current",
    "GET /api/exports",
    "GET /api/audit-trail",
)
OWNED_ROWS: tuple[tuple[str, str], ...] = (
    ("identity", "SELECT id, name, revoked_at FROM api_keys WHERE user_id = $1"),
    ("connections", "SELECT id, provider, status, is_active FROM provider_connections WHERE user_id = $1"),
    ("connections", "SELECT count(*) FROM sync_history WHERE user_id = $1 AND trigger = 'manual'"),
    (
        "ingestion",
        "SELECT id, provider, duplicate_of FROM activities "
        "WHERE user_id = $1 AND provider IN ('strava', 'health_bridge')",
    ),
    (
        "ingestion",
        "SELECT id, kept_id, duplicate_id, undone_at, undone_by FROM activity_merges WHERE user_id = $1",
    ),
    ("planning", "SELECT p::text FROM programs p WHERE user_id = $1"),
    (
        "planning",
        "SELECT w::text FROM program_weeks w JOIN programs p ON p.id = w.program_id WHERE p.user_id = $1",
    ),
    ("planning", "SELECT s::text FROM sessions s WHERE user_id = $1"),
    (
        "planning",
        "SELECT count(*) FROM recalculations r JOIN programs p ON p.id = r.program_id WHERE p.user_id = $1",
    ),
    (
        "export",
        "SELECT id, session_id, provider, status, idempotency_key FROM workout_exports WHERE user_id = $1",
    ),
)
"""What the owner has in each database (and how many syncs and recalculations they asked for), to compare
before and after another athlete's attempts."""
VOLUMES: dict[str, Callable[[Any], float]] = {
    "GET /api/strava/stats": lambda body: body["stats"]["totals"]["activities"],
    "GET /api/activities/stats": lambda body: body["stats"]["totals"]["activities"],
    "GET /api/onboarding/strava-analysis": lambda body: body["analysis"]["totals"]["activities"],
    "GET /api/training-load": lambda body: sum(day["stress"] for day in body["days"]),
    "GET /api/providers/summary": lambda body: "garmin" in body["providers"],
}
"""Figures that add up what an athlete did or linked, where no identifier shows: the owner's ride and
Garmin link count in the owner's, and in nobody else's (the other athlete recorded nothing, linked
Strava only)."""


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    return asyncio.run(build_world(stack))


# -- calling an operation ------------------------------------------------------------------------------


class AnyValues(dict[str, str]):
    """Path values when whose resource it is does not matter: any id, Garmin, week 1."""

    def __missing__(self, key: str) -> str:
        return {"provider": "garmin", "number": "1"}.get(key, str(uuid.uuid4()))


def _filled(value: Any, values: dict[str, str]) -> Any:
    if callable(value):
        value = value()
    if isinstance(value, str):
        return value.format_map(values)
    if isinstance(value, dict):
        return {key: _filled(item, values) for key, item in value.items()}
    return value


async def call(
    devices: Devices,
    operation: str,
    rule: Rule,
    values: dict[str, str],
    headers: dict[str, str] | None = None,
    *,
    base: str = "",
) -> httpx.Response:
    method, template = operation.split(" ", 1)
    kwargs: dict[str, Any] = {
        "params": _filled(rule.params, values),
        "headers": {**rule.headers, **(headers or {})},
    }
    if rule.json is not None:
        kwargs["json"] = _filled(rule.json, values)
    return await devices.request(method, base + template.format_map(values), **kwargs)


def in_envelope(answer: httpx.Response) -> bool:
    try:
        body = answer.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) and set(body) == {"error"} else None
    return (
        isinstance(error, dict)
        and set(error) == {"code", "message", "details"}
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
        and isinstance(error["details"], dict)
    )


def mismatch(
    who: str, operation: str, answer: httpx.Response, status: int, code: str | None = None
) -> str | None:
    """What is wrong with an answer, or None: the status, and for an error the envelope and its code
    (`code` exactly, or any `..._not_found` code for a 404)."""
    found = answer.status_code
    if found == status and (status < 400 or in_envelope(answer)):
        error = answer.json()["error"]["code"] if status >= 400 else None
        if code is None or error == code or (code == "not_found" and str(error).endswith("not_found")):
            return None
    return f"{who} {operation}: expected {status} {code or ''}, got {found} {answer.text[:200]}"


async def published_operations(devices: Devices) -> dict[str, set[str]]:
    """Each service's operations, `METHOD /path`, from its OpenAPI document at the gateway."""
    found: dict[str, set[str]] = {}
    for service in SERVICES:
        answer = await devices.request("GET", f"/docs/{service}/openapi.json")
        assert answer.status_code == 200, (service, answer.text)
        paths = answer.json()["paths"]
        found[service] = {f"{method.upper()} {path}" for path, item in paths.items() for method in item}
    return found


def every_operation(published: dict[str, set[str]]) -> Iterator[tuple[str, str, Rule]]:
    for service, operations in published.items():
        for operation in sorted(operations):
            yield service, operation, MATRIX[operation]
    for operation, (services, rule) in UNPUBLISHED.items():
        for service in services:
            yield service, operation, rule


def leaves(body: Any) -> Iterator[str]:
    """Every string and integer in a JSON document, as text."""
    if isinstance(body, dict):
        for value in body.values():
            yield from leaves(value)
    elif isinstance(body, list):
        for value in body:
            yield from leaves(value)
    elif isinstance(body, str) or (isinstance(body, int) and not isinstance(body, bool)):
        yield str(body)


def failures(results: list[str | None]) -> str:
    wrong = [result for result in results if result]
    return f"{len(wrong)} wrong answers:\n" + "\n".join(wrong)


async def gathered(*checks: Any) -> list[str | None]:
    return list(await asyncio.gather(*checks))


# -- the matrix is complete -------------------------------------------------------------------------


async def test_every_operation_the_services_publish_is_classified_and_nothing_else(stack: Stack) -> None:
    async with Devices(stack) as devices:
        published = await published_operations(devices)
    operations = set().union(*published.values())

    assert sorted(operations - MATRIX.keys()) == [], "operations the authorization matrix does not classify"
    assert sorted(MATRIX.keys() - operations) == [], "the matrix classifies operations nobody publishes"
    for operation, rule in MATRIX.items():
        names_a_resource = bool(RESOURCE.search(operation.split(" ", 1)[1]))
        if rule.access == "athlete" and names_a_resource:
            assert rule.stranger in (403, 404), f"{operation}: another athlete's attempt is not checked"
        if rule.access == "admin":
            assert rule.role in ROLES and rule.status is not None, operation
    assert all(published[service] >= {"GET /healthz", "GET /readyz"} for service in SERVICES)


# -- without credentials -----------------------------------------------------------------------------


async def test_without_credentials_every_operation_is_refused_in_the_envelope_but_the_public_ones(
    stack: Stack,
) -> None:
    values = AnyValues()
    async with Devices(stack) as devices:
        published = await published_operations(devices)

        async def anonymous(service: str, operation: str, rule: Rule) -> list[str | None]:
            own_port = stack.config.service_url(service)
            if rule.access == "probe":
                answer = await call(devices, operation, rule, values, base=own_port)
                return [mismatch("anyone on its port", operation, answer, 200)]
            if rule.access == "internal":
                through_gateway = await call(devices, operation, rule, values)
                on_its_port = await call(devices, operation, rule, values, base=own_port)
                return [
                    mismatch("the gateway", operation, through_gateway, 404, "not_found"),
                    mismatch("anyone on its port", operation, on_its_port, 401, "unauthorized"),
                ]
            answer = await call(devices, operation, rule, values)
            if rule.access in ("public", "provider"):
                assert rule.status is not None
                return [mismatch("anyone", operation, answer, rule.status)]
            return [mismatch("anyone", operation, answer, 401, "unauthorized")]

        results = await asyncio.gather(*(anonymous(*entry) for entry in every_operation(published)))
    checked = [result for batch in results for result in batch]
    assert not any(checked), failures(checked)


async def test_internal_routes_refuse_athletes_operators_and_the_token_of_another_route(
    stack: Stack, world: World
) -> None:
    callers = dict(entry.split(":", 1) for entry in DEV_INTERNAL_CALLERS.split(","))
    # Each Relay service holds a token for the route it calls, and it opens no other route.
    elsewhere = {"identity": callers["ingestion"], "connections": DEV_INTERNAL_TOKEN}
    async with Devices(stack) as devices:
        published = await published_operations(devices)
        internal_operations = [entry for entry in every_operation(published) if entry[2].access == "internal"]
        results = await gathered(
            *(
                _refused(
                    devices, f"{who} on its port", service, operation, rule, world.path_values, headers, stack
                )
                for service, operation, rule in internal_operations
                for who, headers in (
                    ("an athlete", world.owner.headers()),
                    ("an operator", world.operators["super_admin"].headers()),
                    ("another route's Relay token", {"Authorization": f"Bearer {elsewhere[service]}"}),
                )
            )
        )
    assert not any(results), failures(results)
    assert len(results) == 3 * len(internal_operations)


async def _refused(
    devices: Devices,
    who: str,
    service: str,
    operation: str,
    rule: Rule,
    values: dict[str, str],
    headers: dict[str, str],
    stack: Stack,
) -> str | None:
    answer = await call(devices, operation, rule, values, headers, base=stack.config.service_url(service))
    return mismatch(who, operation, answer, 401, "unauthorized")


# -- tokens nobody was given -------------------------------------------------------------------------


async def test_malformed_forged_expired_and_signed_out_tokens_are_refused_like_no_token(
    stack: Stack, world: World, databases: Databases
) -> None:
    signed_out = await signed_in_athlete(stack, firstname="Sam", lastname="Out")
    async with Devices(stack) as devices:
        logout = await devices.request("POST", "/api/auth/logout", headers=signed_out.headers())
        assert logout.status_code == 200, logout.text
        root = world.operators["super_admin"]
        athlete_tokens = await tokens_nobody_was_given(databases, world.owner.token)
        athlete_tokens |= {"signed out": signed_out.token, "an operator's session": root.session}
        operator_cookies = await tokens_nobody_was_given(databases, root.session)
        operator_cookies |= {"an athlete's access token": world.owner.token}
        results = await gathered(
            *(
                _refused_token(
                    devices, f"{name} bearer", operation, world, {"Authorization": f"Bearer {token}"}
                )
                for name, token in athlete_tokens.items()
                for operation in ATHLETE_SAMPLES
            ),
            *(
                _refused_token(
                    devices, f"{name} session", operation, world, {"Cookie": f"admin_session={token}"}
                )
                for name, token in operator_cookies.items()
                for operation in READ_ONLY_SAMPLES
            ),
        )
    assert not any(results), failures(results)
    assert len(results) == len(athlete_tokens) * len(ATHLETE_SAMPLES) + len(operator_cookies) * len(
        READ_ONLY_SAMPLES
    )


async def _refused_token(
    devices: Devices, who: str, operation: str, world: World, headers: dict[str, str]
) -> str | None:
    """The answer to a credential that is not the one the operation takes: the refusal anyone gets."""
    rule = MATRIX[operation]
    answer = await call(devices, operation, rule, world.path_values, headers)
    if rule.access == "provider":
        assert rule.status is not None
        return mismatch(who, operation, answer, rule.status)
    return mismatch(who, operation, answer, 401, "unauthorized")


# -- athletes and operators on each other's routes -----------------------------------------------------


async def test_an_athletes_token_opens_no_back_office_route_and_an_operators_session_no_athletes_route(
    stack: Stack, world: World
) -> None:
    root = world.operators["super_admin"]
    as_operator = {
        "an operator's session as a bearer token": {"Authorization": f"Bearer {root.session}"},
        "an operator's session cookie": root.headers(),
    }
    as_athlete = {
        "an athlete's bearer token": world.stranger.headers(),
        "an athlete's token as the session cookie": {"Cookie": f"admin_session={world.stranger.token}"},
    }
    athlete_operations = [op for op, rule in MATRIX.items() if rule.access == "athlete"]
    admin_operations = [op for op, rule in MATRIX.items() if rule.access == "admin"]
    # Neither is the proof a provider signs with, nor a refresh token, a password or an API key.
    own_proof = [op for op, rule in MATRIX.items() if rule.access in ("provider", "credential")]
    async with Devices(stack) as devices:
        results = await gathered(
            *(
                _refused_token(devices, who, operation, world, headers)
                for who, headers in as_operator.items()
                for operation in athlete_operations
            ),
            *(
                _refused_token(devices, who, operation, world, headers)
                for who, headers in as_athlete.items()
                for operation in admin_operations
            ),
            *(
                _refused_token(devices, who, operation, world, headers)
                for who, headers in (*as_operator.items(), *as_athlete.items())
                for operation in own_proof
            ),
        )
    assert not any(results), failures(results)
    assert len(results) == 2 * (len(athlete_operations) + len(admin_operations) + 2 * len(own_proof))


# -- the back-office roles -----------------------------------------------------------------------------


async def test_each_back_office_role_reaches_exactly_what_its_role_allows(stack: Stack, world: World) -> None:
    """README: any role reads the athletes, the templates, the trail, the jobs and the dead letters;
    support also signs an athlete out and reads a dead letter's message; super_admin alone manages
    accounts, templates, runs jobs and replays dead letters."""
    lost_phone = world.lost_phone
    operations = {op: rule for op, rule in MATRIX.items() if rule.access == "admin" and "logout" not in op}
    async with Devices(stack) as devices:
        assert (await devices.request("GET", "/api/auth/me", headers=lost_phone.headers())).status_code == 200

        async def by_role(operation: str, rule: Rule) -> list[str | None]:
            assert rule.role is not None and rule.status is not None
            found = []
            # Lowest role first: a refusal must leave nothing done for the next one to find.
            for role in ROLES:
                operator = world.operators[role]
                answer = await call(devices, operation, rule, world.path_values, operator.headers())
                if ROLES.index(role) >= ROLES.index(rule.role):
                    found.append(mismatch(role, operation, answer, rule.status))
                else:
                    found.append(mismatch(role, operation, answer, 403, "forbidden"))
                if operation.startswith("GET"):
                    continue
                another = world.operators[ROLES[ROLES.index(role) - 1]].csrf
                for csrf, headers in (
                    ("without the CSRF token", operator.headers(csrf=False)),
                    (
                        "with another session's CSRF token",
                        operator.headers(csrf=False) | {"X-CSRF-Token": another},
                    ),
                ):
                    unsent = await call(devices, operation, rule, world.path_values, headers)
                    found.append(mismatch(f"{role} {csrf}", operation, unsent, 403, "forbidden"))
            return found

        results = await asyncio.gather(*(by_role(op, rule) for op, rule in operations.items()))
        checked = [result for batch in results for result in batch]
        signed_out = await _signing_out_ends_the_session_everywhere(stack, devices, world)
        lost = await devices.request("GET", "/api/auth/me", headers=lost_phone.headers())
    assert not any(checked), failures(checked)
    assert not any(signed_out), failures(signed_out)
    assert lost.status_code == 401, "support signed the athlete out, yet their token still works"
    # Each role once; twice more, without a valid CSRF token, where the call changes something.
    assert len(checked) == sum(len(ROLES) * (1 if op.startswith("GET") else 3) for op in operations)


async def _signing_out_ends_the_session_everywhere(
    stack: Stack, devices: Devices, world: World
) -> list[str | None]:
    """Each role signs out of a session of its own; that session is then refused by identity, planning
    and audit."""
    rule = MATRIX["POST /api/admin/auth/logout"]
    sessions: list[Operator] = await asyncio.gather(
        *(log_in(stack, role, world.operators[role].email) for role in ROLES)
    )
    found: list[str | None] = []
    for session in sessions:
        answer = await call(
            devices, "POST /api/admin/auth/logout", rule, world.path_values, session.headers()
        )
        found.append(mismatch(session.role, "POST /api/admin/auth/logout", answer, 200))
        for operation in ("GET /api/admin/auth/me", "GET /api/admin/templates", "GET /api/admin/jobs"):
            after = await call(devices, operation, MATRIX[operation], world.path_values, session.headers())
            found.append(mismatch(f"{session.role} signed out", operation, after, 401, "unauthorized"))
    return found


# -- another athlete -------------------------------------------------------------------------------------


async def owned_rows(databases: Databases, owner: Athlete) -> list[list[str]]:
    return [
        sorted(str(tuple(row)) for row in await databases.fetch(service, query, owner.user_id))
        for service, query in OWNED_ROWS
    ]


async def test_another_athlete_can_neither_read_change_nor_delete_what_is_the_owners(
    stack: Stack, world: World, databases: Databases
) -> None:
    owner = world.owner
    attempts = {op: rule for op, rule in MATRIX.items() if rule.access == "athlete" and rule.stranger == 404}
    before = await owned_rows(databases, owner)
    async with Devices(stack) as devices:
        attempted = await asyncio.gather(
            *(_stranger_refused(devices, operation, rule, world) for operation, rule in attempts.items())
        )
        results = [result for batch in attempted for result in batch]
        results += await _strava_events_of_another_account_about_the_owners_ride(devices, world, databases)
        after = await owned_rows(databases, owner)
        still_theirs = await gathered(
            *(
                _owner_reads(devices, owner, path.format_map(world.path_values))
                for path in (
                    "/api/program/{program_id}/week/{number}",
                    "/api/sessions/{session_id}",
                    "/api/activities/{activity_id}/lineage",
                    "/api/providers/connections/{connection_id}/sync-status",
                    "/api/exports/{export_id}",
                )
            )
        )
    assert not any(results), failures(results)
    assert all(before), "the owner holds something in every table compared"
    for (service, query), was, now in zip(OWNED_ROWS, before, after, strict=True):
        assert now == was, f"{service}: the owner's rows changed after another athlete's attempts ({query})"
    assert not any(still_theirs), failures(still_theirs)


async def _stranger_refused(devices: Devices, operation: str, rule: Rule, world: World) -> list[str | None]:
    """Another athlete's call with the owner's resources, next to the same call with made-up ones: the
    same refusal, which tells nothing of the owner's but what the caller sent."""
    assert rule.stranger is not None
    theirs = await call(devices, operation, rule, world.path_values, world.stranger.headers())
    unknown = await call(devices, operation, rule, AnyValues(), world.stranger.headers())
    found = [mismatch("another athlete", operation, theirs, rule.stranger, "not_found")]
    if not found[0]:
        sent = {
            value
            for name, value in world.path_values.items()
            if f"{{{name}}}" in f"{operation} {rule.params}"
        }
        told = world.identifiers() & set(leaves(theirs.json())) - sent
        if told:
            found.append(f"another athlete {operation}: the refusal tells the owner's {sorted(told)}")
        if mismatch("", operation, unknown, theirs.status_code, theirs.json()["error"]["code"]):
            found.append(
                f"another athlete {operation}: {theirs.status_code} {theirs.text[:100]} for the owner's, "
                f"{unknown.status_code} {unknown.text[:100]} for a made-up one: it tells what exists"
            )
    return found


async def _strava_events_of_another_account_about_the_owners_ride(
    devices: Devices, world: World, databases: Databases
) -> list[str | None]:
    """Strava signs nothing: anyone can say that the other athlete's Strava account created, changed or
    deleted the owner's ride. Relay reads what such events point to with the other athlete's token; the
    owner's ride stays the owner's, as it was."""
    ride, account = world.owned["owner:activity:strava"], str(world.stranger.strava_id)
    sent = []
    for aspect in ("create", "update", "delete"):
        answer = await devices.request(
            "POST", "/api/webhook/strava", json=webhook(int(account), int(ride), aspect)
        )
        sent.append(
            mismatch(f"a Strava {aspect} event of another account", "POST /api/webhook/strava", answer, 200)
        )

    async def read() -> bool:
        pending = await databases.fetchval(
            "ingestion",
            "SELECT count(*) FROM provider_notifications WHERE owner_id = $1 AND object_id = $2 "
            "AND status = 'pending'",
            account,
            ride,
        )
        return pending == 0

    assert await eventually(read, timeout=30.0), "the worker never read the events"
    return sent


async def _owner_reads(devices: Devices, owner: Athlete, path: str) -> str | None:
    answer = await devices.request("GET", path, headers=owner.headers())
    return (
        None
        if answer.status_code == 200
        else f"the owner GET {path}: {answer.status_code} {answer.text[:200]}"
    )


async def test_every_list_and_summary_shows_each_athlete_their_own_data_only(
    stack: Stack, world: World
) -> None:
    owner, stranger = world.owner, world.stranger
    theirs = world.identifiers()
    reads = {op: rule for op, rule in MATRIX.items() if rule.access == "athlete" and rule.stranger == 200}
    async with Devices(stack) as devices:

        async def both(operation: str, rule: Rule) -> tuple[str, httpx.Response, httpx.Response]:
            mine = await call(devices, operation, rule, world.path_values, owner.headers())
            other = await call(devices, operation, rule, world.path_values, stranger.headers())
            return operation, mine, other

        answers = await asyncio.gather(*(both(op, rule) for op, rule in reads.items()))
    wrong = []
    shown: dict[str, set[str]] = {}
    for operation, mine, other in answers:
        if mine.status_code != 200 or other.status_code != 200:
            wrong.append(
                f"{operation}: the owner got {mine.status_code}, the other {other.status_code}: "
                f"{other.text[:200]}"
            )
            continue
        shown[operation] = theirs & set(leaves(mine.json()))
        leaked = theirs & set(leaves(other.json()))
        if leaked:
            wrong.append(f"{operation}: another athlete sees the owner's {sorted(leaked)}")
        volume = VOLUMES.get(operation)
        if volume and not (volume(mine.json()) and not volume(other.json())):
            wrong.append(
                f"{operation}: the owner's {volume(mine.json())}, the other's {volume(other.json())}"
            )
    assert not wrong, "\n".join(wrong)
    # The owner's own answers do show their data: the check above could have found it.
    showing = {operation for operation, found in shown.items() if found}
    assert showing >= {
        "GET /api/auth/me",
        "GET /api/auth/api-keys",
        "GET /api/providers/connections",
        "GET /api/strava/activities",
        "GET /api/activities",
        "GET /api/program/current",
        "GET /api/exports",
        "GET /api/audit-trail",
    }, showing
