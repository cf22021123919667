"""Strava signs nothing in its webhooks, so a deauthorization it announces is confirmed with Strava, with
the athlete's own token, before anything changes: a refused token revokes the link; a token that still
works means the event was forged (or stale) and nothing changes; Strava failing postpones it, nothing
erased, until the scheduled job gets an answer."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs
from structlog.typing import EventDict

from connections.deauthorizations import confirm_unconfirmed_deauthorizations
from relay_contracts import Envelope
from relay_contracts.catalog import INGESTION_WEBHOOK_RECEIVED
from relay_contracts.events.ingestion import WebhookReceived
from relay_platform.logging import get_logger
from relay_testing.services import mentions_in

from .conftest import ConnectionsUnderTest
from .lifecycle import bring_to_expiry, event_data, hand_out, stored, stored_tokens, strava_sign_in

pytestmark = pytest.mark.integration

ATHLETE = "usr_ines_5d20b7"
STRAVA_ID = 73_615_204
REVOKED = "connections.connection.revoked"
DEAUTHORIZATIONS = "relay_connections_deauthorizations_total"


@contextmanager
def captured_logs() -> Iterator[list[EventDict]]:
    """What the service's modules log during the block. Their loggers were bound when the service
    started: each is replaced by a new one meanwhile, which `capture_logs` sees."""
    with pytest.MonkeyPatch.context() as patch, capture_logs() as logs:
        for name, module in list(sys.modules.items()):
            if name.split(".", 1)[0] == "connections" and hasattr(module, "log"):
                patch.setattr(module, "log", get_logger(name))
        yield logs


def strava_deauthorization(owner_id: int = STRAVA_ID) -> Envelope:
    """`{"object_type": "athlete", "aspect_type": "update", "updates": {"authorized": "false"}}` for the
    athlete, as ingestion relays it: whoever posted it to the webhook."""
    received = WebhookReceived(
        provider="strava",
        webhook_id=f"wh_{uuid.uuid4().hex[:10]}",
        object_type="athlete",
        object_id=str(owner_id),
        aspect_type="update",
        owner_id=str(owner_id),
        event_time=datetime.now(UTC),
        updates={"authorized": "false"},
    )
    return INGESTION_WEBHOOK_RECEIVED.envelope(received, subject=f"strava:{owner_id}")


async def linked_athlete(service: ConnectionsUnderTest) -> dict[str, Any]:
    signed_in, grant = await strava_sign_in(service, ATHLETE, STRAVA_ID)
    await service.deliver(signed_in)
    return grant


async def account_activity(service: ConnectionsUnderTest) -> dict[str, Any]:
    [row] = await service.rows(
        "SELECT deauthorized_at, deauthorization_unconfirmed_at FROM provider_account_activity "
        "WHERE provider = 'strava' AND provider_user_id = $1",
        str(STRAVA_ID),
    )
    return dict(row)


def outcomes(service: ConnectionsUnderTest) -> dict[str, float]:
    return {
        outcome: service.metric(DEAUTHORIZATIONS, provider="strava", outcome=outcome)
        for outcome in ("confirmed", "refuted", "postponed")
    }


async def assert_untouched(service: ConnectionsUnderTest, grant: dict[str, Any]) -> None:
    """The link is active, its tokens kept and handed out, and nothing asked to erase anything."""
    row = await stored(service, ATHLETE, "strava")
    assert (row.status, row.status_reason) == ("active", None)
    tokens = await stored_tokens(service, ATHLETE, "strava")
    assert tokens.refresh_token is not None
    handed = await hand_out(service, "strava", user_id=ATHLETE)
    assert handed.status_code == 200, handed.text
    assert await service.staged_events(REVOKED) == []


async def test_a_forged_deauthorization_for_an_athlete_whose_token_still_works_changes_nothing(
    connections_service: ConnectionsUnderTest,
) -> None:
    grant = await linked_athlete(connections_service)

    with captured_logs() as logs:
        await connections_service.deliver(strava_deauthorization())

    await assert_untouched(connections_service, grant)
    tokens = await stored_tokens(connections_service, ATHLETE, "strava")
    assert tokens.access_token.get_secret_value() == grant["access_token"]
    [asked] = await connections_service.strava.received("/api/v3/athlete")
    assert asked.headers["authorization"] == f"Bearer {grant['access_token']}"
    assert await account_activity(connections_service) == {
        "deauthorized_at": None,
        "deauthorization_unconfirmed_at": None,
    }
    assert outcomes(connections_service) == {"confirmed": 0, "refuted": 1, "postponed": 0}
    [refuted] = [entry for entry in logs if entry["event"] == "deauthorization_refuted"]
    assert (refuted["log_level"], refuted["user_id"], refuted["provider_user_id"]) == (
        "warning",
        ATHLETE,
        str(STRAVA_ID),
    )
    assert grant["access_token"] not in repr(logs) and grant["refresh_token"] not in repr(logs)


async def test_a_deauthorization_strava_confirms_revokes_the_link_and_asks_to_erase_its_data(
    connections_service: ConnectionsUnderTest,
) -> None:
    grant = await linked_athlete(connections_service)
    await connections_service.strava.revoke_grant(STRAVA_ID)

    await connections_service.deliver(strava_deauthorization())

    row = await stored(connections_service, ATHLETE, "strava")
    assert (row.status, row.status_reason, row.access_token_sealed) == (
        "revoked",
        "deauthorized_at_provider",
        None,
    )
    [revoked] = await event_data(connections_service, REVOKED)
    assert (revoked["provider_user_id"], revoked["erase_provider_data"]) == (str(STRAVA_ID), True)
    activity = await account_activity(connections_service)
    assert activity["deauthorized_at"] is not None and activity["deauthorization_unconfirmed_at"] is None
    assert outcomes(connections_service) == {"confirmed": 1, "refuted": 0, "postponed": 0}
    mentions = mentions_in(connections_service.sessionmaker)
    assert await mentions(grant["access_token"]) == {}


@pytest.mark.parametrize("withdrawn", [True, False])
async def test_an_expired_access_token_is_refreshed_to_ask_and_a_refused_refresh_confirms(
    connections_service: ConnectionsUnderTest, withdrawn: bool
) -> None:
    grant = await linked_athlete(connections_service)
    await bring_to_expiry(connections_service, ATHLETE, "strava", left=timedelta(seconds=-60))
    if withdrawn:
        await connections_service.strava.revoke_grant(STRAVA_ID)

    await connections_service.deliver(strava_deauthorization())

    assert await connections_service.strava.received("/api/v3/athlete") == []
    [refresh] = await connections_service.strava.received("/oauth/token")
    assert refresh.fields["grant_type"] == "refresh_token"
    if withdrawn:
        assert (await stored(connections_service, ATHLETE, "strava")).status == "revoked"
        assert len(await event_data(connections_service, REVOKED)) == 1
        return
    await assert_untouched(connections_service, grant)
    # Strava rotated the refresh token: the new one is kept, the old one no longer works.
    tokens = await stored_tokens(connections_service, ATHLETE, "strava")
    assert tokens.refresh_token is not None
    assert tokens.refresh_token.get_secret_value() != grant["refresh_token"]


@pytest.mark.parametrize("mode", ["server_error", "rate_limited", "down", "disconnect"])
async def test_while_strava_cannot_answer_nothing_is_erased_and_the_job_asks_again(
    connections_service: ConnectionsUnderTest, mode: Any
) -> None:
    grant = await linked_athlete(connections_service)
    await connections_service.strava.revoke_grant(STRAVA_ID)
    await connections_service.strava.fail_next(mode, endpoint="api", times=2)
    run = connections_service.resources, connections_service.sessionmaker

    await connections_service.deliver(strava_deauthorization())

    row = await stored(connections_service, ATHLETE, "strava")
    assert (row.status, row.access_token_sealed is not None) == ("active", True)
    assert await connections_service.staged_events(REVOKED) == []
    assert (await account_activity(connections_service))["deauthorization_unconfirmed_at"] is not None
    assert await confirm_unconfirmed_deauthorizations(*run) == 0  # Strava still failing
    assert await connections_service.staged_events(REVOKED) == []
    assert outcomes(connections_service) == {"confirmed": 0, "refuted": 0, "postponed": 2}

    assert await confirm_unconfirmed_deauthorizations(*run) == 1

    assert (await stored(connections_service, ATHLETE, "strava")).status == "revoked"
    assert len(await event_data(connections_service, REVOKED)) == 1
    assert (await account_activity(connections_service))["deauthorization_unconfirmed_at"] is None
    assert await confirm_unconfirmed_deauthorizations(*run) == 0
    mentions = mentions_in(connections_service.sessionmaker)
    assert await mentions(grant["refresh_token"]) == {}


async def test_a_forged_deauthorization_postponed_while_strava_failed_is_refuted_once_it_answers(
    connections_service: ConnectionsUnderTest,
) -> None:
    grant = await linked_athlete(connections_service)
    await connections_service.strava.fail_next("server_error", endpoint="api")
    await connections_service.deliver(strava_deauthorization())
    assert outcomes(connections_service)["postponed"] == 1

    settled = await confirm_unconfirmed_deauthorizations(
        connections_service.resources, connections_service.sessionmaker
    )

    assert settled == 1
    await assert_untouched(connections_service, grant)
    assert await account_activity(connections_service) == {
        "deauthorized_at": None,
        "deauthorization_unconfirmed_at": None,
    }
    assert outcomes(connections_service) == {"confirmed": 0, "refuted": 1, "postponed": 1}


async def test_a_deauthorization_of_an_account_no_one_links_asks_strava_nothing(
    connections_service: ConnectionsUnderTest,
) -> None:
    await connections_service.deliver(strava_deauthorization(owner_id=11_223_344))

    assert await connections_service.strava.received() == []
    assert await connections_service.staged_events(REVOKED) == []
