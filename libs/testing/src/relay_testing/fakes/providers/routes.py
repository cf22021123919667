"""Each provider's URLs on the fake: the consent page and token endpoint of every provider, then the few
API calls Relay makes to link and unlink an athlete (user id, profile, registration, revocation), Oura's
webhook subscriptions and COROS Training Hub's login."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from relay_testing.fakes.providers.dialects import DIALECTS, PROVIDERS, Provider, ProviderError
from relay_testing.fakes.providers.edge import bearer_token, request_basic, request_fields
from relay_testing.fakes.providers.oauth import COROS_OK, OAuthServer
from relay_testing.fakes.providers.state import OuraSubscription, PolarRegistration, ProvidersState
from relay_testing.fakes.providers.users import (
    fitbit_profile,
    garmin_user_id,
    oura_personal_info,
    polar_registration,
    wahoo_user,
    whoop_profile,
)

GARMIN_PERMISSIONS = ["ACTIVITY_EXPORT", "WORKOUT_IMPORT", "HEALTH_EXPORT"]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def add_provider_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    for provider in PROVIDERS:
        _add_oauth_routes(app, oauth, provider)
    _add_garmin_routes(app, oauth)
    _add_coros_routes(app, state, oauth)
    _add_polar_routes(app, state, oauth)
    _add_oura_routes(app, state, oauth)
    _add_whoop_fitbit_wahoo_routes(app, oauth)


def _add_oauth_routes(app: FastAPI, oauth: OAuthServer, provider: Provider) -> None:
    dialect = DIALECTS[provider]

    async def authorize(request: Request) -> RedirectResponse:
        """The consent page, answered at once as the test arranged (no page is shown)."""
        return RedirectResponse(oauth.authorize(provider, dict(request.query_params)), status_code=302)

    async def token(request: Request) -> JSONResponse:
        answer = oauth.token(provider, await request_fields(request), request_basic(request))
        return JSONResponse(answer, headers=NO_STORE)

    app.add_api_route(f"/{provider}{dialect.authorize_path}", authorize, methods=["GET"])
    app.add_api_route(f"/{provider}{dialect.token_path}", token, methods=["POST"])


def _add_garmin_routes(app: FastAPI, oauth: OAuthServer) -> None:
    @app.get("/garmin/wellness-api/rest/user/id")
    async def garmin_user(request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("garmin", bearer_token(request))
        return garmin_user_id(user)

    @app.get("/garmin/wellness-api/rest/user/permissions")
    async def garmin_permissions(request: Request) -> list[str]:
        oauth.bearer("garmin", bearer_token(request))
        return GARMIN_PERMISSIONS

    @app.delete("/garmin/wellness-api/rest/user/registration", status_code=204)
    async def garmin_deregister(request: Request) -> Response:
        grant, _ = oauth.bearer("garmin", bearer_token(request))
        oauth.state.drop_grant(grant)
        return Response(status_code=204)


def _add_coros_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    @app.post("/coros/oauth2/refresh-token")
    async def coros_refresh(request: Request) -> dict[str, str]:
        return oauth.coros_refresh(await request_fields(request))

    @app.post("/coros/oauth2/deauthorize")
    async def coros_deauthorize(request: Request) -> dict[str, str]:
        oauth.revoke_token("coros", (await request_fields(request)).get("token", ""))
        return COROS_OK

    @app.post("/coros-hub/account/login")
    async def coros_hub_login(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        return state.coros_hub_login(body if isinstance(body, dict) else {})

    @app.get("/coros-hub/account/query")
    async def coros_hub_account(request: Request) -> dict[str, Any]:
        return state.coros_hub.query(request.headers.get("accesstoken", ""))


def _add_polar_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    polar = DIALECTS["polar"]

    @app.post("/polar/v3/users")
    async def polar_register(request: Request) -> dict[str, Any]:
        """Registers the token's owner with the application; only once (409 afterwards)."""
        _, user = oauth.bearer("polar", bearer_token(request))
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        member_id = body.get("member-id") if isinstance(body, dict) else None
        if not isinstance(member_id, str) or not member_id:
            raise polar.api_failure(400, "bad_request", "member-id is required")
        if user.user_id in state.polar_registrations:
            raise polar.api_failure(409, "conflict", "User already registered to partner")
        registration = PolarRegistration(member_id=member_id, registered_at=state.now_datetime())
        state.polar_registrations[user.user_id] = registration
        return polar_registration(user, member_id, registration.registered_at)

    @app.get("/polar/v3/users/{polar_user_id}")
    async def polar_user(polar_user_id: str, request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("polar", bearer_token(request))
        if polar_user_id != user.user_id:
            raise polar.api_failure(403, "forbidden", "Access to another user is forbidden")
        registration = state.polar_registrations.get(user.user_id)
        if registration is None:
            raise polar.api_failure(404, "not_found", "User is not registered")
        return polar_registration(user, registration.member_id, registration.registered_at)

    @app.delete("/polar/v3/users/{polar_user_id}", status_code=204)
    async def polar_deregister(polar_user_id: str, request: Request) -> Response:
        """De-registers the user, which also revokes the access token."""
        grant, user = oauth.bearer("polar", bearer_token(request))
        if polar_user_id != user.user_id:
            raise polar.api_failure(403, "forbidden", "Access to another user is forbidden")
        state.polar_registrations.pop(user.user_id, None)
        state.drop_grant(grant)
        return Response(status_code=204)


def _add_oura_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    oura = DIALECTS["oura"]

    @app.get("/oura/v2/usercollection/personal_info")
    async def oura_personal(request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("oura", bearer_token(request))
        return oura_personal_info(user, state.now_datetime().date())

    @app.get("/oura/oauth/revoke")
    async def oura_revoke(request: Request) -> dict[str, Any]:
        oauth.revoke_token("oura", request.query_params.get("access_token", ""))
        return {}

    def check_application(request: Request) -> None:
        client_id, secret = request.headers.get("x-client-id"), request.headers.get("x-client-secret")
        if not state.client_matches(client_id, secret):
            raise ProviderError(403, oura.api_error(403, "forbidden", "Invalid client credentials"))

    @app.get("/oura/v2/webhook/subscription")
    async def oura_subscriptions(request: Request) -> list[dict[str, Any]]:
        check_application(request)
        return [s.model_dump(mode="json") for s in state.oura_subscriptions()]

    @app.put("/oura/v2/webhook/subscription/renew/{subscription_id}")
    async def oura_renew(subscription_id: str, request: Request) -> dict[str, Any]:
        check_application(request)
        renewed: OuraSubscription | None = state.renew_oura_subscription(subscription_id)
        if renewed is None:
            raise ProviderError(404, oura.api_error(404, "not_found", "Subscription not found"))
        return renewed.model_dump(mode="json")


def _add_whoop_fitbit_wahoo_routes(app: FastAPI, oauth: OAuthServer) -> None:
    @app.get("/whoop/developer/v2/user/profile/basic")
    async def whoop_basic_profile(request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("whoop", bearer_token(request))
        return whoop_profile(user)

    @app.delete("/whoop/developer/v2/user/access", status_code=204)
    async def whoop_revoke(request: Request) -> Response:
        grant, _ = oauth.bearer("whoop", bearer_token(request))
        oauth.state.drop_grant(grant)
        return Response(status_code=204)

    @app.get("/fitbit/1/user/-/profile.json")
    async def fitbit_user_profile(request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("fitbit", bearer_token(request))
        return fitbit_profile(user)

    @app.post("/fitbit/oauth2/revoke")
    async def fitbit_revoke(request: Request) -> dict[str, Any]:
        oauth.check_basic_client("fitbit", request_basic(request))
        oauth.revoke_token("fitbit", (await request_fields(request)).get("token", ""))
        return {}

    @app.get("/wahoo/v1/user")
    async def wahoo_profile(request: Request) -> dict[str, Any]:
        _, user = oauth.bearer("wahoo", bearer_token(request))
        return wahoo_user(user)

    @app.delete("/wahoo/v1/permissions")
    async def wahoo_revoke(request: Request) -> dict[str, bool]:
        grant, _ = oauth.bearer("wahoo", bearer_token(request))
        oauth.state.drop_grant(grant)
        return {"success": True}
