"""Tables of the identity service's own database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from relay_platform.consumers import ProcessedMessage
from relay_platform.db import service_metadata
from relay_platform.outbox import OutboxMessage

__all__ = [
    "ActiveProgram",
    "Admin",
    "ApiKey",
    "IdentityTable",
    "LoginAttempt",
    "OutboxMessage",
    "ProcessedMessage",
    "Profile",
    "RefreshToken",
    "Session",
    "SigningKey",
    "StravaGrant",
    "User",
    "metadata",
]

metadata = service_metadata()
"""Every table of this database, the kit's included: what Alembic compares the migrations with."""


class IdentityTable(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables, on its own metadata (`relay_platform.db.service_metadata`)."""


def _at(*, nullable: bool = False, default_now: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True), nullable=nullable, server_default=func.now() if default_now else None
        ),
    )


def _user_fk() -> Any:
    return Field(
        sa_column=Column(String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )


class User(IdentityTable, table=True):
    """An athlete. They sign in with Strava; `strava_athlete_id` is how Strava knows them."""

    __tablename__ = "users"

    id: str = Field(primary_key=True)
    strava_athlete_id: str = Field(unique=True)
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    profile_picture: str | None = None
    onboarding_completed: bool = False
    created_at: datetime | None = _at(default_now=True)
    updated_at: datetime | None = _at(default_now=True)
    last_active_at: datetime | None = _at(default_now=True)


class Profile(IdentityTable, table=True):
    """The athlete's training profile, owned here and published to planning and export."""

    __tablename__ = "profiles"

    id: str = Field(primary_key=True)
    user_id: str = Field(
        sa_column=Column(String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    birth_year: int | None = None
    gender: str | None = None
    weight_kg: float | None = None
    experience_level: str | None = None
    triathlon_count: int | None = None
    longest_distance: str | None = None
    weekly_hours_available: float | None = None
    max_heart_rate: int | None = None
    ftp_watts: int | None = None
    threshold_pace_seconds_per_km: int | None = None
    swim_css_seconds_per_100m: int | None = None
    timezone: str = "UTC"
    updated_at: datetime | None = _at(default_now=True)


class LoginAttempt(IdentityTable, table=True):
    """A Strava sign-in in progress: the state sent to Strava (hashed), where the app wants the code,
    and the app's PKCE challenge. Consumed by the callback, so a state works once."""

    __tablename__ = "login_attempts"

    state_sha256: str = Field(primary_key=True)
    redirect_uri: str
    code_challenge: str | None = None
    created_at: datetime | None = _at(default_now=True)
    expires_at: datetime = _at()


class Session(IdentityTable, table=True):
    """A sign-in on one device: the family of its rotating refresh tokens. Access tokens carry its id
    (`sid`), so revoking the session refuses them everywhere."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True)
    user_id: str = _user_fk()
    created_at: datetime | None = _at(default_now=True)
    last_refreshed_at: datetime | None = _at(nullable=True)
    revoked_at: datetime | None = _at(nullable=True)
    revoked_reason: str | None = None


class RefreshToken(IdentityTable, table=True):
    """One refresh token of a session, stored as its SHA-256. Using it marks it used and issues the next;
    presenting a used one again means it was stolen: the whole session is revoked."""

    __tablename__ = "refresh_tokens"

    token_sha256: str = Field(primary_key=True)
    session_id: str = Field(
        sa_column=Column(String, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime | None = _at(default_now=True)
    expires_at: datetime = _at()
    used_at: datetime | None = _at(nullable=True)


class StravaGrant(IdentityTable, table=True):
    """Strava tokens from a sign-in, sealed, waiting for the connections service to claim them once."""

    __tablename__ = "strava_grants"

    id: str = Field(primary_key=True)
    user_id: str = _user_fk()
    strava_athlete_id: str
    tokens_sealed: str
    scopes: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    access_expires_at: datetime = _at()
    created_at: datetime | None = _at(default_now=True)
    claim_before: datetime = _at()


class SigningKey(IdentityTable, table=True):
    """A key pair that signs access tokens. The newest unretired key signs; every key not yet retired is
    published in the JWKS, so tokens signed before a rotation stay valid until they expire."""

    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True)
    private_key_sealed: str
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime | None = _at(default_now=True)
    retire_at: datetime | None = _at(nullable=True)


class ApiKey(IdentityTable, table=True):
    """An athlete's key for a bridge app. Only its SHA-256 is kept: the key was shown once."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True)
    user_id: str = _user_fk()
    name: str
    prefix: str
    key_sha256: str = Field(unique=True)
    created_at: datetime | None = _at(default_now=True)
    last_used_at: datetime | None = _at(nullable=True)
    revoked_at: datetime | None = _at(nullable=True)


class Admin(IdentityTable, table=True):
    """A back-office account. The password is an Argon2id hash; repeated failures lock the account."""

    __tablename__ = "admins"

    id: str = Field(primary_key=True)
    email: str = Field(unique=True)
    name: str
    role: str
    password_hash: str
    failed_logins: int = 0
    locked_until: datetime | None = _at(nullable=True)
    created_at: datetime | None = _at(default_now=True)
    last_login_at: datetime | None = _at(nullable=True)
    disabled_at: datetime | None = _at(nullable=True)


class ActiveProgram(IdentityTable, table=True):
    """Each athlete's active training program, as planning's events tell it (a read model)."""

    __tablename__ = "active_programs"

    user_id: str = Field(primary_key=True)
    program_id: str
    distance_type: str
    event_date: date = Field(sa_column=Column(Date, nullable=False))
    activated_at: datetime = _at()
