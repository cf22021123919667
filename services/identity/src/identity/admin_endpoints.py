"""HTTP endpoints of the back office (seed 001, section Admin). Every route checks the operator's role;
state-changing ones also check the CSRF token."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from identity import admins
from identity.resources import Identity, identity_of
from identity.schemas import (
    AdminCreateRequest,
    AdminList,
    AdminLoginRequest,
    AdminLoginResponse,
    AdminOut,
    AdminUserList,
    AdminUserOut,
    Pagination,
    SessionsRevoked,
    Success,
)
from relay_contracts.catalog import IDENTITY_ADMIN_DATA_ACCESSED
from relay_contracts.events.common import Actor
from relay_platform.admin_access import record_admin_access
from relay_platform.auth import ADMIN_SESSION_COOKIE, ReadOnlyAdmin, SuperAdmin, SupportAdmin
from relay_platform.db import SessionDep
from relay_platform.errors import error_response

router = APIRouter(prefix="/api/admin", tags=["admin"])
IdentityDep = Annotated[Identity, Depends(identity_of)]
CSRF_COOKIE = "admin_csrf"
COOKIE_PATH = "/api/admin"


@router.post("/auth/login", summary="Sign an operator in", response_model=AdminLoginResponse)
async def login(
    request: Request, body: AdminLoginRequest, identity: IdentityDep, session: SessionDep
) -> JSONResponse:
    """Sets the `admin_session` cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) and answers the
    CSRF token (also in the readable `admin_csrf` cookie) to send back in `X-CSRF-Token`. After
    repeated failures the account is locked for a while."""
    source_ip = request.client.host if request.client else None
    try:
        outcome = await admins.login(
            session, identity, email=body.email, password=body.password, source_ip=source_ip
        )
    except Exception as failure:
        identity.logins.refused("admin_password", failure)
        raise
    identity.logins.record("admin_password", _login_outcome(outcome))
    if isinstance(outcome, admins.AdminLoginRefused):
        # Returned, not raised: the failure count and its event must be committed.
        if outcome.reason == "locked" and outcome.locked_until is not None:
            details = {"reason": "locked", "locked_until": outcome.locked_until.isoformat()}
            return error_response(401, "unauthorized", "Account locked after repeated failures", details)
        return error_response(401, "unauthorized", "Wrong email or password")
    response = JSONResponse(
        AdminLoginResponse(admin=AdminOut.of(outcome.admin), csrf_token=outcome.csrf_token).model_dump()
    )
    secure = request.url.scheme == "https"
    max_age = identity.settings.admin_session_ttl_seconds
    response.set_cookie(
        ADMIN_SESSION_COOKIE,
        outcome.session_token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE, outcome.csrf_token, max_age=max_age, path=COOKIE_PATH, secure=secure, samesite="strict"
    )
    return response


def _login_outcome(outcome: admins.AdminSignedIn | admins.AdminLoginRefused) -> str:
    if isinstance(outcome, admins.AdminSignedIn):
        return "succeeded"
    # Whether the email or the password was wrong is not told apart, here as in the answer.
    return "wrong_credentials" if outcome.reason in ("unknown_email", "wrong_password") else outcome.reason


@router.post("/auth/logout", summary="Sign the operator out")
async def logout(admin: ReadOnlyAdmin, identity: IdentityDep) -> JSONResponse:
    await admins.logout(identity, admin)
    response = JSONResponse(Success().model_dump())
    response.delete_cookie(ADMIN_SESSION_COOKIE, path=COOKIE_PATH)
    response.delete_cookie(CSRF_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/auth/me", summary="The signed-in operator")
async def me(admin: ReadOnlyAdmin, session: SessionDep) -> AdminOut:
    return AdminOut.of(await admins.account(session, admin.sub))


@router.get("/users", summary="Athletes, with their active program (the read is audited)")
async def list_users(
    request: Request,
    admin: ReadOnlyAdmin,
    identity: IdentityDep,
    session: SessionDep,
    search: Annotated[str | None, Query(max_length=100, description="Part of a name or an email.")] = None,
    status: Annotated[Literal["active", "inactive"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AdminUserList:
    total, rows = await admins.list_users(
        session, identity, search=search, status=status, limit=limit, offset=offset
    )
    await record_admin_access(
        session,
        IDENTITY_ADMIN_DATA_ACCESSED,
        admin,
        request,
        records=len(rows),
        topic_prefix=identity.settings.kafka_topic_prefix,
    )
    return AdminUserList(
        users=[AdminUserOut.of(user, program) for user, program in rows],
        pagination=Pagination(total=total, limit=limit, offset=offset),
    )


@router.post("/users/{user_id}/sessions/revoke", summary="Sign an athlete out of every device")
async def sign_athlete_out(
    user_id: str, admin: SupportAdmin, identity: IdentityDep, session: SessionDep
) -> SessionsRevoked:
    return SessionsRevoked(revoked=await admins.sign_athlete_out(session, identity, user_id, admin))


@router.get("/admins", summary="Back-office accounts (the read is audited)")
async def list_admins(
    request: Request, admin: SuperAdmin, identity: IdentityDep, session: SessionDep
) -> AdminList:
    accounts = await admins.list_admins(session)
    await record_admin_access(
        session,
        IDENTITY_ADMIN_DATA_ACCESSED,
        admin,
        request,
        records=len(accounts),
        topic_prefix=identity.settings.kafka_topic_prefix,
    )
    return AdminList(admins=[AdminOut.of(account) for account in accounts])


@router.post("/admins", status_code=201, summary="Create a back-office account")
async def create_admin(
    body: AdminCreateRequest, admin: SuperAdmin, identity: IdentityDep, session: SessionDep
) -> AdminOut:
    created = await admins.create_admin(
        session,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        actor=Actor(type="admin", id=admin.sub),
        topic_prefix=identity.settings.kafka_topic_prefix,
    )
    return AdminOut.of(created)
