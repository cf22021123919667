"""Linking COROS's Training Hub (the unofficial route where workouts are sent) with the athlete's email and
password: the athlete is told the route is unofficial, and the password, nor its MD5, is kept anywhere."""

from __future__ import annotations

import hashlib

import pytest

from relay_testing.services import mentions_in

from .conftest import ConnectionsUnderTest

pytestmark = pytest.mark.integration

ATHLETE = "usr_maja_31d0c7"
EMAIL, PASSWORD = "maja.lindqvist@example.com", "Tr4ck-Sess1on!Lac-d'Annecy"
LOGIN = "/api/providers/coros_training_hub/login"


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


async def assert_the_password_is_nowhere(service: ConnectionsUnderTest, password: str = PASSWORD) -> None:
    mentions = mentions_in(service.sessionmaker)
    assert await mentions(password) == {}
    assert await mentions(md5(password)) == {}


async def test_the_training_hub_links_with_email_and_password_and_says_it_is_unofficial(
    connections_service: ConnectionsUnderTest,
) -> None:
    account = await connections_service.providers.add_coros_account(EMAIL, PASSWORD, nickname="Maja L.")

    linked = await connections_service.client.post(
        LOGIN, json={"email": EMAIL, "password": PASSWORD}, headers=connections_service.athlete(ATHLETE)
    )

    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert body["success"] is True and body["relinked"] is False
    assert "unofficial" in body["notice"] and "never stored" in body["notice"]
    connection = body["connection"]
    assert (connection["provider"], connection["auth_type"]) == ("coros_training_hub", "password")
    assert connection["provider_user_id"] == account.user_id
    assert connection["provider_username"] == "Maja L." and connection["notice"] == body["notice"]
    [event] = await connections_service.staged_events("connections.connection.linked")
    assert event["data"]["provider"] == "coros_training_hub" and event["data"]["auth_type"] == "password"
    assert event["data"]["provider_user_id"] == account.user_id
    [login] = await connections_service.providers.received("coros-hub", "/account/login")
    assert login.fields["pwd"] == md5(PASSWORD) and PASSWORD not in login.fields.values()


async def test_neither_the_password_nor_its_md5_nor_the_hub_token_is_stored_in_clear(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.providers.add_coros_account(EMAIL, PASSWORD)

    linked = await connections_service.client.post(
        LOGIN, json={"email": EMAIL, "password": PASSWORD}, headers=connections_service.athlete(ATHLETE)
    )

    assert linked.status_code == 200
    assert PASSWORD not in linked.text and md5(PASSWORD) not in linked.text
    await assert_the_password_is_nowhere(connections_service)
    [hub_token] = await connections_service.providers.issued_tokens()
    assert await mentions_in(connections_service.sessionmaker)(hub_token) == {}
    [row] = await connections_service.rows("SELECT access_token_sealed, key_id FROM provider_connections")
    assert row["access_token_sealed"] and row["key_id"] == "k2026"


@pytest.mark.parametrize(
    ("email", "password"), [(EMAIL, "not-the-password"), ("someone.else@example.com", PASSWORD)]
)
async def test_a_wrong_email_or_password_answers_invalid_credentials(
    connections_service: ConnectionsUnderTest, email: str, password: str
) -> None:
    await connections_service.providers.add_coros_account(EMAIL, PASSWORD)

    refused = await connections_service.client.post(
        LOGIN, json={"email": email, "password": password}, headers=connections_service.athlete(ATHLETE)
    )

    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "invalid_credentials",
        "message": "The provider refused this email and password",
        "details": {"provider": "coros_training_hub"},
    }
    assert await connections_service.rows("SELECT id FROM provider_connections") == []
    await assert_the_password_is_nowhere(connections_service, password)


@pytest.mark.parametrize("mode", ["down", "server_error", "disconnect"])
async def test_the_hub_failing_answers_502_and_links_nothing(
    connections_service: ConnectionsUnderTest, mode: str
) -> None:
    await connections_service.providers.add_coros_account(EMAIL, PASSWORD)
    await connections_service.providers.fail_next("coros-hub", mode)

    failed = await connections_service.client.post(
        LOGIN, json={"email": EMAIL, "password": PASSWORD}, headers=connections_service.athlete(ATHLETE)
    )

    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "provider_error"
    assert failed.json()["error"]["details"]["provider"] == "coros_training_hub"
    assert await connections_service.rows("SELECT id FROM provider_connections") == []
    await assert_the_password_is_nowhere(connections_service)


async def test_signing_in_again_renews_the_one_training_hub_connection(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.providers.add_coros_account(EMAIL, PASSWORD)
    headers = connections_service.athlete(ATHLETE)
    first = await connections_service.client.post(
        LOGIN, json={"email": EMAIL, "password": PASSWORD}, headers=headers
    )

    again = await connections_service.client.post(
        LOGIN, json={"email": EMAIL, "password": PASSWORD}, headers=headers
    )

    assert again.status_code == 200 and again.json()["relinked"] is True
    assert again.json()["connection"]["id"] == first.json()["connection"]["id"]
    assert len(await connections_service.rows("SELECT id FROM provider_connections")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": EMAIL}, "password"),
        ({"email": EMAIL, "password": PASSWORD * 20}, "password"),
    ],
)
async def test_an_invalid_login_body_is_refused_without_echoing_the_password(
    connections_service: ConnectionsUnderTest, body: dict[str, str], field: str
) -> None:
    refused = await connections_service.client.post(
        LOGIN, json=body, headers=connections_service.athlete(ATHLETE)
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "validation_error"
    assert refused.json()["error"]["details"]["field"] == field
    assert PASSWORD not in refused.text
    assert await connections_service.providers.received("coros-hub") == []


async def test_signing_in_needs_the_athlete_signed_in_to_relay(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.providers.add_coros_account(EMAIL, PASSWORD)

    anonymous = await connections_service.client.post(LOGIN, json={"email": EMAIL, "password": PASSWORD})

    assert anonymous.status_code == 401
    assert await connections_service.providers.received("coros-hub") == []


async def test_a_provider_linked_through_its_authorization_page_takes_no_password(
    connections_service: ConnectionsUnderTest,
) -> None:
    refused = await connections_service.client.post(
        "/api/providers/garmin/login",
        json={"email": EMAIL, "password": PASSWORD},
        headers=connections_service.athlete(ATHLETE),
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "not_a_password_provider"
    assert refused.json()["error"]["details"] == {"provider": "garmin", "auth_type": "oauth2_pkce"}
    assert await connections_service.providers.received("garmin") == []
