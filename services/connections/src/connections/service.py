"""Use cases of the connections service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import SecretStr
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.identity_client import ClaimedStravaGrant
from connections.models import ProviderCredential
from relay_contracts.events.identity import StravaGrantIssued, UserDeleted
from relay_contracts.events.ingestion import WebhookReceived
from relay_platform.crypto import Keyring
from relay_platform.logging import get_logger
from relay_platform.outbox import forget_published

log = get_logger(__name__)

STRAVA = "strava"


class StravaGrants(Protocol):
    """Where the Strava tokens of a sign-in are claimed (identity's internal API)."""

    async def claim_strava_grant(self, strava_grant_id: str) -> ClaimedStravaGrant | None: ...


class MismatchedGrant(Exception):
    """Identity answered a claim with a grant of another athlete: its tokens are not stored."""


@dataclass(frozen=True)
class ProviderTokens:
    """An athlete's tokens at a provider, opened for a call to it. Never logged, never sent on."""

    provider_user_id: str
    access_token: SecretStr
    refresh_token: SecretStr
    access_expires_at: datetime
    scopes: list[str]


def is_deauthorization(notification: WebhookReceived) -> bool:
    """Strava tells that an athlete revoked Relay's access as an athlete update `authorized: "false"`."""
    return (
        notification.object_type == "athlete"
        and str(notification.updates.get("authorized", "")).lower() == "false"
    )


async def record_provider_notification(session: AsyncSession, notification: WebhookReceived) -> None:
    await repository.count_provider_notification(
        session,
        notification.provider,
        notification.owner_id,
        notification.event_time,
        deauthorized=is_deauthorization(notification),
    )


def token_context(provider: str, user_id: str, purpose: str) -> str:
    """What a sealed token is bound to: its athlete, provider and purpose (`access` or `refresh`)."""
    return f"{provider}:{user_id}:{purpose}"


def seal_credential(
    keyring: Keyring,
    *,
    provider: str,
    user_id: str,
    provider_user_id: str,
    access_token: SecretStr,
    refresh_token: SecretStr,
    access_expires_at: datetime,
    scopes: list[str],
) -> ProviderCredential:
    def seal(token: SecretStr, purpose: str) -> str:
        return keyring.seal(
            token.get_secret_value().encode(), context=token_context(provider, user_id, purpose)
        )

    return ProviderCredential(
        user_id=user_id,
        provider=provider,
        provider_user_id=provider_user_id,
        scopes=scopes,
        access_token_sealed=seal(access_token, "access"),
        refresh_token_sealed=seal(refresh_token, "refresh"),
        key_id=keyring.active_kid,
        access_expires_at=access_expires_at,
    )


def open_credential(keyring: Keyring, credential: ProviderCredential) -> ProviderTokens:
    """The credential's tokens; `SealError` if they were not sealed for this athlete and provider."""

    def open_(sealed: str, purpose: str) -> SecretStr:
        context = token_context(credential.provider, credential.user_id, purpose)
        return SecretStr(keyring.open(sealed, context=context).decode())

    return ProviderTokens(
        provider_user_id=credential.provider_user_id,
        access_token=open_(credential.access_token_sealed, "access"),
        refresh_token=open_(credential.refresh_token_sealed, "refresh"),
        access_expires_at=credential.access_expires_at,
        scopes=list(credential.scopes),
    )


async def provider_tokens(
    session: AsyncSession, keyring: Keyring, user_id: str, provider: str
) -> ProviderTokens | None:
    credential = await repository.get_credential(session, user_id, provider)
    return None if credential is None else open_credential(keyring, credential)


async def claim_strava_grant(
    session: AsyncSession, grants: StravaGrants, keyring: Keyring, issued: StravaGrantIssued
) -> bool:
    """Claims the tokens of a Strava sign-in from identity and keeps them sealed, replacing those of
    an earlier sign-in. Returns False when the grant can no longer be claimed (claimed already,
    superseded by a newer sign-in, or expired): there is nothing left to do."""
    claimed = await grants.claim_strava_grant(issued.strava_grant_id)
    if claimed is None:
        log.info("strava_grant_not_claimable", strava_grant_id=issued.strava_grant_id, user_id=issued.user_id)
        return False
    if (claimed.strava_grant_id, claimed.user_id, claimed.strava_athlete_id) != (
        issued.strava_grant_id,
        issued.user_id,
        issued.strava_athlete_id,
    ):
        raise MismatchedGrant(f"identity answered grant {issued.strava_grant_id} with another athlete's")
    credential = seal_credential(
        keyring,
        provider=STRAVA,
        user_id=claimed.user_id,
        provider_user_id=claimed.strava_athlete_id,
        access_token=claimed.access_token,
        refresh_token=claimed.refresh_token,
        access_expires_at=claimed.expires_at,
        scopes=claimed.scopes,
    )
    await repository.save_credential(session, credential)
    log.info(
        "strava_tokens_stored",
        strava_grant_id=claimed.strava_grant_id,
        user_id=claimed.user_id,
        strava_athlete_id=claimed.strava_athlete_id,
        scopes=claimed.scopes,
        key_id=credential.key_id,
    )
    return True


async def erase_athlete(session: AsyncSession, deleted: UserDeleted) -> None:
    """Deletes everything this service holds about an athlete who deleted their account: their
    tokens, their Strava account's activity, and the events about them it already relayed."""
    strava_ids = set(await repository.provider_user_ids_of(session, deleted.user_id, STRAVA))
    if deleted.strava_athlete_id:
        strava_ids.add(deleted.strava_athlete_id)
    await repository.delete_credentials_of(session, deleted.user_id)
    if strava_ids:
        await repository.delete_provider_accounts(session, STRAVA, sorted(strava_ids))
    await forget_published(session, [deleted.user_id, *(f"strava:{i}" for i in sorted(strava_ids))])
    log.info("athlete_erased", user_id=deleted.user_id, strava_accounts=len(strava_ids))
