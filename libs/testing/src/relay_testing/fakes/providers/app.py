"""The fake providers' HTTP surface: one app, each provider under its own prefix (`/garmin`, `/coros`,
`/polar`, `/oura`, `/whoop`, `/fitbit`, `/wahoo`, and COROS Training Hub under `/coros-hub`) behind the
edge that records requests and plays failures, and the test-control API under `/_fake/`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from relay_testing.fakes.providers.api import add_data_routes
from relay_testing.fakes.providers.control_routes import add_control_routes
from relay_testing.fakes.providers.dialects import ProviderError
from relay_testing.fakes.providers.edge import ProvidersEdge
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.routes import add_provider_routes
from relay_testing.fakes.providers.state import ProvidersState


def create_app(state: ProvidersState) -> FastAPI:
    app = FastAPI(title="Fake fitness providers", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(ProvidersEdge, state=state)

    async def on_provider_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProviderError)
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    app.add_exception_handler(ProviderError, on_provider_error)
    oauth = OAuthServer(state)
    add_provider_routes(app, state, oauth)
    add_data_routes(app, state, oauth)
    add_control_routes(app, state)
    return app
