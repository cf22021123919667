"""The providers' data APIs on the fake: what Relay reads an athlete's activities with, each provider
in its documented shape, serving the activities a test stored (`put_activity`), and the workout-push
APIs Relay's export service sends planned sessions with (`workouts`)."""

from __future__ import annotations

from fastapi import FastAPI

from relay_testing.fakes.providers.api import coros, fitbit, garmin, oura, polar, wahoo, whoop, workouts
from relay_testing.fakes.providers.oauth import OAuthServer
from relay_testing.fakes.providers.state import ProvidersState


def add_data_routes(app: FastAPI, state: ProvidersState, oauth: OAuthServer) -> None:
    for module in (garmin, coros, polar, oura, whoop, fitbit, wahoo, workouts):
        module.add_routes(app, state, oauth)
