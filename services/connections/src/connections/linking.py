"""Linking a provider account to an athlete: the authorization URL (state bound to the athlete, PKCE
where the provider supports it), the provider's callback (code exchange and the provider's own steps),
COROS's unofficial email-and-password login, and the Strava tokens of a sign-in handed over by identity.
Whatever the route, the athlete ends with one connection per provider and `connections.connection.linked`."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlmodel.ext.asyncio.session import AsyncSession

from connections import repository
from connections.events import publish
from connections.identity_client import ClaimedStravaGrant
from connections.models import LinkAttempt, ProviderConnection
from connections.providers.base import AuthorizationRefused, LinkedAccount, ProviderUnavailable, Tokens
from connections.providers.registry import PROVIDERS, ProviderSpec
from connections.resources import Connections
from connections.tokens import seal_tokens
from relay_contracts.catalog import CONNECTIONS_CONNECTION_LINKED
from relay_contracts.events.common import Actor
from relay_contracts.events.connections import ConnectionLinked
from relay_platform.errors import AppError, Conflict, InvalidInput, NotFound, UpstreamError
from relay_platform.logging import get_logger

log = get_logger(__name__)

STRAVA = "strava"


class ProviderNotConfigured(AppError):
    status_code, code = 503, "provider_not_configured"


@dataclass(frozen=True)
class LinkStarted:
    provider: str
    authorization_url: str
    state: str
    expires_at: datetime


@dataclass(frozen=True)
class Linked:
    connection: ProviderConnection
    relinked: bool
    app_redirect_uri: str | None = None


def provider_spec(provider: str) -> ProviderSpec:
    spec = PROVIDERS.get(provider)
    if spec is None:
        raise NotFound(
            f"Unknown provider {provider!r}", code="unknown_provider", details={"provider": provider}
        )
    return spec


def callback_url(connections: Connections, provider: str) -> str:
    """Where the provider sends the athlete back: Relay's public callback for that provider."""
    return f"{connections.settings.public_url.rstrip('/')}/api/providers/{provider}/callback"


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _verifier_context(state_hash: str) -> str:
    return f"link:{state_hash}:code_verifier"


def _checked_app_redirect(connections: Connections, app_redirect_uri: str | None) -> str | None:
    if app_redirect_uri is None:
        return None
    if not any(
        app_redirect_uri.startswith(prefix) for prefix in connections.settings.app_redirect_uri_prefixes
    ):
        raise InvalidInput(
            "redirect_uri is not one of the app's links",
            code="invalid_redirect_uri",
            details={"field": "redirect_uri"},
        )
    return app_redirect_uri


async def start_link(
    session: AsyncSession,
    connections: Connections,
    *,
    user_id: str,
    provider: str,
    app_redirect_uri: str | None,
) -> LinkStarted:
    """An authorization URL for the athlete to open; the state in it is theirs, once, for a few minutes."""
    spec = provider_spec(provider)
    client = connections.providers.oauth(provider)
    if spec.auth_type not in ("oauth2", "oauth2_pkce") and client is None:
        raise InvalidInput(
            f"{spec.name} is not linked through an authorization page",
            code="not_an_oauth_provider",
            details={"provider": provider, "auth_type": spec.auth_type},
        )
    if client is None:
        raise ProviderNotConfigured(
            f"{spec.name} is not available on this server", details={"provider": provider}
        )
    app_redirect = _checked_app_redirect(connections, app_redirect_uri)
    state = secrets.token_urlsafe(32)
    state_hash = _state_hash(state)
    verifier = secrets.token_urlsafe(64) if client.uses_pkce else None
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if verifier
        else None
    )
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=connections.settings.link_ttl_seconds)
    await repository.add_link_attempt(
        session,
        LinkAttempt(
            state_hash=state_hash,
            user_id=user_id,
            provider=provider,
            code_verifier_sealed=(
                connections.keyring.seal(verifier.encode(), context=_verifier_context(state_hash))
                if verifier
                else None
            ),
            app_redirect_uri=app_redirect,
            created_at=now,
            expires_at=expires_at,
        ),
    )
    url = client.authorization_url(
        redirect_uri=callback_url(connections, provider), state=state, code_challenge=challenge
    )
    log.info("link_started", user_id=user_id, provider=provider, pkce=verifier is not None)
    return LinkStarted(provider=provider, authorization_url=url, state=state, expires_at=expires_at)


async def take_link_attempt(session: AsyncSession, provider: str, state: str | None) -> LinkAttempt:
    """The attempt `state` names, marked used: a state works once, for its provider, until it expires."""
    attempt = await repository.take_link_attempt(session, _state_hash(state)) if state else None
    now = datetime.now(UTC)
    if (
        attempt is None
        or attempt.provider != provider
        or attempt.used_at is not None
        or attempt.expires_at < now
    ):
        raise InvalidInput(
            "This link attempt is unknown, expired or already used: start again",
            code="invalid_state",
            details={"field": "state"},
        )
    attempt.used_at = now
    session.add(attempt)
    await session.flush()
    return attempt


async def complete_link(
    session: AsyncSession,
    connections: Connections,
    *,
    attempt: LinkAttempt,
    code: str,
    granted_scope: str | None = None,
) -> Linked:
    """Trades the provider's code for the athlete's account and tokens, and links it. `granted_scope` is
    the `scope` the provider added to the callback (Strava: the scopes the athlete left ticked)."""
    provider = attempt.provider
    client = connections.providers.oauth(provider)
    if client is None:
        raise ProviderNotConfigured(
            f"{provider} is not available on this server", details={"provider": provider}
        )
    verifier = (
        connections.keyring.open(
            attempt.code_verifier_sealed, context=_verifier_context(attempt.state_hash)
        ).decode()
        if attempt.code_verifier_sealed
        else None
    )
    with _refusals_as(provider, "invalid_code", "The provider refused the authorization code: start again"):
        account = await client.exchange_code(
            code=code,
            redirect_uri=callback_url(connections, provider),
            code_verifier=verifier,
            user_id=attempt.user_id,
            granted_scope=granted_scope,
        )
    spec = provider_spec(provider)
    linked = await save_link(
        session,
        connections,
        user_id=attempt.user_id,
        provider=provider,
        auth_type=spec.auth_type,
        account=account,
        actor=Actor(type="athlete", id=attempt.user_id),
    )
    return Linked(linked.connection, linked.relinked, attempt.app_redirect_uri)


@contextmanager
def _refusals_as(provider: str, code: str, message: str) -> Iterator[None]:
    """The provider's answer as the athlete's error: a refusal is theirs to fix (400 `code`), a failure
    is the provider's (502 `provider_error`)."""
    try:
        yield
    except AuthorizationRefused as exc:
        raise InvalidInput(message, code=code, details={"provider": provider}) from exc
    except ProviderUnavailable as exc:
        raise UpstreamError(
            "The provider did not complete the link: try again later",
            code="provider_error",
            details={"provider": provider, "status": exc.status},
        ) from exc


async def link_with_password(
    session: AsyncSession,
    connections: Connections,
    *,
    user_id: str,
    provider: str,
    email: str,
    password: SecretStr,
) -> Linked:
    """Trades the athlete's email and password, once, for a token (COROS Training Hub). The password is
    sent to the provider as it requires and kept nowhere."""
    spec = provider_spec(provider)
    if spec.auth_type != "password":
        raise InvalidInput(
            f"{spec.name} is not linked with a password",
            code="not_a_password_provider",
            details={"provider": provider, "auth_type": spec.auth_type},
        )
    client = connections.providers.password(provider)
    if client is None:
        raise ProviderNotConfigured(
            f"Linking {provider} with a password is not available on this server",
            details={"provider": provider},
        )
    with _refusals_as(provider, "invalid_credentials", "The provider refused this email and password"):
        account = await client.login(email=email, password=password)
    return await save_link(
        session,
        connections,
        user_id=user_id,
        provider=provider,
        auth_type="password",
        account=account,
        actor=Actor(type="athlete", id=user_id),
    )


async def save_link(
    session: AsyncSession,
    connections: Connections,
    *,
    user_id: str,
    provider: str,
    auth_type: str,
    account: LinkedAccount,
    actor: Actor,
) -> Linked:
    """Creates the athlete's connection to the provider, or renews it with the new grant."""
    owner = await repository.find_connection_of_account(session, provider, account.provider_user_id)
    if owner is not None and owner.user_id != user_id and owner.status != "revoked":
        raise Conflict(
            "This provider account is linked to another Relay account",
            code="provider_account_in_use",
            details={"provider": provider},
        )
    now = datetime.now(UTC)
    connection = await repository.get_connection_for_update(session, user_id, provider)
    relinked = connection is not None
    if connection is None:
        connection = ProviderConnection(
            user_id=user_id,
            provider=provider,
            provider_user_id=account.provider_user_id,
            auth_type=auth_type,
            scopes=[],
            linked_at=now,
        )
    connection.provider_user_id = account.provider_user_id
    connection.auth_type = auth_type
    connection.status = "active"
    connection.status_reason = None
    connection.provider_username = account.username
    connection.provider_profile = dict(account.profile)
    connection.linked_at = now
    connection.refresh_failures = 0
    connection.warnings_sent = {}
    connection.updated_at = now
    seal_tokens(connections.keyring, connection, account.tokens)
    await repository.add_connection(session, connection)
    await publish(
        session,
        connections,
        CONNECTIONS_CONNECTION_LINKED,
        ConnectionLinked(
            connection_id=str(connection.id),
            user_id=user_id,
            provider=provider,
            provider_user_id=connection.provider_user_id,
            auth_type=auth_type,  # type: ignore[arg-type]
            scopes=list(connection.scopes),
            relinked=relinked,
            linked_at=now,
            actor=actor,
        ),
        subject=user_id,
    )
    log.info(
        "provider_linked",
        user_id=user_id,
        provider=provider,
        provider_user_id=connection.provider_user_id,
        auth_type=auth_type,
        relinked=relinked,
        key_id=connection.key_id,
    )
    return Linked(connection, relinked)


class MismatchedGrant(Exception):
    """Identity answered a claim with a grant of another athlete: its tokens are not stored."""


async def claim_strava_grant(
    session: AsyncSession,
    connections: Connections,
    strava_grant_id: str,
    user_id: str,
    strava_athlete_id: str,
) -> bool:
    """Claims the tokens of a Strava sign-in from identity and links Strava with them, replacing those of
    an earlier sign-in. Returns False when the grant can no longer be claimed (claimed already,
    superseded by a newer sign-in, or expired): there is nothing left to do."""
    claimed: ClaimedStravaGrant | None = await connections.strava_grants.claim_strava_grant(strava_grant_id)
    if claimed is None:
        log.info("strava_grant_not_claimable", strava_grant_id=strava_grant_id, user_id=user_id)
        return False
    if (claimed.strava_grant_id, claimed.user_id, claimed.strava_athlete_id) != (
        strava_grant_id,
        user_id,
        strava_athlete_id,
    ):
        raise MismatchedGrant(f"identity answered grant {strava_grant_id} with another athlete's")
    account = LinkedAccount(
        provider_user_id=claimed.strava_athlete_id,
        tokens=Tokens(
            access_token=claimed.access_token,
            refresh_token=claimed.refresh_token,
            expires_at=claimed.expires_at,
            scopes=claimed.scopes,
        ),
    )
    await save_link(
        session,
        connections,
        user_id=claimed.user_id,
        provider=STRAVA,
        auth_type="oauth2",
        account=account,
        actor=Actor(type="athlete", id=claimed.user_id),
    )
    return True
