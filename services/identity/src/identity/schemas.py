"""Request and response bodies of the identity API (seed 001, sections Auth and Admin)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from identity.admins import Role
from identity.models import ActiveProgram, Admin, ApiKey, Profile, User
from relay_contracts.events.identity import ExperienceLevel, Gender

CURRENT_YEAR = date.today().year
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserOut(BaseModel):
    id: str
    strava_id: str
    email: str | None = None
    first_name: str | None
    last_name: str | None
    profile_picture: str | None
    onboarding_completed: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            strava_id=user.strava_athlete_id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            profile_picture=user.profile_picture,
            onboarding_completed=user.onboarding_completed,
        )


class SignInResponse(BaseModel):
    success: Literal[True] = True
    user: UserOut
    token: str = Field(description="The access token (ES256 JWT, 15 minutes).")
    refresh_token: str = Field(description="Trade it at /api/auth/refresh for a new pair; it works once.")
    expires_at: int = Field(description="When `token` expires, epoch seconds.")
    is_new_user: bool


class RefreshRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=256)


class RefreshResponse(BaseModel):
    success: Literal[True] = True
    token: str
    refresh_token: str
    expires_at: int


class Success(BaseModel):
    success: Literal[True] = True


class ProfileFields(BaseModel):
    """The athlete's training profile. Every field is optional in an update; absent fields stay."""

    model_config = ConfigDict(extra="forbid")

    birth_year: int | None = Field(default=None, ge=1920, le=CURRENT_YEAR - 10)
    gender: Gender | None = None
    weight_kg: float | None = Field(default=None, ge=25, le=250)
    experience_level: ExperienceLevel | None = None
    triathlon_count: int | None = Field(default=None, ge=0, le=1000)
    longest_distance: Literal["none", "sprint", "olympic", "70.3", "ironman"] | None = None
    weekly_hours_available: float | None = Field(default=None, ge=0, le=40)
    fc_max: int | None = Field(default=None, ge=100, le=230, description="Maximum heart rate, bpm.")
    ftp: int | None = Field(default=None, ge=50, le=600, description="Functional threshold power, watts.")
    threshold_pace_seconds_per_km: int | None = Field(default=None, ge=150, le=900)
    swim_css_seconds_per_100m: int | None = Field(default=None, ge=50, le=300)
    timezone: str | None = Field(
        default=None, description="IANA name, e.g. Europe/Paris; null sets it back to UTC."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError("unknown IANA timezone")
        return value

    def changes(self) -> dict[str, object]:
        """The fields sent, named as the profile table names them. A profile always has a timezone: one
        sent as null is the default again."""
        renamed = {"fc_max": "max_heart_rate", "ftp": "ftp_watts"}
        sent = self.model_dump(exclude_unset=True)
        if "timezone" in sent and sent["timezone"] is None:
            sent["timezone"] = "UTC"
        return {renamed.get(name, name): value for name, value in sent.items()}


class OnboardingProfileRequest(BaseModel):
    """Seed 001, `POST /api/onboarding/profile`."""

    model_config = ConfigDict(extra="forbid")

    birth_year: int = Field(ge=1920, le=CURRENT_YEAR - 10)
    gender: Gender
    weight_kg: float = Field(ge=25, le=250)
    experience_level: ExperienceLevel
    triathlon_count: int = Field(default=0, ge=0, le=1000)
    longest_distance: Literal["none", "sprint", "olympic", "70.3", "ironman"] = "none"


class OnboardingProfileResponse(BaseModel):
    success: Literal[True] = True
    profile_id: str


class ProfileOut(BaseModel):
    experience_level: str | None = None
    weekly_hours_available: float | None = None
    fc_max: int | None = None
    ftp: int | None = None
    birth_year: int | None = None
    gender: str | None = None
    weight_kg: float | None = None
    triathlon_count: int | None = None
    longest_distance: str | None = None
    threshold_pace_seconds_per_km: int | None = None
    swim_css_seconds_per_100m: int | None = None
    timezone: str = "UTC"

    @classmethod
    def of(cls, profile: Profile | None) -> ProfileOut | None:
        if profile is None:
            return None
        return cls(
            experience_level=profile.experience_level,
            weekly_hours_available=profile.weekly_hours_available,
            fc_max=profile.max_heart_rate,
            ftp=profile.ftp_watts,
            birth_year=profile.birth_year,
            gender=profile.gender,
            weight_kg=profile.weight_kg,
            triathlon_count=profile.triathlon_count,
            longest_distance=profile.longest_distance,
            threshold_pace_seconds_per_km=profile.threshold_pace_seconds_per_km,
            swim_css_seconds_per_100m=profile.swim_css_seconds_per_100m,
            timezone=profile.timezone,
        )


class MeResponse(BaseModel):
    user: UserOut
    profile: ProfileOut | None


class ApiKeyCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=80, description="What the key is for, e.g. `Health Auto Export`."
    )


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown this once: Relay keeps only its SHA-256.")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]


class StravaGrantClaimed(BaseModel):
    strava_grant_id: str
    user_id: str
    strava_athlete_id: str
    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: list[str]


# Back office


class AdminLoginRequest(BaseModel):
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=1, max_length=1024)


class AdminOut(BaseModel):
    id: str
    email: str
    name: str
    role: str

    @classmethod
    def of(cls, admin: Admin) -> AdminOut:
        return cls(id=admin.id, email=admin.email, name=admin.name, role=admin.role)


class AdminLoginResponse(BaseModel):
    success: Literal[True] = True
    admin: AdminOut
    csrf_token: str = Field(description="Send it back in `X-CSRF-Token` on every state-changing call.")


class AdminCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    name: str = Field(min_length=1, max_length=120)
    role: Role
    password: str = Field(min_length=12, max_length=1024)


class AdminList(BaseModel):
    admins: list[AdminOut]


class ActiveProgramOut(BaseModel):
    id: str
    distance_type: str
    event_date: date


class AdminUserOut(BaseModel):
    id: str
    strava_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    onboarding_completed: bool
    created_at: datetime | None
    last_active_at: datetime | None
    active_program: ActiveProgramOut | None

    @classmethod
    def of(cls, user: User, program: ActiveProgram | None) -> AdminUserOut:
        return cls(
            id=user.id,
            strava_id=user.strava_athlete_id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            onboarding_completed=user.onboarding_completed,
            created_at=user.created_at,
            last_active_at=user.last_active_at,
            active_program=ActiveProgramOut(
                id=program.program_id, distance_type=program.distance_type, event_date=program.event_date
            )
            if program
            else None,
        )


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int


class AdminUserList(BaseModel):
    users: list[AdminUserOut]
    pagination: Pagination


class SessionsRevoked(BaseModel):
    success: Literal[True] = True
    revoked: int
