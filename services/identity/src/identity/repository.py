"""Every query of the identity service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from identity.models import (
    ActiveProgram,
    Admin,
    ApiKey,
    LoginAttempt,
    Profile,
    RefreshToken,
    Session,
    SigningKey,
    StravaGrant,
    User,
)

SIGNING_KEYS_LOCK = 0x4944454E54  # serializes creation and rotation of signing keys across replicas


# Signing keys


async def lock_signing_keys(session: AsyncSession) -> None:
    await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=SIGNING_KEYS_LOCK))  # type: ignore[call-overload]


async def newest_signing_key(session: AsyncSession) -> SigningKey | None:
    statement = (
        select(SigningKey)
        .where(col(SigningKey.retire_at).is_(None))
        .order_by(col(SigningKey.created_at).desc())
        .limit(1)
    )
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def newest_published_signing_key(
    session: AsyncSession, *, before: datetime, now: datetime
) -> SigningKey | None:
    """The newest key published since `before` that is not retired yet."""
    statement = (
        select(SigningKey)
        .where(col(SigningKey.created_at) <= before)
        .where(or_(col(SigningKey.retire_at).is_(None), col(SigningKey.retire_at) > now))
        .order_by(col(SigningKey.created_at).desc())
        .limit(1)
    )
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def add_signing_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()


async def retire_signing_keys(session: AsyncSession, *, at: datetime) -> None:
    await session.exec(
        update(SigningKey).where(col(SigningKey.retire_at).is_(None)).values(retire_at=at)  # type: ignore[call-overload]
    )


async def signing_key(session: AsyncSession, kid: str) -> SigningKey | None:
    return await session.get(SigningKey, kid)


async def published_signing_keys(session: AsyncSession, *, now: datetime) -> Sequence[SigningKey]:
    statement = (
        select(SigningKey)
        .where(or_(col(SigningKey.retire_at).is_(None), col(SigningKey.retire_at) > now))
        .order_by(col(SigningKey.created_at).desc())
    )
    return (await session.exec(statement)).scalars().all()  # type: ignore[call-overload, no-any-return]


# Sign-in attempts


async def add_login_attempt(session: AsyncSession, attempt: LoginAttempt) -> None:
    session.add(attempt)
    await session.flush()


async def take_login_attempt(
    session: AsyncSession, state_sha256: str, *, now: datetime
) -> LoginAttempt | None:
    """Consumes the attempt of this state: a state works once, and not after it expired."""
    statement = (
        delete(LoginAttempt)
        .where(col(LoginAttempt.state_sha256) == state_sha256, col(LoginAttempt.expires_at) > now)
        .returning(LoginAttempt)
    )
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def delete_expired_login_attempts(session: AsyncSession, *, now: datetime) -> None:
    await session.exec(delete(LoginAttempt).where(col(LoginAttempt.expires_at) <= now))  # type: ignore[call-overload]


# Athletes


async def user_by_id(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def user_by_strava_id(session: AsyncSession, strava_athlete_id: str) -> User | None:
    statement = select(User).where(col(User.strava_athlete_id) == strava_athlete_id).with_for_update()
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def insert_user(session: AsyncSession, user: User) -> bool:
    """Adds the athlete unless a concurrent sign-in just did; says whether this call created them."""
    values = user.model_dump(exclude={"created_at", "updated_at", "last_active_at"})
    statement = (
        insert(User)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["strava_athlete_id"])
        .returning(col(User.id))
    )
    return (await session.exec(statement)).scalar_one_or_none() is not None  # type: ignore[call-overload]


async def update_user(session: AsyncSession, user_id: str, **values: Any) -> None:
    await session.exec(update(User).where(col(User.id) == user_id).values(**values))  # type: ignore[call-overload]


async def delete_user(session: AsyncSession, user_id: str) -> None:
    """Deletes the athlete; their profile, sessions, refresh tokens, grants and API keys go with them
    (ON DELETE CASCADE), the read model is keyed by them without a foreign key."""
    await session.exec(delete(ActiveProgram).where(col(ActiveProgram.user_id) == user_id))  # type: ignore[call-overload]
    await session.exec(delete(User).where(col(User.id) == user_id))  # type: ignore[call-overload]


# Profiles


async def profile_of(session: AsyncSession, user_id: str) -> Profile | None:
    statement = select(Profile).where(col(Profile.user_id) == user_id)
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def save_profile(session: AsyncSession, profile: Profile) -> None:
    session.add(profile)
    await session.flush()


# Sessions and refresh tokens


async def add_session(session: AsyncSession, row: Session) -> None:
    session.add(row)
    await session.flush()


async def session_by_id(session: AsyncSession, session_id: str) -> Session | None:
    return await session.get(Session, session_id)


async def active_session_ids(session: AsyncSession, user_id: str) -> list[str]:
    statement = select(col(Session.id)).where(
        col(Session.user_id) == user_id, col(Session.revoked_at).is_(None)
    )
    return list((await session.exec(statement)).scalars().all())  # type: ignore[call-overload]


async def revoke_sessions(
    session: AsyncSession, session_ids: Sequence[str], *, at: datetime, reason: str
) -> None:
    statement = (
        update(Session)
        .where(col(Session.id).in_(list(session_ids)), col(Session.revoked_at).is_(None))
        .values(revoked_at=at, revoked_reason=reason)
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def refresh_token_by_hash(session: AsyncSession, token_sha256: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(col(RefreshToken.token_sha256) == token_sha256).with_for_update()
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def mark_refresh_token_used(session: AsyncSession, token_sha256: str, *, at: datetime) -> bool:
    """Marks the token used unless it already was; says whether this call won it."""
    statement = (
        update(RefreshToken)
        .where(col(RefreshToken.token_sha256) == token_sha256, col(RefreshToken.used_at).is_(None))
        .values(used_at=at)
        .returning(col(RefreshToken.token_sha256))
    )
    return (await session.exec(statement)).scalar_one_or_none() is not None  # type: ignore[call-overload]


async def touch_session(session: AsyncSession, session_id: str, *, at: datetime) -> None:
    await session.exec(update(Session).where(col(Session.id) == session_id).values(last_refreshed_at=at))  # type: ignore[call-overload]


# Strava grants


async def replace_strava_grant(session: AsyncSession, grant: StravaGrant) -> None:
    """A newer sign-in supersedes tokens of an older one that connections has not claimed yet."""
    await session.exec(delete(StravaGrant).where(col(StravaGrant.user_id) == grant.user_id))  # type: ignore[call-overload]
    session.add(grant)
    await session.flush()


async def claim_strava_grant(session: AsyncSession, grant_id: str, *, now: datetime) -> StravaGrant | None:
    statement = (
        delete(StravaGrant)
        .where(col(StravaGrant.id) == grant_id, col(StravaGrant.claim_before) > now)
        .returning(StravaGrant)
    )
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def delete_unclaimed_strava_grants(session: AsyncSession, *, now: datetime) -> None:
    await session.exec(delete(StravaGrant).where(col(StravaGrant.claim_before) <= now))  # type: ignore[call-overload]


# API keys


async def add_api_key(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


async def api_keys_of(session: AsyncSession, user_id: str) -> Sequence[ApiKey]:
    statement = select(ApiKey).where(col(ApiKey.user_id) == user_id).order_by(col(ApiKey.created_at).desc())
    return (await session.exec(statement)).scalars().all()  # type: ignore[call-overload, no-any-return]


async def revoke_api_key(session: AsyncSession, user_id: str, api_key_id: str, *, at: datetime) -> bool:
    statement = (
        update(ApiKey)
        .where(col(ApiKey.id) == api_key_id, col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
        .values(revoked_at=at)
        .returning(col(ApiKey.id))
    )
    return (await session.exec(statement)).scalar_one_or_none() is not None  # type: ignore[call-overload]


async def api_key_exists(session: AsyncSession, user_id: str, api_key_id: str) -> bool:
    key = await session.get(ApiKey, api_key_id)
    return key is not None and key.user_id == user_id


async def record_api_key_use(session: AsyncSession, api_key_id: str, *, at: datetime) -> None:
    statement = (
        update(ApiKey)
        .where(col(ApiKey.id) == api_key_id)
        .where(or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < at))
        .values(last_used_at=at)
    )
    await session.exec(statement)  # type: ignore[call-overload]


# Admins


async def admin_by_email(session: AsyncSession, email: str) -> Admin | None:
    statement = select(Admin).where(col(Admin.email) == email).with_for_update()
    return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


async def admin_by_id(session: AsyncSession, admin_id: str) -> Admin | None:
    return await session.get(Admin, admin_id)


async def add_admin(session: AsyncSession, admin: Admin) -> bool:
    values = admin.model_dump(exclude={"created_at"})
    statement = (
        insert(Admin)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(col(Admin.id))
    )
    return (await session.exec(statement)).scalar_one_or_none() is not None  # type: ignore[call-overload]


async def update_admin(session: AsyncSession, admin_id: str, **values: Any) -> None:
    await session.exec(update(Admin).where(col(Admin.id) == admin_id).values(**values))  # type: ignore[call-overload]


async def list_admins(session: AsyncSession) -> Sequence[Admin]:
    return (await session.exec(select(Admin).order_by(col(Admin.created_at)))).scalars().all()  # type: ignore[call-overload, no-any-return]


# The back office's list of athletes


async def search_users(
    session: AsyncSession,
    *,
    search: str | None,
    active_since: datetime | None,
    inactive_before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[tuple[User, ActiveProgram | None]]]:
    conditions = []
    if search:
        pattern = f"%{_escape_like(search)}%"
        conditions.append(
            or_(
                col(User.email).ilike(pattern),
                col(User.first_name).ilike(pattern),
                col(User.last_name).ilike(pattern),
                func.concat(User.first_name, " ", User.last_name).ilike(pattern),
            )
        )
    if active_since is not None:
        conditions.append(col(User.last_active_at) >= active_since)
    if inactive_before is not None:
        conditions.append(col(User.last_active_at) < inactive_before)
    total = (await session.exec(select(func.count()).select_from(User).where(*conditions))).scalar_one()  # type: ignore[call-overload]
    statement = (
        select(User, ActiveProgram)
        .outerjoin(ActiveProgram, col(ActiveProgram.user_id) == col(User.id))
        .where(*conditions)
        .order_by(col(User.created_at).desc(), col(User.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return int(total), [(row[0], row[1]) for row in rows]


# The active-program read model


async def save_active_program(session: AsyncSession, program: ActiveProgram) -> None:
    values = program.model_dump()
    statement = (
        insert(ActiveProgram)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["user_id"],
            set_={key: value for key, value in values.items() if key != "user_id"},
            where=col(ActiveProgram.activated_at) <= program.activated_at,
        )
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def end_active_program(session: AsyncSession, user_id: str, program_id: str) -> None:
    await session.exec(
        delete(ActiveProgram).where(  # type: ignore[call-overload]
            col(ActiveProgram.user_id) == user_id, col(ActiveProgram.program_id) == program_id
        )
    )


def _escape_like(text: str) -> str:
    """The search text taken literally: `%` and `_` are not wildcards for the user."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
