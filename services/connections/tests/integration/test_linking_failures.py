"""Link flows that go wrong: a state that is unknown, used, expired or for another provider, a code the
provider refuses, a provider failing, a provider account already linked to another athlete, and
providers that are not linked through an authorization page. None of them leaves a connection behind."""

from __future__ import annotations

import httpx
import pytest

from relay_testing.fakes.providers.dialects import DIALECTS

from .conftest import ConnectionsUnderTest

pytestmark = pytest.mark.integration

OAUTH_PROVIDERS = ("strava", "garmin", "coros", "polar", "oura", "whoop", "fitbit", "wahoo")
ATHLETE, OTHER_ATHLETE = "usr_noah_7c1e02", "usr_ines_b83d55"


async def fail_token_exchange(service: ConnectionsUnderTest, provider: str) -> None:
    if provider == "strava":
        await service.strava.fail_next("server_error", endpoint="token")
    else:
        await service.providers.fail_next(provider, "server_error", DIALECTS[provider].token_path)  # type: ignore[index]


async def connections_in_database(service: ConnectionsUnderTest) -> list[tuple[str, str]]:
    rows = await service.rows("SELECT user_id, provider FROM provider_connections ORDER BY user_id, provider")
    return [(row["user_id"], row["provider"]) for row in rows]


def error_of(response: httpx.Response) -> dict[str, object]:
    error: dict[str, object] = response.json()["error"]
    return error


async def test_a_state_works_once(connections_service: ConnectionsUnderTest) -> None:
    started = await connections_service.start_link(ATHLETE, "garmin")
    back = await connections_service.consent("garmin", started["authorization_url"])
    assert (await connections_service.callback("garmin", back)).status_code == 200

    replayed = await connections_service.callback("garmin", back)

    assert replayed.status_code == 400
    assert error_of(replayed) == {
        "code": "invalid_state",
        "message": "This link attempt is unknown, expired or already used: start again",
        "details": {"field": "state"},
    }
    assert len(await connections_service.staged_events("connections.connection.linked")) == 1


async def test_a_state_is_used_up_even_when_the_code_fails(connections_service: ConnectionsUnderTest) -> None:
    started = await connections_service.start_link(ATHLETE, "whoop")
    back = await connections_service.consent("whoop", started["authorization_url"])
    refused = await connections_service.callback("whoop", back.copy_set_param("code", "not-a-code"))
    assert error_of(refused)["code"] == "invalid_code"

    retried = await connections_service.callback("whoop", back)

    assert retried.status_code == 400 and error_of(retried)["code"] == "invalid_state"
    assert await connections_in_database(connections_service) == []


async def test_a_state_does_not_work_for_another_provider(connections_service: ConnectionsUnderTest) -> None:
    started = await connections_service.start_link(ATHLETE, "fitbit")
    back = await connections_service.consent("fitbit", started["authorization_url"])

    elsewhere = await connections_service.client.get(
        "/api/providers/wahoo/callback", params=dict(back.params)
    )

    assert elsewhere.status_code == 400 and error_of(elsewhere)["code"] == "invalid_state"
    assert await connections_in_database(connections_service) == []


@pytest.mark.parametrize("state", [None, "", "forged-state-" + "x" * 40])
async def test_a_missing_or_unknown_state_is_refused(
    connections_service: ConnectionsUnderTest, state: str | None
) -> None:
    params = {"code": "0123456789abcdef"} | ({} if state is None else {"state": state})

    refused = await connections_service.client.get("/api/providers/oura/callback", params=params)

    assert refused.status_code == 400 and error_of(refused)["code"] == "invalid_state"


async def test_a_state_expires_after_the_link_ttl(connections_service: ConnectionsUnderTest) -> None:
    started = await connections_service.start_link(ATHLETE, "strava")
    assert connections_service.resources.settings.link_ttl_seconds == 600
    [attempt] = await connections_service.rows("SELECT created_at, expires_at FROM link_attempts")
    assert (attempt["expires_at"] - attempt["created_at"]).total_seconds() == 600
    back = await connections_service.consent("strava", started["authorization_url"])
    await connections_service.rows("UPDATE link_attempts SET expires_at = now() - interval '1 second'")

    late = await connections_service.callback("strava", back)

    assert late.status_code == 400 and error_of(late)["code"] == "invalid_state"
    assert await connections_in_database(connections_service) == []


async def test_a_callback_without_code_nor_error_answers_missing_code(
    connections_service: ConnectionsUnderTest,
) -> None:
    started = await connections_service.start_link(ATHLETE, "polar")

    empty = await connections_service.client.get(
        "/api/providers/polar/callback", params={"state": started["state"]}
    )

    assert empty.status_code == 400 and error_of(empty)["code"] == "missing_code"
    assert await connections_in_database(connections_service) == []


@pytest.mark.parametrize("provider", OAUTH_PROVIDERS)
async def test_a_code_the_provider_does_not_know_answers_invalid_code(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    started = await connections_service.start_link(ATHLETE, provider)
    back = await connections_service.consent(provider, started["authorization_url"])

    refused = await connections_service.callback(provider, back.copy_set_param("code", "0" * 40))

    assert refused.status_code == 400
    assert error_of(refused)["code"] == "invalid_code"
    assert error_of(refused)["details"] == {"provider": provider}
    assert await connections_in_database(connections_service) == []
    assert await connections_service.staged_events("connections.connection.linked") == []


@pytest.mark.parametrize("provider", ["strava", "garmin", "polar"])
async def test_a_code_already_exchanged_answers_invalid_code(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    first = await connections_service.start_link(ATHLETE, provider)
    spent = await connections_service.consent(provider, first["authorization_url"])
    assert (await connections_service.callback(provider, spent)).status_code == 200
    second = await connections_service.start_link(ATHLETE, provider)

    reused = await connections_service.callback(provider, spent.copy_set_param("state", second["state"]))

    assert reused.status_code == 400 and error_of(reused)["code"] == "invalid_code"
    assert len(await connections_service.staged_events("connections.connection.linked")) == 1


@pytest.mark.parametrize("provider", OAUTH_PROVIDERS)
async def test_a_provider_failing_at_the_token_exchange_answers_502_and_links_nothing(
    connections_service: ConnectionsUnderTest, provider: str
) -> None:
    started = await connections_service.start_link(ATHLETE, provider)
    back = await connections_service.consent(provider, started["authorization_url"])
    await fail_token_exchange(connections_service, provider)

    failed = await connections_service.callback(provider, back)

    assert failed.status_code == 502
    assert error_of(failed)["code"] == "provider_error"
    assert error_of(failed)["details"] == {"provider": provider, "status": 500}
    assert await connections_in_database(connections_service) == []
    assert await connections_service.staged_events("connections.connection.linked") == []
    # The failure was the provider's: starting again links.
    assert (await connections_service.link(ATHLETE, provider))["status"] == "active"


async def test_a_provider_account_cannot_be_linked_by_two_relay_athletes(
    connections_service: ConnectionsUnderTest,
) -> None:
    account = (await connections_service.providers.queue_user("whoop")).user_id
    await connections_service.link(ATHLETE, "whoop")
    await connections_service.providers.queue_user("whoop", user_id=account)
    started = await connections_service.start_link(OTHER_ATHLETE, "whoop")
    back = await connections_service.consent("whoop", started["authorization_url"])

    taken = await connections_service.callback("whoop", back)

    assert taken.status_code == 409
    assert error_of(taken)["code"] == "provider_account_in_use"
    assert error_of(taken)["details"] == {"provider": "whoop"}
    assert await connections_in_database(connections_service) == [(ATHLETE, "whoop")]
    listed = await connections_service.client.get(
        "/api/providers/connections", headers=connections_service.athlete(OTHER_ATHLETE)
    )
    assert listed.json() == {"connections": [], "total": 0}


async def test_once_disconnected_a_provider_account_may_be_linked_by_another_athlete(
    connections_service: ConnectionsUnderTest,
) -> None:
    account = (await connections_service.providers.queue_user("wahoo")).user_id
    first = await connections_service.link(ATHLETE, "wahoo")
    removed = await connections_service.client.delete(
        f"/api/providers/connections/{first['id']}", headers=connections_service.athlete(ATHLETE)
    )
    assert removed.status_code == 200

    await connections_service.providers.queue_user("wahoo", user_id=account)
    taken_over = await connections_service.link(OTHER_ATHLETE, "wahoo")

    assert taken_over["provider_user_id"] == account
    assert await connections_in_database(connections_service) == [(OTHER_ATHLETE, "wahoo")]


async def test_an_unknown_provider_is_not_found(connections_service: ConnectionsUnderTest) -> None:
    unknown = await connections_service.client.post(
        "/api/providers/myspace/connect", headers=connections_service.athlete(ATHLETE)
    )

    assert unknown.status_code == 404
    assert error_of(unknown) == {
        "code": "unknown_provider",
        "message": "Unknown provider 'myspace'",
        "details": {"provider": "myspace"},
    }


@pytest.mark.parametrize(
    ("provider", "auth_type"), [("health_bridge", "api_key"), ("coros_training_hub", "password")]
)
async def test_a_provider_without_authorization_page_cannot_be_started_as_one(
    connections_service: ConnectionsUnderTest, provider: str, auth_type: str
) -> None:
    refused = await connections_service.client.post(
        f"/api/providers/{provider}/connect", headers=connections_service.athlete(ATHLETE)
    )

    assert refused.status_code == 400
    assert error_of(refused)["code"] == "not_an_oauth_provider"
    assert error_of(refused)["details"] == {"provider": provider, "auth_type": auth_type}


async def test_starting_a_link_needs_the_athlete_signed_in(connections_service: ConnectionsUnderTest) -> None:
    anonymous = await connections_service.client.post("/api/providers/garmin/connect")

    assert anonymous.status_code == 401 and error_of(anonymous)["code"] == "unauthorized"
    assert await connections_service.rows("SELECT state_hash FROM link_attempts") == []
