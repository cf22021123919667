"""HTTP endpoints of the identity service: athletes' sign-in, account, profile and API keys."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from identity import service
from identity.resources import Identity, identity_of
from identity.schemas import (
    ApiKeyCreated,
    ApiKeyCreateRequest,
    ApiKeyList,
    ApiKeyOut,
    MeResponse,
    OnboardingProfileRequest,
    OnboardingProfileResponse,
    ProfileFields,
    ProfileOut,
    RefreshRequest,
    RefreshResponse,
    SignInResponse,
    StravaGrantClaimed,
    Success,
    UserOut,
)
from relay_platform.auth import CurrentAthlete, bearer_token
from relay_platform.db import SessionDep
from relay_platform.errors import InvalidInput, Unauthorized, error_response

router = APIRouter(tags=["auth"])
IdentityDep = Annotated[Identity, Depends(identity_of)]


@router.get("/.well-known/jwks.json", summary="Public keys that verify Relay's access tokens", tags=["keys"])
async def jwks(identity: IdentityDep) -> JSONResponse:
    return JSONResponse(await identity.signing.jwks(), headers={"Cache-Control": "public, max-age=60"})


@router.get("/api/auth/strava", status_code=302, summary="Start signing in with Strava")
async def start_strava_login(
    identity: IdentityDep,
    session: SessionDep,
    redirect_uri: Annotated[str, Query(max_length=512, description="The app's deep link for Strava's code.")],
    state: Annotated[str | None, Query(max_length=256, description="The app's CSRF state.")] = None,
    code_challenge: Annotated[str | None, Query(max_length=128, description="PKCE, S256.")] = None,
    code_challenge_method: Annotated[str | None, Query(max_length=10)] = None,
) -> RedirectResponse:
    """Redirects to Strava's authorization page. Strava sends the code back to `redirect_uri`, which
    must be one of Relay's apps; the app then calls the callback with the code, the state and its PKCE
    verifier."""
    url = await service.start_strava_login(
        session,
        identity,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
    )
    return RedirectResponse(url, status_code=302)


@router.get("/api/auth/strava/callback", summary="Finish signing in with Strava")
async def complete_strava_login(
    identity: IdentityDep,
    session: SessionDep,
    code: Annotated[str | None, Query(max_length=256)] = None,
    state: Annotated[str | None, Query(max_length=256)] = None,
    code_verifier: Annotated[str | None, Query(max_length=128)] = None,
    scope: Annotated[str | None, Query(max_length=256)] = None,
    error: Annotated[str | None, Query(max_length=64)] = None,
) -> SignInResponse:
    """Trades Strava's code for the athlete's account and Relay's tokens. 400 `invalid_state` or
    `invalid_code_verifier` when the sign-in is not the app's own, 400 `invalid_code` when Strava refuses
    the code, 502 `strava_error` when Strava fails."""
    try:
        if error is not None:
            raise InvalidInput(
                "The athlete did not authorize Relay", code="access_denied", details={"error": error}
            )
        if not code:
            raise InvalidInput("code is required", details={"field": "code", "reason": "missing"})
        signed_in = await service.complete_strava_login(
            session, identity, code=code, state=state, code_verifier=code_verifier, granted_scope=scope
        )
    except Exception as refusal:
        identity.logins.refused("strava", refusal)
        raise
    identity.logins.record("strava", "succeeded")
    return SignInResponse(
        user=UserOut.of(signed_in.user),
        token=signed_in.access_token,
        refresh_token=signed_in.refresh_token,
        expires_at=signed_in.expires_at,
        is_new_user=signed_in.is_new_user,
    )


@router.post(
    "/api/auth/refresh", summary="Trade a refresh token for new tokens", response_model=RefreshResponse
)
async def refresh(
    request: Request, identity: IdentityDep, session: SessionDep, body: RefreshRequest | None = None
) -> RefreshResponse | JSONResponse:
    """The refresh token comes in the body (`refresh_token`) or as the bearer token. It works once: a
    second use revokes the whole session (someone else has a copy) and answers 401."""
    token = (body.refresh_token if body else None) or bearer_token(request)
    if not token or not token.startswith(service.REFRESH_TOKEN_PREFIX):
        identity.logins.record("refresh", "invalid")
        raise Unauthorized("Missing refresh token", details={"field": "refresh_token"})
    try:
        refreshed = await service.refresh(session, identity, token)
    except service.RefreshTokenReused:
        identity.logins.record("refresh", "reused")
        # Returned, not raised: the revocation of the session must be committed.
        return error_response(
            401, "unauthorized", "Refresh token reused: the session is revoked", {"reason": "reused"}
        )
    except Exception as refusal:
        identity.logins.refused("refresh", refusal)
        raise
    identity.logins.record("refresh", "succeeded")
    return RefreshResponse(
        token=refreshed.access_token, refresh_token=refreshed.refresh_token, expires_at=refreshed.expires_at
    )


@router.post("/api/auth/logout", summary="Sign out this device")
async def logout(athlete: CurrentAthlete, identity: IdentityDep, session: SessionDep) -> Success:
    """Revokes the session: its refresh token and its access tokens stop working everywhere."""
    await service.logout(session, identity, athlete)
    return Success()


@router.get("/api/auth/me", summary="The signed-in athlete and their profile")
async def me(athlete: CurrentAthlete, session: SessionDep) -> MeResponse:
    user, profile = await service.current_user(session, athlete)
    return MeResponse(user=UserOut.of(user), profile=ProfileOut.of(profile))


@router.delete("/api/auth/me", summary="Delete the account and everything Relay holds about the athlete")
async def delete_me(athlete: CurrentAthlete, identity: IdentityDep, session: SessionDep) -> Success:
    """Deletes the account at once and publishes `identity.user.deleted`, on which every service erases
    the athlete's data. Only the audit trail keeps one record: that the deletion happened."""
    await service.delete_account(session, identity, athlete)
    return Success()


@router.patch("/api/auth/me/profile", summary="Update the training profile")
async def update_profile(
    athlete: CurrentAthlete, identity: IdentityDep, session: SessionDep, body: ProfileFields
) -> MeResponse:
    await service.update_profile(session, identity, athlete, body.changes())
    user, profile = await service.current_user(session, athlete)
    return MeResponse(user=UserOut.of(user), profile=ProfileOut.of(profile))


@router.post("/api/onboarding/profile", summary="Save the athlete profile (onboarding)", tags=["onboarding"])
async def onboarding_profile(
    athlete: CurrentAthlete, identity: IdentityDep, session: SessionDep, body: OnboardingProfileRequest
) -> OnboardingProfileResponse:
    profile = await service.update_profile(session, identity, athlete, body.model_dump())
    return OnboardingProfileResponse(profile_id=profile.id)


@router.post(
    "/api/auth/api-keys", status_code=201, summary="Create an API key for a bridge app", tags=["api keys"]
)
async def create_api_key(
    athlete: CurrentAthlete, identity: IdentityDep, session: SessionDep, body: ApiKeyCreateRequest
) -> ApiKeyCreated:
    """The answer holds the key itself, once. Send it as `X-API-Key` to `POST /api/webhooks/ingest`."""
    row, key = await service.create_api_key(session, identity, athlete, body.name)
    return ApiKeyCreated(**ApiKeyOut.of(row).model_dump(), key=key)


@router.get("/api/auth/api-keys", summary="The athlete's API keys", tags=["api keys"])
async def list_api_keys(athlete: CurrentAthlete, session: SessionDep) -> ApiKeyList:
    return ApiKeyList(api_keys=[ApiKeyOut.of(key) for key in await service.list_api_keys(session, athlete)])


@router.delete("/api/auth/api-keys/{api_key_id}", summary="Revoke an API key", tags=["api keys"])
async def revoke_api_key(
    api_key_id: str, athlete: CurrentAthlete, identity: IdentityDep, session: SessionDep
) -> Success:
    await service.revoke_api_key(session, identity, athlete, api_key_id)
    return Success()


@router.post("/internal/strava-grants/{strava_grant_id}/claim", include_in_schema=False)
async def claim_strava_grant(
    strava_grant_id: str,
    identity: IdentityDep,
    session: SessionDep,
    authorization: Annotated[str, Header()] = "",
) -> StravaGrantClaimed:
    """For the connections service only (not routed by the gateway): the Strava tokens of a sign-in,
    once."""
    expected = f"Bearer {identity.settings.internal_api_token.get_secret_value()}"
    if not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise Unauthorized("Unknown internal caller")
    return StravaGrantClaimed.model_validate(
        await service.claim_strava_grant(session, identity, strava_grant_id)
    )
