"""Use cases of the back office: operators' accounts, sign-in with lock-out, the list of athletes.

An operator's session is an `admin_session` cookie holding a short-lived ES256 token (audience
`relay-admin`) with their role and the SHA-256 of a CSRF token; every service verifies it with the same
keys as athletes' tokens, and signing out revokes its session id in Redis like an athlete's.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlmodel.ext.asyncio.session import AsyncSession

from identity import repository
from identity.models import ActiveProgram, Admin, User
from identity.resources import Identity
from identity.service import revoke_sessions, sha256_hex
from identity.signing import new_id
from relay_contracts.catalog import (
    IDENTITY_ADMIN_CREATED,
    IDENTITY_ADMIN_LOGGED_IN,
    IDENTITY_ADMIN_LOGIN_FAILED,
)
from relay_contracts.events.common import Actor
from relay_contracts.events.identity import AdminCreated, AdminLoggedIn, AdminLoginFailed
from relay_platform.auth import AdminClaims
from relay_platform.errors import Conflict, InvalidInput, NotFound
from relay_platform.outbox import add_event

Role = Literal["super_admin", "support", "read_only"]
ROLES: tuple[Role, ...] = ("super_admin", "support", "read_only")
MIN_PASSWORD_LENGTH = 12

# Argon2id with the library's defaults (RFC 9106's second recommendation: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a wrong email and a wrong password take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerifyMismatchError, VerificationError):
        return False


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters",
            details={"field": "password", "reason": "too_short"},
        )


async def create_admin(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    actor: Actor,
    topic_prefix: str,
) -> Admin:
    _check_password_strength(password)
    admin = Admin(
        id=new_id("adm_"),
        email=email.strip().lower(),
        name=name,
        role=role,
        password_hash=await hash_password(password),
    )
    if not await repository.add_admin(session, admin):
        raise Conflict("An admin with this email exists", details={"field": "email"})
    envelope = IDENTITY_ADMIN_CREATED.envelope(
        AdminCreated(admin_id=admin.id, role=role, actor=actor), subject=admin.id
    )
    await add_event(session, envelope, topic_prefix=topic_prefix)
    return admin


@dataclass(frozen=True)
class AdminSignedIn:
    admin: Admin
    session_token: str
    csrf_token: str
    expires_at: int


@dataclass(frozen=True)
class AdminLoginRefused:
    reason: Literal["unknown_email", "wrong_password", "locked", "disabled"]
    locked_until: datetime | None = None


async def login(
    session: AsyncSession, identity: Identity, *, email: str, password: str, source_ip: str | None
) -> AdminSignedIn | AdminLoginRefused:
    """Checks the password; after `admin_max_failed_logins` failures in a row the account is locked for
    `admin_lockout_seconds`. A refusal is recorded and published, and must be committed like a success."""
    settings = identity.settings
    now = datetime.now(UTC)
    admin = await repository.admin_by_email(session, email.strip().lower())
    refused: AdminLoginRefused | None = None
    if admin is None:
        await _password_matches(_DUMMY_HASH, password)
        refused = AdminLoginRefused("unknown_email")
    elif admin.disabled_at is not None:
        refused = AdminLoginRefused("disabled")
    elif admin.locked_until is not None and admin.locked_until > now:
        refused = AdminLoginRefused("locked", admin.locked_until)
    elif not await _password_matches(admin.password_hash, password):
        failures = admin.failed_logins + 1
        if failures >= settings.admin_max_failed_logins:
            locked_until = now + timedelta(seconds=settings.admin_lockout_seconds)
            await repository.update_admin(session, admin.id, failed_logins=0, locked_until=locked_until)
            refused = AdminLoginRefused("locked", locked_until)
        else:
            await repository.update_admin(session, admin.id, failed_logins=failures)
            refused = AdminLoginRefused("wrong_password")
    if refused is not None:
        failed = AdminLoginFailed(
            admin_id=admin.id if admin else None,
            reason=refused.reason,
            source_ip=source_ip,
            locked_until=refused.locked_until,
        )
        subject = admin.id if admin else "admin:unknown"
        await add_event(
            session,
            IDENTITY_ADMIN_LOGIN_FAILED.envelope(failed, subject=subject),
            topic_prefix=settings.kafka_topic_prefix,
        )
        return refused
    assert admin is not None
    await repository.update_admin(session, admin.id, failed_logins=0, locked_until=None, last_login_at=now)
    csrf_token = secrets.token_urlsafe(32)
    issued_at = int(now.timestamp())
    expires_at = issued_at + settings.admin_session_ttl_seconds
    token = await identity.signing.sign(
        {
            "iss": settings.auth_issuer,
            "aud": settings.auth_admin_audience,
            "sub": admin.id,
            "role": admin.role,
            "sid": new_id("ads_"),
            "csrf": sha256_hex(csrf_token),
            "iat": issued_at,
            "exp": expires_at,
        }
    )
    logged_in = AdminLoggedIn(
        admin_id=admin.id, role=admin.role, source_ip=source_ip, actor=Actor(type="admin", id=admin.id)
    )
    await add_event(
        session,
        IDENTITY_ADMIN_LOGGED_IN.envelope(logged_in, subject=admin.id),
        topic_prefix=settings.kafka_topic_prefix,
    )
    return AdminSignedIn(admin, token, csrf_token, expires_at)


async def account(session: AsyncSession, admin_id: str) -> Admin:
    admin = await repository.admin_by_id(session, admin_id)
    if admin is None:
        raise NotFound("No such admin")
    return admin


async def list_admins(session: AsyncSession) -> list[Admin]:
    return list(await repository.list_admins(session))


async def logout(identity: Identity, claims: AdminClaims) -> None:
    await identity.revocations.revoke(
        claims.sid, for_seconds=max(1, claims.exp - int(datetime.now(UTC).timestamp()))
    )


async def list_users(
    session: AsyncSession,
    identity: Identity,
    *,
    search: str | None,
    status: Literal["active", "inactive"] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[tuple[User, ActiveProgram | None]]]:
    """Athletes, newest first; `active` means seen (signed in or refreshed) within `inactive_after_days`."""
    threshold = datetime.now(UTC) - timedelta(days=identity.settings.inactive_after_days)
    return await repository.search_users(
        session,
        search=search.strip() if search else None,
        active_since=threshold if status == "active" else None,
        inactive_before=threshold if status == "inactive" else None,
        limit=limit,
        offset=offset,
    )


async def sign_athlete_out(
    session: AsyncSession, identity: Identity, user_id: str, claims: AdminClaims
) -> int:
    """Ends every session of an athlete (a lost phone, a support request); returns how many."""
    if await repository.user_by_id(session, user_id) is None:
        raise NotFound("No such athlete", details={"user_id": user_id})
    sessions = await repository.active_session_ids(session, user_id)
    await revoke_sessions(
        session,
        identity,
        user_id,
        sessions,
        reason="admin",
        now=datetime.now(UTC),
        actor=Actor(type="admin", id=claims.sub),
    )
    return len(sessions)
