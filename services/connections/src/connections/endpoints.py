"""HTTP endpoints of the connections service: the athlete's connections under `/api/providers`
(seed 004), the link flows, and the internal token handout for Relay's own services, with the report
of a token the provider refused."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from connections import handout, linking, service, syncs
from connections.resources import Connections, connections_from
from connections.schemas import (
    AccessTokenOut,
    AccessTokenRequest,
    AttentionItem,
    AvailableProviders,
    ConnectionList,
    ConnectionOut,
    ConnectRequest,
    ConnectStarted,
    Disconnected,
    Linked,
    PasswordLinkRequest,
    ProviderOut,
    Summary,
    SyncAccepted,
    SyncHistory,
    SyncRecordOut,
    SyncStatus,
    ToggleRequest,
    TokenRejectionOut,
    TokenRejectionRequest,
)
from relay_platform.auth import CurrentAthlete, bearer_token
from relay_platform.db import SessionDep
from relay_platform.errors import AppError, Unauthorized, error_response

router = APIRouter(prefix="/api/providers", tags=["providers"])
internal = APIRouter(prefix="/internal", tags=["internal"])
ConnectionsDep = Annotated[Connections, Depends(connections_from)]
ProviderKey = Annotated[str, Path(max_length=32, pattern=r"^[a-z_]+$")]
ConnectionId = Annotated[str, Path(max_length=64)]


async def internal_caller(request: Request, connections: ConnectionsDep) -> str:
    """The Relay service calling, known by its bearer token in `CONNECTIONS_INTERNAL_CALLERS`; 401 for
    anyone else, athletes included."""
    token = bearer_token(request)
    caller = connections.callers.caller_of(token) if token else None
    if caller is None:
        raise Unauthorized("Unknown internal caller")
    return caller


InternalCaller = Annotated[str, Depends(internal_caller)]


@router.get("/available-providers", summary="Providers an athlete can link")
async def available_providers(connections: ConnectionsDep) -> AvailableProviders:
    """Every provider Relay knows, with how it is linked, what it sends, whether workouts can be
    exported to it, and whether this server can link it now."""
    offered = {spec.key for spec in connections.providers.offered()}
    return AvailableProviders(
        providers=[ProviderOut.of(spec, spec.key in offered) for spec in connections.providers.specs.values()]
    )


@router.get("/connections", summary="The athlete's connections")
async def list_connections(athlete: CurrentAthlete, session: SessionDep) -> ConnectionList:
    connections = await service.list_connections(session, athlete.sub)
    return ConnectionList(connections=[ConnectionOut.of(c) for c in connections], total=len(connections))


@router.get("/connections/provider/{provider}", summary="The athlete's connection to a provider")
async def connection_to_provider(
    athlete: CurrentAthlete, session: SessionDep, provider: ProviderKey
) -> ConnectionOut:
    return ConnectionOut.of(await service.connection_to_provider(session, athlete.sub, provider))


@router.get("/connections/{connection_id}", summary="One of the athlete's connections")
async def get_connection(
    athlete: CurrentAthlete, session: SessionDep, connection_id: ConnectionId
) -> ConnectionOut:
    return ConnectionOut.of(await service.athlete_connection(session, athlete.sub, connection_id))


@router.delete("/connections/{connection_id}", summary="Disconnect a provider")
async def disconnect(
    athlete: CurrentAthlete, session: SessionDep, connections: ConnectionsDep, connection_id: ConnectionId
) -> Disconnected:
    """Withdraws Relay's access at the provider where it can, deletes the connection and its history,
    and has that provider's data erased."""
    done = await service.disconnect(session, connections, athlete.sub, connection_id)
    return Disconnected(provider=done.provider, revoked_at_provider=done.revoked_at_provider)


@router.patch("/connections/{connection_id}/toggle", summary="Pause or resume a connection")
async def toggle(
    athlete: CurrentAthlete,
    session: SessionDep,
    connections: ConnectionsDep,
    connection_id: ConnectionId,
    body: ToggleRequest | None = None,
) -> ConnectionOut:
    is_active = body.is_active if body else None
    return ConnectionOut.of(await service.toggle(session, connections, athlete.sub, connection_id, is_active))


@router.post("/connections/{connection_id}/sync", status_code=202, summary="Synchronise a connection now")
async def request_sync(
    athlete: CurrentAthlete, session: SessionDep, connections: ConnectionsDep, connection_id: ConnectionId
) -> SyncAccepted:
    """Asks ingestion to fetch what is new at the provider; follow it with `sync-status`. 409
    `sync_in_progress` while one runs, `connection_not_active` for a paused or broken connection."""
    record = await syncs.request_sync(session, connections, athlete.sub, connection_id)
    return SyncAccepted(sync_id=str(record.id), sync_status=record.status)


@router.get("/connections/{connection_id}/sync-history", summary="A connection's synchronisations")
async def sync_history(
    athlete: CurrentAthlete,
    session: SessionDep,
    connection_id: ConnectionId,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SyncHistory:
    connection, records = await syncs.sync_history(session, athlete.sub, connection_id, limit)
    return SyncHistory(
        connection_id=str(connection.id),
        provider=connection.provider,
        history=[SyncRecordOut.of(r) for r in records],
    )


@router.get("/connections/{connection_id}/sync-status", summary="Where a connection's synchronisation is")
async def sync_status(
    athlete: CurrentAthlete, session: SessionDep, connection_id: ConnectionId
) -> SyncStatus:
    connection, records = await syncs.sync_history(session, athlete.sub, connection_id, 1)
    return SyncStatus(
        connection_id=str(connection.id),
        provider=connection.provider,
        status=connection.status,
        is_active=connection.is_active,
        last_sync_at=connection.last_sync_at,
        last_sync_error=connection.last_sync_error,
        latest=SyncRecordOut.of(records[0]) if records else None,
    )


@router.get("/summary", summary="All the athlete's connections at a glance")
async def summary(athlete: CurrentAthlete, session: SessionDep) -> Summary:
    connections = await service.list_connections(session, athlete.sub)
    synced = [c.last_sync_at for c in connections if c.last_sync_at is not None]
    return Summary(
        total_connections=len(connections),
        active_connections=sum(c.status == "active" and c.is_active for c in connections),
        paused_connections=sum(not c.is_active for c in connections),
        needs_attention=[
            AttentionItem(
                connection_id=str(c.id), provider=c.provider, status=c.status, reason=c.status_reason
            )
            for c in connections
            if c.status != "active"
        ],
        providers={c.provider: c.status for c in connections},
        last_sync_at=max(synced) if synced else None,
    )


@router.post("/{provider}/connect", summary="Start linking a provider")
async def connect(
    athlete: CurrentAthlete,
    session: SessionDep,
    connections: ConnectionsDep,
    provider: ProviderKey,
    body: ConnectRequest | None = None,
) -> ConnectStarted:
    """The provider's authorization page for the athlete to open. When they consent, the provider sends
    them to `/api/providers/{provider}/callback`, which links the account and returns to `redirect_uri`."""
    started = await linking.start_link(
        session,
        connections,
        user_id=athlete.sub,
        provider=provider,
        app_redirect_uri=body.redirect_uri if body else None,
    )
    return ConnectStarted(
        provider=started.provider,
        authorization_url=started.authorization_url,
        state=started.state,
        expires_at=started.expires_at,
    )


@router.get(
    "/{provider}/callback", summary="Where the provider sends the athlete back", response_model=Linked
)
async def callback(
    session: SessionDep,
    connections: ConnectionsDep,
    provider: ProviderKey,
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=256)] = None,
    error: Annotated[str | None, Query(max_length=128)] = None,
    scope: Annotated[str | None, Query(max_length=512)] = None,
) -> Linked | JSONResponse | RedirectResponse:
    """Links the account the provider's code grants, for the athlete who started the flow (the state
    says who). Returns to the app's `redirect_uri` with `status=linked` or `status=error&error=<code>`
    when the flow was started with one; answers JSON otherwise. The state works once, whatever happens."""
    attempt = await linking.take_link_attempt(session, provider, state)
    back = attempt.app_redirect_uri
    if error is not None or not code:
        reason = "access_denied" if error is not None else "missing_code"
        # Returned, not raised: the state's use must be committed.
        if back:
            return RedirectResponse(_with_query(back, provider=provider, status="error", error=reason), 302)
        message = "The athlete did not authorize Relay" if error else "code is required"
        return error_response(400, reason, message, {"provider": provider})
    try:
        linked = await linking.complete_link(
            session, connections, attempt=attempt, code=code, granted_scope=scope
        )
    except AppError as exc:
        if back:
            return RedirectResponse(_with_query(back, provider=provider, status="error", error=exc.code), 302)
        return error_response(exc.status_code, exc.code, exc.message, exc.details)
    if back:
        target = _with_query(
            back, provider=provider, status="linked", connection_id=str(linked.connection.id)
        )
        return RedirectResponse(target, 302)
    return Linked(connection=ConnectionOut.of(linked.connection), relinked=linked.relinked)


@router.post("/{provider}/login", summary="Link a provider with the athlete's email and password")
async def login(
    athlete: CurrentAthlete,
    session: SessionDep,
    connections: ConnectionsDep,
    provider: ProviderKey,
    body: PasswordLinkRequest,
) -> Linked:
    """For providers without OAuth (COROS's Training Hub, an unofficial route): the password is sent to
    the provider once and kept nowhere; the token it answers is stored sealed."""
    linked = await linking.link_with_password(
        session, connections, user_id=athlete.sub, provider=provider, email=body.email, password=body.password
    )
    spec = connections.providers.specs[provider]
    return Linked(
        connection=ConnectionOut.of(linked.connection), relinked=linked.relinked, notice=spec.notice
    )


@internal.post(
    "/access-tokens",
    summary="An athlete's fresh access token for a Relay service",
    response_model=AccessTokenOut,
)
async def issue_access_token(
    caller: InternalCaller, session: SessionDep, connections: ConnectionsDep, body: AccessTokenRequest
) -> AccessTokenOut | JSONResponse:
    """For ingestion and export only (bearer token of `CONNECTIONS_INTERNAL_CALLERS`; not routed by the
    gateway). The token is refreshed first when it is about to expire; every handout is audited."""
    try:
        issued = await handout.issue_access_token(
            session,
            connections,
            caller=caller,
            provider=body.provider,
            user_id=body.user_id,
            provider_user_id=body.provider_user_id,
            purpose=body.purpose,
        )
    except handout.HandoutRefused as refused:
        # Returned, not raised: a connection marked `reauth_required` on the way must be committed.
        return error_response(refused.status, refused.code, refused.message, refused.details)
    connection, tokens = issued.connection, issued.tokens
    return AccessTokenOut(
        connection_id=str(connection.id),
        user_id=connection.user_id,
        provider=connection.provider,
        provider_user_id=connection.provider_user_id,
        auth_type=connection.auth_type,
        access_token=tokens.access_token.get_secret_value(),
        token_secret=tokens.token_secret.get_secret_value() if tokens.token_secret else None,
        expires_at=tokens.expires_at,
        scopes=list(tokens.scopes),
        refreshed=issued.refreshed,
    )


@internal.post("/token-rejections", summary="Report an access token the provider refused")
async def report_token_rejection(
    caller: InternalCaller, session: SessionDep, connections: ConnectionsDep, body: TokenRejectionRequest
) -> TokenRejectionOut:
    """For the service that met the refusal (bearer token of `CONNECTIONS_INTERNAL_CALLERS`; not routed
    by the gateway), e.g. export when COROS answers 1002/1003 or Garmin 401. An active connection is
    marked `reauth_required` and `connections.connection.reauth_required` is published with `reason`;
    reporting it again changes nothing. 404 `connection_not_found` for a connection that does not exist
    or is not to `provider`."""
    connection = await handout.record_token_rejection(
        session,
        connections,
        caller=caller,
        connection_id=body.connection_id,
        provider=body.provider,
        reason=body.reason,
    )
    return TokenRejectionOut(
        connection_id=str(connection.id), provider=connection.provider, status=connection.status
    )


def _with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
