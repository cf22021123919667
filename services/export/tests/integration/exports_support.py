"""What the export tests share: the sessions planning announces, and athletes linked to the fake Garmin
and COROS Training Hub with real tokens of theirs."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import httpx

from relay_contracts import Envelope
from relay_contracts.catalog import (
    IDENTITY_PROFILE_UPDATED,
    PLANNING_SESSION_CHANGED,
    PLANNING_SESSION_COMPLETED,
    PLANNING_SESSION_SCHEDULED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import ProfileUpdated
from relay_contracts.events.planning import SessionChanged, SessionCompleted, SessionScheduled
from relay_contracts.workouts import StructuredWorkout, WorkoutThresholds
from relay_testing.fakes.providers import FakeProviders, md5_hex
from relay_testing.fakes.providers.state import Consent, Grant
from relay_testing.workouts import INTERVAL_RUN

from .conftest import ExportApi

SYSTEM = Actor(type="system")
THRESHOLDS = WorkoutThresholds(max_hr=190, ftp_w=250, threshold_pace_s_per_km=240, css_s_per_100m=100)


def today() -> date:
    return datetime.now(UTC).date()


def scheduled(
    user_id: str,
    session_id: str,
    workout: StructuredWorkout = INTERVAL_RUN,
    *,
    days_ahead: int = 2,
    thresholds: WorkoutThresholds = THRESHOLDS,
    planned_at: datetime | None = None,
) -> Envelope:
    event = SessionScheduled(
        session_id=session_id,
        program_id="prog_1",
        user_id=user_id,
        scheduled_date=today() + timedelta(days=days_ahead),
        sport=workout.sport,
        session_type="intervals",
        title=workout.name,
        duration_minutes=60,
        workout=workout,
        thresholds=thresholds,
        actor=SYSTEM,
    )
    envelope = PLANNING_SESSION_SCHEDULED.envelope(event, subject=user_id)
    return envelope.model_copy(update={"occurred_at": planned_at}) if planned_at else envelope


def completed(user_id: str, session_id: str, *, days_ahead: int) -> Envelope:
    event = SessionCompleted(
        session_id=session_id,
        program_id="prog_1",
        user_id=user_id,
        scheduled_date=today() + timedelta(days=days_ahead),
        completed_at=datetime.now(UTC),
        actual_duration_minutes=60,
        actor=SYSTEM,
    )
    return PLANNING_SESSION_COMPLETED.envelope(event, subject=user_id)


def changed(
    user_id: str,
    session_id: str,
    workout: StructuredWorkout | None,
    *,
    days_ahead: int = 2,
    removed: bool = False,
) -> Envelope:
    event = SessionChanged(
        session_id=session_id,
        program_id="prog_1",
        user_id=user_id,
        scheduled_date=today() + timedelta(days=days_ahead),
        removed=removed,
        session_type=None if removed else "intervals",
        title=None if removed or workout is None else workout.name,
        duration_minutes=None if removed else 55,
        workout=workout,
        thresholds=None if removed else THRESHOLDS,
        actor=SYSTEM,
    )
    return PLANNING_SESSION_CHANGED.envelope(event, subject=user_id)


def profile_updated(user_id: str, *, ftp_watts: int, updated_at: datetime) -> Envelope:
    event = ProfileUpdated(
        user_id=user_id,
        max_heart_rate=190,
        ftp_watts=ftp_watts,
        threshold_pace_seconds_per_km=240,
        swim_css_seconds_per_100m=100,
        timezone="Europe/Paris",
        updated_at=updated_at,
        actor=Actor(type="athlete", id=user_id),
    )
    return IDENTITY_PROFILE_UPDATED.envelope(event, subject=user_id)


async def link_coros(api: ExportApi, user_id: str) -> str:
    """A Training Hub account signed in as the connections service does; returns its email."""
    fake: FakeProviders = api.providers
    email, password = f"{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    await fake.add_coros_account(email, password)
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{fake.url}/coros-hub/account/login",
            json={"account": email, "accountType": 2, "pwd": md5_hex(password)},
        )
    api.connections.link(user_id, "coros_training_hub", answer.json()["data"]["accessToken"])
    return email


async def link_garmin(api: ExportApi, user_id: str) -> str:
    """A Garmin Connect user who granted Relay OAuth 2.0 access; returns their Garmin user id."""
    fake: FakeProviders = api.providers
    user = fake.state.consenting_user(Consent(), "garmin")
    token = fake.state.new_token()
    fake.state.store_grant(
        Grant(
            provider="garmin",
            user_id=user.user_id,
            scopes=["WORKOUT_IMPORT"],
            access_token=token,
            access_expires_at=fake.state.now() + 3600,
        )
    )
    api.connections.link(user_id, "garmin", token)
    return user.user_id
