"""Events produced by the identity service. None of them carries a token, a password or a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from relay_contracts.events.common import Actor

Gender = Literal["M", "F", "X"]
ExperienceLevel = Literal["beginner", "intermediate", "advanced", "elite"]
SessionRevocationReason = Literal["logout", "refresh_token_reused", "account_deleted", "admin"]


class UserRegistered(BaseModel):
    """An athlete signed in with Strava for the first time."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    strava_athlete_id: str
    registered_at: datetime
    actor: Actor


class UserUpdated(BaseModel):
    """Fields of the athlete's account changed (names only: read the account through the API)."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    changed: list[str] = Field(description="Names of the fields that changed, e.g. `first_name`.")
    onboarding_completed: bool
    actor: Actor


class UserDeleted(BaseModel):
    """The athlete deleted their account. Every service erases what it holds about them."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    strava_athlete_id: str | None = Field(
        default=None, description="So that data keyed by the Strava id can be erased too."
    )
    deleted_at: datetime
    actor: Actor


class ProfileUpdated(BaseModel):
    """The athlete's training profile as it now is (the whole profile, not a diff)."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    birth_year: int | None = None
    gender: Gender | None = None
    weight_kg: float | None = None
    experience_level: ExperienceLevel | None = None
    weekly_hours_available: float | None = None
    max_heart_rate: int | None = Field(default=None, description="Beats per minute.")
    ftp_watts: int | None = Field(default=None, description="Functional threshold power.")
    threshold_pace_seconds_per_km: int | None = Field(default=None, description="Running threshold pace.")
    swim_css_seconds_per_100m: int | None = Field(default=None, description="Critical swim speed.")
    timezone: str = Field(description="IANA name, e.g. `Europe/Paris`.")
    updated_at: datetime
    actor: Actor


class SessionRevoked(BaseModel):
    """A sign-in session ended before its time; its access tokens are refused from now on."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    user_id: str
    reason: SessionRevocationReason
    actor: Actor


class StravaGrantIssued(BaseModel):
    """Strava granted access at sign-in. The tokens are not here: the connections service claims them
    once, through an authenticated internal call to identity, by this grant's id."""

    model_config = ConfigDict(extra="ignore")

    strava_grant_id: str
    user_id: str
    strava_athlete_id: str
    scopes: list[str]
    access_expires_at: datetime


class ApiKeyCreated(BaseModel):
    """An athlete created an API key for a bridge app. Only its SHA-256 digest travels: the key itself
    was shown once to the athlete and is stored nowhere."""

    model_config = ConfigDict(extra="ignore")

    api_key_id: str
    user_id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it in a list.")
    key_sha256: str = Field(description="Hex SHA-256 of the whole key: what a verifier compares.")
    created_at: datetime
    actor: Actor


class ApiKeyRevoked(BaseModel):
    """An API key stops working now."""

    model_config = ConfigDict(extra="ignore")

    api_key_id: str
    user_id: str
    revoked_at: datetime
    actor: Actor


class AdminLoggedIn(BaseModel):
    """An operator signed in to the back office."""

    model_config = ConfigDict(extra="ignore")

    admin_id: str
    role: str
    source_ip: str | None = None
    actor: Actor


class AdminLoginFailed(BaseModel):
    """A back-office sign-in was refused. `admin_id` is absent when no account has that email."""

    model_config = ConfigDict(extra="ignore")

    admin_id: str | None = None
    reason: Literal["unknown_email", "wrong_password", "locked", "disabled"]
    source_ip: str | None = None
    locked_until: datetime | None = None


class AdminCreated(BaseModel):
    """A back-office account was created."""

    model_config = ConfigDict(extra="ignore")

    admin_id: str
    role: str
    actor: Actor
